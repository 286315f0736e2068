"""The ``gin`` command: global options, error handling, and the sub-command groups.

The CLI stays thin: each sub-command parses, calls a package API and prints.  Errors from
any package become one line on stderr and the documented exit code; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import sys
import traceback

import click

from devices.errors import GinError
from directory.errors import DirectoryError
from gin import __version__
from gin.context import Context
from gin.output import err_console


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="GIN_DB", metavar="PATH|URL",
              help="Directory database: a SQLite path or SQLAlchemy URL "
                   "(default ~/.local/share/gin/directory.sqlite). Env: GIN_DB.")
@click.option("--actor", envvar="GIN_ACTOR", metavar="NAME",
              help="Who the change log records (default: OS user). Env: GIN_ACTOR.")
@click.option("--debug", is_flag=True, envvar="GIN_DEBUG", help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="gin")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None, debug: bool) -> None:
    """gin: the government information network toolkit.

    Keep the agency network directory, provision IPv6-ready GIN links and VPN tunnels,
    export SNMP and threat metrics to Prometheus, and report security posture.
    """
    ctx.obj = Context(db=db, actor=actor, debug=debug)


def _register() -> None:
    from gin.commands import COMMANDS

    for command in COMMANDS():
        cli.add_command(command)
    cli.add_command(__import__("gin.commands.device", fromlist=["device"]).device)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one line and an exit code."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = cli.main(args=argv, prog_name="gin", standalone_mode=False)
        if isinstance(code, int):  # click returns the code of Exit(...) in this mode
            return code
    except click.exceptions.Abort:
        err_console.print("gin: aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (GinError, DirectoryError) as exc:
        if debug:
            traceback.print_exc()
        err_console.print(f"gin: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("gin: interrupted")
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        err_console.print(f"gin: internal error: {type(exc).__name__}: {exc} "
                          "(run with --debug for the traceback)", markup=False, soft_wrap=True)
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``gin audit web``: scan the agencies' public services (TLS, HTTP headers, IPv6) and keep
the results as evidence for the posture report.  Added to the ``audit`` group by
:mod:`gin.commands.audit`."""

from __future__ import annotations

import click

from audit import assess
from audit import report as reports
from audit.checks import Status
from audit.web.resolve import parse_nameserver
from devices.errors import ConfigError
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_rows, print_json, progress


def _nameserver(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_nameserver(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@click.command("web")
@click.option("--agency", metavar="CODE", help="Only this agency's services.")
@click.option("--nameserver", metavar="ADDR[:PORT]", callback=_nameserver,
              help="DNS server to ask for A/AAAA records (default: the system's resolvers).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="PEM roots to trust besides the public ones (an agency-internal CA).")
@click.option("--workers", type=click.IntRange(1, 64), default=16, show_default=True,
              help="Hosts scanned at once.")
@click.option("--evidence-dir", type=click.Path(file_okay=False),
              envvar="GIN_WEB_EVIDENCE_DIR",
              help="Where scan results are kept (default ~/.local/share/gin/web). "
                   "Env: GIN_WEB_EVIDENCE_DIR.")
@json_option
@pass_ctx
def web(ctx: Context, agency: str | None, nameserver: str | None, ca_file: str | None,
        workers: int, evidence_dir: str | None, as_json: bool) -> None:
    """Scan every recorded public service (gin directory service add), store the results
    as evidence, and show one row per host (exit 3 if a host did not answer)."""
    result = assess.scan_web(ctx.directory, agency, nameserver, ca_file, workers,
                             evidence_dir,
                             progress=lambda total: progress(total, "scanning", quiet=as_json))
    audits = result.audits
    if as_json:
        print_json(reports.to_data(audits, scope=agency.upper() if agency else "GIN"))
    else:
        rows = []
        for a in audits:
            count = {s.value: sum(1 for f in a.findings if f.status is s)
                     for s in (Status.PASS, Status.FAIL, Status.UNKNOWN)}
            failed = [f.check.removeprefix("web.") for f in a.findings
                      if f.status is Status.FAIL]
            rows.append({"host": a.device, "agency": a.agency, **count,
                         "note": a.error or " ".join(failed)})
        emit_rows(rows, ["host", "agency", "pass", "fail", "unknown", "note"], False,
                  "Web audit")
        console.print(f"evidence of {len(result.records)} hosts stored in "
                      f"{result.stored_in}")
    if result.unreachable:
        raise click.exceptions.Exit(3)

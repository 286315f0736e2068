"""A click group whose sub-commands are imported only when they run.

Each command module pulls in the package it fronts (SQLAlchemy, the audit rules, rich,
Ansible...), so importing them all up front made ``gin --help`` take most of a second.  The
group keeps a table of name -> ``"module:attr"`` plus the one-line help that ``--help`` lists,
and imports a module when its command is resolved.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class LazyCommand(NamedTuple):
    """Where a sub-command lives and the summary its group's ``--help`` shows for it."""

    target: str  # "package.module:attribute"
    help: str


def load(target: str) -> click.Command:
    """Import ``"module:attr"`` and return the click command it names.

    The cyclic garbage collector is paused during the import and what it created is then
    frozen (left out of later collections): a command module pulls in libraries such as
    SQLAlchemy that build hundreds of thousands of objects which live as long as the
    process, and scanning them again and again cost a third of the start-up time.
    """
    module_name, _, attr = target.partition(":")
    collecting = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(module_name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    command = getattr(module, attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group that resolves the sub-commands in ``lazy`` on first use.

    Commands added with :meth:`add_command` (or the decorators) work as in any group and win
    over a lazy entry of the same name.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy:
            command = load(self.lazy[cmd_name].target)
            self.commands[cmd_name] = command
        return command

    def _listed(self, name: str) -> click.Command:
        """The command if loaded, else a stand-in carrying the table's help (no import)."""
        return self.commands.get(name) or click.Command(name, help=self.lazy[name].help)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from the table, importing none that has not been loaded yet."""
        rows = [(name, cmd) for name in self.list_commands(ctx)
                if not (cmd := self._listed(name)).hidden]
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Complete sub-command names from the table too: a <TAB> imports nothing."""
        from click.shell_completion import CompletionItem

        items = [CompletionItem(name, help=cmd.get_short_help_str())
                 for name in self.list_commands(ctx)
                 if name.startswith(incomplete) and not (cmd := self._listed(name)).hidden]
        return items + click.Command.shell_complete(self, ctx, incomplete)

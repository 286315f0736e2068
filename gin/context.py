"""What every sub-command gets from the root: where the directory is and who is acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the store pulls in SQLAlchemy: imported when a command opens it
    from directory.store import Directory


@dataclass
class Context:
    db: str | None = None
    actor: str | None = None
    debug: bool = False
    _directory: Directory | None = field(default=None, repr=False)

    @property
    def directory(self) -> Directory:
        """Opened on first use, so ``--help`` and the lab never touch the database."""
        if self._directory is None:
            from directory.store import Directory

            self._directory = Directory(self.db, self.actor)
        return self._directory


pass_ctx = click.make_pass_decorator(Context)

#: Every list/show verb takes ``--json`` the same way.
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")

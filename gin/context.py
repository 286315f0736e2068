"""What every sub-command gets from the root: where the directory is and who is acting."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
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

            new = missing_sqlite_file(self.db)
            self._directory = Directory(self.db, self.actor)
            if new is not None:
                click.echo(f"gin: the directory database {new} (--db / GIN_DB) did not exist: "
                           "created a new, empty one", err=True)
        return self._directory


def missing_sqlite_file(db: str | None) -> Path | None:
    """The SQLite file ``--db``/``GIN_DB`` names when it does not exist yet (a typo there
    would otherwise give a fresh empty directory without a word); None otherwise."""
    named = db or os.environ.get("GIN_DB")
    if not named:
        return None  # the per-user default: created on first use, as the README says
    from sqlalchemy.engine import make_url

    from directory.db import resolve_url

    try:
        url = make_url(resolve_url(named))
    except Exception:  # a malformed URL: opening it reports the error
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path.resolve()


pass_ctx = click.make_pass_decorator(Context)

#: Every list/show verb takes ``--json`` the same way.
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")

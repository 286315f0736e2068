"""Which runner a service uses (``gin serve --jobs``): procrastinate on PostgreSQL, the
serving process itself on SQLite."""

from __future__ import annotations

from devices.errors import GinError
from directory.store import Directory

from .jobs import InProcessRunner, Runner

#: The runners a service may use (``gin serve --jobs``).
RUNNERS = ("in-process", "procrastinate")


def make_runner(directory: Directory, choice: str | None = None, via: str = "netmiko") -> Runner:
    """The service's runner: ``procrastinate`` on PostgreSQL (``gin worker`` processes run
    the jobs), ``in-process`` otherwise (SQLite has no queue to share with workers)."""
    from .job_kinds import KINDS

    postgres = directory.engine.url.get_backend_name() == "postgresql"
    choice = choice or ("procrastinate" if postgres else "in-process")
    if choice == "procrastinate":
        if not postgres:
            raise GinError("--jobs procrastinate needs the directory on PostgreSQL (GIN_DB="
                           "postgresql+psycopg://...); on SQLite jobs run in-process")
        from .jobs_procrastinate import ProcrastinateRunner

        return ProcrastinateRunner(directory)
    if choice != "in-process":
        raise GinError(f"--jobs {choice!r}: one of {', '.join(RUNNERS)}")
    return InProcessRunner(directory, KINDS, via=via)

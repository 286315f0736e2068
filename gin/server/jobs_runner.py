"""Which runner a service uses (``gin serve --jobs``): procrastinate on PostgreSQL, the
serving process itself on SQLite.  Each runner is a plugin: a factory in :data:`RUNNERS`
returning a :class:`~gin.server.jobs.Runner`; nothing else in the service knows which one
runs its jobs."""

from __future__ import annotations

from collections.abc import Callable

from devices.errors import GinError
from directory.store import Directory

from .jobs import InProcessRunner, Runner


def _in_process(directory: Directory, via: str) -> Runner:
    from .job_kinds import KINDS

    return InProcessRunner(directory, KINDS, via=via)


def _procrastinate(directory: Directory, _via: str) -> Runner:
    if directory.engine.url.get_backend_name() != "postgresql":
        raise GinError("--jobs procrastinate needs the directory on PostgreSQL (GIN_DB="
                       "postgresql+psycopg://...); on SQLite jobs run in-process")
    from .jobs_procrastinate import ProcrastinateRunner

    return ProcrastinateRunner(directory)


#: name -> factory(directory, transport for recovery) of each runner a service may use
RUNNERS: dict[str, Callable[[Directory, str], Runner]] = {
    "in-process": _in_process, "procrastinate": _procrastinate}


def make_runner(directory: Directory, choice: str | None = None, via: str = "netmiko") -> Runner:
    """The service's runner: ``procrastinate`` on PostgreSQL (``gin worker`` processes run
    the jobs), ``in-process`` otherwise (SQLite has no queue to share with workers)."""
    postgres = directory.engine.url.get_backend_name() == "postgresql"
    choice = choice or ("procrastinate" if postgres else "in-process")
    if choice not in RUNNERS:
        raise GinError(f"--jobs {choice!r}: one of {', '.join(RUNNERS)}")
    return RUNNERS[choice](directory, via)

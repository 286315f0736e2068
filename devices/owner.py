"""Who is changing a device: a process named so that another process can tell whether it
still lives.

A pid alone is not enough (pids are reused, and another machine has its own): the owner is
the host, the pid and the process's start (boot id + start tick from /proc), so a journal
entry or a lock left by a killed process is recognised as orphaned even when its pid now
belongs to someone else.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    """A process that may hold device locks and write journal entries."""

    pid: int
    host: str
    start: str
    user: str
    job: str | None = None

    def __str__(self) -> str:
        job = f", job {self.job}" if self.job else ""
        return f"pid {self.pid} on {self.host} ({self.user}{job})"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "no-boot-id"


def process_start(pid: int) -> str | None:
    """``<boot id>:<start tick>`` of a live process, None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: fall back to "some process has this pid"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "unknown"
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    return f"{_boot_id()}:{fields[19]}"  # field 22 of stat: start time in clock ticks


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (a container): the uid still says who
        return str(os.getuid())


def me(job: str | None = None) -> Owner:
    """This process (``job``: e.g. the service's job id, else ``$GIN_JOB_ID``)."""
    return Owner(os.getpid(), socket.gethostname(), process_start(os.getpid()) or "unknown",
                 _user(), job or os.environ.get("GIN_JOB_ID") or None)


def alive(pid: int, host: str, start: str) -> bool:
    """Whether the process that wrote (``pid``, ``host``, ``start``) still runs: same host,
    and that pid alive with the same start.  Anything else counts as gone."""
    if host != socket.gethostname():
        return False
    now = process_start(pid)
    return now is not None and (now == start or "unknown" in (now, start))

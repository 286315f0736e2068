"""Running commands and finding/stopping the processes a lab started.

Stopping is by PID only: pidfiles in the lab directory, processes whose command
line names the lab directory, and processes inside the lab's namespaces. Never by
process name, so other labs and the host are untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from gin.lab.errors import LabError


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True,
        timeout: float = 60, what: str = "") -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError naming the command and its stderr."""
    try:
        proc = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} not found; run `gin lab up` preflight for the packages") \
            from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{what or argv[0]}: timed out after {timeout:.0f}s "
                       f"({' '.join(argv[:6])})") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        tail = err[-1] if err else f"exit {proc.returncode}"
        raise LabError(f"{what or argv[0]} failed: {tail} (command: {' '.join(argv[:8])})")
    return proc


def read_pid(path: Path) -> int | None:
    """PID from a pidfile, or None if missing/garbled."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int | None) -> bool:
    """True if the PID exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


def pids_mentioning(text: str) -> set[int]:
    """PIDs whose command line contains `text` (the lab directory)."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me and text in cmdline(int(entry)):
            found.add(int(entry))
    return found


def pids_in_netns(names: Iterable[str]) -> set[int]:
    """PIDs running inside any of the named network namespaces (one pass over /proc).

    Compares namespace inodes like `ip netns pids`, but for all namespaces at once.
    """
    inodes = set()
    for name in names:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
    if not inodes:
        return set()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                    found.add(int(entry))
    return found


def kill_all(pids: Iterable[int], grace: float = 4.0) -> set[int]:
    """SIGTERM all at once, wait up to `grace` seconds, SIGKILL the rest.

    FRR daemons need ~2 s each to exit on SIGTERM; signalling them together keeps
    teardown time flat in the number of routers. Returns the PIDs that were signalled.
    """
    pids = {p for p in pids if p > 1 and p != os.getpid()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.02)
    return pids


def remove_frr_crash_dirs(pids: Iterable[int]) -> None:
    """Remove /var/tmp/frr/<daemon>.<pid> dirs left by FRR daemons we stopped.

    The directory is named after the PID *before* daemonizing; inside it each thread
    has a `logbuf.<tid>` file, and the main thread's tid is the daemon's PID. So a dir
    is ours if its own number or any logbuf number is one of our PIDs.
    """
    base = Path("/var/tmp/frr")
    wanted = {str(p) for p in pids}
    if not base.is_dir() or not wanted:
        return
    for entry in base.iterdir():
        numbers = {entry.name.rsplit(".", 1)[-1]}
        if entry.is_dir():
            with contextlib.suppress(OSError):
                numbers |= {f.name.rsplit(".", 1)[-1] for f in entry.iterdir()}
        if numbers & wanted:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (0 if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_pidfile(path: Path, what: str, log: str, timeout: float = 10) -> int:
    """Wait for a daemon's pidfile (daemons may write it after their parent exits)."""
    deadline = time.monotonic() + timeout
    while True:
        pid = read_pid(path)
        if pid is not None:
            return pid
        if time.monotonic() > deadline:
            raise LabError(f"{what} wrote no pidfile {path} within {timeout:.0f}s; see {log}")
        time.sleep(0.02)

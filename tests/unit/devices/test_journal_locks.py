"""Device change locks across processes, on SQLite (a lock row under BEGIN IMMEDIATE) and on
real PostgreSQL (advisory locks): separate processes never hold one device at once, and a
lock whose holder was killed is taken over."""

from __future__ import annotations

import os
import subprocess
import sys

from devices.journal import Journal
from devices.locks import DeviceLocks

HOLDER = """
import os, sys, time
from devices.journal import Journal
from devices.locks import DeviceLocks
url, who, log, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
journal = Journal(url)
locks = DeviceLocks(lambda: journal.engine, journal.owner)
for _ in range(rounds):
    with locks.hold("pe1"):
        with open(log, "a") as f:
            f.write(f"{who} in\\n")
        time.sleep(0.05)  # hold it a while, so the other process must wait
        with open(log, "a") as f:
            f.write(f"{who} out\\n")
    time.sleep(0.01)
if os.environ.get("DIE_HOLDING"):
    with locks.hold("pe1"):
        os.kill(os.getpid(), 9)
"""


def _run(url: str, tmp_path, who: str, rounds: int, **env: str) -> subprocess.Popen:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    return subprocess.Popen([sys.executable, str(script), url, who, str(tmp_path / "log"),
                             str(rounds)], env={**os.environ, "PYTHONPATH": os.getcwd(), **env})


def test_two_processes_take_turns_on_one_device(db_url, tmp_path):
    assert Journal(db_url).engine.dialect.name in ("sqlite", "postgresql")  # migrated once
    procs = [_run(db_url, tmp_path, who, 6) for who in ("A", "B")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    lines = (tmp_path / "log").read_text().split()
    events = list(zip(lines[::2], lines[1::2], strict=True))
    assert len(events) == 24
    pairs = list(zip(events[::2], events[1::2], strict=True))
    # every "in" is followed by the same process's "out": never two holders at once
    assert all(a == (w, "in") and b == (w, "out") for (a, b) in pairs for w in [a[0]])
    assert {a[0] for a, _ in pairs} == {"A", "B"}


def test_the_lock_of_a_killed_holder_is_taken_over(db_url, tmp_path):
    journal = Journal(db_url)
    dead = _run(db_url, tmp_path, "A", 0, DIE_HOLDING="1")
    assert dead.wait(timeout=300) == -9
    locks = DeviceLocks(lambda: journal.engine, journal.owner)
    [held] = locks.holders()
    assert held.device == "pe1" and not held.alive and str(dead.pid) in held.owner
    with locks.hold("pe1"):
        assert str(dead.pid) in locks.taken_over["pe1"]
        [mine] = locks.holders()
        assert mine.alive and str(os.getpid()) in mine.owner
    assert locks.holders() == []

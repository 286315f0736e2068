"""Crash tests on the lab: `gin link provision` SIGKILLed at every named step and at random
moments, then `gin device recover`; two gin processes changing the same PE at once; a lock
whose owner died.  The lab, the directory and the judging are bench/kill_bench.py's, so the
bench and this test measure the same thing."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.kill_bench import FAULTS, GIN, HOSTS, LINKS, KillLab, Tally
from directory import models as m

ENTRY = m.DeviceChangeEntry.__table__


@pytest.fixture(scope="module")
def kill_lab(tmp_path_factory):
    from tests.integration.conftest import require_lab

    require_lab()
    kl = KillLab(tmp_path_factory.mktemp("kill"))
    try:
        yield kl
    finally:
        kl.close()


def _clean(tally: Tally) -> None:
    assert tally.half == 0 and tally.disagreements == 0 and not tally.problems, tally.problems


@pytest.mark.parametrize("fault", FAULTS)
def test_a_kill_at_a_named_step_is_recovered(kill_lab, fault):
    tally = Tally()
    kill_lab.trial(tally, fault=fault)
    assert tally.kills == 1  # the hook fired: the process died at that step
    _clean(tally)
    # killed before the record, the link is never active: every router is its pre-image
    assert tally.outcomes == {"pre-image": len(HOSTS)}


def test_kills_at_random_moments_are_recovered(kill_lab):
    rng = random.Random(5)
    full = kill_lab.full_run_seconds()
    tally = Tally()
    for _ in range(3):
        kill_lab.trial(tally, kill_after=rng.uniform(0.3, full))
    _clean(tally)


def test_two_gin_processes_changing_one_pe_take_turns(kill_lab):
    kill_lab.reset()
    procs = [subprocess.Popen([GIN, "link", "provision", name, "--no-ping", "--json"],
                              env=kill_lab.env(), stdout=subprocess.PIPE, text=True)
             for name in LINKS]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [json.loads(o)[0]["status"] for o in outs] == ["changed", "changed"]
    with kill_lab.directory.engine.connect() as conn:
        pe1 = conn.execute(select(ENTRY).where(ENTRY.c.device == "pe1")
                           .order_by(ENTRY.c.id.desc()).limit(2)).mappings().all()
    first, second = sorted(pe1, key=lambda e: e["started_at"])
    assert first["owner_pid"] != second["owner_pid"]  # two processes ...
    saved = dict(first["history"])["saved"]
    assert saved <= dict(second["history"])["pushing"]  # ... one after the other on pe1
    # the second read pe1 after the first had saved: its pre-image holds the first's lines
    assert all(line.strip() in second["pre_image"] for line in first["lines"]
               if line.strip().startswith("neighbor"))


def test_a_dead_owners_lock_is_taken_over_only_by_recovery(kill_lab):
    kill_lab.reset()
    pre = kill_lab.running("ce1")
    assert kill_lab.provision(fault="after:push:ce1") == -9
    locks = subprocess.run([GIN, "device", "locks", "--json"], env=kill_lab.env(),
                           capture_output=True, text=True, check=True)
    [held] = json.loads(locks.stdout)
    assert (held["device"], held["owner_alive"]) == ("ce1", False)
    assert kill_lab.running("ce1") != pre  # half configured, until recovered
    rec = subprocess.run([GIN, "device", "recover", "ce1", "--json"], env=kill_lab.env(),
                         capture_output=True, text=True)
    assert rec.returncode == 0, rec.stderr
    [row] = json.loads(rec.stdout)
    assert (row["device"], row["found"], row["result"]) == ("ce1", "pushed", "restored")
    assert kill_lab.running("ce1") == pre
    locks = subprocess.run([GIN, "device", "locks", "--json"], env=kill_lab.env(),
                           capture_output=True, text=True, check=True)
    assert json.loads(locks.stdout) == []  # taken over by recovery, then released


def _sessions_of(kill_lab, host: str) -> list[int]:
    """The per-connection sshd processes of a router (children of its own sshd)."""
    listener = int(kill_lab.state.node(host).pidfiles()["sshd"].read_text().split()[0])
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(listener)], text=True,
                         capture_output=True).stdout
    return [int(p) for p in out.split()]


def test_an_ssh_session_cut_mid_push_is_recovered(kill_lab):
    """ce1's SSH session is cut as soon as its journal entry exists (mid-push or just
    after): gin fails on it, cannot restore through the dead session, exits; recover puts
    ce1 back exactly."""
    import os
    import signal
    import time

    kill_lab.reset()
    pre = {h: kill_lab.running(h) for h in HOSTS}
    proc = subprocess.Popen([GIN, "link", "provision", LINKS[0], "--no-ping", "--json"],
                            env=kill_lab.env(), stdout=subprocess.PIPE, text=True)
    cut = False
    while proc.poll() is None and not cut:
        with kill_lab.directory.engine.connect() as conn:
            entry = conn.execute(select(ENTRY.c.id).where(ENTRY.c.device == "ce1",
                                                          ENTRY.c.state == "pushing")).first()
        if entry is not None:
            for pid in _sessions_of(kill_lab, "ce1"):
                os.kill(pid, signal.SIGKILL)  # the router side of gin's session
            cut = True
        time.sleep(0.02)
    proc.communicate(timeout=300)
    assert cut, "the push finished before the session could be cut"
    assert proc.returncode != 0  # the change failed on the cut session
    rec = subprocess.run([GIN, "device", "recover", "--json"], env=kill_lab.env(),
                         capture_output=True, text=True)
    assert rec.returncode == 0, rec.stderr
    tally = Tally()
    kill_lab.judge(pre, tally, "ssh cut")
    _clean(tally)
    assert tally.outcomes == {"pre-image": len(HOSTS)}


@pytest.fixture
def own_pg(tmp_path):
    """A PostgreSQL server of this test's own (it gets stopped mid-change)."""
    import shutil

    if not shutil.which("runuser") or not list(Path("/usr/lib/postgresql").glob("*/bin")):
        pytest.skip("needs PostgreSQL (apt-get install postgresql)")
    out = subprocess.run(["bash", "-c", 'source scripts/pg.sh >/dev/null && pg_start >/dev/null'
                          ' && echo "$GIN_TEST_PG_URL $PG_DIR $PG_BINDIR"'],
                         capture_output=True, text=True, check=True).stdout.split()
    url, pg_dir, bindir = out
    port = url.rsplit(":", 1)[1].split("/")[0]

    def ctl(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D",
                        f"{pg_dir}/data", "-l", f"{pg_dir}/server.log", "-w", *args],
                       check=True, capture_output=True)

    def start() -> None:
        ctl("-o", f"-p {port} -k {pg_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")

    try:
        yield url, (lambda: ctl("-m", "immediate", "stop")), start
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D",
                        f"{pg_dir}/data", "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(pg_dir, ignore_errors=True)


def test_the_database_stopping_mid_change_is_recovered(kill_lab, own_pg, tmp_path):
    """PostgreSQL (directory and journal) stops as soon as ce1's entry is written: gin
    cannot record the next step, so it stops and restores what it pushed; once the
    database is back, recover closes the entry, and every router is its pre-image."""
    import time

    url, stop, start = own_pg
    kill_lab.reset()  # the routers at their baseline before the second directory reads it
    kl = KillLab(tmp_path, db=url, on=kill_lab)
    try:
        kl.reset()
        pre = {h: kl.running(h) for h in HOSTS}
        proc = subprocess.Popen([GIN, "link", "provision", LINKS[0], "--no-ping", "--json"],
                                env=kl.env(), stdout=subprocess.PIPE, text=True)
        stopped = False
        while proc.poll() is None and not stopped:
            with kl.directory.engine.connect() as conn:
                entry = conn.execute(select(ENTRY.c.id).where(ENTRY.c.device == "ce1")).first()
            if entry is not None:
                stop()
                stopped = True
            time.sleep(0.02)
        proc.communicate(timeout=300)
        assert stopped and proc.returncode != 0
        start()
        kl.directory.engine.dispose()  # its pooled connections died with the server
        rec = subprocess.run([GIN, "device", "recover", "--json"], env=kl.env(),
                             capture_output=True, text=True)
        assert rec.returncode == 0, rec.stderr
        with kl.directory.engine.connect() as conn:
            states = conn.execute(select(ENTRY.c.state)).scalars().all()
        assert states and set(states) == {"restored"}
        tally = Tally()
        kl.judge(pre, tally, "database stopped")
        _clean(tally)
        assert tally.outcomes == {"pre-image": len(HOSTS)}
    finally:
        kl.close()


CUT_OFF = """
import sys
from devices import transport
from directory.store import Directory
from monitor.sensor.edge import EdgeRouters
EdgeRouters(Directory(sys.argv[1], actor="soc"), transport.get("netmiko")).converge(
    ["2001:db8:bad::/48"], "block")
print("survived")
"""


@pytest.mark.parametrize("fault", ["after:push:pe1", "after:read_back:pe2",
                                   "after:save:pe1"])
def test_a_gsi_cut_off_killed_mid_change_is_recovered(kill_lab, tmp_path, fault):
    """The GSI cut-off (a block pushed to both PEs at once) killed at a step on one PE:
    after recover both PEs run their exact configs from before, and the directory's
    change log holds no push of the block (routers and directory agree: not blocked)."""
    import os
    import sys

    from monitor.sensor.edge import PUSH_TYPE

    kill_lab.reset()
    pre = {h: kill_lab.running(h) for h in ("pe1", "pe2")}
    script = tmp_path / "cut_off.py"
    script.write_text(CUT_OFF)
    child = subprocess.run([sys.executable, str(script), kill_lab.db],
                           env={**kill_lab.env(GIN_FAULT=fault), "PYTHONPATH": os.getcwd()},
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -9 and "survived" not in child.stdout, child.stderr
    rec = subprocess.run([GIN, "device", "recover", "--json"], env=kill_lab.env(),
                         capture_output=True, text=True)
    assert rec.returncode == 0, rec.stderr
    assert any(r["device"] == fault.rsplit(":", 1)[1] for r in json.loads(rec.stdout))
    assert {h: kill_lab.running(h) for h in pre} == pre
    with kill_lab.directory.transaction() as s:
        pushes = s.scalars(select(m.Change).where(m.Change.object_type == PUSH_TYPE)).all()
        assert pushes == []

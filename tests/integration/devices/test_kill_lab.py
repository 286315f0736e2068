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

from bench.kill_bench import (
    FAULTS,
    GIN,
    GSI_FAULTS,
    HOSTS,
    LINKS,
    KillLab,
    Tally,
    pg_stop_trials,
)
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


def test_an_ssh_session_cut_mid_push_is_recovered(kill_lab):
    """ce1's SSH session is cut as soon as its journal entry exists (mid-push or just
    after): gin fails on it, cannot restore through the dead session, exits; recover puts
    ce1 back exactly (bench/kill_bench.py's trial, counted there too)."""
    tally = Tally()
    assert kill_lab.ssh_cut_trial(tally), "the push finished before the session could be cut"
    _clean(tally)
    assert tally.outcomes == {"pre-image": len(HOSTS)}


def test_the_database_stopping_mid_change_is_recovered(kill_lab, tmp_path):
    """PostgreSQL (directory and journal) stops as soon as ce1's entry is written: gin
    cannot record the next step, so it stops and restores what it pushed; once the
    database is back, recover closes the entry, and every router is its pre-image."""
    import shutil

    if not shutil.which("runuser") or not list(Path("/usr/lib/postgresql").glob("*/bin")):
        from tests.conftest import need

        need(False, "needs PostgreSQL (apt-get install postgresql)")
    tally = Tally()
    pg_stop_trials(kill_lab, tmp_path, tally, 1)
    assert tally.kills == 1
    _clean(tally)
    assert tally.outcomes == {"pre-image": len(HOSTS)}


@pytest.mark.parametrize("fault", GSI_FAULTS)
def test_a_gsi_cut_off_killed_mid_change_is_recovered(kill_lab, fault):
    """The GSI cut-off (a block pushed to both PEs at once) killed at a step on one PE:
    after recover both PEs run their exact configs from before, and the directory's
    change log holds no push of the block (routers and directory agree: not blocked)."""
    tally = Tally()
    kill_lab.gsi_trial(tally, fault)
    assert tally.kills == 1
    _clean(tally)
    assert tally.outcomes == {"pre-image": 2}

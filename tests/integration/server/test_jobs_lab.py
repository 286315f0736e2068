"""A provision job on the lab's real routers, through a real ``gin serve`` on PostgreSQL and a
real ``gin worker``: polled over HTTP to the end, recorded in the change log under the
engineer who asked; then a worker SIGKILLed mid-push (the GIN_FAULT hook): the job is
failed, not left running, procrastinate's stalled job too, and the next worker puts the
half-changed router back exactly before it takes any job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from audit.evidence import BackupStore
from bench.kill_bench import HOSTS, LINK, KillLab, Tally
from directory import identity
from directory import models as m
from tests.integration.server.conftest import PASSWORD, Service, start, stop
from tests.integration.server.test_jobs import poll, start_worker, stop_worker

ENTRY = m.DeviceChangeEntry.__table__


@pytest.fixture(scope="module")
def lab_service(tmp_path_factory) -> Iterator[tuple[KillLab, Service, Path]]:
    """The kill bench's lab with a directory on a fresh PostgreSQL database, two engineers
    (MOF's and MOE's) and an admin, and ``gin serve`` over it."""
    import os

    from tests.integration.conftest import require_lab

    base = os.environ.get("GIN_TEST_PG_URL")
    if not base:
        pytest.skip("needs PostgreSQL: set GIN_TEST_PG_URL (scripts/test.sh does)")
    require_lab()
    name = f"gin_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    work = tmp_path_factory.mktemp("jobs-lab")
    kl = KillLab(work, db=url)
    svc = None
    try:
        tokens = {}
        with kl.directory.transaction() as s:
            for user, grant in (("admin", ("admin", "gin", None)),
                                ("eng_mof", ("engineer", "agency", "MOF")),
                                ("eng_moe", ("engineer", "agency", "MOE"))):
                identity.add_user(s, user, PASSWORD)
                identity.grant(s, user, *grant)
                tokens[user] = identity.create_token(s, user, "test")[1]
        svc = start(url, work / "serve.log", "--data-dir", str(work / "data"))
        svc.tokens = tokens
        yield kl, svc, work / "data"
    finally:
        if svc is not None:
            stop(svc.proc)
        kl.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_provision_job_changes_the_routers_in_the_engineers_name(lab_service, tmp_path):
    kl, svc, data = lab_service
    kl.reset()
    eng = svc.client("eng_mof")
    assert svc.client("eng_moe").post(f"/links/{LINK}/provision").status_code == 403
    started = eng.post(f"/links/{LINK}/provision", json={"ping": False})
    assert started.status_code == 202, started.text
    worker = start_worker(svc, tmp_path / "worker.log", "--data-dir", str(data))
    try:
        done = poll(eng, started.json()["id"])
        # then its config is backed up into the service's data directory, and audited there
        backup = poll(eng, eng.post("/backups", json={"devices": ["ce1"]}).json()["id"])
        audit = poll(eng, eng.post("/audit/runs", json={"agency": "MOF"}).json()["id"])
    finally:
        stop_worker(worker)
    assert done["state"] == "succeeded", done
    [row] = done["result"]["links"]
    assert (row["link"], row["status"]) == (LINK, "changed")
    # progress came from converge's steps on each router: it ended complete
    assert done["progress"]["done"] == done["progress"]["total"] > 0
    lines = [ln["line"] for ln in done["log"]]
    assert any(ln.startswith("ce1: push done") for ln in lines), lines
    assert any(ln.startswith("pe1: save done") for ln in lines), lines
    assert any(ln.startswith(f"link {LINK}: changed") for ln in lines), lines
    assert kl.link_status() == "active"
    tally = Tally()
    kl.judge({h: "" for h in HOSTS}, tally, "provisioned")
    assert tally.outcomes == {"verified": len(HOSTS)} and not tally.problems
    changes = svc.client("admin").get("/changes", params={"type": "link", "key": LINK})
    acts = {(c["action"], c["actor"]) for c in changes.json()["items"]}
    assert {("push", "api:eng_mof/token:test"), ("verify", "api:eng_mof/token:test")} <= acts
    assert backup["state"] == "succeeded", backup
    [saved] = backup["result"]["devices"]
    version, config = BackupStore(data / "backups").latest("ce1")
    assert saved["sha256"] == version.sha256
    assert "router bgp" in config
    assert audit["state"] == "succeeded", audit
    run = svc.client("admin").get(f"/audit/runs/{audit['result']['run']}/report",
                                  params={"format": "csv"})
    assert "ce1" in run.text  # the audit read the backup the job had kept


def test_a_worker_killed_mid_push_fails_its_job_and_the_next_worker_recovers(lab_service,
                                                                             tmp_path):
    kl, svc, data = lab_service
    kl.reset()
    pre = {h: kl.running(h) for h in HOSTS}
    eng = svc.client("eng_mof")
    started = eng.post(f"/links/{LINK}/provision", json={"ping": False})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    doomed = start_worker(svc, tmp_path / "doomed.log", "--data-dir", str(data),
                          env={"GIN_FAULT": "after:push:ce1"})
    doomed.wait(timeout=300)
    assert doomed.returncode == -9  # it died at the hook, ce1 pushed and nothing recorded
    assert kl.running("ce1") != pre["ce1"]  # half changed until recovered
    # the service notices the dead worker: the job is failed, not left running
    failed = poll(eng, job_id)
    assert failed["state"] == "failed", failed
    assert f"pid {doomed.pid}" in failed["error"] and "died" in failed["error"]
    assert failed["finished_at"] is not None
    # ready only once it has recovered
    worker = start_worker(svc, tmp_path / "worker.log", "--data-dir", str(data))
    try:
        tally = Tally()
        kl.judge(pre, tally, "worker killed")
        assert tally.outcomes == {"pre-image": len(HOSTS)} and not tally.problems, tally
        with kl.directory.engine.connect() as conn:
            states = set(conn.execute(select(ENTRY.c.state)
                                      .where(ENTRY.c.device == "ce1")).scalars())
            assert "restored" in states and not states & {"pushing", "pushed"}
            # procrastinate's own record of the job: failed by its stalled-job detection
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                status = conn.execute(text(
                    "SELECT status FROM procrastinate_jobs WHERE args->>'job_id' = :j"),
                    {"j": str(job_id)}).scalar()
                if status != "doing":
                    break
                time.sleep(1)
                conn.rollback()
            assert status == "failed"
        assert kl.link_status() != "active"
        # the job stays failed: the worker that recovered did not run it again
        assert eng.get(f"/jobs/{job_id}").json()["state"] == "failed"
    finally:
        stop_worker(worker)


def test_on_sqlite_a_service_killed_mid_job_fails_it_and_recovers_at_restart(
        lab_service, tmp_path, monkeypatch):
    """The single-user default: the serving process runs the job, dies mid-push (GIN_FAULT);
    started again, it fails the job it held and puts the router back before anything else."""
    import contextlib

    import httpx

    from directory import jobs as records

    kl, _, _ = lab_service
    kl.reset()
    db = f"sqlite:///{tmp_path / 'solo.sqlite'}"
    solo = KillLab(tmp_path, db=db, on=kl)  # the same routers, a directory on SQLite
    try:
        with solo.directory.transaction() as s:
            identity.add_user(s, "eng_mof", PASSWORD)
            identity.grant(s, "eng_mof", "engineer", "agency", "MOF")
            token = identity.create_token(s, "eng_mof", "test")[1]
        pre = {h: solo.running(h) for h in HOSTS}
        monkeypatch.setenv("GIN_FAULT", "after:push:ce1")
        svc = start(db, tmp_path / "serve-doomed.log", "--data-dir", str(tmp_path / "data"))
        svc.tokens = {"eng_mof": token}
        # the process may die before it answers: the job is recorded either way
        with contextlib.suppress(httpx.HTTPError):
            svc.client("eng_mof").post(f"/links/{LINK}/provision", json={"ping": False})
        svc.proc.wait(timeout=300)
        assert svc.proc.returncode == -9
        with solo.directory.transaction() as s:
            [job] = records.page(s)[0]
            job_id = job.id
        assert job.state == "running"  # as the dead process left it
        monkeypatch.delenv("GIN_FAULT")
        again = start(db, tmp_path / "serve.log", "--data-dir", str(tmp_path / "data"))
        again.tokens = {"eng_mof": token}
        try:
            failed = poll(again.client("eng_mof"), job_id)
            assert failed["state"] == "failed" and "died" in failed["error"], failed
            deadline = time.monotonic() + 120  # recovery runs on the job threads at start
            while time.monotonic() < deadline and solo.running("ce1") != pre["ce1"]:
                time.sleep(0.5)
            tally = Tally()
            solo.judge(pre, tally, "service killed")
            assert tally.outcomes == {"pre-image": len(HOSTS)} and not tally.problems, tally
        finally:
            stop(again.proc)
    finally:
        solo.close()

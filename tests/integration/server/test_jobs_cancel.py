"""Cancelling jobs of a real ``gin serve``: on PostgreSQL run by a real ``gin worker``
(procrastinate), on SQLite by the serving process.  A queued job cancelled never runs; a
running backup asked to stop ends ``cancelled`` between two batches of devices, and the
devices after that point are never contacted; only the job's owner or an admin cancels; an
ended job answers 409.

The backup's devices are "routers" at a TCP port the test holds open: each connection is
accepted and left without an SSH banner until the test releases it (then closed at once),
so a batch is in flight exactly as long as the test wants, with no sleep anywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from directory.store import Directory, add_device, local_actor
from gin.server.job_kinds import BACKUP_BATCH
from tests.integration.server.conftest import Service
from tests.integration.server.test_jobs import WAIT, poll, start_worker, stop_worker

CRED = "GIN_TEST_CANCEL_CRED"
OWNER = "api:eng_dopa/token:test"


class Silent:
    """A TCP port that accepts connections and says nothing until :meth:`release` (after
    which every connection, held or new, is closed at once): an SSH server that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._released = threading.Event()
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._guard:
                self.accepted += 1
                if self._released.is_set():
                    conn.close()
                else:
                    self._held.append(conn)

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + WAIT
        while self.count() < n:
            assert time.monotonic() < deadline, f"only {self.count()} of {n} connections came"
            time.sleep(0.05)

    def count(self) -> int:
        with self._guard:
            return self.accepted

    def release(self) -> None:
        with self._guard:
            self._released.set()
            for conn in self._held:
                conn.close()
            self._held.clear()

    def close(self) -> None:
        self.release()
        self.sock.close()


@pytest.fixture
def silent(monkeypatch) -> Iterator[Silent]:
    monkeypatch.setenv(CRED, json.dumps({"username": "gin", "password": "not-used-here"}))
    port = Silent()
    yield port
    port.close()


def add_routers(svc: Service, port: int, n: int) -> list[str]:
    """``n`` DOPA routers whose management address is the silent port."""
    names = [f"dopa-r{i:02d}" for i in range(1, n + 1)]
    d = svc.directory()
    try:
        with d.transaction() as s:
            for name in names:
                add_device(s, "DOPA", "HQ", hostname=name, role="pe", platform="frr",
                           mgmt_address="127.0.0.1", mgmt_port=port,
                           credential_ref=f"env:{CRED}")
    finally:
        d.close()
    return names


def wait_state(client: httpx.Client, job_id: int, state: str) -> dict:
    return poll(client, job_id, until=(state,))


def lines(job: dict) -> list[str]:
    return [ln["line"] for ln in job["log"]]


def test_cancel_on_workers_queued_never_runs_running_stops_between_batches(
        pg_url, serve, tmp_path, silent):
    data = str(tmp_path / "data")
    svc = serve(pg_url, "--data-dir", data)
    routers = add_routers(svc, silent.port, 2 * BACKUP_BATCH + 4)
    eng, admin = svc.client("eng_dopa"), svc.client("admin")
    # queued (no worker yet): the owner cancels it, at once
    queued = eng.post("/audit/runs", json={"agency": "DOPA"}).json()
    assert queued["state"] == "queued"
    for who in ("eng_mof", "eng_moi", "viewer", "auditor", "admin:ro"):  # not theirs / no right
        refused = svc.client(who).post(f"/jobs/{queued['id']}/cancel")
        assert refused.status_code == 403, (who, refused.text)
        assert "job.cancel" in refused.json()["detail"], refused.text
    cancelled = eng.post(f"/jobs/{queued['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["state"], cancelled.json()["error"]) == (
        "cancelled", f"cancelled by {OWNER} before it started")
    again = eng.post(f"/jobs/{queued['id']}/cancel")
    assert again.status_code == 409 and "has already ended (cancelled)" in again.text
    assert eng.post("/jobs/999999/cancel").status_code == 404
    # from a shell, on the directory itself: `gin job cancel`, under the shell's user
    shelled = eng.post("/audit/runs", json={"agency": "DOPA"}).json()["id"]
    typed = subprocess.run([sys.executable, "-m", "gin.cli", "job", "cancel", str(shelled)],
                           capture_output=True, text=True, timeout=WAIT,
                           env={**os.environ, "GIN_DB": pg_url, "GIN_ACTOR": ""})
    assert (typed.returncode, typed.stderr) == (0, ""), typed.stderr
    assert typed.stdout.strip() == f"job {shelled} cancelled: it will not start"
    assert eng.get(f"/jobs/{shelled}").json()["error"] == \
        f"cancelled by {local_actor()} before it started"
    # procrastinate's own queue entries are cancelled too (its cancel_job_by_id)
    from gin.server.jobs_procrastinate import QUEUE, make_app, queueing_lock

    d = Directory(pg_url)
    try:
        app = make_app(d.engine)
        with app.open():
            for gin_id in (queued["id"], shelled):
                [entry] = app.job_manager.list_jobs(queue=QUEUE,
                                                    queueing_lock=queueing_lock(gin_id))
                assert entry.status == "cancelled", gin_id
    finally:
        d.close()

    # running: a backup of routers that hang until released, on a real worker
    started = eng.post("/backups", json={"devices": routers})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    worker = start_worker(svc, tmp_path / "worker.log", "--data-dir", data)
    try:
        silent.wait_for(BACKUP_BATCH)  # the first batch is in flight, held
        assert wait_state(eng, job_id, "running")["progress"] == {
            "done": 0, "total": len(routers), "percent": 0}
        assert svc.client("eng_mof").post(f"/jobs/{job_id}/cancel").status_code == 403
        asked = admin.post(f"/jobs/{job_id}/cancel")  # an admin cancels anyone's job
        assert asked.status_code == 202, asked.text
        assert asked.json()["state"] == "running"
        assert asked.json()["cancel_requested_by"] == "api:admin/token:test"
        silent.release()  # the batch ends (each router hangs up); the job stops there
        done = poll(eng, job_id, until=("succeeded", "failed", "cancelled"))
        # the worker goes on taking jobs: a later one runs to its end
        later = poll(eng, eng.post("/audit/runs", json={"agency": "DOPA"}).json()["id"])
    finally:
        stop_worker(worker)
    assert later["state"] == "succeeded", later
    assert done["state"] == "cancelled", done
    assert done["error"] == "cancelled by api:admin/token:test"
    reached = done["progress"]["done"]
    assert reached % BACKUP_BATCH == 0 and 0 < reached < len(routers), done["progress"]
    assert silent.count() == reached  # no router after the stop was contacted
    assert [r["device"] for r in done["result"]["devices"]] == routers[:reached]
    said = lines(done)
    assert "cancellation asked by api:admin/token:test: the job stops at its next safe " \
           "point" in said
    assert said[-1] == (f"cancelled by api:admin/token:test: stopped at a safe point after "
                        f"{reached} of {len(routers)} step(s)")
    assert not any(r in ln for r in routers[reached:] for ln in said)
    assert eng.post(f"/jobs/{job_id}/cancel").status_code == 409
    assert eng.post(f"/jobs/{later['id']}/cancel").status_code == 409  # succeeded
    # the queued one never ran: no worker took it, its log is the cancellation alone
    never = eng.get(f"/jobs/{queued['id']}").json()
    assert (never["state"], never["started_at"], never["worker"]) == ("cancelled", None, None)
    assert lines(never) == [f"cancelled by {OWNER} before it started"]
    assert [j["id"] for j in admin.get("/jobs?state=cancelled").json()["items"]] == [
        job_id, shelled, queued["id"]]
    metrics = {(smp.name, smp.labels.get("kind"), smp.labels.get("state")): smp.value
               for fam in text_string_to_metric_families(admin.get("/metrics").text)
               for smp in fam.samples}
    assert metrics[("gin_jobs", "backup", "cancelled")] == 1
    assert metrics[("gin_jobs", "audit", "cancelled")] == 2  # cancelled while queued ...
    assert metrics[("gin_job_duration_seconds_count", "backup", "cancelled")] == 1
    assert metrics[("gin_job_duration_seconds_count", "audit", "cancelled")] == 0  # ... no run


def test_cancel_in_the_serving_process_on_sqlite(sqlite_url, serve, tmp_path, silent):
    """The in-process runner's two threads held by two hanging backups: a third job waits
    in its queue, is cancelled there and never runs; the two running ones stop."""
    Directory(sqlite_url).engine.dispose()
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    routers = add_routers(svc, silent.port, 2 * BACKUP_BATCH)
    eng = svc.client("eng_dopa")
    first = eng.post("/backups", json={"devices": routers[:BACKUP_BATCH + 1]}).json()["id"]
    second = eng.post("/backups", json={"devices": routers[BACKUP_BATCH + 1:]}).json()["id"]
    silent.wait_for(2 * BACKUP_BATCH - 1)  # both threads busy, every router of theirs held
    third = eng.post("/audit/runs", json={"agency": "DOPA"}).json()
    assert third["state"] == "queued"
    cancelled = eng.post(f"/jobs/{third['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert eng.post(f"/jobs/{first}/cancel").status_code == 202
    silent.release()
    done = poll(eng, first, until=("succeeded", "failed", "cancelled"))
    assert done["state"] == "cancelled", done
    assert done["progress"] == {"done": BACKUP_BATCH, "total": BACKUP_BATCH + 1,
                                "percent": round(100 * BACKUP_BATCH / (BACKUP_BATCH + 1))}
    assert silent.count() == 2 * BACKUP_BATCH - 1  # its last router was never contacted
    other = poll(eng, second)  # not cancelled: it ran to its end (its routers hung up)
    assert other["state"] == "failed" and other["progress"]["done"] == BACKUP_BATCH - 1
    never = poll(eng, third["id"], until=("cancelled",))
    assert (never["started_at"], never["worker"]) == (None, None)  # no process holds it
    assert lines(never) == [f"cancelled by {OWNER} before it started"]

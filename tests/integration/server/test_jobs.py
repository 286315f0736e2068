"""Jobs of a real ``gin serve``: on PostgreSQL run by a real ``gin worker`` (procrastinate),
on SQLite by the serving process; followed over HTTP to the end; the stored audit run
downloaded in every format; a job whose worker process died is failed, never left running.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from directory import jobs as records
from directory.store import Directory
from gin.server.jobs import reap
from tests.integration.server.conftest import Service, stop

#: a bound for a wedged job, not a speed check
WAIT = 300


def poll(client: httpx.Client, job_id: int, until: tuple[str, ...] = ("succeeded", "failed")
         ) -> dict:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}")
        assert job.status_code == 200, job.text
        if job.json()["state"] in until:
            return job.json()
        time.sleep(0.3)
    pytest.fail(f"job {job_id} still {job.json()['state']}: {job.json()}")


def start_worker(svc: Service, log: Path, *args: str, env: dict[str, str] | None = None
                 ) -> subprocess.Popen:
    """``gin worker`` on the service's database; returns once it takes jobs."""
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gin.cli", "worker", *args],
                            stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, "GIN_DB": svc.db_url, **(env or {})},
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "worker ready" in log.read_text():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_worker(proc)
    pytest.fail(f"gin worker did not start:\n{log.read_text()}")


def stop_worker(proc: subprocess.Popen) -> None:
    """A worker finishes the job step it is in before it stops: a longer grace than serve's."""
    stop(proc, timeout=60)


def test_an_audit_job_runs_on_a_worker_and_its_run_downloads_in_every_format(
        pg_url, serve, tmp_path):
    svc = serve(pg_url, "--data-dir", str(tmp_path / "data"))
    admin, eng, auditor = svc.client("admin"), svc.client("eng_dopa"), svc.client("auditor")
    # an auditor reads and changes nothing; an engineer of another ministry has no scope here
    assert auditor.post("/audit/runs", json={"agency": "DOPA"}).status_code == 403
    assert svc.client("eng_mof").post("/audit/runs", json={"agency": "DOPA"}).status_code == 403
    started = eng.post("/audit/runs", json={"agency": "DOPA"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert (job["state"], job["kind"], job["runner"]) == ("queued", "audit", "procrastinate")
    assert job["owner"] == "api:eng_dopa/token:test"
    worker = start_worker(svc, tmp_path / "worker.log", "--data-dir", str(tmp_path / "data"))
    try:
        done = poll(eng, job["id"])
    finally:
        stop_worker(worker)
    assert done["state"] == "succeeded", done
    assert done["worker"].startswith(f"pid {worker.pid} ")
    assert done["progress"]["done"] == done["progress"]["total"]
    lines = [ln["line"] for ln in done["log"]]
    assert lines[0].startswith("started by api:eng_dopa/token:test")
    assert lines[-1] == "succeeded"
    run = done["result"]["run"]
    # the run is the service's: its history lists it with who ran it, for every reader
    runs = auditor.get("/audit/runs").json()["items"]
    assert [(r["id"], r["scope"], r["actor"]) for r in runs] == [
        (run, "DOPA", "api:eng_dopa/token:test")]
    assert svc.client("eng_mof").get("/audit/runs").json()["items"] == []  # not their scope
    assert svc.client("eng_mof").get(f"/audit/runs/{run}/report").status_code == 403
    for fmt, kind in (("html", "text/html"), ("json", "application/json"),
                      ("csv", "text/csv"), ("oscal", "application/json")):
        got = auditor.get(f"/audit/runs/{run}/report", params={"format": fmt})
        assert got.status_code == 200, (fmt, got.text)
        assert got.headers["content-type"].startswith(kind)
        assert f"gin-audit-run-{run}." in got.headers["content-disposition"]
    assert json.loads(auditor.get(f"/audit/runs/{run}/report?format=json").text)["scope"] \
        == "DOPA"
    oscal = json.loads(auditor.get(f"/audit/runs/{run}/report?format=oscal").text)
    assert "assessment-results" in oscal
    assert auditor.get(f"/audit/runs/{run}/report?format=doc").status_code == 422
    pdf = auditor.get(f"/audit/runs/{run}/report", params={"format": "pdf", "lang": "th"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.text[:200]
    # the job list: the engineer's own job, in the admin's view and not in MOF's
    assert [j["id"] for j in eng.get("/jobs").json()["items"]] == [job["id"]]
    assert [j["id"] for j in admin.get("/jobs?kind=audit&state=succeeded").json()["items"]] \
        == [job["id"]]
    assert svc.client("eng_mof").get("/jobs").json()["items"] == []
    assert svc.client("eng_mof").get(f"/jobs/{job['id']}").status_code == 403


def test_a_worker_with_another_data_directory_refuses_the_job(pg_url, serve, tmp_path):
    svc = serve(pg_url, "--data-dir", str(tmp_path / "team"))
    admin = svc.client("admin")
    job = admin.post("/audit/runs", json={"agency": "DOPA"}).json()
    assert job["params"]["data_dir"] == str(tmp_path / "team")
    worker = start_worker(svc, tmp_path / "worker.log", "--data-dir", str(tmp_path / "mine"))
    try:
        done = poll(admin, job["id"])
    finally:
        stop_worker(worker)
    assert done["state"] == "failed"
    assert done["error"] == (f"this worker keeps its data in {tmp_path / 'mine'}, the service "
                             f"in {tmp_path / 'team'}: start gin worker with --data-dir "
                             f"{tmp_path / 'team'} (or GIN_DATA_DIR)")
    assert admin.get("/audit/runs").json()["items"] == []  # nothing was audited


def test_jobs_page_newest_first_without_gaps(pg_url, serve):
    svc = serve(pg_url)
    admin = svc.client("admin")
    made = [admin.post("/audit/runs", json={"agency": "DOPA"}).json()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = admin.get("/jobs", params={"limit": 2, **({"before": cursor} if cursor else {})})
        seen += [j["id"] for j in page.json()["items"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


def test_on_sqlite_the_service_runs_jobs_itself(sqlite_url, serve, tmp_path):
    Directory(sqlite_url).engine.dispose()
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    eng = svc.client("eng_moi")
    job = eng.post("/audit/runs", json={"ministry": "MOI"})
    assert job.status_code == 202, job.text
    assert job.json()["runner"] == "in-process"
    done = poll(eng, job.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["scope"] == "MOI/*"


def test_a_job_whose_worker_died_is_failed(db_url):
    """A real process takes the job and is killed: reaping fails the job at once (same host),
    and a job whose heartbeat went stale is failed wherever its worker ran."""
    d = Directory(db_url, actor="tester")
    try:
        with d.transaction() as s:
            dead_id = records.create(s, "backup", {}, "api:admin", "procrastinate")
            stale_id = records.create(s, "backup", {}, "api:admin", "procrastinate")
            live_id = records.create(s, "backup", {}, "api:admin", "procrastinate")
        victim = subprocess.Popen(["sleep", "600"])
        from devices.owner import process_start

        host = socket.gethostname()
        assert records.claim(d.engine, dead_id, records.Worker(victim.pid, host,
                                                               process_start(victim.pid)))
        assert records.claim(d.engine, stale_id, records.Worker(1, "elsewhere", "x"))
        me = os.getpid()
        assert records.claim(d.engine, live_id, records.Worker(me, host, process_start(me)))
        assert not records.claim(d.engine, live_id, records.Worker(me, host, "y"))  # once
        victim.kill()
        victim.wait()
        assert reap(d.engine) == [dead_id]  # the other host's worker may still live ...
        old = records.m.utcnow() - records.STALE_AFTER * 2
        with d.engine.begin() as conn:
            conn.execute(records.JOB.update().where(records.JOB.c.id == stale_id)
                         .values(heartbeat_at=old))
        assert reap(d.engine) == [stale_id]  # ... until its heartbeat is stale
        with d.transaction() as s:
            states = {j: records.get(s, j).state for j in (dead_id, stale_id, live_id)}
            why = [ln.line for ln in records.lines(s, dead_id)]
        assert states == {dead_id: "failed", stale_id: "failed", live_id: "running"}
        assert why == [f"its worker (pid {victim.pid} on {host}) died: the job failed"]
    finally:
        d.close()


def test_the_service_keeps_the_sealing_key_in_its_data_directory(pg_url, serve, tmp_path,
                                                                 monkeypatch):
    """No per-user key: the service started with --data-dir seals new tunnels' secrets with
    the key in that directory, and whoever is given the same directory opens them."""
    from directory.assign import allocate
    from directory.store import add_device, add_site
    from vpn import keys, tunnels

    data = tmp_path / "team"
    for name in ("GIN_VPN_KEY", "GIN_VPN_KEY_FILE", "GIN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "someone-home"))  # not used
    monkeypatch.setenv("GIN_DATA_DIR", str(data))
    key = keys.init_key_file()  # `gin vpn key init`, with the team's data directory
    assert key == data / "vpn.key"
    monkeypatch.delenv("GIN_DATA_DIR")
    svc = serve(pg_url, "--data-dir", str(data))
    d = svc.directory()
    try:
        with d.transaction() as s:
            add_site(s, "MOPH", code="HQ")
            add_device(s, "DOPA", "HQ", hostname="dopa-gw", role="vpn-gateway",
                       platform="linux", mgmt_address="2001:db8:ffff::21")
            add_device(s, "MOPH", "HQ", hostname="moph-gw", role="vpn-gateway",
                       platform="linux", mgmt_address="2001:db8:ffff::22")
            allocate(s, None, 48, agency="MOPH")
        made = svc.client("admin").post("/tunnels", json={"a": "dopa-gw", "b": "moph-gw",
                                                          "type": "ikev2", "auth": "psk"})
        assert made.status_code == 201, made.text
        assert made.json()["name"] == "dopa-gw-moph-gw"
        assert not (tmp_path / "someone-home").exists()
        monkeypatch.setenv("GIN_DATA_DIR", str(data))
        with d.transaction() as s:
            opened = tunnels.tunnel_secrets(s, tunnels.get_tunnel(s, "dopa-gw-moph-gw"))
        assert len(opened["psk"].reveal()) == 44  # base64 of 32 bytes: the right key
        # an engineer of one end only may not create a tunnel that changes the other's gateway
        refused = svc.client("eng_dopa").post("/tunnels", json={
            "a": "dopa-gw", "b": "moph-gw", "type": "ikev2", "auth": "psk", "name": "x-y"})
        assert refused.status_code == 403 and "MOPH" in refused.json()["detail"]
    finally:
        d.close()


def test_a_worker_on_sqlite_is_refused_in_one_line_and_creates_nothing(tmp_path):
    db = tmp_path / "solo.sqlite"
    done = subprocess.run([sys.executable, "-m", "gin.cli", "worker"], capture_output=True,
                          text=True, env={**os.environ, "GIN_DB": str(db)}, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: gin worker takes jobs from PostgreSQL (--db/GIN_DB postgresql+psycopg://...); "
        "on SQLite `gin serve` runs them itself")
    assert not db.exists()


def test_serve_refuses_procrastinate_on_sqlite(sqlite_url):
    Directory(sqlite_url).engine.dispose()
    done = subprocess.run([sys.executable, "-m", "gin.cli", "serve", "--listen", "127.0.0.1:0",
                           "--jobs", "procrastinate"], capture_output=True, text=True,
                          env={**os.environ, "GIN_DB": sqlite_url}, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: --jobs procrastinate needs the directory on PostgreSQL (GIN_DB="
        "postgresql+psycopg://...); on SQLite jobs run in-process")


def test_deploy_and_backup_jobs_that_cannot_reach_their_devices_fail_with_why(
        sqlite_url, serve, tmp_path, monkeypatch):
    """The jobs' functions run to their end against devices nobody answers for: each job
    fails, its result says which device or tunnel and why, and the service goes on."""
    import base64

    from tests.integration.server.conftest import add_tunnel

    Directory(sqlite_url).engine.dispose()
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"s" * 32).decode())
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    add_tunnel(svc, monkeypatch)
    admin = svc.client("admin")
    deploy = admin.post("/tunnels/dopa-moph/deploy", json={"verify": False})
    backup = admin.post("/backups", json={"devices": ["dopa-pe1"]})
    assert deploy.status_code == backup.status_code == 202, (deploy.text, backup.text)
    deployed, backed = poll(admin, deploy.json()["id"]), poll(admin, backup.json()["id"])
    assert deployed["state"] == "failed", deployed
    [tunnel] = deployed["result"]["tunnels"]
    assert (tunnel["tunnel"], tunnel["result"]) == ("dopa-moph", "failed")
    assert deployed["error"].startswith("dopa-moph: failed")
    # no gateway step ran (neither could be reached), only the record of the failure
    assert deployed["progress"] == {"done": 1, "total": 10, "percent": 10}
    assert backed["state"] == "failed", backed
    [device] = backed["result"]["devices"]
    assert (device["device"], device["status"]) == ("dopa-pe1", "failed") and device["error"]
    assert backed["error"] == "not backed up: dopa-pe1"
    assert admin.get("/health").status_code == 200


def test_a_web_scan_job_keeps_its_evidence_in_the_data_directory(sqlite_url, serve, tmp_path):
    """The service scans the recorded public services of an agency (here no name resolves:
    the scan runs to its end all the same), says which did not answer, and keeps the record
    where every later audit of the team reads it: the service's data directory."""
    from directory.store import add_service

    Directory(sqlite_url).engine.dispose()
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    d = svc.directory()
    try:
        with d.transaction() as s:
            add_service(s, "DOPA", "portal", "https://portal.dopa.invalid/")
    finally:
        d.close()
    eng = svc.client("eng_dopa")
    assert svc.client("auditor").post("/audit/web", json={"agency": "DOPA"}).status_code == 403
    assert eng.post("/audit/web", json={"nameserver": "not an address"}).status_code == 422
    job = eng.post("/audit/web", json={"agency": "DOPA"})
    assert job.status_code == 202, job.text
    done = poll(eng, job.json()["id"])
    hosts = {h["host"]: h for h in done["result"]["hosts"]}
    assert "portal.dopa.invalid" in hosts and hosts["portal.dopa.invalid"]["agency"] == "DOPA"
    assert done["state"] == "failed" and "portal.dopa.invalid" in done["error"]
    assert "portal.dopa.invalid: did not answer (portal.dopa.invalid has no A or AAAA record)" \
        in [ln["line"] for ln in done["log"]]
    assert done["progress"]["done"] == done["progress"]["total"] == len(hosts)
    kept = [p for p in (tmp_path / "data" / "web").rglob("*") if p.is_file()]
    assert any("portal.dopa.invalid" in p.read_text(errors="replace") for p in kept), kept

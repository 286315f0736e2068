"""A job asked of a real ``gin serve`` over HTTP, followed from a shell with ``gin job`` (which
reads the directory, not the API, and must show what the API shows), and counted on the
service's ``/metrics`` as a real Prometheus scrapes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from directory.store import Directory
from tests.integration.monitor.monitor_support import PromServer, have_prometheus

#: a bound for a wedged job or process, not a speed check
WAIT = 300


def gin(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gin.cli", "job", *args], capture_output=True,
                          text=True, env={**os.environ, "GIN_DB": db_url}, timeout=WAIT + 60)


@pytest.mark.skipif(not have_prometheus(), reason="needs prometheus and promtool")
def test_a_service_job_followed_with_gin_job_and_scraped_by_prometheus(
        sqlite_url, serve, tmp_path):
    Directory(sqlite_url).engine.dispose()
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    eng = svc.client("eng_moi")
    started = eng.post("/audit/runs", json={"ministry": "MOI"})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]

    waited = gin(sqlite_url, "wait", str(job_id), "--timeout", str(WAIT))
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip().splitlines()[-1] == f"job {job_id} succeeded"
    shown = gin(sqlite_url, "show", str(job_id), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == eng.get(f"/jobs/{job_id}").json()
    listed = gin(sqlite_url, "list", "--kind", "audit", "--state", "succeeded", "--json")
    assert [j["id"] for j in json.loads(listed.stdout)] == [job_id]

    prom = PromServer(tmp_path / "prom", {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{
            "job_name": "gin-serve", "metrics_path": "/api/v1/metrics",
            "authorization": {"type": "Bearer", "credentials": svc.tokens["soc"]},
            "static_configs": [{"targets": [urlsplit(svc.url).netloc]}]}]})
    prom.start(timeout=WAIT)
    try:
        ok = prom.wait_for('gin_jobs{kind="audit",state="succeeded"} == 1', timeout=WAIT)
        assert len(ok) == 1
        ended = prom.wait_for(
            'gin_job_duration_seconds_count{kind="audit",state="succeeded"} == 1',
            timeout=WAIT)
        assert len(ended) == 1
        assert prom.query('sum(gin_jobs{state=~"queued|running|failed"})')[0]["value"][1] \
            == "0"
    finally:
        prom.stop()

"""What the service keeps in memory for speed never shows an old answer: a prefix allocated
through one request is in the very next whois (the snapshot checks the directory's version
on every request), across ``--workers`` processes on PostgreSQL too; and a token revoked from
the command line (another process) stops working within the cache's few seconds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from gin.server.auth import CACHE_SECONDS
from tests.integration.server.conftest import Service, seed, stop


def ready(svc) -> None:
    """Workers listen only once started (uvicorn logs its address before that)."""
    deadline = time.monotonic() + 120  # a bound for a wedged start, not a speed check
    while True:
        try:
            if svc.client().get("/health").status_code == 200:
                return
        except httpx.TransportError:
            assert svc.proc.poll() is None, svc.log.read_text()
            assert time.monotonic() < deadline, "the workers never answered"
            time.sleep(0.3)


def allocate_then_whois(svc) -> None:
    ready(svc)
    admin, viewer = svc.client("admin"), svc.client("viewer")
    assert viewer.get("/whois/2001:db8:1::1").status_code in (200, 404)  # snapshot in use
    for _ in range(6):  # several rounds: with two workers each one answers some
        made = admin.post("/prefixes/allocate", json={"agency": "DOPA", "length": 64})
        assert made.status_code == 201, made.text
        cidr = made.json()["items"][0]["prefix"]
        address = cidr.split("/")[0] + "1"
        for client in (viewer, svc.client("viewer"), svc.client("eng_dopa")):
            answer = client.get(f"/whois/{address}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["prefix"] == cidr and answer.json()["agency"]["code"] == "DOPA"
        assert svc.client("eng_mof").get(f"/whois/{address}").status_code == 403


def test_allocated_prefix_is_in_the_next_whois(sqlite_url, serve):
    allocate_then_whois(serve(sqlite_url))


@pytest.mark.postgres
def test_allocated_prefix_is_in_the_next_whois_across_workers(pg_url, tmp_path):
    with socket.socket() as sock:  # uvicorn's workers share one socket: no port 0 there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tokens = seed(pg_url)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "gin.cli", "serve", "--listen",
                             f"127.0.0.1:{port}", "--workers", "2"], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "GIN_DB": pg_url},
                            start_new_session=True)
    try:
        svc = Service(f"http://127.0.0.1:{port}", pg_url, log, proc, tokens)
        ready(svc)
        allocate_then_whois(svc)
    finally:
        stop(proc)
    assert "Started server process" in log.read_text()  # two of them: the workers


def test_token_revoked_from_the_cli_stops_working(sqlite_url, serve):
    svc = serve(sqlite_url)
    viewer = svc.client("viewer")
    assert viewer.get("/me").status_code == 200  # verified, and now remembered
    subprocess.run([sys.executable, "-m", "gin.cli", "--db", sqlite_url, "user", "token",
                    "revoke", "viewer", "test"], check=True, capture_output=True)
    deadline = time.monotonic() + CACHE_SECONDS + 60  # a bound for a wedged server only
    while viewer.get("/me").status_code == 200:
        assert time.monotonic() < deadline, "a revoked token kept working"
        time.sleep(0.5)
    assert viewer.get("/me").status_code == 401
    assert viewer.get("/whois/2001:db8:1::1").status_code == 401

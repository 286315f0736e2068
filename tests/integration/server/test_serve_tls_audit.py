"""gin's own ``gin audit web`` against the running ``gin serve``: TLS with a test CA on
127.0.0.1 and ::1 (both from one name served by a real dnsmasq), the service's headers and
its console's cookies.  Nothing fails.  The test CA, like a CA that publishes only CRLs, names
no OCSP responder, so there is nothing to staple; Python's TLS (uvicorn) could not staple one
(a certificate naming a responder needs a stapling TLS front such as nginx: README)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from directory.store import Directory
from gin.cli import main
from tests.conftest import need
from tests.integration.server.conftest import stop


def test_gin_audit_web_finds_no_failure_in_gin_serve(tmp_path: Path, capsys) -> None:
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    need(Path(dnsmasq).exists(), "needs dnsmasq (deps/apt-web.txt)")
    from audit.web.lab import TestCA, free_port

    ca = TestCA()
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    cert, key = ca.issue(["gin.web.test"])
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.pem())
    (tmp_path / "key.pem").touch(mode=0o600)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ports: set[int] = set()
    port, dns_port = free_port(ports), free_port(ports)
    db = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    Directory(db).engine.dispose()
    base = ["--db", db, "--actor", "tls-audit-test"]
    assert main([*base, "directory", "agency", "add", "DGA", "--name-en", "DGA"]) == 0
    assert main([*base, "directory", "service", "add", "DGA", "gin",
                 f"https://gin.web.test:{port}/ui/login"]) == 0
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gin.cli", "serve", "--listen", f"127.0.0.1:{port}",
         "--listen", f"[::1]:{port}", "--tls-cert", str(tmp_path / "cert.pem"),
         "--tls-key", str(tmp_path / "key.pem"), "--no-gsi-gateway",
         "--gsi-routers-via", "none"], env={**os.environ, "GIN_DB": db},
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    dns = subprocess.Popen(
        [dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
         "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={dns_port}",
         "--local=/web.test/", "--pid-file=", "--user=root", "--log-facility=-",
         "--host-record=gin.web.test,127.0.0.1,::1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound for a wedged start, not a speed check
        for address in ("127.0.0.1", "::1"):
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    socket.create_connection((address, port), timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
        capsys.readouterr()
        code = main([*base, "audit", "web", "--nameserver", f"127.0.0.1:{dns_port}",
                     "--ca-file", str(tmp_path / "ca.pem"), "--evidence-dir",
                     str(tmp_path / "evidence"), "--json"])
        out = capsys.readouterr().out
    finally:
        stop(server)
        dns.terminate()
        dns.wait(timeout=30)
    assert code == 0, out
    from audit import checks as _registry  # noqa: F401 - registers the web checks first
    from audit import runner
    from audit.findings import findings_of
    from audit.web import checks
    from audit.web.evidence import WebEvidence

    [record] = WebEvidence(tmp_path / "evidence").latest()
    found = {f.check: f.status.value for f in findings_of(runner.judge(checks.subjects([record])))}
    assert set(found) == {c.id for c in checks.CHECKS}
    failing = {k for k, v in found.items() if v not in ("pass", "not_applicable")}
    assert failing == set(), json.dumps(found, indent=1)
    assert found["web.ocsp_stapling"] == "not_applicable"
    assert found["web.cookies"] == "pass" and found["web.tls_ciphers"] == "pass"
    assert found["web.ipv6_reachable"] == "pass" and found["web.ipv6_same_cert"] == "pass"
    assert record["tls"]["chain_trusted"]

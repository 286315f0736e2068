"""`gin audit web` against real Debian nginx servers on 127.0.0.1 and ::1, names served by a
real dnsmasq, certificates from a test CA: each server is classified exactly, and what does
not answer (or answers garbage) is unreachable, never passing."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from audit import report, runner
from audit.checks import Status
from audit.findings import DeviceAudit, Finding, findings_of
from audit.web import checks
from audit.web.evidence import WebEvidence
from audit.web.metrics import CertExpiryCollector
from gin.cli import main
from tests.conftest import need

pytestmark = pytest.mark.integration

KINDS = ("good", "weak", "expired", "wrongname", "bare", "v4only", "v6only", "noaaaa",
         "garbage", "dead")
TLS_DOWN = {c.id for c in checks.CHECKS if c.needs_tls} - {"web.reachable"}
#: check -> status, for everything that is not a pass (the rest must pass)
EXPECTED: dict[str, dict[str, str]] = {
    "good": {},
    "weak": {"web.tls_protocols": "fail", "web.tls_ciphers": "fail",
             "web.forward_secrecy": "fail", "web.cert_key": "fail"},
    "expired": {"web.cert_chain": "fail", "web.cert_expiry": "fail"},
    "wrongname": {"web.cert_chain": "fail", "web.cert_hostname": "fail"},
    "bare": {"web.hsts": "fail", "web.csp": "fail", "web.content_type_options": "fail",
             "web.frame_options": "fail", "web.referrer_policy": "fail",
             "web.server_version": "fail", "web.cookies": "fail", "web.ocsp_stapling": "fail"},
    "v4only": {"web.ipv6_reachable": "fail", "web.ipv6_same_cert": "unknown"},
    "v6only": {"web.ipv6_same_cert": "not_applicable"},
    "noaaaa": {"web.ipv6_aaaa": "fail", "web.ipv6_reachable": "fail",
               "web.ipv6_same_cert": "unknown"},
    "garbage": {"web.reachable": "fail", **{c: "unknown" for c in TLS_DOWN}},
    "dead": {"web.reachable": "fail", **{c: "unknown" for c in TLS_DOWN}},
}


def web_audits(records: Any) -> list[DeviceAudit]:
    """The runner's verdicts on scanned hosts, one audit per host."""
    return runner.judge(checks.subjects(records))


def judged(rec: dict[str, Any]) -> list[Finding]:
    return findings_of(web_audits([rec]))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The lab, a directory listing its services, and one `gin audit web` run over it."""
    for tool in ("nginx", "dnsmasq"):
        need(shutil.which(tool) is not None or Path(f"/usr/sbin/{tool}").exists(),
             f"needs {tool} (deps/apt-web.txt)")
    from audit.web.lab import WebLab

    tmp = tmp_path_factory.mktemp("auditweb")
    prefix = f"gw{secrets.token_hex(3)}"
    with WebLab({k: k for k in KINDS}, prefix=prefix) as web:
        db = f"sqlite:///{tmp / 'directory.sqlite'}"
        evidence = tmp / "evidence"
        base = ["--db", db, "--actor", "auditweb-test"]
        assert main([*base, "directory", "agency", "add", "MOF", "--name-en", "Finance"]) == 0
        assert main([*base, "directory", "agency", "add", "DGA", "--name-en", "DGA"]) == 0
        for label, srv in web.servers.items():
            agency = "DGA" if label == "good" else "MOF"
            assert main([*base, "directory", "service", "add", agency, label, srv.url]) == 0
        code = main([*base, "audit", "web", "--nameserver", web.nameserver, "--ca-file",
                     str(web.ca_file), "--evidence-dir", str(evidence), "--json"])
        yield {"web": web, "db": db, "evidence": evidence, "code": code, "base": base,
               "records": {r["host"].split(".")[0]: r
                           for r in WebEvidence(evidence).latest()}}


def test_each_server_is_classified_exactly(lab: dict[str, Any]) -> None:
    assert lab["code"] == 3  # garbage and dead did not answer TLS
    assert set(lab["records"]) == set(KINDS)
    for kind in KINDS:
        got = {f.check: f.status.value for f in judged(lab["records"][kind])}
        assert set(got) == {c.id for c in checks.CHECKS}
        not_passing = {k: v for k, v in got.items() if v != "pass"}
        assert not_passing == EXPECTED[kind], kind


def test_tls_facts_of_the_good_and_the_weak_server(lab: dict[str, Any]) -> None:
    good, weak = lab["records"]["good"], lab["records"]["weak"]
    assert good["tls"]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert good["tls"]["ocsp_stapled"] and good["tls"]["chain_trusted"]
    assert good["ipv6"]["fingerprint"] == good["tls"]["fingerprint"]
    assert good["dns"] == {"v4": ["127.0.0.1"], "v6": ["::1"], "error": None}
    assert good["http"]["redirect"]["status"] == 301
    v6only = lab["records"]["v6only"]
    assert v6only["address"] == "::1" and v6only["dns"]["v4"] == []
    assert v6only["tls"]["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert {"TLSv1.0", "TLSv1.1"} <= set(weak["tls"]["protocols"])
    assert any(not c["fs"] for c in weak["tls"]["ciphers"])  # AES128-SHA: RSA key exchange
    assert (weak["tls"]["key_type"], weak["tls"]["key_bits"]) == ("RSA", 1024)
    protocols = next(f for f in judged(good) if f.check == "web.tls_protocols")
    assert "TLS 1.3 offered" in protocols.reason


def test_unreachable_hosts_say_why(lab: dict[str, Any]) -> None:
    for kind in ("garbage", "dead"):
        rec = lab["records"][kind]
        assert rec["error"] and rec["tls"]["protocols"] == []
        audit = web_audits([rec])[0]
        assert audit.error and audit.error.startswith("unreachable")
        assert not any(f.status is Status.PASS and f.check != "web.ipv6_aaaa"
                       for f in audit.findings)


def test_failures_carry_fixes_and_evidence(lab: dict[str, Any]) -> None:
    bare = {f.check: f for f in judged(lab["records"]["bare"])}
    assert any("server_tokens off;" in line for line in bare["web.server_version"].remediation)
    assert any(line.startswith("apache: ") for line in bare["web.hsts"].remediation)
    assert bare["web.server_version"].evidence[0][1].startswith("server: nginx/")
    good = {f.check: f for f in judged(lab["records"]["good"])}
    assert good["web.hsts"].remediation == ()  # a pass suggests nothing


def test_report_of_web_findings(lab: dict[str, Any], tmp_path: Path) -> None:
    audits = web_audits(lab["records"].values())
    data = report.to_data(audits, scope="GIN")
    assert {a["key"] for a in data["agencies"]} == {"MOF", "DGA"}
    assert next(a for a in data["agencies"] if a["key"] == "DGA")["score"] == 100.0
    clauses = {c["key"]: c for c in data["clauses"]}
    assert {"10", "12"} <= set(clauses) and clauses["12"]["fail"] >= 4  # weak: 12.3.1
    assert {"10.9.1", "10.9.2", "10.9.3", "12.3.1"} <= {c["key"] for c in data["controls"]}
    page = tmp_path / "web.html"
    report.write(page, audits, "html")
    html = page.read_text(encoding="utf-8")
    assert "weak.web.test" in html and "web.tls_protocols" in html


def _expiry_samples(text: str) -> dict[str, float]:
    return {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("gin_web_cert_expiry_seconds{")}


def test_cert_expiry_metric_served_by_the_monitor_agent(
        lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.web.metrics import collector
    from monitor.agent import Agent

    monkeypatch.setenv("GIN_WEB_EVIDENCE_DIR", str(lab["evidence"]))
    agent = Agent(target_source=list, extra_collectors=[collector])
    text = (agent.metrics_text({"devices": "none"}) or b"").decode()
    samples = _expiry_samples(text)
    assert samples['agency="DGA",host="good.web.test"'] > 80 * 86400
    assert samples['agency="MOF",host="expired.web.test"'] < 0
    assert not any("dead.web.test" in k or "garbage" in k for k in samples)
    registry = CollectorRegistry()
    registry.register(CertExpiryCollector(lab["evidence"]))
    alone = generate_latest(registry).decode()
    assert set(_expiry_samples(alone)) == set(samples)
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=alone, text=True,
                               capture_output=True)
        assert check.returncode == 0, check.stderr


def test_one_agency_rescan_keeps_the_others(lab: dict[str, Any],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    web = lab["web"]
    code = main([*lab["base"], "audit", "web", "--agency", "dga", "--nameserver",
                 web.nameserver, "--ca-file", str(web.ca_file), "--evidence-dir",
                 str(lab["evidence"]), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {d["device"] for d in out["devices"]} == {"good.web.test"}
    assert len(WebEvidence(lab["evidence"]).latest()) == len(KINDS)


def test_gin_audit_report_carries_the_web_findings(lab: dict[str, Any], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`gin audit report` reads the newest web scan beside the devices' configs."""
    monkeypatch.setenv("GIN_WEB_EVIDENCE_DIR", str(lab["evidence"]))
    monkeypatch.setenv("GIN_BACKUP_DIR", str(tmp_path / "backups"))
    out = tmp_path / "report.json"
    assert main([*lab["base"], "audit", "report", "--agency", "MOF", "--format", "json",
                 "-o", str(out), "--no-history"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    hosts = {f["device"] for f in data["findings"] if f["check"].startswith("web.")}
    assert hosts == {f"{k}.web.test" for k in KINDS if k != "good"}  # good is DGA's
    weak = [f for f in data["findings"] if f["device"] == "weak.web.test"
            and f["check"] == "web.tls_protocols"]
    assert weak[0]["status"] == "fail" and "12.3.1" in weak[0]["controls"]

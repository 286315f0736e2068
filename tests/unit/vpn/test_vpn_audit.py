"""The audit's VPN checks (audit/checks/vpn.py) over a real directory built with the vpn
package: weak tunnels, peer authentication, expiring/expired certificates, a revoked one
still deployed; each mapped to its ISO/IEC 17799 controls."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from audit import catalogue, report, runner
from audit.checks import BY_ID
from audit.checks import tunnels as tunnel_checks
from audit.checks import vpn as vchecks
from audit.checks.base import Context, Status
from directory import store
from vpn import pki, tunnels

NOW = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
LEGACY = {"name": "legacy", "ike": "aes256-sha1-modp2048", "esp": "aes256-sha256",
          "ike_rekey_time": 14400, "ike_life_time": 15840, "esp_rekey_time": 3600,
          "esp_life_time": 3960}


def statuses(audits):
    return {(a.device, f.check): f.status.value for a in audits for f in a.findings}


@pytest.fixture
def gw(vdir, tmp_path, monkeypatch):
    """DOPA-MOPH over certificates, DOPA-GIN over a weak PSK policy."""
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({"policies": {"legacy": LEGACY}}))
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(path))
    with vdir.transaction() as s:
        pki.init_ca(s, now=NOW - dt.timedelta(days=400))
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "cert", name="cert1")
        tunnels.create_tunnel(s, "gw-dopa", "xe-hub", "ikev2", "psk", "legacy", name="weak1",
                              allow_weak=True)
        old = pki.issue(s, "gw-dopa", now=NOW - dt.timedelta(days=380))  # expired
        new = pki.issue(s, "gw-dopa", renew=True, now=NOW - dt.timedelta(days=10))
        pki.mark_deployed(s, new.serial, now=NOW - dt.timedelta(days=9))
        pki.issue(s, "gw-moph", days=20, now=NOW - dt.timedelta(days=5))  # expiring
    return vdir, old


def test_findings_per_gateway(gw):
    vdir, _ = gw
    with vdir.transaction() as s:
        got = statuses(runner.judge(vchecks.subjects(vchecks.vpn_facts(s)), now=NOW))
    assert got[("gw-dopa", "vpn.tunnel_crypto")] == "fail"
    assert got[("xe-hub", "vpn.tunnel_crypto")] == "fail"
    assert got[("gw-moph", "vpn.tunnel_crypto")] == "pass"
    assert got[("gw-dopa", "vpn.cert_valid")] == "pass"
    assert got[("gw-moph", "vpn.cert_valid")] == "fail"  # 15 days left
    assert got[("xe-hub", "vpn.cert_valid")] == "not_applicable"  # PSK only
    assert got[("gw-dopa", "vpn.peer_auth")] == "pass"
    assert got[("gw-dopa", "vpn.revoked_not_deployed")] == "pass"
    assert got[("gw-moph", "vpn.revoked_not_deployed")] == "not_applicable"


def test_revoked_but_deployed_and_missing_certificate(gw):
    vdir, _ = gw
    with vdir.transaction() as s:
        current = pki.current(s, "gw-dopa", NOW)
        pki.revoke(s, current.serial, "key-compromise", now=NOW)
        moph = pki.current(s, "gw-moph", NOW)
        pki.revoke(s, moph.serial, "cessation-of-operation", now=NOW)
        audits = runner.judge(vchecks.subjects(vchecks.vpn_facts(s)), now=NOW)
    got = statuses(audits)
    assert got[("gw-dopa", "vpn.revoked_not_deployed")] == "fail"
    assert got[("gw-dopa", "vpn.cert_valid")] == "fail"
    assert got[("gw-moph", "vpn.peer_auth")] == "fail"  # cert tunnel, no valid cert
    finding = next(f for a in audits for f in a.findings
                   if (a.device, f.check) == ("gw-dopa", "vpn.revoked_not_deployed"))
    assert "key-compromise" in finding.evidence[0][1] and finding.remediation
    assert set(finding.controls) == {"12.3.2"}


def test_controls_mapped_in_the_framework():
    fw = catalogue.load()
    assert [c.id for c in fw.controls_of("vpn.tunnel_crypto")] == ["12.3.1"]
    assert [c.id for c in fw.controls_of("vpn.peer_auth")] == ["11.4.2"]
    assert {c.id for c in fw.controls_of("vpn.cert_valid")} == {"12.3.2"}
    assert all(c.id in BY_ID for c in vchecks.CHECKS)


def test_weak_evidence_names_the_algorithm_and_report_renders(gw):
    vdir, _ = gw
    with vdir.transaction() as s:
        audits = runner.judge(vchecks.subjects(vchecks.vpn_facts(s)), now=NOW)
    weak = next(f for a in audits for f in a.findings
                if (a.device, f.check) == ("xe-hub", "vpn.tunnel_crypto"))
    assert any("sha1" in text for _, text in weak.evidence)
    data = report.to_data(audits)
    # a gateway is judged by the VPN checks and by whether its tunnels are in force
    assert {f["check"] for f in data["findings"]} == {
        c.id for c in (*vchecks.CHECKS, *tunnel_checks.CHECKS)}


def test_without_facts_unknown_never_pass():
    ctx = Context(device="gw-x", now=NOW)
    for check in vchecks.CHECKS:
        assert check.run(None, "linux", ctx).status is Status.UNKNOWN


def test_damaged_sealed_value_is_not_sealed(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="p1")
        t.secret_ref = "plain-text-psk"  # what a careless import could leave
        facts = vchecks.vpn_facts(s)
        store.get_device(s, "gw-dopa")
    ctx = vchecks.VpnContext(device="gw-dopa", now=NOW, vpn=facts["gw-dopa"])
    result = vchecks.peer_auth(None, ctx)
    assert result.status is Status.FAIL and "psk not stored" in result.evidence[0][1]

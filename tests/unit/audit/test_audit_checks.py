"""Every check has a passing and a failing case on golden configs of each platform, and its
evidence cites real lines of the config (number and text)."""

from __future__ import annotations

import datetime as dt

import pytest

from audit import host
from audit.checks import ALL, BY_ID
from audit.checks.base import redact
from tests.unit.audit.conftest import (
    CONTEXT_CHECKS,
    NOW,
    UNANSWERED,
    UNLOGGED,
    UNWATCHED,
    as_running,
    audit_text,
    golden,
    host_files,
    statuses,
)

PLATFORMS = ("frr", "cisco_ios", "juniper_junos")


def ops(kind: str) -> dict:
    """Operations facts to go with a golden config (the defaults are the good ones)."""
    return {} if kind == "good" else {"changes": UNLOGGED, "monitor": UNWATCHED,
                                      "blocks": UNANSWERED}


def _expected(check_id: str, platform: str, wanted: str) -> str:
    check = BY_ID[check_id]
    return "not_applicable" if platform in check.not_applicable else wanted


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("kind,wanted", [("good", "pass"), ("bad", "fail")])
def test_golden_config_gives_expected_status(platform: str, kind: str, wanted: str) -> None:
    text = golden(f"{platform}_{kind}.conf")
    backed = NOW if kind == "good" else NOW - dt.timedelta(days=30)
    got = statuses(audit_text(text, platform, backed_up_at=backed,
                              in_directory=kind == "good", host_evidence=host_files(kind),
                              **ops(kind)))
    want = {c.id: _expected(c.id, platform, wanted) for c in ALL}
    want["route.ra_guard"] = "not_applicable"  # the goldens are PEs: no agency LAN
    assert got == want


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("kind", ["good", "bad"])
def test_evidence_cites_real_lines(platform: str, kind: str) -> None:
    text = golden(f"{platform}_{kind}.conf")
    lines = text.splitlines()
    files = host_files(kind)
    cited = 0
    for finding in audit_text(text, platform, host_evidence=files).findings:
        for number, snippet in finding.evidence:
            if finding.check in CONTEXT_CHECKS and number is None:
                continue  # facts (change log, Prometheus), not lines of a file
            assert number is not None, (finding.check, snippet)
            path, sep, rest = snippet.partition(": ")
            if sep and path in files.files:  # host evidence: "<file>: <line>"
                raw = files.files[path].splitlines()[number - 1].strip()
                assert host.redact(raw) == rest, (finding.check, snippet)
            else:
                assert redact(lines[number - 1].strip()) == snippet, (finding.check, number)
            cited += 1
    assert cited >= 3


def test_every_check_passes_and_fails_somewhere() -> None:
    seen: dict[str, set[str]] = {c.id: set() for c in ALL}
    for platform in PLATFORMS:
        for kind, backed in (("good", NOW), ("bad", NOW - dt.timedelta(days=30))):
            audit = audit_text(golden(f"{platform}_{kind}.conf"), platform, backed_up_at=backed,
                               in_directory=kind == "good", host_evidence=host_files(kind),
                               **ops(kind))
            for f in audit.findings:
                seen[f.check].add(f.status.value)
    for text in (RA_GOOD, RA_BAD):
        for f in audit_text(as_running("cisco_ios", text), "cisco_ios", role="ce").findings:
            seen[f.check].add(f.status.value)
    assert all({"pass", "fail"} <= s for s in seen.values()), seen


def test_failures_carry_remediation_for_the_platform() -> None:
    audit = audit_text(golden("cisco_ios_bad.conf"), "cisco_ios")
    fixes = {f.check: f.remediation for f in audit.findings if f.status.value == "fail"}
    assert "ip ssh version 2" in fixes["mgmt.ssh_v2_only"]
    assert "no ip http server" in fixes["svc.http_off"]
    junos = audit_text(golden("juniper_junos_bad.conf"), "juniper_junos")
    fix = {f.check: f.remediation for f in junos.findings}["mgmt.ssh_v2_only"]
    assert fix[0] == "delete system services telnet"
    passed = [f for f in audit_text(golden("cisco_ios_good.conf"), "cisco_ios").findings]
    assert all(not f.remediation for f in passed)


def test_findings_name_their_iso_controls() -> None:
    by_check = {f.check: f.controls for f in audit_text(golden("cisco_ios_bad.conf"),
                                                         "cisco_ios").findings}
    assert "11.4.4" in by_check["mgmt.ssh_v2_only"]
    assert "11.5.5" in by_check["mgmt.session_timeout"]
    assert "10.6.2" in by_check["svc.snmp_v3_priv"]
    assert "12.3.1" in by_check["crypto.strong_ike_ipsec"]
    assert "10.5.1" in by_check["ops.backup_recent"]


# Targeted cases: statuses a golden file does not show on its own.

def _one(text: str, platform: str, check: str, **kw: object) -> tuple[str, str]:
    text = as_running(platform, text)
    f = {f.check: f for f in audit_text(text, platform, **kw).findings}[check]  # type: ignore
    return f.status.value, f.reason


def test_snmp_off_is_a_pass_with_reason() -> None:
    status, reason = _one("hostname r1\n", "cisco_ios", "svc.snmp_v3_priv")
    assert (status, reason) == ("pass", "SNMP agent not configured")


def test_ios_http_default_is_unknown_not_pass() -> None:
    assert _one("hostname r1\n", "cisco_ios", "svc.http_off")[0] == "unknown"


def test_ios_vty_without_transport_input_fails() -> None:
    text = "ip ssh version 2\nline vty 0 4\n login local\n"
    assert _one(text, "cisco_ios", "mgmt.ssh_v2_only")[0] == "fail"


def test_ios_ssh_v1_fails_even_with_ssh_only_vtys() -> None:
    text = "line vty 0 4\n transport input ssh\n"
    status, reason = _one(text, "cisco_ios", "mgmt.ssh_v2_only")
    assert status == "fail" and "version 2" in reason


def test_no_vty_section_is_unknown() -> None:
    assert _one("hostname r1\n", "cisco_ios", "mgmt.ssh_v2_only")[0] == "unknown"
    assert _one("hostname r1\n", "cisco_ios", "mgmt.access_acl")[0] == "unknown"


def test_frr_without_log_syslog_fails() -> None:
    assert _one("hostname r1\n", "frr", "log.remote_syslog")[0] == "fail"


RA_GOOD = ("ipv6 nd raguard policy GIN-RA-GUARD\n device-role host\n"
           "interface eth2\n ipv6 address 2001:db8:1:100::1/64\n"
           " ipv6 nd raguard attach-policy GIN-RA-GUARD\n")
RA_BAD = ("interface eth2\n ipv6 address 2001:db8:1:100::1/64\n"
          "interface eth3\n ipv6 address 2001:db8:1:200::1/64\n"
          " ipv6 nd raguard attach-policy NOT-DEFINED\n")


def test_ra_guard_on_agency_lans() -> None:
    assert _one(RA_GOOD, "cisco_ios", "route.ra_guard", role="ce")[0] == "pass"
    audit = audit_text(as_running("cisco_ios", RA_BAD), "cisco_ios", role="ce")
    f = {f.check: f for f in audit.findings}["route.ra_guard"]
    assert f.status.value == "fail"
    # after the 3 header lines as_running adds: eth2 (line 4) has none, eth3 names a missing policy
    assert [ln for ln, _ in f.evidence] == [4, 8]
    assert _one(RA_GOOD, "cisco_ios", "route.ra_guard", role="pe")[0] == "not_applicable"
    assert _one(RA_GOOD, "juniper_junos", "route.ra_guard")[0] == "not_applicable"


def test_device_outside_the_directory() -> None:
    text = golden("frr_good.conf")
    assert _one(text, "frr", "inv.in_directory", in_directory=None)[0] == "unknown"
    assert _one(text, "frr", "inv.in_directory", in_directory=False)[0] == "fail"


def test_backup_age() -> None:
    text = golden("frr_good.conf")
    assert _one(text, "frr", "ops.backup_recent", backed_up_at=None)[0] == "unknown"
    old = NOW - dt.timedelta(days=8)
    assert _one(text, "frr", "ops.backup_recent", backed_up_at=old)[0] == "fail"


def test_bgp_filter_through_peer_group_counts() -> None:
    text = ("ip prefix-list AG seq 5 permit 2001:db8::/32\n"
            "router bgp 65000\n neighbor AG peer-group\n"
            " neighbor 2001:db8::1 remote-as 65001\n neighbor 2001:db8::1 peer-group AG\n"
            " address-family ipv6 unicast\n  neighbor AG prefix-list AG in\n"
            "  neighbor 2001:db8::1 activate\n exit-address-family\n")
    assert _one(text, "cisco_ios", "route.bgp_inbound_filter")[0] == "pass"


def test_ibgp_only_is_not_applicable() -> None:
    text = "router bgp 65000\n neighbor 10.0.0.2 remote-as 65000\n"
    assert _one(text, "cisco_ios", "route.bgp_inbound_filter")[0] == "not_applicable"


def test_ikev2_group_list_with_a_weak_group_fails() -> None:
    text = "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256\n group 14 2\n"
    status, _ = _one(text, "cisco_ios", "crypto.strong_ike_ipsec")
    assert status == "fail"


def test_crypto_names_are_not_algorithms() -> None:
    text = "set security ike proposal md5 encryption-algorithm aes-256-gcm\n"
    assert _one(text, "juniper_junos", "crypto.strong_ike_ipsec")[0] == "pass"


def test_ce_role_skips_urpf_with_reason() -> None:
    status, reason = _one(golden("cisco_ios_good.conf"), "cisco_ios", "route.urpf_edges",
                          role="ce")
    assert status == "not_applicable" and "PE side" in reason


def test_frr_without_line_vty_uses_the_default_timeout() -> None:
    status, reason = _one("hostname r1\n", "frr", "mgmt.session_timeout")
    assert status == "pass" and "default of 10 min" in reason
    assert _one("hostname r1\n", "cisco_ios", "mgmt.session_timeout")[0] == "unknown"


def test_evidence_never_shows_a_secret() -> None:
    audit = audit_text(golden("cisco_ios_bad.conf"), "cisco_ios")
    shown = " ".join(tx for f in audit.findings for _, tx in f.evidence)
    assert "cisco123" not in shown and "letmein" not in shown and "0822455D0A16" not in shown
    assert "gin-rw" not in shown  # a community is a password
    assert "snmp-server community public RO" in shown  # the default one is the finding
    assert "password 0 <redacted>" in shown
    junos = audit_text(golden("juniper_junos_bad.conf"), "juniper_junos")
    assert "$1$abcdefgh" not in " ".join(tx for f in junos.findings for _, tx in f.evidence)


def test_ios_xe_reads_the_ios_entries_once_written() -> None:
    text = golden("cisco_ios_bad.conf")
    ios = audit_text(text, "cisco_ios").findings
    xe = audit_text(text, "cisco_xe").findings
    assert [(f.check, f.status, f.remediation) for f in ios] == \
        [(f.check, f.status, f.remediation) for f in xe]
    assert all("cisco_xe" not in c.remediation for c in ALL)
    assert any(f.remediation for f in xe)

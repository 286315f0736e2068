"""Host evidence of Linux routers: the files are read safely and parsed as their daemons
read them (sshd's first value wins, Match blocks; rsyslog's multi-line actions; nftables
blocks and anonymous sets), each check fails on a known-bad line with its evidence, and
missing or hostile evidence gives "unknown" or a clear reason, never a pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import host
from audit.checks import BY_ID
from audit.checks.base import Context
from audit.host import HostFiles
from audit.parse import parse
from audit.runner import ConfigSource, audit_one
from audit.sources import with_host_evidence
from tests.unit.audit.conftest import GOLDEN, NOW, golden, host_files

FRR = parse(golden("frr_good.conf"), "frr")


def verdict(check: str, files: dict[str, str] | HostFiles | None) -> tuple[str, str, tuple]:
    evidence = HostFiles(dict(files)) if isinstance(files, dict) else files
    r = BY_ID[check].run(FRR, "frr", Context("r1", host=evidence))
    return r.status.value, r.reason, r.evidence


SSHD = "etc/ssh/sshd_config"


def test_sshd_first_value_wins_and_match_blocks_count() -> None:
    files = {SSHD: "PermitRootLogin no\nPermitRootLogin yes\n"}
    assert verdict("host.ssh_root_login", files)[0] == "pass"
    files = {SSHD: "permitrootlogin NO\nMatch User backup\n  PermitRootLogin yes\n"}
    status, reason, evidence = verdict("host.ssh_root_login", files)
    assert status == "fail" and "Match" in reason
    assert evidence == ((3, f"{SSHD}: PermitRootLogin yes"),)
    assert verdict("host.ssh_root_login", {SSHD: "Port 22\n"})[0] == "fail"  # the default


def test_sshd_include_is_followed_inside_the_evidence() -> None:
    files = {SSHD: "Include sshd_config.d/*.conf\nPermitRootLogin yes\n",
             "etc/ssh/sshd_config.d/10-gin.conf": "PermitRootLogin no\n"}
    status, _, evidence = verdict("host.ssh_root_login", files)
    assert status == "pass" and evidence[0][1].startswith("etc/ssh/sshd_config.d/10-gin")
    loop = {SSHD: "Include /etc/ssh/sshd_config\nPermitRootLogin no\n"}
    assert verdict("host.ssh_root_login", loop)[0] == "pass"  # an Include loop ends


@pytest.mark.parametrize("line,status", [
    ("Ciphers aes256-gcm@openssh.com,aes128-cbc", "fail"),
    ("Ciphers +3des-cbc", "fail"),
    ("Ciphers -aes128-cbc", "pass"),
    ("MACs hmac-sha1", "fail"),
    ("KexAlgorithms diffie-hellman-group14-sha1", "fail"),
    ("KexAlgorithms curve25519-sha256", "pass"),
])
def test_sshd_algorithms(line: str, status: str) -> None:
    assert verdict("host.ssh_crypto", {SSHD: line + "\n"})[0] == status


def test_missing_evidence_is_unknown_never_pass() -> None:
    for check in ("mgmt.ssh_v2_only", "mgmt.login_banner", "mgmt.access_acl", "log.ntp",
                  "svc.snmp_v3_priv", "host.ssh_root_login", "host.ssh_crypto",
                  "log.remote_syslog"):
        assert verdict(check, None)[0] == "unknown", check
        status, reason, _ = verdict(check, {})
        assert status == "unknown" and "not in the host evidence" in reason, check


@pytest.mark.parametrize("conf,status", [
    ('*.* action(type="omfwd"\n  target="2001:db8::514" port="514")\n', "pass"),
    ("*.* @@[2001:db8::514]:514\n", "pass"),
    ("*.* @logs.gin.go.th\n", "pass"),
    ("# *.* @@old.example\n*.* /var/log/syslog\n", "fail"),
    ('action(type="omfile" file="/var/log/x")\n', "fail"),
])
def test_rsyslog_forwarding(conf: str, status: str) -> None:
    got = verdict("log.remote_syslog", {"etc/rsyslog.conf": conf})
    assert got[0] == status, got
    if status == "pass":
        assert got[2][-1][0] == 1  # the action's first line, as evidence


@pytest.mark.parametrize("conf,status", [
    ("rocommunity secret123 default\n", "fail"),
    ('createUser u SHA "a1234567" AES "p1234567"\nrouser u priv\n', "pass"),
    ('createUser u SHA "a1234567" DES "p1234567"\n', "fail"),
    ('createUser u MD5 "a1234567"\n', "fail"),
    ("rouser u\n", "fail"),  # the default level is auth: no privacy
    ("rouser -s usm u authpriv\n", "fail"),
    ("group g v2c sec\n", "fail"),
    ("agentaddress udp6:[::1]:161\n", "pass"),  # no access granted
])
def test_snmpd(conf: str, status: str) -> None:
    assert verdict("svc.snmp_v3_priv", {"etc/snmp/snmpd.conf": conf})[0] == status


def test_snmpd_secrets_never_reach_the_evidence() -> None:
    conf = ('createUser u SHA "auth-secret-1" AES "priv-secret-2"\nrouser u\n'
            "rocommunity s3cr3t-comm default\ntrap2sink 2001:db8::1 trap-comm-9\n")
    _, _, evidence = verdict("svc.snmp_v3_priv", {"etc/snmp/snmpd.conf": conf})
    text = repr(evidence)
    assert "rouser u" in text and "<redacted>" in text
    for secret in ("auth-secret-1", "priv-secret-2", "s3cr3t-comm", "trap-comm-9"):
        assert secret not in text
    _, _, ev = verdict("svc.snmp_v3_priv", {"etc/snmp/snmpd.conf": "rocommunity public\n"})
    assert "public" in repr(ev)  # a default community is the finding itself


NFT = "etc/nftables.conf"


@pytest.mark.parametrize("rules,status", [
    ("policy drop;\n tcp dport 22 ip6 saddr 2001:db8::/32 accept", "pass"),
    ("policy drop;\n tcp dport { 22, 443 } accept", "fail"),
    ("policy drop;\n tcp dport 1-1024 accept", "fail"),
    ("policy drop;\n meta l4proto tcp accept", "fail"),
    ("policy drop;\n tcp dport 443 accept\n udp dport 161 accept", "pass"),
    ("policy drop;\n ct state new accept", "fail"),
    ("policy accept;\n tcp dport 22 ip6 saddr 2001:db8::/32 accept", "fail"),
    ("policy accept;\n tcp dport 22 ip6 saddr 2001:db8::/32 accept\n tcp dport 22 drop",
     "pass"),
    ("policy drop;\n jump open\n }\n chain open {\n tcp dport ssh accept", "fail"),
    ("policy drop;\n tcp dport @mgmt accept", "fail"),
])
def test_nftables_management_acl(rules: str, status: str) -> None:
    conf = ("table inet filter {\n chain input {\n type filter hook input priority 0; "
            + rules + "\n }\n}\n")
    got = verdict("mgmt.access_acl", {NFT: conf})
    assert got[0] == status, got


@pytest.mark.parametrize("conf,why", [
    ("table inet filter {\n chain input {\n", "never closed"),
    ("}\n", "unbalanced"),
    ("table x {\n chain c {\n tcp dport " + "{" * 5000, "never closed"),
])
def test_malformed_nftables_is_unknown_with_the_reason(conf: str, why: str) -> None:
    status, reason, _ = verdict("mgmt.access_acl", {NFT: conf})
    assert status == "unknown" and why in reason


def test_nftables_without_an_input_chain() -> None:
    assert verdict("mgmt.access_acl", {NFT: "flush ruleset\n"})[0] == "fail"
    status, reason, _ = verdict("mgmt.access_acl", {NFT: 'include "/etc/nft.d/*.nft"\n'})
    assert status == "unknown" and "included" in reason


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('{};\n#"ab 22 accept drop policy chain table '
                                              'input hook type saddr dport')),
               max_size=400))
def test_any_nftables_text_gives_a_verdict_not_a_crash(text: str) -> None:
    status, reason, _ = verdict("mgmt.access_acl", {NFT: text})
    assert status in ("pass", "fail", "unknown") and reason


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_host_text_gives_a_verdict_not_a_crash(text: str) -> None:
    files = {SSHD: text, "etc/rsyslog.conf": text, "etc/snmp/snmpd.conf": text,
             "etc/chrony/chrony.conf": text}
    for check in ("host.ssh_root_login", "host.ssh_crypto", "log.remote_syslog",
                  "svc.snmp_v3_priv", "log.ntp", "mgmt.login_banner", "mgmt.ssh_v2_only"):
        status, _, _ = verdict(check, files)
        assert status in ("pass", "fail", "unknown")


def test_reading_refuses_symlinks_binary_and_oversized_files(tmp_path: Path) -> None:
    etc = tmp_path / "r1" / "etc"
    (etc / "ssh").mkdir(parents=True)
    (etc / "snmp").mkdir()
    os.symlink("/etc/hostname", etc / "ssh" / "sshd_config")
    (etc / "snmp" / "snmpd.conf").write_bytes(b"rouser u priv\x00\x01")
    (etc / "nftables.conf").write_bytes(b"#" * (host.MAX_FILE + 1))
    files = host.read_folder(tmp_path)["r1"]
    assert files.files == {}
    assert files.unreadable == {"etc/ssh/sshd_config": "not a regular file",
                                "etc/snmp/snmpd.conf": "binary data, not a configuration file",
                                "etc/nftables.conf": "larger than 1024 KiB"}
    status, reason, _ = verdict("svc.snmp_v3_priv", files)
    assert status == "unknown" and "binary data" in reason


def test_folder_layout_and_device_names(tmp_path: Path) -> None:
    for name in ("r1", "../evil", ".hidden"):
        (tmp_path / "ev" / name / "etc").mkdir(parents=True, exist_ok=True)
    (tmp_path / "ev" / "r1" / "etc" / "nftables.conf").write_text("flush ruleset\n")
    assert set(host.read_folder(tmp_path / "ev")) == {"r1"}
    with pytest.raises(Exception, match="not a folder of host evidence"):
        host.read_folder(tmp_path / "nope")


def test_evidence_folder_reaches_the_checks(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(GOLDEN / "host_bad", tmp_path / "r1")
    src = [ConfigSource("r1", "frr", golden("frr_good.conf"), "pe", "DOPA", NOW, True),
           ConfigSource("r2", "frr", golden("frr_good.conf"), "pe", "DOPA", NOW, True)]
    one, two = (audit_one(s, now=NOW) for s in with_host_evidence(src, tmp_path))
    by = {f.check: f for f in one.findings}
    assert by["host.ssh_root_login"].status.value == "fail"
    assert by["host.ssh_root_login"].remediation == ("# /etc/ssh/sshd_config",
                                                     "PermitRootLogin no")
    assert by["host.ssh_root_login"].evidence == ((2, f"{SSHD}: PermitRootLogin yes"),)
    assert {f.status.value for f in two.findings
            if f.check.startswith("host.")} == {"unknown"}  # no folder for r2


def test_golden_host_evidence_passes_whole() -> None:
    files = host_files("good")
    assert "etc/ssh/sshd_config.d/gin.conf" in files.files
    assert not files.unreadable

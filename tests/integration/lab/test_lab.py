"""The lab itself, on real FRR/sshd/snmpd in namespaces (root): up, BGP, SSH, SNMP."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from gin import lab

pytestmark = pytest.mark.integration

REQUIRE = os.environ.get("GIN_REQUIRE_INTEGRATION") == "1"
IFDESCR = "1.3.6.1.2.1.2.2.1.2"
SYSNAME = "1.3.6.1.2.1.1.5.0"


def need(condition: bool, reason: str) -> None:
    """Skip without a tool, but fail in CI (GIN_REQUIRE_INTEGRATION=1) where it must exist."""
    if not condition:
        (pytest.fail if REQUIRE else pytest.skip)(reason)


def test_up_is_healthy(gin_lab):
    data = lab.status(gin_lab.name)
    assert data["healthy"], data
    routers = [n for n in data["nodes"] if n["role"] in ("pe", "ce")]
    assert len(routers) == 5
    for node in routers:
        assert all(node["daemons"].values()), node
        assert node["netns"].startswith(f"{gin_lab.name}-")
        for iface in node["interfaces"]:
            assert iface["name"].startswith(f"{gin_lab.name}-") and len(iface["name"]) <= 15


def test_core_ibgp_established(gin_lab):
    for pe in ("pe1", "pe2"):
        peers = lab.wait_bgp_established(gin_lab, pe, timeout=30)
        assert len(peers) == 1


def test_ping6_between_pe_loopbacks(gin_lab):
    lab.wait_bgp_established(gin_lab, "pe1", timeout=30)  # OSPFv3 is up before iBGP is
    argv = ["ping", "-6", "-c", "1", "-W", "1", "-I", "2001:db8:0:ffff::1", "2001:db8:0:ffff::2"]
    deadline = time.monotonic() + 20
    while True:
        proc = gin_lab.exec("pe1", argv)
        if proc.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_host_has_lan_address(gin_lab):
    proc = gin_lab.exec("h1", ["ip", "-6", "-o", "addr", "show"])
    assert "2001:db8:1001::10/64" in proc.stdout


def test_ssh_login_lands_in_vtysh(gin_lab):
    need(importlib.util.find_spec("netmiko") is not None, "needs netmiko (pip install netmiko)")
    import netmiko

    params = gin_lab.netmiko_params("pe1")
    assert params["host"] == "127.0.0.1"
    conn = netmiko.ConnectHandler(**params)
    try:
        assert conn.find_prompt() == "pe1#"
        assert "FRRouting" in conn.send_command("show version")
        assert "hostname pe1" in conn.send_command("show running-config")
    finally:
        conn.disconnect()


def test_ssh_refuses_without_the_lab_key(gin_lab, tmp_path):
    port = gin_lab.node("pe1").ssh_port
    proc = subprocess.run(
        ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", f"UserKnownHostsFile={tmp_path / 'kh'}", "-o", "IdentitiesOnly=yes",
         "-o", "IdentityFile=/dev/null", "root@127.0.0.1", "show version"],
        capture_output=True, text=True, timeout=20, check=False)
    assert proc.returncode != 0 and "FRRouting" not in proc.stdout


def _snmpwalk(gin_lab, node: str, oid: str) -> subprocess.CompletedProcess[str]:
    snmp = gin_lab.credentials()["snmp"]
    addr = gin_lab.node(node).mgmt_address
    return subprocess.run(
        ["snmpwalk", "-v3", "-l", "authPriv", "-u", snmp["user"], "-a", snmp["auth_protocol"],
         "-A", snmp["auth_key"], "-x", snmp["priv_protocol"], "-X", snmp["priv_key"],
         "-On", "-r", "2", "-t", "2", f"udp6:[{addr}]:161", oid],
        capture_output=True, text=True, timeout=30, check=False, env={**os.environ, "MIBS": ""})


def test_snmpv3_walk_ifmib_shows_namespace_interfaces(gin_lab):
    need(shutil.which("snmpwalk") is not None, "needs the Debian package snmp (snmpwalk)")
    node = gin_lab.node("pe1")
    proc = _snmpwalk(gin_lab, "pe1", IFDESCR)
    assert proc.returncode == 0, proc.stderr
    names = {line.split('"')[1] for line in proc.stdout.splitlines() if '"' in line}
    expected = {i.name for i in node.interfaces} | {node.mgmt_ifname, "lo"}
    assert expected <= names  # (other tests may add interfaces to the shared lab)
    assert not names & set(os.listdir("/sys/class/net")) - {"lo"}  # not the root namespace's
    sysname = _snmpwalk(gin_lab, "pe1", SYSNAME)
    assert '"pe1"' in sysname.stdout


def test_snmpv3_wrong_key_gets_nothing(gin_lab):
    need(shutil.which("snmpget") is not None, "needs the Debian package snmp (snmpget)")
    snmp = gin_lab.credentials()["snmp"]
    addr = gin_lab.node("pe2").mgmt_address
    proc = subprocess.run(
        ["snmpget", "-v3", "-l", "authPriv", "-u", snmp["user"], "-a", "SHA",
         "-A", "wrong-passphrase-123", "-x", "AES", "-X", snmp["priv_key"], "-On",
         "-r", "0", "-t", "1", f"udp6:[{addr}]:161", SYSNAME],
        capture_output=True, text=True, timeout=20, check=False, env={**os.environ, "MIBS": ""})
    assert proc.returncode != 0 and "pe2" not in proc.stdout


def test_secrets_are_private_and_not_in_state(gin_lab):
    creds_path = Path(gin_lab.credentials_file)
    assert gin_lab.credentials_ref == f"file:{creds_path}"
    creds = json.loads(creds_path.read_text())
    assert set(creds) == {"username", "key_file", "snmp"}
    for path in (creds_path, Path(creds["key_file"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for node in gin_lab.routers:
        assert stat.S_IMODE((Path(node.dir) / "snmpd.conf").stat().st_mode) == 0o600
    state_text = (Path(gin_lab.dir) / "state.json").read_text()
    for secret in (creds["snmp"]["auth_key"], creds["snmp"]["priv_key"]):
        assert secret not in state_text
        assert secret not in json.dumps(lab.status(gin_lab.name))


def test_registered_in_directory(gin_lab, gin_lab_directory):
    from directory import store

    with gin_lab_directory.transaction() as session:
        pe1 = store.get_device(session, "pe1")
        assert (pe1.role, pe1.platform, pe1.site.agency.code) == ("pe", "frr", "LAB")
        assert pe1.mgmt_port == gin_lab.node("pe1").ssh_port
        assert pe1.snmp_address == gin_lab.node("pe1").mgmt_address
        assert pe1.credential_ref == gin_lab.credentials_ref
        ce1 = store.get_device(session, "ce1")
        assert ce1.site.agency.code == "MOF" and ce1.role == "ce"
        assert store.get_agency(session, "MOF").name_en == "Ministry of Finance"
    from gin.lab.register import register

    register(gin_lab, gin_lab_directory)  # idempotent


def test_credential_reference_resolves_with_gin_secrets(gin_lab):
    secrets = pytest.importorskip("devices.secrets")
    creds = secrets.resolve(gin_lab.credentials_ref)
    assert creds["username"].reveal() == "root"
    assert Path(creds["key_file"].reveal()).is_file()
    assert "***" in repr(creds["snmp"]["priv_key"])

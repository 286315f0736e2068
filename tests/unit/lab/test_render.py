"""Rendering of FRR, sshd and snmpd configs from a planned lab (no root, nothing started)."""

from __future__ import annotations

import ipaddress
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_ssh_private_key

from gin.lab import credentials, frr, names, snmpd, sshd
from gin.lab.errors import LabError
from gin.lab.lab import plan, topology_digest
from gin.lab.render import render
from gin.lab.state import LabState
from gin.lab.topology import generate_topology, load_topology


@pytest.fixture
def state(tmp_path) -> LabState:
    return plan(load_topology(), "gin", tmp_path / "gin", tmp_path / "gin/secrets/c.json")


def test_plan_names_addresses_and_ports(state):
    pe1, ce1, h1 = state.node("pe1"), state.node("ce1"), state.node("h1")
    assert pe1.netns == "gin-pe1" and pe1.mgmt_ifname == "gin-0-0"
    assert [i.name for i in pe1.interfaces] == ["gin-0-1", "gin-0-2", "gin-0-3"]
    to_ce1 = next(i for i in pe1.interfaces if i.peer_node == "ce1")
    back = next(i for i in ce1.interfaces if i.peer_node == "pe1")
    assert to_ce1.peer_ifname == back.name and back.peer_ifname == to_ce1.name
    assert h1.interfaces[0].address == "2001:db8:1001::10/64" and h1.ssh_port is None
    ports = [n.ssh_port for n in state.routers]
    assert len(set(ports)) == 5 and all(1024 < p < 65536 for p in ports)
    prefix = ipaddress.IPv6Network(state.ula_prefix)
    assert prefix.prefixlen == 64 and prefix.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert ipaddress.IPv6Address(pe1.mgmt_address) in prefix
    assert len({n.mgmt_address for n in state.routers} | {state.mgmt_gateway}) == 6


def test_state_roundtrip(state):
    again = LabState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    assert state.credentials_ref.startswith("file:/")


def test_ula_prefixes_differ_per_lab():
    assert len({names.ula_prefix() for _ in range(20)}) == 20


def test_longest_names_fit_linux_ifname_limit():
    assert len(names.ifname("abcdefgh", 999, 99)) == 15
    assert len(names.mgmt_root_ifname("abcdefgh", 999)) <= 15
    assert len(names.bridge_name("abcdefgh")) <= 15
    # '-' after the lab name keeps labs apart: g1 node 23 vs g12 node 3
    assert names.mgmt_root_ifname("g1", 23) != names.mgmt_root_ifname("g12", 3)


def test_pe_config_has_core_ibgp_and_ospf6(state):
    files = frr.render_node(state, state.node("pe1"))
    assert set(files) == {"zebra.conf", "staticd.conf", "bgpd.conf", "ospf6d.conf", "vtysh.conf"}
    assert "hostname pe1" in files["zebra.conf"]
    assert "ipv6 address 2001:db8:0:ffff::1/128" in files["zebra.conf"]
    bgp = files["bgpd.conf"]
    assert "router bgp 65000" in bgp and "bgp router-id 10.255.0.1" in bgp
    assert "neighbor 2001:db8:0:ffff::2 remote-as internal" in bgp
    assert "neighbor 2001:db8:0:ffff::2 update-source lo" in bgp
    assert "ebgp-requires-policy" not in bgp  # eBGP policy is provisioning's job
    ospf = files["ospf6d.conf"]
    assert "interface gin-0-1\n ipv6 ospf6 area 0.0.0.0" in ospf
    assert "gin-0-2" not in ospf  # PE-CE links stay unconfigured
    assert "ospf6 router-id 10.255.0.1" in ospf
    assert "service integrated-vtysh-config" in files["vtysh.conf"]


def test_ce_config_is_bare(state):
    files = frr.render_node(state, state.node("ce2"))
    assert "router bgp" not in files["bgpd.conf"]
    assert "router ospf6" not in files["ospf6d.conf"]
    assert "ipv6 address" not in files["zebra.conf"]
    assert "interface gin-3-1\n description to pe2 gin-1-2" in files["zebra.conf"]


def test_sshd_config_forces_vtysh_and_keys_only(state):
    text = sshd.render_config(state, state.node("pe2"))
    port = state.node("pe2").ssh_port
    assert f"ListenAddress 127.0.0.1:{port}" in text
    assert "PasswordAuthentication no" in text and "UsePAM no" in text
    force = next(line for line in text.splitlines() if line.startswith("ForceCommand"))
    assert "/usr/bin/vtysh --vty_socket" in force and "nodes/pe2/run" in force
    assert f"AuthorizedKeysFile {state.dir}/secrets/authorized_keys" in text


def test_snmpd_config_listens_on_mgmt_with_v3_authpriv(state):
    snmp = {"user": "u1", "auth_key": "a" * 32, "priv_key": "p" * 32}
    text = snmpd.render_config(state, state.node("ce1"), snmp)
    assert f"agentaddress udp6:[{state.node('ce1').mgmt_address}]:161" in text
    assert f'createUser u1 SHA "{"a" * 32}" AES "{"p" * 32}"' in text
    assert "rouser u1 priv" in text
    assert "rocommunity" not in text and "rwuser" not in text


def test_render_refuses_control_characters():
    with pytest.raises(LabError, match="control characters"):
        render("vtysh.conf.j2", node={"name": "pe1\nrouter bgp 666"})


def test_credentials_are_generated_private_and_loadable(tmp_path):
    path = credentials.create(tmp_path / "secrets", "gin")
    other = credentials.create(tmp_path / "secrets2", "gin")
    creds = credentials.load(f"file:{path}")
    assert creds["username"] == "root"
    assert creds["snmp"]["auth_protocol"] == "SHA" and creds["snmp"]["priv_protocol"] == "AES"
    assert len(creds["snmp"]["auth_key"]) >= 16 and len(creds["snmp"]["priv_key"]) >= 16
    assert creds["snmp"]["auth_key"] != credentials.load(other)["snmp"]["auth_key"]
    for f in (path, Path(creds["key_file"]), tmp_path / "secrets/authorized_keys"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    load_ssh_private_key(Path(creds["key_file"]).read_bytes(), password=None)
    pub = (tmp_path / "secrets/authorized_keys").read_text()
    assert pub.startswith("ssh-ed25519 ")


def test_generated_lab_plans_50_routers(tmp_path):
    topo = generate_topology(50)
    state = plan(topo, "b50", tmp_path / "b50", tmp_path / "c.json")
    assert len(state.routers) == 50
    assert max(len(i.name) for n in state.nodes.values() for i in n.interfaces) <= 15
    assert topology_digest(topo) == topology_digest(generate_topology(50))


def test_router_launcher_script_orders_daemons_and_quotes_paths(tmp_path):
    base = tmp_path / "dir with space"
    state = plan(load_topology(), "gin", base, base / "c.json")
    node = state.node("pe1")
    script = frr.router_script(node, [snmpd.argv(node)])
    lines = script.splitlines()
    assert lines[0] == 'hostname "$0" || exit 9'
    assert lines[1].startswith("/usr/lib/frr/zebra -d") and lines[1].endswith("|| exit 10")
    assert "while [ ! -S " in lines[3] and "exit 11" in lines[3]
    assert [ln.split()[0].rsplit("/", 1)[1] for ln in lines[4:7]] == ["staticd", "bgpd", "ospf6d"]
    assert lines[-1].startswith("env MIBS= /usr/sbin/snmpd") and lines[-1].endswith("exit 20")
    assert f"'{base}/nodes/pe1/run/zserv.api'" in script  # quoted: the path has a space
    assert "--limit-fds 1024" in script and "-u frr -g frr" in script

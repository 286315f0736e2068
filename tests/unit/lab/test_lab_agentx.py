"""The lab's BGP-over-SNMP wiring, rendered (no root): per-router AgentX sockets, bgpd's
SNMP module, and the IPv4 iBGP session FRR 8.4's BGP4-MIB can show."""

from __future__ import annotations

import ipaddress

import pytest

from gin.lab import frr, snmpd
from gin.lab.lab import plan
from gin.lab.state import LabState
from gin.lab.topology import generate_topology, load_topology


@pytest.fixture
def state(tmp_path) -> LabState:
    return plan(load_topology(), "gin", tmp_path / "gin", tmp_path / "creds.json")


def test_core_links_get_one_ipv4_31_each(tmp_path) -> None:
    big = plan(generate_topology(50), "b50", tmp_path / "b50", tmp_path / "c.json")
    v4 = frr.core_v4(big)
    nets = {}
    for n in big.routers:
        for i in n.interfaces:
            if i.core:
                here, there = v4[(n.name, i.name)], v4[(i.peer_node, i.peer_ifname)]
                assert here.network == there.network and here.ip != there.ip
                nets.setdefault(here.network, set()).add(n.name)
    assert nets and all(len(names) == 2 for names in nets.values())  # one /31 per link
    assert all(net.subnet_of(frr.CORE_V4) for net in nets)


def test_pe_has_an_ipv4_ibgp_session_to_its_core_neighbour(state: LabState) -> None:
    pe1, pe2 = state.node("pe1"), state.node("pe2")
    v4 = frr.core_v4(state)
    core1 = next(i for i in pe1.interfaces if i.core)
    far = v4[(core1.peer_node, core1.peer_ifname)]
    files = frr.render_node(state, pe1)
    assert f"interface {core1.name}" in files["zebra.conf"]
    assert f" ip address {v4[('pe1', core1.name)]}" in files["zebra.conf"]
    bgp = files["bgpd.conf"]
    assert f"neighbor {far.ip} remote-as internal" in bgp
    assert f"address-family ipv4 unicast\n  neighbor {far.ip} activate" in bgp
    assert str(ipaddress.IPv6Interface(pe2.loopback).ip) in bgp  # the IPv6 session stays
    ce = frr.render_node(state, state.node("ce1"))
    assert "ip address" not in ce["zebra.conf"] and "neighbor" not in ce["bgpd.conf"]


def test_agentx_per_router(state: LabState) -> None:
    if not snmpd.frr_snmp_available():
        text = snmpd.render_config(state, state.node("pe1"), {"user": "u", "auth_key": "a",
                                                              "priv_key": "p"})
        assert "agentx" not in text and "-M" not in frr.daemon_argv(state.node("pe1"), "bgpd")
        return
    socks = set()
    for name in ("pe1", "ce1"):
        node = state.node(name)
        text = snmpd.render_config(state, node, {"user": "u", "auth_key": "a", "priv_key": "p"})
        assert "master agentx" in text
        assert f"agentXSocket unix:{node.run_dir / 'agentx.sock'}" in text
        socks.add(text)
        assert frr.daemon_argv(node, "bgpd")[-2:] == ["-M", "snmp"]
        assert "-M" not in frr.daemon_argv(node, "zebra")
        assert "\nagentx\n" in frr.render_node(state, node)["bgpd.conf"]
        env = snmpd.subagent_env(node)
        assert f"SNMPCONFPATH={node.etc_dir / 'snmp'}" in env
    assert len(socks) == 2  # each router its own socket

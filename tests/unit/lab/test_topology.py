"""Topology parsing and validation: every name that reaches a shell or a config is checked."""

from __future__ import annotations

import pytest

from gin.lab.errors import TopologyError
from gin.lab.topology import (
    generate_topology,
    load_topology,
    parse_topology,
    topology_from_dict,
    validate_lab_name,
)

GOOD = """
name: tiny
nodes:
  - {name: pe1, role: pe, router_id: 10.0.0.1, loopback: "2001:db8::1/128"}
  - {name: pe2, role: pe, router_id: 10.0.0.2, loopback: "2001:db8::2/128"}
  - {name: ce1, role: ce, agency: {code: MOF, name: Ministry of Finance}}
  - {name: h1, role: host, agency: MOF, address: "2001:db8:1::10/64", gateway: "2001:db8:1::1"}
links:
  - {endpoints: [pe1, pe2], core: true}
  - [pe1, ce1]
  - {endpoints: [ce1, h1]}
"""


def test_default_topology_is_the_small_gin():
    topo = load_topology()
    roles = [n.role for n in topo.nodes]
    assert roles.count("pe") == 2 and roles.count("ce") == 3 and roles.count("host") == 3
    core = [link for link in topo.links if link.core]
    assert len(core) == 1 and {core[0].a.node, core[0].b.node} == {"pe1", "pe2"}
    for ce in ("ce1", "ce2", "ce3"):
        peers = {peer.node for _, _, _, peer in topo.links_of(ce)}
        assert any(p.startswith("pe") for p in peers) and any(p.startswith("h") for p in peers)
    assert topo.node("ce1").agency.code == "MOF"


def test_good_topology_parses_with_ports_in_order():
    topo = parse_topology(GOOD)
    assert [n.index for n in topo.nodes] == [0, 1, 2, 3]
    ports = [(port, peer.node) for port, _, _, peer in topo.links_of("ce1")]
    assert ports == [(1, "pe1"), (2, "h1")]
    assert topo.node("pe1").asn == 65000  # core AS by default
    assert topo.node("ce1").asn is None


@pytest.mark.parametrize("text, message", [
    ("nodes: [", "not valid YAML"),
    ("- just a list", "top level must be a mapping"),
    ("nodes: []", "non-empty list"),
    ("nodes: [{name: a, role: pe}]", "needs 'router_id' and 'loopback'"),
    ("nodes: [{name: a, role: king}]", "role must be one of"),
    ("nodes: [{name: a, role: ce}, {name: a, role: ce}]", "duplicate node name"),
    ("nodes: [{name: a, role: ce}]\nlinks: [[a, b]]", "unknown node 'b'"),
    ("nodes: [{name: a, role: ce}]\nlinks: [[a, a]]", "two different nodes"),
    ("nodes: [{name: a, role: ce, colour: red}]", "unknown key"),
    ("nodes: [{name: a, role: ce}]\nbogus: 1", "unknown top-level key"),
    ("nodes: [{name: a, role: ce, agency: 'bad code'}]", "agency code"),
    ("nodes: [{name: a, role: ce}, {name: b, role: ce}]\nlinks: [{endpoints: [a, b], core: true}]",
     "'core' links join two pe nodes"),
    ("nodes: [{name: a, role: host, address: '2001:db8::1'}]", "needs a prefix length"),
    ("nodes: [{name: a, role: host, address: 'not-an-ip/64'}]", "not an IPv6"),
    ("nodes: [{name: a, role: ce, address: '2001:db8::1/64'}]", "'address' is for hosts"),
    ("asn: -1\nnodes: [{name: a, role: ce}]", "'asn' must be an integer"),
])
def test_invalid_topologies_fail_with_one_clear_line(text, message):
    with pytest.raises(TopologyError) as info:
        parse_topology(text, source="t.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("t.yaml")
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 1


@pytest.mark.parametrize("name", [
    "pe1\nrouter bgp 1", "pe 1", "pe1;reboot", "PE1", "-pe", "pe-", "a" * 25, "", "pe1/2",
    "pe$(id)", "ce1\r", "ümlaut", "pe1\n",
])
def test_hostile_node_names_are_rejected(name):
    with pytest.raises(TopologyError, match="node name"):
        topology_from_dict({"nodes": [{"name": name, "role": "ce"}]})


@pytest.mark.parametrize("value", ["Ministry\nof Finance", "x\x00y", "a\x1b[31m"])
def test_hostile_agency_names_are_rejected(value):
    with pytest.raises(TopologyError, match="agency name"):
        topology_from_dict({"nodes": [{"name": "a", "role": "ce",
                                       "agency": {"code": "MOF", "name": value}}]})


@pytest.mark.parametrize("name", ["gin", "t1a2b", "abcdefgh", "a"])
def test_good_lab_names(name):
    assert validate_lab_name(name) == name


@pytest.mark.parametrize("name", ["abcdefghi", "gin-1", "1gin", "Gin", "", "g n", "g;n", "g\n"])
def test_bad_lab_names_too_long_or_hostile(name):
    with pytest.raises(TopologyError, match="lab name"):
        validate_lab_name(name)


def test_missing_topology_file(tmp_path):
    with pytest.raises(TopologyError, match="cannot read topology"):
        load_topology(tmp_path / "nope.yaml")


@pytest.mark.parametrize("routers", [2, 5, 20, 50])
def test_generated_topologies(routers):
    topo = generate_topology(routers, hosts=True)
    assert len(topo.routers) == routers
    assert sum(1 for n in topo.nodes if n.role == "pe") == 2


def test_generated_needs_two_routers():
    with pytest.raises(TopologyError):
        generate_topology(1)


def test_gateway_nodes_for_vpn_tests():
    topo = topology_from_dict({
        "nodes": [{"name": "gw1", "role": "gw", "gateway": "2001:db8:ff::2"},
                  {"name": "gw2", "role": "gw"}],
        "links": [{"endpoints": ["gw1", "gw2"],
                   "addresses": ["2001:db8:ff::1/64", "2001:db8:ff::2/64"]}],
    })
    assert [n.is_router for n in topo.nodes] == [False, False]
    assert topo.links[0].a.address == "2001:db8:ff::1/64"

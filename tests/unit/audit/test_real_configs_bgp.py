"""eBGP edges as real configs write them: a "filter" that lets every route in is no filter
(IOS/FRR route-maps and prefix-lists, Junos import chains, which fall through to BGP's
default accept); FRR unnumbered neighbours join peer-groups; Junos routing instances have
eBGP sessions too."""

from __future__ import annotations

import pytest

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.checks.routing import open_policies
from audit.parse import parse
from tests.unit.audit.conftest import as_running

CTX = Context(device="r1", role="pe")


def _judge(platform: str, text: str):  # noqa: ANN202
    config = parse(as_running(platform, text), platform)
    return BY_ID["route.bgp_inbound_filter"].run(config, platform, CTX)


IOS_EDGE = """\
router bgp 65000
 neighbor EDGE peer-group
 neighbor EDGE remote-as 65010
 neighbor 2001:db8:1::2 peer-group EDGE
 address-family ipv6 unicast
  neighbor 2001:db8:1::2 activate
  neighbor EDGE route-map IN in
 exit-address-family
!
ipv6 prefix-list AGENCY seq 5 permit 2001:db8:10::/48
"""


@pytest.mark.parametrize("route_map,accepts_all", [
    ("route-map IN permit 10\n set local-preference 200\n", True),
    ("route-map IN permit 10\n match ipv6 address prefix-list AGENCY\n", False),
    ("route-map IN permit 10\n match ipv6 address prefix-list AGENCY\n"
     "route-map IN permit 20\n set local-preference 50\n", True),
    ("route-map IN deny 10\n match ipv6 address prefix-list AGENCY\n"
     "route-map IN permit 20\n", False),  # a bogon-style deny first: it filters
    ("route-map IN permit 20\n!\nroute-map IN deny 10\n", False),  # sequence order counts
])
def test_an_inbound_route_map_that_permits_everything_is_no_filter(route_map: str,
                                                                    accepts_all: bool) -> None:
    for platform in ("cisco_ios", "frr"):
        result = _judge(platform, IOS_EDGE + route_map)
        assert (result.status is Status.FAIL) == accepts_all, (platform, result)
        if accepts_all:
            assert "accepts every route" in result.reason and "IN" in result.reason


@pytest.mark.parametrize("lines,expected", [
    (["ip prefix-list P seq 5 permit 0.0.0.0/0 le 32"], True),
    (["ipv6 prefix-list P seq 5 permit ::/0 le 128"], True),
    (["ip prefix-list P permit any"], True),  # FRR
    (["ip prefix-list P seq 5 deny 10.0.0.0/8 le 32",
      "ip prefix-list P seq 10 permit 0.0.0.0/0 le 32"], False),
    (["ip prefix-list P seq 5 permit 0.0.0.0/0"], False),  # the default route only
    (["ip prefix-list P seq 5 permit 0.0.0.0/0 ge 25 le 32"], False),
])
def test_a_prefix_list_that_permits_every_prefix_is_open(lines: list[str],
                                                         expected: bool) -> None:
    config = parse(as_running("cisco_ios", "\n".join(lines) + "\n"), "cisco_ios")
    assert (("prefix-list", "P") in open_policies(config)) is expected


def test_frr_unnumbered_neighbours_join_their_peer_group() -> None:
    text = ("router bgp 65000\n neighbor FABRIC peer-group\n neighbor FABRIC remote-as external\n"
            " neighbor swp1 interface peer-group FABRIC\n"
            " neighbor swp2 interface v6only peer-group FABRIC\n")
    result = _judge("frr", text)
    assert result.status is Status.FAIL
    cited = {snippet for _, snippet in result.evidence}
    assert {"neighbor swp1 interface peer-group FABRIC",
            "neighbor swp2 interface v6only peer-group FABRIC"} <= cited
    filtered = _judge("frr", text + " address-family ipv6 unicast\n"
                      "  neighbor FABRIC prefix-list AGENCY in\n exit-address-family\n!\n"
                      "ipv6 prefix-list AGENCY seq 5 permit 2001:db8:10::/48\n")
    assert filtered.status is Status.PASS, filtered
    assert "all 2 eBGP sessions" in filtered.reason


JUNOS = """\
set routing-options autonomous-system 65000
set protocols bgp group EXT type external
set protocols bgp group EXT peer-as 65010
set protocols bgp group EXT neighbor 2001:db8:1::2 import [ BOGONS AGENCY ]
set policy-options prefix-list A 2001:db8:10::/48
set policy-options policy-statement BOGONS term martians from route-filter ::/8 orlonger
set policy-options policy-statement BOGONS term martians then reject
"""


@pytest.mark.parametrize("agency,passes", [
    (["term a from prefix-list A", "term a then accept", "then reject"], True),
    (["term a from prefix-list A", "term a then accept"], True),  # BOGONS rejects first
    (["term all then accept"], True),
])
def test_a_junos_import_chain_filters_when_some_term_rejects(agency: list[str],
                                                             passes: bool) -> None:
    text = JUNOS + "".join(f"set policy-options policy-statement AGENCY {t}\n" for t in agency)
    result = _judge("juniper_junos", text)
    assert (result.status is Status.PASS) is passes, result


def test_a_junos_import_policy_that_never_rejects_lets_every_route_in() -> None:
    text = JUNOS.replace("import [ BOGONS AGENCY ]", "import AGENCY") + (
        "set policy-options policy-statement AGENCY term a from prefix-list A\n"
        "set policy-options policy-statement AGENCY term a then local-preference 200\n"
        "set policy-options policy-statement AGENCY term a then accept\n")
    result = _judge("juniper_junos", text)
    assert result.status is Status.FAIL and "AGENCY" in result.reason, result


def test_junos_routing_instance_sessions_are_judged_too() -> None:
    text = ("set routing-options autonomous-system 65000\n"
            "set routing-instances AGENCY-VRF instance-type vrf\n"
            "set routing-instances AGENCY-VRF protocols bgp group CE peer-as 65010\n"
            "set routing-instances AGENCY-VRF protocols bgp group CE neighbor 192.0.2.1\n")
    result = _judge("juniper_junos", text)
    assert result.status is Status.FAIL, result
    assert any("routing-instances AGENCY-VRF" in s for _, s in result.evidence)
    internal = text.replace("peer-as 65010", "peer-as 65000")
    assert _judge("juniper_junos", internal).status is Status.NOT_APPLICABLE


def test_one_ce_address_in_two_vrfs_is_two_sessions() -> None:
    """An MPLS PE reuses a CE address in every VRF: the filter of one VRF's session does
    not cover the other's."""
    text = ("router bgp 65000\n address-family ipv4 vrf AGENCY-A\n"
            "  neighbor 10.1.1.2 remote-as 65010\n  neighbor 10.1.1.2 activate\n"
            "  neighbor 10.1.1.2 prefix-list A-IN in\n exit-address-family\n"
            " address-family ipv4 vrf AGENCY-B\n  neighbor 10.1.1.2 remote-as 65020\n"
            "  neighbor 10.1.1.2 activate\n exit-address-family\n!\n"
            "ip prefix-list A-IN seq 5 permit 198.51.100.0/24\n")
    result = _judge("cisco_ios", text)
    assert result.status is Status.FAIL, result
    assert [s for _, s in result.evidence] == ["neighbor 10.1.1.2 remote-as 65020"]
    both = text.replace("  neighbor 10.1.1.2 activate\n exit-address-family\n!\n",
                        "  neighbor 10.1.1.2 activate\n  neighbor 10.1.1.2 prefix-list A-IN in\n"
                        " exit-address-family\n!\n")
    passed = _judge("cisco_ios", both)
    assert passed.status is Status.PASS and "all 2 eBGP sessions" in passed.reason, passed


def test_junos_urpf_finds_the_edge_of_a_routing_instance_session() -> None:
    text = ("set routing-options autonomous-system 65000\n"
            "set interfaces ge-0/0/1 unit 0 family inet6 address 2001:db8:1::1/64\n"
            "set routing-instances AGENCY-VRF instance-type vrf\n"
            "set routing-instances AGENCY-VRF interface ge-0/0/1.0\n"
            "set routing-instances AGENCY-VRF protocols bgp group CE peer-as 65010\n"
            "set routing-instances AGENCY-VRF protocols bgp group CE neighbor 2001:db8:1::2\n")
    config = parse(as_running("juniper_junos", text), "juniper_junos")
    urpf = BY_ID["route.urpf_edges"]
    result = urpf.run(config, "juniper_junos", CTX)
    assert result.status is Status.FAIL and result.evidence[0][1].startswith(
        "set interfaces ge-0/0/1"), result
    fixed = text + "set interfaces ge-0/0/1 unit 0 family inet6 rpf-check\n"
    assert urpf.run(parse(as_running("juniper_junos", fixed), "juniper_junos"),
                    "juniper_junos", CTX).status is Status.PASS

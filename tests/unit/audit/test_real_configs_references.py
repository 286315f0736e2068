"""The reference check on shapes real configs print: IOS-XE peer templates (defined,
inherited, chained), FRR's 'interface v6only' neighbours, and the definitions IOS-XE
prints for itself (smart licensing's trustpoint, Catalyst 9000 CoPP classes), which no
line uses and which an auditor must not be told to remove."""

from __future__ import annotations

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.parse import parse
from audit.references import references
from tests.unit.audit.conftest import as_running

TEMPLATES = """\
router bgp 65000
 template peer-policy EDGE-IN
  route-map IN in
 exit-peer-policy
 !
 template peer-session BASE
  timers 10 30
 exit-peer-session
 !
 template peer-session EDGE
  inherit peer-session BASE
  remote-as 65010
 exit-peer-session
 !
 neighbor 192.0.2.1 inherit peer-session EDGE
 address-family ipv4
  neighbor 192.0.2.1 activate
  neighbor 192.0.2.1 inherit peer-policy EDGE-IN
 exit-address-family
!
route-map IN permit 10
 match ip address prefix-list AGENCY
!
ip prefix-list AGENCY seq 5 permit 198.51.100.0/24
"""


def _refs(text: str, platform: str = "cisco_xe"):  # noqa: ANN202
    return references(parse(as_running(platform, text), platform))


def test_peer_templates_are_defined_used_and_chained() -> None:
    refs = _refs(TEMPLATES)
    assert refs.undefined() == [] and refs.unused() == []
    missing = _refs(TEMPLATES.replace("inherit peer-session BASE", "inherit peer-session BAS"))
    assert [r.describe() for r in missing.undefined()] == ["peer-session template BAS"]
    assert [r.describe() for r in missing.unused()] == ["peer-session template BASE"]


def test_frr_v6only_unnumbered_neighbour_uses_its_peer_group() -> None:
    text = ("router bgp 65000\n neighbor FABRIC peer-group\n neighbor FABRIC remote-as external\n"
            " neighbor swp2 interface v6only peer-group FABRIC\n")
    refs = _refs(text, "frr")
    assert refs.undefined() == [] and refs.unused() == []


def test_definitions_ios_xe_prints_for_itself_are_never_unused() -> None:
    text = ("crypto pki trustpoint SLA-TrustPoint\n enrollment pkcs12\n revocation-check crl\n"
            "crypto pki trustpoint TP-self-signed-2670762493\n enrollment selfsigned\n"
            "class-map match-any system-cpp-police-data\n description ICMP redirect\n"
            "class-map match-any system-cpp-police-forus\n description Forus\n"
            "class-map match-any non-client-nrt-class\n"
            "policy-map system-cpp-policy\n class system-cpp-police-forus\n"
            "  police rate 1000 pps\n"
            "control-plane\n service-policy input system-cpp-policy\n"
            "crypto pki trustpoint OURS\n enrollment terminal\n")
    config = parse(as_running("cisco_xe", text), "cisco_xe")
    result = BY_ID["cfg.unused_definition"].run(config, "cisco_xe", Context(device="r1"))
    assert result.status is Status.FAIL
    assert result.reason.endswith("pki trustpoint OURS"), result.reason


def test_a_next_hop_address_is_not_a_list_name() -> None:
    text = ("ipv6 access-list nh1 permit 2001:db8:1::/64\n"
            "route-map r2 permit 10\n match ipv6 next-hop nh1\n"
            "route-map r2 permit 40\n match ipv6 next-hop address 2001:db8:4::1\n"
            "route-map r2 permit 50\n match ip next-hop address 192.0.2.1\n"
            "router bgp 65001\n neighbor 2001:db8::2 remote-as external\n"
            " address-family ipv6 unicast\n  neighbor 2001:db8::2 route-map r2 in\n")
    refs = _refs(text, "frr")
    assert refs.undefined() == [] and refs.unused() == []

"""The undefined-reference checker catches what it must, per platform: each config below
names something it never defines, or defines something it never uses, and the check says
so with the line; the same config with the definition (or the use) added passes.
"""

from __future__ import annotations

import pytest

from audit.parse import parse
from audit.references import references
from tests.unit.audit.conftest import as_running, audit_text

IOS_CE_NO_V4_BLOCK = """\
ipv6 prefix-list GIN-ANNOUNCE seq 5 permit 2001:db8:1::/48
ipv6 prefix-list GIN-DEFAULT-ONLY seq 5 permit ::/0
ip prefix-list GIN-DEFAULT-ONLY-V4 seq 5 permit 0.0.0.0/0
router bgp 4200000001
 neighbor 2001:db8:ffff:: remote-as 65000
 neighbor 100.64.0.0 remote-as 65000
 address-family ipv6 unicast
  neighbor 2001:db8:ffff:: activate
  neighbor 2001:db8:ffff:: prefix-list GIN-DEFAULT-ONLY in
  neighbor 2001:db8:ffff:: prefix-list GIN-ANNOUNCE out
 exit-address-family
 address-family ipv4 unicast
  neighbor 100.64.0.0 activate
  neighbor 100.64.0.0 prefix-list GIN-DEFAULT-ONLY-V4 in
  neighbor 100.64.0.0 prefix-list GIN-ANNOUNCE-V4 out
 exit-address-family
exit
"""

FRR_PE_NO_V4_BLOCK = """\
ipv6 prefix-list GIN-IN-DOPA seq 5 permit 2001:db8:1::/48
route-map GIN-IN-DOPA permit 10
 match ipv6 address prefix-list GIN-IN-DOPA
exit
route-map GIN-IN-DOPA-V4 permit 10
 match ip address prefix-list GIN-IN-DOPA-V4
exit
router bgp 65000
 neighbor 2001:db8:ffff::1 remote-as 4200000001
 neighbor 100.64.0.1 remote-as 4200000001
 address-family ipv6 unicast
  neighbor 2001:db8:ffff::1 activate
  neighbor 2001:db8:ffff::1 route-map GIN-IN-DOPA in
 exit-address-family
 address-family ipv4 unicast
  neighbor 100.64.0.1 activate
  neighbor 100.64.0.1 route-map GIN-IN-DOPA-V4 in
 exit-address-family
exit
"""

JUNOS_SNMP = ("set snmp v3 vacm security-to-group security-model usm\n"
              "set snmp v3 vacm access group GIN-RO default-context-prefix security-model usm "
              "security-level privacy read-view all\n")


def refs_of(platform: str, text: str):
    return references(parse(as_running(platform, text), platform))


def undefined(platform: str, text: str) -> set[str]:
    return {r.describe() for r in refs_of(platform, text).undefined()}


def unused(platform: str, text: str) -> set[str]:
    return {r.describe() for r in refs_of(platform, text).unused()}


@pytest.mark.parametrize("platform", ["cisco_ios", "cisco_xe"])
def test_ios_ce_announce_list_for_a_family_without_blocks(platform: str) -> None:
    assert undefined(platform, IOS_CE_NO_V4_BLOCK) == {"ipv4 prefix-list GIN-ANNOUNCE-V4"}
    fixed = "ip prefix-list GIN-ANNOUNCE-V4 seq 5 deny 0.0.0.0/0 le 32\n" + IOS_CE_NO_V4_BLOCK
    assert undefined(platform, fixed) == set() and unused(platform, fixed) == set()


def test_an_ipv6_list_does_not_define_the_ipv4_list_of_the_same_name() -> None:
    text = IOS_CE_NO_V4_BLOCK.replace("ip prefix-list GIN-DEFAULT-ONLY-V4",
                                      "ipv6 prefix-list GIN-DEFAULT-ONLY-V4")
    assert "ipv4 prefix-list GIN-DEFAULT-ONLY-V4" in undefined("cisco_ios", text)
    assert "ipv6 prefix-list GIN-DEFAULT-ONLY-V4" in unused("cisco_ios", text)


def test_frr_route_map_matching_a_missing_list() -> None:
    assert undefined("frr", FRR_PE_NO_V4_BLOCK) == {"ipv4 prefix-list GIN-IN-DOPA-V4"}


def test_junos_snmp_group_without_member_name_and_undefined_view() -> None:
    assert undefined("juniper_junos", JUNOS_SNMP) == {"snmp group (no name given)",
                                                      "snmp view all"}
    fixed = ("set snmp view all oid .1 include\nset snmp v3 vacm security-to-group "
             "security-model usm security-name noc group GIN-RO\n"
             + JUNOS_SNMP.splitlines(keepends=True)[1])
    assert undefined("juniper_junos", fixed) == set()
    assert undefined("juniper_junos", fixed.replace("group GIN-RO\n", "group GIN-RW\n")) \
        == {"snmp group GIN-RW"}


IOS_MANY = """\
ip access-list extended EDGE-IN
 permit ip any any
exit
ipv6 access-list MGMT6
 permit ipv6 any any
exit
access-list 10 permit 192.0.2.0 0.0.0.255
ip community-list standard NO-EXPORT permit 65000:666
ip as-path access-list 5 permit ^65001$
snmp-server view GIN-VIEW iso included
snmp-server group GIN-RO v3 priv read GIN-VIEW access ipv6 MGMT6
snmp-server community notpublic view NOVIEW RO 11
route-map TAG permit 10
 match community NO-EXPORT
 match as-path 5
 match ip address 10
exit
interface Gi0/0
 ip access-group EDGE-IN in
 ipv6 traffic-filter MGMT6-TYPO in
exit
router bgp 65000
 neighbor CUSTOMERS peer-group
 neighbor CUSTOMERS remote-as 65001
 neighbor 192.0.2.1 peer-group CUSTOMERZ
 neighbor 192.0.2.1 route-map TAG in
 neighbor 192.0.2.1 filter-list 6 out
 neighbor 192.0.2.1 distribute-list 12 in
exit
"""


@pytest.mark.parametrize("platform", ["cisco_ios", "cisco_xe"])
def test_ios_acls_communities_as_paths_snmp_and_peer_groups(platform: str) -> None:
    assert undefined(platform, IOS_MANY) == {
        "ipv6 access-list MGMT6-TYPO", "snmp view NOVIEW", "ipv4 access-list 11",
        "peer-group CUSTOMERZ", "as-path 6", "ipv4 access-list 12"}
    assert unused(platform, IOS_MANY) == {"peer-group CUSTOMERS"}


def test_frr_lists_and_peer_groups() -> None:
    text = """\
bgp community-list standard BLACKHOLE seq 5 permit 65535:666
bgp as-path access-list AGENCIES seq 5 permit ^4200000
access-list MGMT seq 5 permit 2001:db8::/32
route-map IN permit 10
 match community BLACKHOLE
 match as-path AGENCIES
 call OTHER
exit
line vty
 access-class MGMT
exit
router bgp 65000
 neighbor GIN peer-group
 neighbor GIN remote-as external
 neighbor eth1 interface peer-group GIN
 address-family ipv6 unicast
  neighbor GIN route-map IN in
  neighbor GIN prefix-list NOWHERE6 out
 exit-address-family
exit
"""
    assert undefined("frr", text) == {"route-map OTHER", "ipv6 prefix-list NOWHERE6"}
    assert unused("frr", text) == set()
    assert unused("frr", text.replace(" neighbor eth1 interface peer-group GIN\n", "")) \
        == {"peer-group GIN"}


def test_junos_policies_filters_communities_and_prefix_lists() -> None:
    text = """\
set policy-options prefix-list AGENCY 2001:db8:1::/48
set policy-options prefix-list STALE 2001:db8:9::/48
set policy-options community BLACKHOLE members 65535:666
set policy-options policy-statement IN term a from prefix-list-filter AGENCY exact
set policy-options policy-statement IN term a from community BLACKHOLE
set policy-options policy-statement IN term a then accept
set policy-options policy-statement IN term b from policy [ HELPER MISSING-SUB ]
set policy-options policy-statement HELPER then accept
set policy-options policy-statement ORPHAN then reject
set firewall family inet6 filter PROTECT term t from source-prefix-list MGMT
set firewall family inet6 filter PROTECT term t then accept
set interfaces lo0 unit 0 family inet6 filter input PROTECT
set interfaces lo0 unit 0 family inet filter input PROTECT
set protocols bgp group G import IN
set protocols bgp group G export [ OUT-MISSING ]
"""
    assert undefined("juniper_junos", text) == {
        "policy-statement MISSING-SUB", "prefix-list MGMT", "inet filter PROTECT",
        "policy-statement OUT-MISSING"}
    assert unused("juniper_junos", text) == {"prefix-list STALE", "policy-statement ORPHAN"}


def test_text_in_descriptions_and_no_lines_is_not_a_reference() -> None:
    text = ("interface eth0\n description route-map GHOST and prefix-list GHOST\nexit\n"
            "no ip prefix-list OLD\nno route-map OLD\n")
    assert undefined("cisco_ios", text) == set() and unused("cisco_ios", text) == set()


@pytest.mark.parametrize("platform,text,missing", [
    ("cisco_ios", IOS_CE_NO_V4_BLOCK, "ipv4 prefix-list GIN-ANNOUNCE-V4"),
    ("frr", FRR_PE_NO_V4_BLOCK, "ipv4 prefix-list GIN-IN-DOPA-V4"),
    ("juniper_junos", JUNOS_SNMP, "snmp view all"),
])
def test_the_audit_check_fails_with_the_line(platform: str, text: str, missing: str) -> None:
    findings = {f.check: f for f in audit_text(as_running(platform, text), platform).findings}
    found = findings["cfg.undefined_reference"]
    assert found.status.value == "fail" and missing in found.reason
    assert found.evidence and all(line is not None for line, _ in found.evidence)
    assert found.remediation


@pytest.mark.parametrize("platform,text,stale", [
    ("cisco_ios", "ip prefix-list STALE seq 5 permit 10.0.0.0/8\n", "ipv4 prefix-list STALE"),
    ("frr", "route-map STALE permit 10\nexit\n", "route-map STALE"),
    ("juniper_junos", "set policy-options policy-statement STALE then reject\n",
     "policy-statement STALE"),
])
def test_the_audit_check_names_an_unused_definition(platform: str, text: str,
                                                    stale: str) -> None:
    findings = {f.check: f for f in audit_text(as_running(platform, text), platform).findings}
    assert findings["cfg.unused_definition"].status.value == "fail"
    assert stale in findings["cfg.unused_definition"].reason
    assert findings["cfg.undefined_reference"].status.value == "pass"


def test_crypto_chains_are_followed() -> None:
    ios = ("crypto ikev2 proposal P\n encryption aes-gcm-256\ncrypto ikev2 policy POL\n"
           " proposal P2\ncrypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n"
           "crypto ipsec profile IP\n set transform-set TS\n set ikev2-profile PROF\n"
           "interface Tunnel1\n tunnel protection ipsec profile IP-TYPO\nexit\n")
    assert undefined("cisco_xe", ios) == {"ikev2 proposal P2", "ikev2 profile PROF",
                                          "ipsec profile IP-TYPO"}
    assert unused("cisco_xe", ios) == {"ikev2 proposal P", "ipsec profile IP"}
    junos = ("set security ike proposal P dh-group group20\n"
             "set security ike policy POL proposals [ P P2 ]\n"
             "set security ike gateway G ike-policy POL-TYPO\n"
             "set security ipsec vpn V ike gateway G\n"
             "set security ipsec vpn V ike ipsec-policy IPOL\n")
    assert undefined("juniper_junos", junos) == {"ike proposal P2", "ike policy POL-TYPO",
                                                 "ipsec policy IPOL"}
    assert unused("juniper_junos", junos) == {"ike policy POL"}


def test_a_reference_that_does_not_say_its_family() -> None:
    text = ("ipv6 access-list WEB6\n permit tcp any any eq 443\nexit\n"
            "ip access-list extended NAT-IN\n permit ip 10.0.0.0 0.255.255.255 any\nexit\n"
            "class-map match-any WEB\n match access-group name WEB6\nexit\n"
            "policy-map EDGE\n class WEB\nexit\ninterface Gi0/0\n service-policy input EDGE\n"
            "exit\nip nat inside source list NAT-IN interface Gi0/0 overload\n"
            "class-map match-any GHOST\n match access-group name NOWHERE\nexit\n"
            "policy-map EDGE2\n class GHOST\nexit\ninterface Gi0/1\n service-policy input EDGE2\n"
            "exit\n")
    assert undefined("cisco_ios", text) == {"access-list NOWHERE"}
    assert unused("cisco_ios", text) == set()

"""Diffing, removal and negation on config trees (no device needed)."""

from __future__ import annotations

from devices import platforms
from devices.configtree import clean, missing, removal

FRR = platforms.get("frr")

RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname pe1
service password-encryption
service password-encryption
!
interface eth1
 description GIN link a
 ipv6 address 2001:db8:1::/127
exit
!
router bgp 65000
 neighbor 2001:db8:1::1 remote-as 4200000000
 neighbor 2001:db8:1::3 remote-as 4200000001
 !
 address-family ipv6 unicast
  neighbor 2001:db8:1::1 activate
  neighbor 2001:db8:1::3 activate
 exit-address-family
exit
!
ipv6 prefix-list GIN-IN-A seq 5 permit 2001:db8:2::/48
ipv6 prefix-list GIN-DEFAULT-ONLY seq 5 permit ::/0
!
end
"""

LINK_A = """interface eth1
 description GIN link a
 ipv6 address 2001:db8:1::/127
exit
ipv6 prefix-list GIN-IN-A seq 5 permit 2001:db8:2::/48
ipv6 prefix-list GIN-DEFAULT-ONLY seq 5 permit ::/0
router bgp 65000
 neighbor 2001:db8:1::1 remote-as 4200000000
 address-family ipv6 unicast
  neighbor 2001:db8:1::1 activate
 exit-address-family
exit
"""

SHARED = """ipv6 prefix-list GIN-DEFAULT-ONLY seq 5 permit ::/0
router bgp 65000
 neighbor 2001:db8:1::3 remote-as 4200000001
 address-family ipv6 unicast
  neighbor 2001:db8:1::3 activate
"""


def test_clean_drops_noise_and_repeated_global_lines():
    text = clean(FRR, RUNNING)
    assert "frr version" not in text and "Building" not in text and "!" not in text
    assert text.count("service password-encryption") == 1


def test_nothing_missing_when_running_has_it_all():
    assert missing(FRR, RUNNING, LINK_A) == []


def test_missing_lines_keep_their_context():
    intended = LINK_A.replace("2001:db8:1::1 activate", "2001:db8:1::1 activate\n"
                              "  neighbor 2001:db8:1::1 route-map X in")
    assert missing(FRR, RUNNING, intended) == [
        "router bgp 65000", " address-family ipv6 unicast",
        "  neighbor 2001:db8:1::1 route-map X in", " exit-address-family", "exit"]


def test_removal_touches_only_what_the_link_alone_owns():
    pe_bgp = "router bgp 65000\n address-family ipv6 unicast\n"
    lines = removal(FRR, RUNNING, LINK_A, [SHARED, pe_bgp])
    assert lines == [
        "interface eth1", " no description", " no ipv6 address 2001:db8:1::/127", "exit",
        "no ipv6 prefix-list GIN-IN-A seq 5 permit 2001:db8:2::/48",
        "router bgp 65000", " no neighbor 2001:db8:1::1 remote-as 4200000000",
        " address-family ipv6 unicast", "  no neighbor 2001:db8:1::1 activate",
        " exit-address-family", "exit"]


def test_removal_of_a_section_nobody_else_needs_is_whole():
    lines = removal(FRR, "router bgp 4200000000\n bgp router-id 1.2.3.4\nexit\n",
                    "router bgp 4200000000\n bgp router-id 1.2.3.4\n")
    assert lines == ["no router bgp 4200000000"]


def test_removal_of_what_is_gone_is_nothing():
    assert removal(FRR, "hostname pe1\n", LINK_A, [SHARED]) == []


def test_set_syntax_negates_with_delete():
    junos = platforms.get("juniper_junos")
    ntp = "system ntp server 2001:db8::1"
    assert junos.negate(f"set {ntp}") == f"delete {ntp}"
    assert FRR.negate("description x y") == "no description"
    assert FRR.negate("ipv6 address 2001:db8::/127") == "no ipv6 address 2001:db8::/127"

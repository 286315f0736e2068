"""A sample link intent, as the planner would build it from the directory."""

from __future__ import annotations

import ipaddress as ip

import pytest

from links.intent import End, LinkIntent


def make_intent(platform: str = "frr", description_name: str = "pe1-ce1",
                agency_name: str = "Department of Provincial Administration",
                ipv4: bool = True) -> LinkIntent:
    return LinkIntent(
        name=description_name,
        agency_code="DOPA",
        agency_name=agency_name,
        pe=End("pe1", platform, "eth1", ip.IPv6Interface("2001:db8:ffff::/127"), 65000,
               ip.IPv4Interface("100.64.0.0/31") if ipv4 else None),
        ce=End("ce1", platform, "eth0", ip.IPv6Interface("2001:db8:ffff::1/127"), 4200000001,
               ip.IPv4Interface("100.64.0.1/31") if ipv4 else None, "198.18.0.1"),
        agency_prefixes6=(ip.IPv6Network("2001:db8:1::/48"),),
        agency_prefixes4=(ip.IPv4Network("192.0.2.0/24"),) if ipv4 else (),
        lan_ifname="eth2",
        lan6=ip.IPv6Interface("2001:db8:1:100::1/64"),
        bandwidth_mbps=1000,
    )


@pytest.fixture
def intent_factory():
    return make_intent

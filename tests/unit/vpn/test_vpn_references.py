"""Every router end gin renders for a tunnel stands on its own: each proposal, keyring,
profile, transform-set, trustpoint and policy it names is defined in it and each one it
defines is used (the audit's own checker, :mod:`audit.references`), for IOS, IOS-XE and
Junos, certificate and PSK, IPv6-only and dual-stack tunnels."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from audit.parse import parse
from audit.references import references
from vpn.policy import get_policy
from vpn.render import render_side
from vpn.tunnels import End, TunnelSpec

LINUX = End("gw-dopa", "linux", "DOPA", "DOPA", "2001:db8:ffff::1", ("2001:db8:1::/48",))
ROUTERS = {"cisco_xe": None, "cisco_ios": None, "juniper_junos": "ge-0/0/0.0"}
SUBNETS = {"v6": ("2001:db8:2::/48",), "dual": ("2001:db8:2::/48", "10.2.0.0/16")}


def cases():
    for (platform, iface), auth, fam in itertools.product(ROUTERS.items(), ("cert", "psk"),
                                                           SUBNETS):
        if platform == "cisco_ios" and fam == "dual":
            continue  # refused at create: classic IOS carries one family per tunnel
        router = End("r-moph", platform, "MOPH", "MOPH", "2001:db8:ffff::2", SUBNETS[fam],
                     interface=iface)
        a = LINUX if fam == "v6" else replace(LINUX, subnets=("2001:db8:1::/48", "10.1.0.0/16"))
        yield f"{platform}-{auth}-{fam}", TunnelSpec("t", "ikev2", auth, "planned",
                                                    get_policy().as_dict(), a, router, 3)


@pytest.mark.parametrize("name,spec", list(cases()))
def test_router_end_defines_what_it_names_and_uses_what_it_defines(name, spec) -> None:
    platform = spec.b.platform
    text = render_side(spec, "b")
    text = ("set version 23.4R1\n" + text) if platform == "juniper_junos" else text
    refs = references(parse(text, platform))
    assert [r.describe() for r in refs.undefined()] == []
    assert [r.describe() for r in refs.unused()] == []
    kinds = {r.kind for r in refs.used}
    assert ({"ikev2 proposal", "ipsec transform-set", "ipsec profile", "ikev2 profile"}
            if platform != "juniper_junos" else
            {"ike proposal", "ike policy", "ike gateway", "ipsec proposal", "ipsec policy"}
            ) <= kinds  # the checker really followed the crypto chain

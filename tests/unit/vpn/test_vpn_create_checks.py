"""``gin vpn create`` refuses, when the tunnel is recorded, what could never work later: an
outer address inside the prefixes the tunnel protects (a routing loop), and a tunnel type,
authentication or family mix the gateway's platform cannot build (which ``render`` would
refuse).  The joint test runs both sides: for every gateway platform and every choice,
create accepts exactly what render then renders.
"""

from __future__ import annotations

import itertools

import pytest

from devices.errors import GinError
from directory import store
from directory.allocator import add_prefix
from directory.errors import Invalid
from directory.store import Directory
from vpn import keys, tunnels
from vpn.policy import gateway_platforms, get_policy
from vpn.render import render

FAMILIES = {"6": ("2001:db8:{n}::/48",), "46": ("2001:db8:{n}::/48", "10.{n}.0.0/16")}
CHOICES = [("ikev2", "cert"), ("ikev2", "psk"), ("wireguard", None)]


def test_endpoint_inside_the_peers_protected_prefix_is_refused(vdir: Directory) -> None:
    refused = r"2001:db8:1::10 of gw-moph is inside 2001:db8:1::/48.*--b-address"
    with pytest.raises(Invalid, match=refused), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", b_address="2001:db8:1::10")
    with vdir.transaction() as s:
        assert tunnels.list_tunnels(s) == []


@pytest.mark.parametrize("side,address,net", [
    ("a", "2001:db8:1::1", "2001:db8:1::/48"),     # A's own /48
    ("b", "2001:db8:2:ff::9", "2001:db8:2::/48"),  # B's own /48
    ("a", "10.2.3.4", "10.2.0.0/16"),              # an IPv4 outer address in B's block
])
def test_endpoint_inside_any_protected_prefix_is_refused(vdir: Directory, side: str,
                                                         address: str, net: str) -> None:
    other = "2001:db8:ffff::2" if address.startswith("2001") else "192.0.2.2"
    addresses = {f"{side}_address": address,
                 f"{'b' if side == 'a' else 'a'}_address": other}
    refused = f"inside {net}, which the tunnel protects"
    with pytest.raises(Invalid, match=refused), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", **addresses)


def test_endpoints_outside_the_protected_prefixes_are_accepted(vdir: Directory) -> None:
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2",
                                  a_address="2001:db8:ffff::1", b_address="2001:db8:ffff::2")
        assert t.name == "gw-dopa-gw-moph"


@pytest.fixture
def gateways(sqlite_url, vpn_key):
    """For every gateway platform and family mix, an agency with one gateway; plus a Linux
    hub agency per family mix."""
    d = Directory(sqlite_url, actor="tester")
    n = 10
    with d.transaction() as s:
        for platform, fam in itertools.product(["linux-hub", *gateway_platforms()], FAMILIES):
            n += 1
            code = f"A{n}"
            store.add_agency(s, code=code, name_en=f"Agency {n}")
            store.add_site(s, code, code="hq")
            store.add_device(s, code, "hq", hostname=f"gw-{platform}-{fam}".replace("_", "-"),
                             role="vpn-gateway",
                             platform="linux" if platform == "linux-hub" else platform,
                             mgmt_address=f"2001:db8:ffff::{n:x}")
            for cidr in FAMILIES[fam]:
                add_prefix(s, cidr.format(n=n), role="agency", agency=code)
    yield d
    d.close()


def _spec_as_create_would(s, a: str, b: str, type_: str, auth: str | None,
                          b_interface: str | None) -> tunnels.TunnelSpec:
    """The tunnel ``create`` refused, built by hand, to show ``render`` refuses it too."""
    def end(hostname: str, interface: str | None) -> tunnels.End:
        dev = store.get_device(s, hostname)
        ag = dev.site.agency
        return tunnels.End(hostname, dev.platform, ag.code, ag.name_en, dev.mgmt_address,
                           tuple(tunnels.protected_subnets(s, ag)),
                           public_key=keys.public_key(keys.generate_private_key().reveal()),
                           interface=interface)

    policy = (get_policy().as_dict() if type_ == "ikev2" else dict(tunnels.WIREGUARD_POLICY))
    return tunnels.TunnelSpec("refused", type_, auth or "key", "planned", policy,
                              end(a, None), end(b, b_interface), number=99)


@pytest.mark.parametrize("platform", gateway_platforms())
def test_create_accepts_exactly_what_render_renders(gateways: Directory, platform: str) -> None:
    seen = {"accepted": 0, "refused": 0}
    for fam, (type_, auth), iface in itertools.product(FAMILIES, CHOICES, (None, "ge-0/0/0.0")):
        a = f"gw-linux-hub-{fam}"
        b = f"gw-{platform}-{fam}".replace("_", "-")
        try:
            with gateways.transaction() as s:
                t = tunnels.create_tunnel(s, a, b, type_, auth, name="t", b_interface=iface)
                configs = render(tunnels.spec(t))  # must not raise
                assert set(configs) == {a, b} and all(configs.values())
                s.rollback()
            seen["accepted"] += 1
        except Invalid as exc:
            assert str(exc).startswith(f"{b} ({platform})"), exc
            assert "\n" not in str(exc)
            with gateways.transaction() as s:
                spec = _spec_as_create_would(s, a, b, type_, auth, iface)
                with pytest.raises(GinError):
                    render(spec)
            seen["refused"] += 1
    assert seen["accepted"] > 0, seen  # every platform builds something
    if platform not in ("linux", "strongswan", "frr"):
        assert seen["refused"] > 0, seen  # routers take no WireGuard


def test_the_cases_that_broke(gateways: Directory) -> None:
    with gateways.transaction() as s:
        with pytest.raises(Invalid, match=r"gw-cisco-xe-6 \(cisco_xe\) cannot build a "
                           r"wireguard tunnel .*use --type ikev2"):
            tunnels.create_tunnel(s, "gw-linux-hub-6", "gw-cisco-xe-6", "wireguard")
        with pytest.raises(Invalid, match=r"cannot carry IPv4 and IPv6 on one tunnel"):
            tunnels.create_tunnel(s, "gw-linux-hub-46", "gw-cisco-ios-46", "ikev2")
        with pytest.raises(Invalid, match=r"needs the tunnel's outer interface: pass "
                           r"--b-interface"):
            tunnels.create_tunnel(s, "gw-linux-hub-6", "gw-juniper-junos-6", "ikev2")


def test_linux_gateways_are_never_refused_for_type(gateways: Directory) -> None:
    with gateways.transaction() as s:
        for type_, auth in CHOICES:
            tunnels.create_tunnel(s, "gw-linux-hub-46", "gw-linux-46", type_, auth,
                                  name=f"x-{type_}-{auth or 'key'}")

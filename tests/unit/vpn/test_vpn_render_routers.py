"""Cisco IOS/IOS-XE and Juniper SRX renderings: golden files, read back by the audit's own
parser (and passing its crypto check), refusals of what a platform cannot express, and user
text that can never add a line."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.checks.base import Context, Status
from audit.checks.crypto import CRYPTO
from audit.parse import parse
from devices.errors import GinError
from directory.names import IFNAME_RE
from vpn import keys
from vpn.policy import PolicyError, get_policy, validate
from vpn.render import render_side
from vpn.tunnels import End, TunnelSpec

GOLDEN = Path(__file__).with_name("golden")
XE = End("xe-hub", "cisco_xe", "GIN", "GIN operator", "2001:db8:ffff::9",
         ("2001:db8:9::/48", "10.9.0.0/16"))
SRX = End("srx-moph", "juniper_junos", "MOPH", "Ministry of Public Health", "2001:db8:ffff::8",
          ("2001:db8:2::/48", "10.2.0.0/16"), interface="ge-0/0/0.0")
PLATFORM_OF = {"cisco": "cisco_xe", "junos": "juniper_junos"}


def spec(auth: str, a: End = SRX, b: End = XE, policy: dict | None = None) -> TunnelSpec:
    return TunnelSpec(name="moph-hub", type="ikev2", auth=auth, status="planned",
                      policy=policy or get_policy().as_dict(), a=a, b=b, number=7)


CASES = {f"{p}-{auth}": (spec(auth), "a" if p == "junos" else "b")
         for p in PLATFORM_OF for auth in ("cert", "psk")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    t, side = CASES[case]
    text = render_side(t, side)
    path = GOLDEN / f"{case}.conf"
    if os.environ.get("GIN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def _ctx() -> Context:
    return Context(device="x")


@pytest.mark.parametrize("auth", ["cert", "psk"])
def test_cisco_parses_and_passes_the_crypto_audit(auth):
    text = render_side(spec(auth), "b")
    cfg = parse(text, "cisco_xe")
    profile = cfg.top("crypto ikev2 profile GIN-moph-hub")[0]
    kids = [c.text for c in profile.children]
    method = "ecdsa-sig" if auth == "cert" else "pre-share"
    assert f"authentication local {method}" in kids
    assert "match identity remote fqdn srx-moph" in kids and "identity local fqdn xe-hub" in kids
    iface = [c.text for c in cfg.top("interface Tunnel7")[0].children]
    assert "tunnel protection ipsec profile GIN-moph-hub" in iface and "ipv6 enable" in iface
    assert "tunnel destination 2001:db8:ffff::8" in iface
    assert [n.text for n in cfg.top("ipv6 route ")] == ["ipv6 route 2001:db8:2::/48 Tunnel7"]
    assert CRYPTO.run(cfg, "cisco_xe", _ctx()).status is Status.PASS


@pytest.mark.parametrize("auth", ["cert", "psk"])
def test_junos_parses_and_passes_the_crypto_audit(auth):
    text = render_side(spec(auth), "a")
    cfg = parse("set version 23.4R1\n" + text, "juniper_junos")
    gateway = {" ".join(w[4:]) for _, w in cfg.set_lines("security", "ike", "gateway")}
    assert {"external-interface ge-0/0/0.0", "local-identity hostname srx-moph",
            "remote-identity hostname xe-hub", "version v2-only"} <= gateway
    vpn = {" ".join(w[4:]) for _, w in cfg.set_lines("security", "ipsec", "vpn")}
    assert "bind-interface st0.7" in vpn
    method = "ecdsa-signatures-384" if auth == "cert" else "pre-shared-keys"
    proposal = {" ".join(w[4:]) for _, w in cfg.set_lines("security", "ike", "proposal")}
    assert f"authentication-method {method}" in proposal
    assert not any("prf-algorithm" in p for p in proposal)  # implied by aes-256-gcm
    assert CRYPTO.run(cfg, "juniper_junos", _ctx()).status is Status.PASS


def test_deploy_secret_reaches_the_router_line():
    psk = keys.generate_psk()
    assert f'pre-shared-key ascii-text "{psk.reveal()}"\n' in render_side(
        spec("psk"), "a", {"psk": psk})
    assert f"  pre-shared-key {psk.reveal()}\n" in render_side(spec("psk"), "b", {"psk": psk})


def _policy(**changes) -> dict:
    data = {k: v for k, v in get_policy().as_dict().items() if k != "weak"}
    data.update(changes)
    return validate("site", data, allow_weak=True).as_dict()


@pytest.mark.parametrize("side,policy,message", [
    ("b", _policy(ike_rekey_time=86400, ike_life_time=90000), "outside what cisco_xe accepts"),
    ("a", _policy(esp_rekey_time=3600, esp_life_time=90000), "outside what juniper_junos"),
    ("a", _policy(ike="aes256-aes128-sha384-modp3072"), "takes one ike encryption"),
    ("a", _policy(ike="aes256gcm16-prfsha384-ecp384-ecp256"), "takes one ike dh"),
    ("b", _policy(esp="aes256gcm16-ecp384-ecp256"), "takes one esp pfs"),
    ("b", _policy(ike="aes256-sha1-modp2048"), "has no equivalent of sha1"),
    ("a", _policy(ike="aes128gcm16-prfsha256-ecp256"), "derives"),
])
def test_inexpressible_policies_refused(side, policy, message):
    with pytest.raises(PolicyError, match=message):
        render_side(spec("psk", policy=policy), side)


def test_other_refusals():
    with pytest.raises(GinError, match="outer interface"):
        render_side(spec("psk", a=replace(SRX, interface=None)), "a")
    ios = replace(XE, platform="cisco_ios")
    with pytest.raises(GinError, match="cannot carry IPv4 and IPv6"):
        render_side(spec("psk", b=ios), "b")
    v6only = replace(ios, subnets=("2001:db8:9::/48",))
    text = render_side(spec("psk", a=replace(SRX, subnets=("2001:db8:2::/48",)), b=v6only), "b")
    assert "tunnel mode ipsec ipv6\n" in text and "ip unnumbered" not in text
    wg = replace(spec("psk"), type="wireguard", auth="key")
    with pytest.raises(GinError, match="wireguard is not rendered for juniper_junos"):
        render_side(wg, "a")
    with pytest.raises(GinError, match="no VPN rendering for platform frr_x"):
        render_side(spec("psk", a=replace(SRX, platform="frr_x")), "a")


HOSTILE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=80, deadline=None)
@given(agency=HOSTILE, name=HOSTILE, host=HOSTILE, ifname=HOSTILE)
def test_user_text_never_adds_a_line(agency, name, host, ifname):
    base = {p: render_side(spec(a), side).splitlines() for p, (a, side) in
            (("junos", ("cert", "a")), ("cisco", ("cert", "b")))}
    a = replace(SRX, agency=agency, agency_name=name, hostname=host or "x", interface=ifname or "i")
    b = replace(XE, agency=agency, agency_name=name, hostname=host or "y")
    hostile = spec("cert", a=a, b=b)
    for platform, side in (("junos", "a"), ("cisco", "b")):
        if platform == "junos" and not IFNAME_RE.fullmatch(a.interface):
            with pytest.raises(GinError, match="not a valid interface name"):
                render_side(hostile, side)  # refused, not written
            continue
        lines = render_side(replace(hostile, name=name or "n"), side).splitlines()
        assert len(lines) == len(base[platform])
        for got, want in zip(lines, base[platform], strict=True):
            # every line keeps its command: only the value words may differ
            assert got.split(" ")[:2] == want.split(" ")[:2] or got.startswith("!")
            assert '"' not in got.replace('"gin tunnel', "").rstrip('"') or "ascii-text" in got


@pytest.mark.parametrize("side", ["a", "b"])
def test_weak_stored_policy_is_refused_not_rewritten(side):
    # the router keyword tables hold no weak algorithm: a weak tunnel stays on strongSwan
    weak = _policy(ike="aes256-sha256-modp1536")
    assert weak["weak"]
    with pytest.raises(PolicyError, match="no equivalent of modp1536"):
        render_side(spec("psk", policy=weak), side)


def test_key_material_is_base64_only():
    # a PSK for a router line must be one token: anything else is refused before rendering
    with pytest.raises(GinError):
        render_side(spec("psk"), "b", {"psk": 'x" \nset system root-authentication'})
    assert base64.b64decode(keys.generate_psk().reveal())

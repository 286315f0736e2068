"""Rendering: golden files for strongSwan and WireGuard, hostile names, secrets as placeholders."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ConfigError, GinError
from vpn import keys, tunnels
from vpn.policy import get_policy
from vpn.render import render, render_side
from vpn.tunnels import End, TunnelSpec

GOLDEN = Path(__file__).with_name("golden")
PRIV_A = base64.b64encode(bytes(range(32))).decode()
PRIV_B = base64.b64encode(bytes(range(32, 64))).decode()


def spec(type_: str = "ikev2", auth: str = "psk") -> TunnelSpec:
    crypto = get_policy().as_dict() if type_ == "ikev2" else dict(tunnels.WIREGUARD_POLICY)
    return TunnelSpec(
        name="dopa-moph", type=type_, auth=auth if type_ == "ikev2" else "key",
        status="planned", policy=crypto,
        a=End("gw-dopa", "linux", "DOPA", "Dept of Provincial Administration",
              "2001:db8:ffff::1", ("2001:db8:1::/48", "10.1.0.0/16"), keys.public_key(PRIV_A)),
        b=End("gw-moph", "strongswan", "MOPH", "Ministry of Public Health",
              "2001:db8:ffff::2", ("2001:db8:2::/48", "10.2.0.0/16"), keys.public_key(PRIV_B)))


CASES = {"ikev2-psk": spec("ikev2", "psk"), "ikev2-cert": spec("ikev2", "cert"),
         "wireguard": spec("wireguard")}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("side", ["a", "b"])
def test_golden(case, side):
    text = render_side(CASES[case], side)
    path = GOLDEN / f"{case}-{side}.conf"
    if os.environ.get("GIN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_secrets_are_placeholders_unless_deploying():
    configs = render(spec("wireguard"))
    assert PRIV_A not in configs["gw-dopa"] and "PrivateKey = <sealed:a_private>" in (
        configs["gw-dopa"])
    psk = keys.generate_psk()
    text = render_side(spec("wireguard"), "b", {"b_private": PRIV_B, "psk": psk})
    assert f"PrivateKey = {PRIV_B}\n" in text and f"PresharedKey = {psk.reveal()}\n" in text


def test_deploy_secret_must_be_one_key():
    with pytest.raises(ConfigError, match="secret psk: not base64"):
        render_side(spec("ikev2"), "a", {"psk": "x\nconnections { evil {} }"})
    with pytest.raises(GinError, match="secret psk missing"):
        render_side(spec("ikev2"), "a", {})


def test_mixed_linux_and_router_ends():
    t = replace(spec(), b=replace(spec().b, platform="cisco_xe"))
    assert "crypto ikev2 profile GIN-dopa-moph\n" in render_side(t, "b")
    assert "connections {" in render_side(t, "a")  # the Linux side still renders
    with pytest.raises(GinError, match="no VPN rendering for platform sonic"):
        render_side(replace(t, b=replace(spec().b, platform="sonic")), "b")


def test_weak_policy_marked_in_config():
    weak = get_policy().as_dict() | {"weak": ["ike sha1: SHA-1 integrity is deprecated"]}
    text = render_side(replace(spec(), policy=weak), "a")
    assert "# crypto policy default: WEAK (1 weaknesses accepted with --allow-weak)" in text


def test_stored_values_are_reparsed():
    bad_addr = replace(spec(), b=replace(spec().b, address="2001:db8::1\n}"))
    with pytest.raises(ValueError):
        render_side(bad_addr, "a")
    bad_prop = replace(spec(), policy=get_policy().as_dict() | {"ike": "aes256gcm16-prfsha384"
                                                                       "-ecp384\n}"})
    with pytest.raises(GinError):
        render_side(bad_prop, "a")


def _skeleton(text: str) -> list[tuple[int, str]]:
    """Line structure: indentation and what kind of line (comment, section, key, block)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        indent = len(line) - len(line.lstrip())
        if s.startswith("#"):
            out.append((indent, "#"))
        elif " = " in s:
            key, value = s.split(" = ", 1)
            assert " " not in value, s  # one value, no second setting
            out.append((indent, key))
        elif s.endswith(" {"):
            assert len(s.split()) == 2, s  # a name cannot add a token to a block opener
            out.append((indent, "{"))
        else:
            out.append((indent, s))
    return out


hostile = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80) | \
    st.sampled_from(["x\n}\nconnections { evil {", "a\r\n[Peer]", "\u2028secret = x",
                     "\x85Endpoint = 6.6.6.6:1", "# \n include /etc/shadow"])


@settings(max_examples=60, deadline=None)
@given(name=hostile, agency=hostile, agency_name=hostile, host=hostile)
def test_hostile_names_cannot_add_lines(name, agency, agency_name, host):
    for case in CASES.values():
        base = {side: render_side(case, side) for side in ("a", "b")}
        evil = replace(case, name=name,
                       a=replace(case.a, agency=agency, agency_name=agency_name, hostname=host))
        for side in ("a", "b"):
            text = render_side(evil, side)
            assert len(text.splitlines()) == len(base[side].splitlines())
            assert _skeleton(text) == _skeleton(base[side])


@pytest.mark.parametrize("psk", ["0s" + "A" * 41 + "=", "0x" + "b" * 40 + "A=",
                                 base64.b64encode(bytes(range(32))).decode()])
def test_psk_reaches_charon_as_its_own_text_whatever_it_starts_with(psk):
    """swanctl reads ``0x``/``0s`` secrets as hex/base64: the text is written as hex of
    itself, so charon gets the bytes a router peer's ``pre-shared-key`` line uses."""
    from vpn import swanctl

    text = render_side(spec("ikev2"), "a", {"psk": psk})
    (shared,) = swanctl.parse(text).shared
    assert shared["data"] == psk.encode()

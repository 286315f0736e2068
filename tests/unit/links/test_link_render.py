"""Rendered configs: golden files per platform, parsed back, and immune to injection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import platforms
from devices.configtree import tree
from devices.render import cfg_text
from links.render import render
from tests.unit.links.conftest import make_intent

GOLDEN = Path(__file__).with_name("golden")
PLATFORMS = ["frr", "cisco_ios", "cisco_xe", "juniper_junos"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden(platform, intent_factory):
    configs = render(intent_factory(platform))
    for host, text in configs.items():
        path = GOLDEN / f"{platform}_{host}.conf"
        if os.environ.get("GIN_UPDATE_GOLDEN") == "1":
            path.write_text(text)
        assert text == path.read_text(), f"{path} differs (GIN_UPDATE_GOLDEN=1 to accept)"


def _parsed_lines(platform_name: str, text: str) -> list[str]:
    parsed = tree(platforms.get(platform_name), text).all_children()
    return [line.strip() for child in parsed for line in child.text.splitlines()]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_line_parses_into_the_config_tree(platform, intent_factory):
    for text in render(intent_factory(platform)).values():
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        parsed = set(_parsed_lines(platform, text))
        closers = platforms.get(platform).section_closers
        missing = [ln for ln in lines if ln not in parsed and ln not in closers]
        assert not missing, missing
        if platforms.get(platform).syntax == "set":
            assert all(ln.startswith(("set ", "delete ")) for ln in lines)
            assert all(ln.count('"') % 2 == 0 for ln in lines)


def test_pe_accepts_only_the_agency_prefix(intent_factory):
    pe = render(intent_factory("cisco_ios"))["pe1"]
    assert "ipv6 prefix-list GIN-IN-DOPA seq 5 permit 2001:db8:1::/48" in pe
    assert "neighbor 2001:db8:ffff::1 prefix-list GIN-IN-DOPA in" in pe
    assert "ipv6 verify unicast source reachable-via rx" in pe  # uRPF toward the agency
    assert "transport input ssh" in pe and "no ip http server" in pe


def test_ipv6_only_link_renders_no_ipv4(intent_factory):
    for platform in PLATFORMS:
        for text in render(intent_factory(platform, ipv4=False)).values():
            assert "100.64." not in text and "192.0.2." not in text


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=1, max_size=80), agency=st.text(max_size=80),
       platform=st.sampled_from(PLATFORMS))
def test_no_user_text_can_add_a_config_line(name, agency, platform):
    """Whatever a link or agency is called, the config has the same lines, one per line."""
    reference = render(make_intent(platform))
    hostile = render(make_intent(platform, description_name=name, agency_name=agency))
    for host, text in hostile.items():
        assert len(text.splitlines()) == len(reference[host].splitlines())
        for got, want in zip(text.splitlines(), reference[host].splitlines(), strict=True):
            # Only the description/comment text inside a line may differ, never the command.
            assert got.split(" ")[0] == want.split(" ")[0]
            assert got.count('"') == want.count('"')


@given(st.text())
def test_cfg_text_is_one_safe_line(value):
    out = cfg_text(value)
    assert "\n" not in out and "\r" not in out and '"' not in out and "!" not in out
    assert out and out.isascii() and len(out) <= 200

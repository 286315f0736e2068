"""Parsing keeps line numbers through hier_config's cleaning (closers, stamps, banners)."""

from __future__ import annotations

from audit.parse import parse
from tests.unit.audit.conftest import golden


def test_children_keep_their_own_line_numbers() -> None:
    config = parse(golden("cisco_ios_good.conf"), "cisco_ios")
    vty = config.top("line vty")[0]
    assert vty.line == 18
    assert vty.child("exec-timeout").cite() == (21, "exec-timeout 5 0")  # type: ignore[union-attr]
    bgp = config.top("router bgp")[0]
    family = bgp.child("address-family ipv6")
    assert family is not None and family.children[0].line == 61


def test_same_child_text_under_two_sections_maps_to_each() -> None:
    config = parse(golden("cisco_ios_good.conf"), "cisco_ios")
    lines = [n.child("exec-timeout").line for n in config.top("line ")]  # type: ignore[union-attr]
    assert lines == [21, 26]


def test_multiline_banner_maps_to_its_first_line() -> None:
    config = parse(golden("cisco_ios_good.conf"), "cisco_ios")
    assert config.top("banner login")[0].cite() == (28, "banner login ^C")


def test_frr_stamps_are_dropped_but_lines_stay_numbered() -> None:
    config = parse(golden("frr_good.conf"), "frr")
    assert [n.text for n in config.top("frr ")] == []
    assert config.top("log syslog")[0].line == 3
    assert config.incomplete is None


def test_junos_set_lines_are_split_into_words() -> None:
    config = parse(golden("juniper_junos_good.conf"), "juniper_junos")
    node, words = next(config.set_lines("system", "login", "message"))
    assert node.line == 6
    assert words[3].startswith("Authorised access only.")


def test_crlf_line_endings() -> None:
    text = golden("cisco_ios_good.conf").replace("\n", "\r\n")
    config = parse(text.encode(), "cisco_ios")
    assert config.incomplete is None and config.top("ntp server")[0].line == 31

"""Edge-router block configs: golden files, read back by the audit parser, and the lines a
router change pushes (only gin's own lines are ever removed; ACL order is kept)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.parse import parse
from devices import platforms
from devices.configtree import tree
from directory import models as m
from directory import store
from directory.store import Directory
from monitor.sensor.edge import PUSH_TYPE, EdgeRouters, plan, render
from monitor.sensor.errors import RespondError
from monitor.sensor.respond import parse_source

GOLDEN = Path(__file__).with_name("golden")
NETS = ["203.0.113.9/32", "198.51.100.0/24", "2001:db8:bad::/48", "2001:db8::66/128"]
IFACES = ["GigabitEthernet0/1", "GigabitEthernet0/2"]


@pytest.mark.parametrize("platform", ["frr", "cisco_ios", "cisco_xe", "juniper_junos"])
def test_golden(platform):
    ifaces = ["ge-0/0/1", "ge-0/0/2"] if platform == "juniper_junos" else IFACES
    text = render(platform, NETS, ifaces)
    path = GOLDEN / f"gsi_{platforms.get(platform).templates}.conf"
    if os.environ.get("GIN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{path} differs (GIN_UPDATE_GOLDEN=1 to accept)"


def test_nothing_blocked_renders_nothing():
    for name in ("frr", "cisco_ios", "juniper_junos"):
        assert render(name, [], IFACES).strip() == ""


def test_audit_parser_reads_the_ios_acls():
    conf = parse("hostname pe1\n" + render("cisco_ios", NETS, IFACES) + "end\n", "cisco_ios")
    [acl6] = conf.top("ipv6 access-list GIN-GSI-BLOCK6")
    assert [c.text for c in acl6.children] == [
        "deny ipv6 host 2001:db8::66 any", "deny ipv6 any host 2001:db8::66",
        "deny ipv6 2001:db8:bad::/48 any", "deny ipv6 any 2001:db8:bad::/48",
        "permit ipv6 any any"]
    [acl4] = conf.top("ip access-list extended GIN-GSI-BLOCK")
    assert acl4.children[-1].text.endswith("permit ip any any")
    assert acl4.children[0].text.endswith("deny ip 198.51.100.0 0.0.0.255 any")
    for iface in conf.top("interface "):
        assert iface.child("ipv6 traffic-filter GIN-GSI-BLOCK6 in") is not None
        assert iface.child("ip access-group GIN-GSI-BLOCK in") is not None
    assert conf.incomplete is None


def test_audit_parser_reads_the_junos_filter():
    text = "set version 21.4R3\n" + render("juniper_junos", NETS, ["ge-0/0/1"])
    conf = parse(text, "juniper_junos")
    terms = [w[6] for _, w in conf.set_lines("firewall", "family", "inet6", "filter",
                                             "GIN-GSI-BLOCK6")]
    # the discard terms come before the accept-all term
    assert terms.index("gsi-rest") > max(terms.index("gsi-source"),
                                         terms.index("gsi-destination"))
    sources = [w[-1] for _, w in conf.set_lines("firewall", "family", "inet6", "filter",
                                                "GIN-GSI-BLOCK6", "term", "gsi-source",
                                                "from", "source-address")]
    assert sources == ["2001:db8::66/128", "2001:db8:bad::/48"]
    bound = [w for _, w in conf.set_lines("interfaces", "ge-0/0/1")]
    assert ["interfaces", "ge-0/0/1", "unit", "0", "family", "inet6", "filter", "input",
            "GIN-GSI-BLOCK6"] in bound


def _frr(*routes: str) -> str:
    return "frr version 8.4.4\nhostname pe1\n" + "".join(f"{r}\n" for r in routes) + "end\n"


def test_frr_block_and_lift_touch_only_gins_routes():
    frr = platforms.get("frr")
    hand = "ipv6 route 2001:db8::/32 blackhole"  # an operator's aggregate discard route
    running = _frr(hand)
    assert plan(frr, running, render("frr", ["2001:db8:1001::10/128"]), "") == [
        "ipv6 route 2001:db8:1001::10/128 blackhole"]
    running = _frr(hand, "ipv6 route 2001:db8:1001::10/128 blackhole",
                   "ipv6 route 2001:db8:1002::10/128 blackhole")
    owned = render("frr", ["2001:db8:1001::10/128", "2001:db8:1002::10/128"])
    assert plan(frr, running, render("frr", ["2001:db8:1002::10/128"]), owned) == [
        "no ipv6 route 2001:db8:1001::10/128 blackhole"]
    assert plan(frr, running, "", owned) == [
        "no ipv6 route 2001:db8:1001::10/128 blackhole",
        "no ipv6 route 2001:db8:1002::10/128 blackhole"]
    # a route gin never pushed is not gin's to lift
    assert plan(frr, _frr(hand, "ipv6 route 2001:db8:1003::10/128 blackhole"), "", owned) == []
    assert plan(frr, running, owned, owned) == []  # converged: nothing to push


def test_ios_acl_change_is_rewritten_whole_so_the_permit_stays_last():
    ios = platforms.get("cisco_ios")
    running = "hostname pe1\n" + render("cisco_ios", NETS[3:], IFACES) + "end\n"
    want = render("cisco_ios", NETS[2:], IFACES)
    lines = plan(ios, running, want, want)
    start = lines.index("no ipv6 access-list GIN-GSI-BLOCK6")
    assert lines[start:] == [
        "no ipv6 access-list GIN-GSI-BLOCK6", "ipv6 access-list GIN-GSI-BLOCK6",
        " deny ipv6 host 2001:db8::66 any", " deny ipv6 any host 2001:db8::66",
        " deny ipv6 2001:db8:bad::/48 any", " deny ipv6 any 2001:db8:bad::/48",
        " permit ipv6 any any", "exit"]
    # lifting everything removes the ACLs and their bindings, not the interfaces
    gone = plan(ios, running, "", want)
    assert "no ipv6 access-list GIN-GSI-BLOCK6" in gone
    assert " no ipv6 traffic-filter GIN-GSI-BLOCK6 in" in gone
    assert not any(line.startswith("no interface") for line in gone)


def test_junos_block_adds_one_source_and_keeps_the_terms():
    junos = platforms.get("juniper_junos")
    running = "set version 21.4R3\n" + render("juniper_junos", NETS[2:3], ["ge-0/0/1"])
    want = render("juniper_junos", NETS[2:], ["ge-0/0/1"])
    prefix = "set firewall family inet6 filter GIN-GSI-BLOCK6 term"
    assert plan(junos, running, want, want) == [
        f"{prefix} gsi-source from source-address 2001:db8::66/128",
        f"{prefix} gsi-destination from destination-address 2001:db8::66/128"]
    lift = plan(junos, "set version 21.4R3\n" + want, render("juniper_junos", NETS[2:3],
                                                            ["ge-0/0/1"]), want)
    assert lift == [line.replace("set ", "delete ", 1) for line in plan(
        junos, running, want, want)]


@pytest.mark.parametrize("hostile", ["2001:db8::1/128\nno router bgp 65000",
                                     "203.0.113.9/32 blackhole\r\nline vty 0 4",
                                     "2001:db8::1\" any", "\x00", "1" * 5000])
def test_hostile_sources_never_reach_a_template(hostile):
    with pytest.raises(RespondError):
        parse_source(hostile)
    with pytest.raises(ValueError):
        render("frr", [hostile])


LINE = {"frr": re.compile(r"^ip(v6)? route [0-9a-f.:]+/\d+ blackhole$"),
        "cisco_ios": re.compile(r"^(ip(v6)? access-list( extended)? GIN-GSI-BLOCK6?|exit|"
                                r" (deny|permit) ip(v6)? [0-9a-fhost .:/any]+|interface \S+|"
                                r" (ip access-group|ipv6 traffic-filter) GIN-GSI-BLOCK6? in)$"),
        "juniper_junos": re.compile(r"^set (firewall|interfaces) [A-Za-z0-9 ./:_-]+$")}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.ip_addresses(v=4).map(lambda a: f"{a}/32"),
                          st.ip_addresses(v=6).map(lambda a: f"{a}/128"),
                          st.text(max_size=40)), max_size=6))
def test_any_input_is_a_clear_refusal_or_well_formed_lines(sources):
    nets = []
    for text in sources:
        try:
            nets.append(parse_source(text))
        except RespondError as exc:
            assert "\n" not in str(exc)  # one line: the input is shown escaped
    for name, pattern in LINE.items():
        for line in render(name, nets, ["ge-0/0/1"]).splitlines():
            assert pattern.match(line), (name, line)


def test_edge_routers_are_the_pes_with_their_linked_interfaces(sqlite_url):
    d = Directory(sqlite_url, actor="soc")
    with d.transaction() as s:
        store.add_agency(s, code="GIN", name_en="GIN", kind="gin")
        store.add_site(s, "GIN", code="BKK")
        for host, role in (("pe1", "pe"), ("pe2", "pe"), ("ce1", "ce")):
            store.add_device(s, "GIN", "BKK", hostname=host, role=role, platform="frr",
                             mgmt_address="127.0.0.1", mgmt_port=2200)
        store.ensure_interface(s, "pe1", "eth1")
        store.ensure_interface(s, "ce1", "eth0")
        store.ensure_interface(s, "pe1", "eth9")  # not linked: no filter bound there
        store.add_link(s, "l1", ("pe1", "eth1"), ("ce1", "eth0"), agency="GIN")
        s.add(m.Change(time=m.utcnow(), actor="soc", action="push", object_type=PUSH_TYPE,
                       object_id=None, object_key="pe2", before=None,
                       after={"status": "changed", "present": ["2001:db8::66/128"]}))
        s.add(m.Change(time=m.utcnow(), actor="soc", action="rollback",
                       object_type=PUSH_TYPE, object_id=None, object_key="pe2", before=None,
                       after={"status": "failed", "present": []}))
    edge = EdgeRouters(d, transport=None)  # type: ignore[arg-type]
    routers = {r.target.hostname: r for r in edge.routers()}
    assert set(routers) == {"pe1", "pe2"}
    assert routers["pe1"].interfaces == ("eth1",) and routers["pe1"].owned == ()
    # a failed (rolled back) change leaves what the last good one put there
    assert routers["pe2"].owned == ("2001:db8::66/128",)
    d.close()


def test_every_rendered_line_is_in_the_parsed_tree():
    for name in ("frr", "cisco_ios", "juniper_junos"):
        platform = platforms.get(name)
        text = render(name, NETS, ["ge-0/0/1"])
        parsed = {ln.strip() for c in tree(platform, text).all_children()
                  for ln in c.text.splitlines()}
        wanted = [ln.strip() for ln in text.splitlines()
                  if ln.strip() and ln.strip() not in platform.section_closers]
        if name == "cisco_ios":  # hier_config numbers IPv4 ACL entries
            parsed = {re.sub(r"^\d+ ", "", p) for p in parsed}
        assert [w for w in wanted if w not in parsed] == []

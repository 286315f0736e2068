"""The addressing plan: the shipped file, validation errors, and applying it."""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import func, select

from directory import models as m
from directory.plan import PlanError, apply_plan, load_plan, parse_plan

GOOD = """\
ipv6:
  supernet: 2001:db8::/32
  loopback_pool: 2001:db8::/48
  p2p_pool: 2001:db8:1::/48
ipv4:
  transit_pool: 100.64.0.0/16
"""


def write(tmp_path, text: str):
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_plan_has_the_gin_prefix_lengths():
    plan = load_plan()
    v6 = plan.ipv6
    assert v6.supernet == ipaddress.ip_network("2001:db8::/32")
    assert (v6.agency_length, v6.site_length, v6.lan_length, v6.p2p_length,
            v6.loopback_length) == (48, 56, 64, 127, 128)
    assert plan.ipv4.p2p_length == 31
    names = [p.name for p in plan.pools]
    assert names == ["supernet6", "loopback6", "p2p6", "transit4", "loopback4", "agency4"]
    assert plan.pool("p2p6").child_length == 127
    assert plan.pool("agency4").child_role == "agency-block"


def test_gin_plan_env_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD.replace("2001:db8::/32", "2001:db8::/31"))
    monkeypatch.setenv("GIN_PLAN", str(path))
    plan = load_plan()
    assert plan.source == str(path) and plan.ipv6.supernet.prefixlen == 31
    assert [p.name for p in plan.pools] == ["supernet6", "loopback6", "p2p6", "transit4"]


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("p2p_pool: 2001:db8:1::/48", "p2p_pool: 2001:db9::/48"),
     "ipv6.p2p_pool: 2001:db9::/48 is not inside the supernet 2001:db8::/32"),
    (GOOD.replace("p2p_pool: 2001:db8:1::/48", "p2p_pool: 2001:db8::/56"),
     "ipv6.p2p_pool: 2001:db8::/56 overlaps ipv6.loopback_pool"),
    (GOOD + "  agency_pool: 100.64.1.0/24\n",
     "ipv4.agency_pool: 100.64.1.0/24 overlaps ipv4.transit_pool"),
    (GOOD.replace("ipv6:\n", "ipv6:\n  site_length: 44\n"),
     "ipv6.site_length: /44 must be longer than ipv6.agency_length (/48)"),
    (GOOD.replace("ipv6:\n", "ipv6:\n  agency_length: 30\n"),
     "ipv6.agency_length: /30 must be longer than ipv6.supernet (/32)"),
    (GOOD.replace("transit_pool: 100.64.0.0/16", "transit_pool: 2001:db8:5::/48"),
     "ipv4.transit_pool: 2001:db8:5::/48 is not an IPv4 prefix"),
    (GOOD.replace("2001:db8::/32", "2001:db8::1/32"),
     "ipv6.supernet: '2001:db8::1/32' is not a valid prefix"),
    (GOOD.replace("ipv6:\n", "ipv6:\n  lan_lenght: 64\n"),
     "ipv6.lan_lenght: unknown setting"),
    (GOOD.replace("ipv6:\n", "ipv6:\n  lan_length: sixty-four\n"),
     "ipv6.lan_length: 'sixty-four' is not a prefix length 1..128"),
    (GOOD.replace("  supernet: 2001:db8::/32\n", ""), "ipv6.supernet: is required"),
    (GOOD + "ipv5: {}\n", "ipv5: unknown section"),
    ("ipv6: [1, 2\n", "line 2: not valid YAML"),
    ("- just\n- a list\n", "top level: expected a mapping"),
])
def test_bad_plans_say_file_field_what(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert f"{path}: {expected}" in str(info.value), str(info.value)


def test_every_error_is_listed(tmp_path):
    text = GOOD.replace("2001:db8:1::/48", "2001:db9::/48").replace(
        "100.64.0.0/16", "nonsense") + "  p2p_length: 40\n"
    with pytest.raises(PlanError) as info:
        load_plan(write(tmp_path, text))
    assert len(info.value.errors) == 2  # the prefix and the length; shape checks wait for both
    assert all(e.startswith(str(tmp_path)) for e in info.value.errors)
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(tmp_path / "missing.yaml")


def test_parse_plan_without_ipv4():
    plan = parse_plan({"ipv6": {"supernet": "2001:db8::/32"}}, "inline")
    assert [p.name for p in plan.pools] == ["supernet6"]


def test_apply_plan_is_idempotent(directory):
    plan = load_plan()
    with directory.transaction() as s:
        first = apply_plan(s, plan)
        assert [r["action"] for r in first] == ["created"] * 6
    with directory.transaction() as s:
        again = apply_plan(s, plan)
        assert [r["action"] for r in again] == ["exists"] * 6
        assert s.scalar(select(func.count()).select_from(m.Prefix)) == 6
        rows = {p.cidr: p for p in s.scalars(select(m.Prefix)).unique()}
        assert rows["2001:db8::/32"].role == "supernet"
        assert rows["2001:db8:1::/48"].parent_id == rows["2001:db8::/32"].id
        assert rows["100.64.0.0/16"].role == "transit-pool"

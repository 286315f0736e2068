"""Planning a link allocates everything once, and the intent built from it renders."""

from __future__ import annotations

import pytest

from directory import store
from directory.errors import Conflict, Invalid
from directory.plan import apply_plan, load_plan
from links.build import build_intent
from links.plan import PRIVATE_ASN, Endpoint, plan_link
from links.render import render


@pytest.fixture
def gin(directory):
    plan = load_plan()
    with directory.transaction() as s:
        apply_plan(s, plan)
        store.add_agency(s, code="GIN", name_en="GIN operator", kind="gin")
        store.add_site(s, "GIN", code="core-bkk")
        store.add_device(s, "GIN", "core-bkk", hostname="pe1", role="pe", platform="frr",
                         asn=65000)
        for code in ("DOPA", "SSO"):
            store.add_agency(s, code=code, name_en=f"{code} agency")
            store.add_site(s, code, code="hq")
            store.add_device(s, code, "hq", hostname=f"{code.lower()}-ce1", role="ce",
                             platform="cisco_ios")
    return directory, plan


def test_plan_allocates_and_renders(gin):
    d, plan = gin
    with d.transaction() as s:
        link = plan_link(s, plan, "DOPA", "HQ", Endpoint("pe1", "eth1"),
                         Endpoint("dopa-ce1", "Gi0/0"), lan="Gi0/1")
        intent = build_intent(s, link)
    assert link.status == "planned"
    assert intent.pe.address6.network.prefixlen == 127
    assert intent.pe.address6.ip + 1 == intent.ce.address6.ip
    assert intent.pe.address4 is not None and intent.pe.address4.network.prefixlen == 31
    assert intent.ce.asn == PRIVATE_ASN[0]
    assert [p.prefixlen for p in intent.agency_prefixes6] == [48]
    assert intent.lan6 is not None and intent.lan6.network.prefixlen == 64
    assert intent.lan6.network.subnet_of(intent.agency_prefixes6[0])
    configs = render(intent)
    assert f"neighbor {intent.ce.address6.ip} remote-as {PRIVATE_ASN[0]}" in configs["pe1"]
    assert "ipv6 verify unicast source reachable-via rx" not in configs["pe1"]  # frr: no uRPF
    assert f"network {intent.agency_prefixes6[0]}" in configs["dopa-ce1"]


def test_two_agencies_get_distinct_everything(gin):
    d, plan = gin
    with d.transaction() as s:
        a = build_intent(s, plan_link(s, plan, "DOPA", "HQ", Endpoint("pe1", "eth1"),
                                      Endpoint("dopa-ce1", "Gi0/0")))
        b = build_intent(s, plan_link(s, plan, "SSO", "HQ", Endpoint("pe1", "eth2"),
                                      Endpoint("sso-ce1", "Gi0/0")))
    assert a.pe.address6.network != b.pe.address6.network
    assert a.ce.asn != b.ce.asn
    assert a.agency_prefixes6 != b.agency_prefixes6


def test_plan_refusals_write_nothing(gin):
    d, plan = gin
    with pytest.raises(Invalid, match="expected a pe"), d.transaction() as s:
        plan_link(s, plan, "DOPA", "HQ", Endpoint("dopa-ce1", "x"), Endpoint("pe1", "y"))
    with pytest.raises(Conflict, match="not at SSO/HQ"), d.transaction() as s:
        plan_link(s, plan, "SSO", "HQ", Endpoint("pe1", "eth1"), Endpoint("dopa-ce1", "Gi0/0"))
    with d.transaction() as s:
        assert store.get_agency(s, "DOPA").asn is None
        assert store.list_all(s, store.m.Link) == []

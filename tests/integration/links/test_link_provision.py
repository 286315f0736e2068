"""GIN link provisioning on real FRR routers in a lab of this module's own.

One module-scoped scenario, in order: three agencies on one PE provisioned concurrently
through Netmiko and a fourth through Ansible; BGP and LAN-to-LAN ping6 through the GIN;
a second run changes nothing; a wrongly planned link fails verification and is rolled
back byte for byte; a device that is down; decommissioning; and a failed link beside a
good one on the same PE.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from devices import transport
from directory import allocator, store
from directory.plan import apply_plan, load_plan
from directory.store import Directory
from gin.lab.register import register
from links.plan import Endpoint, link_prefixes, plan_link
from links.provision import provision

TOPOLOGY = Path(__file__).with_name("topology.yaml")
#: agency -> (CE, its LAN host, the N of the host's 2001:db8:N::/64)
AGENCIES = {"MOF": ("ce1", "h1", 1001), "MOE": ("ce2", "h2", 1002),
            "MOPH": ("ce3", "h3", 1003), "DOPA": ("ce4", "h4", 1004)}
NETMIKO = ["mof-ce1", "moe-ce2", "moph-ce3"]  # all three on pe1
ANSIBLE = ["dopa-ce4"]  # behind pe2


def _port(lab, node: str, peer: str) -> str:
    return next(i.name for i in lab.node(node).interfaces if i.peer_node == peer)


def _pe_of(lab, ce: str) -> str:
    return next(i.peer_node for i in lab.node(ce).interfaces if i.peer_node.startswith("pe"))


@pytest.fixture(scope="module")
def gin_lab(tmp_path_factory):
    """A lab of this module's own (4 agencies), torn down at the end."""
    from tests.integration.conftest import require_lab

    require_lab()
    from gin import lab

    name = "k" + secrets.token_hex(2)
    try:
        yield lab.up(str(TOPOLOGY), name=name)
    finally:
        lab.down(name)


@pytest.fixture(scope="module")
def planned(gin_lab, tmp_path_factory):
    """The lab registered in a fresh directory, with the four links planned."""
    d = Directory(f"sqlite:///{tmp_path_factory.mktemp('links')}/directory.sqlite",
                  actor="gin-link-tests")
    register(gin_lab, d)
    plan = load_plan()
    with d.transaction() as s:
        apply_plan(s, plan)
        for code, (ce, host, n) in AGENCIES.items():
            # The lab's hosts already sit in 2001:db8:<n>::/64: give the agency that /48.
            allocator.add_prefix(s, f"2001:db8:{n}::/48", agency=code, role="agency")
            pe = _pe_of(gin_lab, ce)
            plan_link(s, plan, code, store.get_device(s, ce).site.code,
                      Endpoint(pe, _port(gin_lab, pe, ce)), Endpoint(ce, _port(gin_lab, ce, pe)),
                      lan=_port(gin_lab, ce, host), name=f"{code.lower()}-{ce}")
    yield d
    d.close()


def _running(lab, node: str) -> str:
    return lab.vtysh(node, "show running-config")


def test_three_agencies_on_one_pe_via_netmiko_and_one_via_ansible(gin_lab, planned):
    results = provision(planned, NETMIKO, transport.get("netmiko"), with_ping=False)
    results += provision(planned, ANSIBLE, transport.get("ansible"), with_ping=False)
    assert [r.status for r in results] == ["changed"] * 4, [r.message for r in results]
    assert all(r.checks and all(r.checks.values()) for r in results)
    with planned.transaction() as s:
        assert {store.get_link(s, n).status for n in NETMIKO + ANSIBLE} == {"active"}
        pushes = [c for c in store.history(s, "link") if c.action == "push"]
        assert len(pushes) == 4 and all(c.after["diff"] for c in pushes)


def test_lan_to_lan_ping6_through_the_gin(gin_lab, planned):
    # h1 (MOF, on pe1) -> h3 (MOPH, same PE) and -> h4 (DOPA, behind pe2: crosses the core)
    for target in ("2001:db8:1003::10", "2001:db8:1004::10"):
        done = gin_lab.exec("h1", ["ping", "-6", "-c", "3", "-W", "2", target])
        assert done.returncode == 0, done.stdout


def test_pe_accepts_only_the_agency_prefix(gin_lab, planned):
    routes = gin_lab.vtysh("pe1", "show bgp ipv6 unicast")
    assert "2001:db8:1001::/48" in routes and "2001:db8:1003::/48" in routes


def test_second_run_changes_nothing(gin_lab, planned):
    before = {n: _running(gin_lab, n) for n in ("pe1", "pe2", "ce1", "ce2", "ce3", "ce4")}
    results = provision(planned, NETMIKO + ANSIBLE, transport.get("netmiko"), with_ping=False)
    results += provision(planned, ANSIBLE, transport.get("ansible"), with_ping=False)
    assert [r.status for r in results] == ["no change"] * 5
    assert {n: _running(gin_lab, n) for n in before} == before


def test_wrong_link_fails_verification_and_is_rolled_back_exactly(gin_lab, planned):
    pe, ce = "pe2", "ce4"
    with planned.transaction() as s:
        # Planned onto ports that are not cabled: the BGP peer can never be reached.
        plan_link(s, load_plan(), "DOPA", store.get_device(s, ce).site.code,
                  Endpoint(pe, "nowhere-9"), Endpoint(ce, "nowhere-8"), name="dopa-wrong")
    before = {pe: _running(gin_lab, pe), ce: _running(gin_lab, ce)}
    [res] = provision(planned, ["dopa-wrong"], transport.get("netmiko"), verify_timeout=5,
                      with_ping=False)
    assert res.status == "rolled back", res.message
    assert res.restored is True
    assert "not up" in res.message
    assert {n: _running(gin_lab, n) for n in before} == before  # byte-identical
    with planned.transaction() as s:
        assert store.get_link(s, "dopa-wrong").status == "failed"
        actions = [c.action for c in store.history(s, "link", "dopa-wrong")]
        assert {"push", "verify", "rollback"} <= set(actions)
        rollback = next(c for c in store.history(s, "link", "dopa-wrong")
                        if c.action == "rollback")
        assert rollback.after["restored"] is True


def test_device_down_is_reported_and_others_proceed(gin_lab, planned):
    with planned.transaction() as s:
        store.add_site(s, "MOF", code="branch")
        store.add_device(s, "MOF", "branch", hostname="ce-dead", role="ce", platform="frr",
                         mgmt_address="127.0.0.1", mgmt_port=1,
                         credential_ref=gin_lab.credentials_ref)
        plan_link(s, load_plan(), "MOF", "branch", Endpoint("pe1", "nowhere-7"),
                  Endpoint("ce-dead", "eth0"), name="mof-dead")
    results = provision(planned, ["mof-dead", "mof-ce1"], transport.get("netmiko"),
                        with_ping=False)
    by_name = {r.link: r for r in results}
    assert by_name["mof-dead"].status == "failed"
    assert "cannot connect" in by_name["mof-dead"].message
    assert by_name["mof-ce1"].status == "no change"


def test_decommission_removes_only_that_link(gin_lab, planned):
    from links.decommission import decommission

    with planned.transaction() as s:
        cidrs = {p.cidr for p in link_prefixes(s, store.get_link(s, "moph-ce3")).values()}
    decommission(planned, "moph-ce3", transport.get("netmiko"))
    pe1 = _running(gin_lab, "pe1")
    assert "GIN-IN-MOPH" not in pe1 and "GIN-IN-MOF" in pe1  # the other agency stays
    assert "router bgp" not in _running(gin_lab, "ce3")
    # MOF, on the same PE, is still up and reachable
    done = gin_lab.exec("h1", ["ping", "-6", "-c", "2", "-W", "2", "2001:db8:1002::10"])
    assert done.returncode == 0, done.stdout
    with planned.transaction() as s:
        assert store.get_link(s, "moph-ce3").status == "decommissioned"
        assert not link_prefixes(s, store.get_link(s, "moph-ce3"))
        for cidr in cidrs:
            with pytest.raises(Exception, match="not found"):
                store.get_prefix(s, cidr)


def test_failed_link_rollback_keeps_a_concurrent_link(gin_lab, planned):
    """Two links on pe1 at once, one wrongly planned: only the wrong one is undone."""
    pe = "pe1"
    with planned.transaction() as s:
        plan = load_plan()
        plan_link(s, plan, "MOPH", store.get_device(s, "ce3").site.code,
                  Endpoint(pe, _port(gin_lab, pe, "ce3")),
                  Endpoint("ce3", _port(gin_lab, "ce3", pe)),
                  lan=_port(gin_lab, "ce3", "h3"), name="moph-again")
        plan_link(s, plan, "DOPA", store.get_device(s, "ce4").site.code,
                  Endpoint(pe, "nowhere-6"), Endpoint("ce4", "nowhere-5"), name="dopa-wrong-pe1")
    results = {r.link: r for r in provision(planned, ["moph-again", "dopa-wrong-pe1"],
                                            transport.get("netmiko"), verify_timeout=5,
                                            with_ping=False)}
    assert results["moph-again"].status == "changed", results["moph-again"].message
    assert results["dopa-wrong-pe1"].status == "rolled back", results["dopa-wrong-pe1"].message
    assert results["dopa-wrong-pe1"].restored is True
    running = _running(gin_lab, pe)
    assert "nowhere-6" not in running and "GIN-IN-MOPH" in running and "GIN-IN-DOPA" not in running
    assert "nowhere-5" not in _running(gin_lab, "ce4")
    done = gin_lab.exec("h1", ["ping", "-6", "-c", "2", "-W", "2", "2001:db8:1003::10"])
    assert done.returncode == 0, done.stdout

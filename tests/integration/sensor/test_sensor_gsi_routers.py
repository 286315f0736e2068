"""GSI cut-off on the real lab's edge routers: a block pushed to both PEs cuts the source
off across the GIN, a lift or an expiry restores the routers' configs byte for byte, and a
router that refuses the change is rolled back there while the others keep the block.

One module-scoped lab of its own (the default topology: pe1 with ce1/MOF and ce3/MOPH,
pe2 with ce2/MOE, a LAN host behind each CE), its three agency links provisioned through
Netmiko so the hosts reach each other across the GIN.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys

import pytest
from sqlalchemy import select

from devices import transport
from directory import allocator, store
from directory import models as m
from directory.plan import apply_plan, load_plan
from directory.store import Directory, history
from gin.lab.register import register
from links.plan import Endpoint, plan_link
from links.provision import provision
from monitor.sensor.edge import EdgeRouters
from monitor.sensor.respond import Responder

pytestmark = pytest.mark.integration

#: agency -> (CE, LAN host, N of the host's 2001:db8:N::/64)
AGENCIES = {"MOF": ("ce1", "h1", 1001), "MOE": ("ce2", "h2", 1002), "MOPH": ("ce3", "h3", 1003)}
HOST = {h: f"2001:db8:{n}::10" for _, h, n in AGENCIES.values()}
ROUTERS = ("pe1", "pe2", "ce1", "ce2", "ce3")


def _port(lab, node: str, peer: str) -> str:
    return next(i.name for i in lab.node(node).interfaces if i.peer_node == peer)


@pytest.fixture(scope="module")
def lab():
    from tests.integration.conftest import require_lab

    require_lab()
    from gin import lab as gin_lab

    name = "g" + secrets.token_hex(2)
    try:
        yield gin_lab.up(name=name)
    finally:
        gin_lab.down(name)


@pytest.fixture(scope="module")
def gin_dir(lab, tmp_path_factory):
    """The lab in a directory, its three agency links provisioned and verified."""
    db = tmp_path_factory.mktemp("gsi") / "directory.sqlite"
    d = Directory(f"sqlite:///{db}", actor="soc-analyst")
    register(lab, d)
    plan = load_plan()
    names = []
    with d.transaction() as s:
        apply_plan(s, plan)
        for code, (ce, host, n) in AGENCIES.items():
            allocator.add_prefix(s, f"2001:db8:{n}::/48", agency=code, role="agency")
            pe = next(i.peer_node for i in lab.node(ce).interfaces if i.peer_node[:2] == "pe")
            names.append(f"{code.lower()}-{ce}")
            plan_link(s, plan, code, store.get_device(s, ce).site.code,
                      Endpoint(pe, _port(lab, pe, ce)), Endpoint(ce, _port(lab, ce, pe)),
                      lan=_port(lab, ce, host), name=names[-1])
    results = provision(d, names, transport.get("netmiko"), with_ping=False)
    assert [r.status for r in results] == ["changed"] * 3, [r.message for r in results]
    # The links verify their PE-CE sessions; the agency routes still have to cross the
    # core's iBGP before every LAN reaches every other one.
    for src, dst in (("h1", "h2"), ("h3", "h1"), ("h2", "h3")):
        for _ in range(30):
            if _reach(lab, src, dst):
                break
        else:
            pytest.fail(f"{src} never reached {dst} after provisioning")
    yield d
    d.close()


def _reach(lab, src: str, dst: str) -> bool:
    done = lab.exec(src, ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", HOST[dst]])
    return done.returncode == 0


def _cut(lab, src: str, dst: str) -> bool:
    """One echo request gets no answer (a second would only cost time)."""
    done = lab.exec(src, ["ping", "-6", "-c", "1", "-W", "1", HOST[dst]])
    return done.returncode != 0


def _configs(lab) -> dict[str, str]:
    return {n: lab.vtysh(n, "show running-config") for n in ROUTERS}


def _respond(db_url: str, *args: str) -> tuple[int, dict]:
    """``gin monitor respond ... --json`` as a user runs it."""
    done = subprocess.run([sys.executable, "-m", "gin.cli", "--db", db_url, "monitor",
                           "respond", "--no-gateway", *args, "--json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_block_cuts_the_source_off_across_the_gin_and_lift_restores(lab, gin_dir):
    url = str(gin_dir.engine.url)
    before = _configs(lab)

    code, out = _respond(url, "--block", HOST["h1"], "--ttl", "600", "--reason", "scan")
    assert code == 0, out
    assert {r["router"]: r["status"] for r in out["routers"]} == {"pe1": "changed",
                                                                  "pe2": "changed"}
    for pe in ("pe1", "pe2"):
        assert "ipv6 route 2001:db8:1001::10/128 blackhole" in lab.vtysh(
            pe, "show running-config")
    assert _cut(lab, "h1", "h2")  # across the core (pe1 -> pe2)
    assert _cut(lab, "h2", "h1")
    assert _cut(lab, "h3", "h1")  # two agencies on the same PE
    assert _reach(lab, "h2", "h3")      # everyone else is not harmed
    assert {n: c for n, c in _configs(lab).items() if n[:2] == "ce"} == {
        n: c for n, c in before.items() if n[:2] == "ce"}  # CEs untouched

    code, out = _respond(url, "--lift", HOST["h1"])
    assert code == 0 and {r["status"] for r in out["routers"]} == {"changed"}, out
    assert _reach(lab, "h1", "h2") and _reach(lab, "h3", "h1")
    assert _configs(lab) == before  # byte for byte

    with gin_dir.transaction() as s:
        pushes = [(c.object_key, c.after["action"]) for c in history(s, "sensor_block_push")]
        assert sorted(pushes) == [("pe1", "block"), ("pe1", "lift"), ("pe2", "block"),
                                  ("pe2", "lift")]
        assert [c.action for c in history(s, "sensor_block")] == ["delete", "create"]


def _age(d: Directory, *sources: str) -> None:
    """Let the blocks' time run out: their expiry in the change log moves to the past
    (deterministic on a loaded machine, where a 1 s TTL may pass mid-push)."""
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    with d.transaction() as s:
        for ch in s.scalars(select(m.Change).where(m.Change.object_type == "sensor_block",
                                                   m.Change.object_key.in_(sources))):
            ch.after = {**ch.after, "expires": past}


def test_expired_block_is_taken_off_the_routers(lab, gin_dir):
    before = _configs(lab)
    responder = Responder(gin_dir, None, EdgeRouters(gin_dir, transport.get("netmiko")))
    responder.block("203.0.113.9", ttl=3600, reason="expiry test")  # IPv4 reads back too
    responder.block(HOST["h2"], ttl=3600, reason="expiry test")
    assert {r.status for r in responder.routers} == {"changed"}
    assert "ip route 203.0.113.9/32 blackhole" in lab.vtysh("pe2", "show running-config")
    assert _cut(lab, "h3", "h2")
    _age(gin_dir, "203.0.113.9/32", f"{HOST['h2']}/128")
    assert responder.list() == []
    assert {r.router: r.status for r in responder.expire()} == {"pe1": "changed",
                                                                "pe2": "changed"}
    assert _reach(lab, "h3", "h2")
    assert _configs(lab) == before
    assert {r.status for r in responder.expire()} == {"no change"}  # idempotent


def test_a_router_refusing_the_block_is_rolled_back_and_the_others_keep_it(lab, gin_dir):
    # A PE recorded with the wrong platform (IOS) that is really an FRR router (ce2's
    # sshd): it refuses the IOS ACL half-way through; gin must put its config back.
    with gin_dir.transaction() as s:
        store.add_device(s, "LAB", "core-bkk", hostname="pe9", role="pe",
                         platform="cisco_ios", mgmt_address="127.0.0.1",
                         mgmt_port=lab.node("ce2").ssh_port,
                         credential_ref=lab.credentials_ref)
    url = str(gin_dir.engine.url)
    before = _configs(lab)
    code, out = _respond(url, "--block", HOST["h3"], "--ttl", "600")
    assert code == 3, out  # a device failed
    by = {r["router"]: r for r in out["routers"]}
    assert by["pe1"]["status"] == by["pe2"]["status"] == "changed"
    assert by["pe9"]["status"] == "failed" and by["pe9"]["restored"] is True
    assert "rejected" in by["pe9"]["message"] or "did not take" in by["pe9"]["message"]
    assert lab.vtysh("ce2", "show running-config") == before["ce2"]  # rolled back exactly
    assert _cut(lab, "h3", "h2") and _cut(lab, "h1", "h3")
    assert _reach(lab, "h1", "h2")

    responder = Responder(gin_dir, None, EdgeRouters(gin_dir, transport.get("netmiko")))
    responder.lift(HOST["h3"])  # pe9 carries nothing of gin's: nothing to do there
    assert {r.router: r.status for r in responder.routers} == {
        "pe1": "changed", "pe2": "changed", "pe9": "no change"}
    assert _configs(lab) == before
    assert _reach(lab, "h1", "h3")
    with gin_dir.transaction() as s:
        [failed] = [c for c in history(s, "sensor_block_push", "pe9")]
        assert failed.action == "rollback" and failed.after["restored"] is True
        store.update(s, store.get_device(s, "pe9"), role="ce")

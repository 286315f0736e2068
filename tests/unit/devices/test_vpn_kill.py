"""Crash tests of a VPN router deploy: `vpn.deploy.deploy` as its own process, SIGKILLed at
every named step of its routers' change (the GIN_FAULT hook) and between verification and
the record, then recovery; every router ends byte-identical to its pre-image or fully
configured, as the directory says.

Both ends are IOS-XE routers (the lab's gateways are strongSwan, which deploys over VICI,
not through converge; no Cisco box can run here): :class:`FileRouters` keeps each router's
config in a file, so the router outlives the killed process as a real one would.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices import configtree, platforms, recovery
from devices.sessions import Sessions
from devices.targets import target_of
from directory import store
from directory.store import Directory
from tests.unit.devices.iosbox import FileConnection, FileRouters
from tests.unit.vpn.conftest import populate

TUNNEL = "hub-dopa"
HOSTS = ("xe-dopa", "xe-hub")  # side b first, as deploy applies them
RUNNING = ("hostname {h}\n!\ninterface Loopback0\n ip address 10.9.9.9 255.255.255.255\n!\n"
           "interface GigabitEthernet0/0/0\n ipv6 address 2001:db8:ffff::{n}/64\n!\n")
FAULTS = [f"{when}:{step}:{host}" for host in HOSTS
          for when, step in (("before", "push"), ("after", "push"), ("after", "read_back"),
                             ("after", "save"))] + ["before:verify:verify",
                                                    "after:verify:verify"]
CHILD = """
import os, signal, sys
from directory.store import Directory
from tests.unit.devices.iosbox import FileRouters
from vpn import deploy
if sys.argv[3] == "before-record":  # killed once verified, before the outcome is recorded
    deploy.record = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
(res,) = deploy.deploy(Directory(sys.argv[1], actor="kill"), ["hub-dopa"],
                       via=FileRouters(sys.argv[2]))
print(res.result, res.message)
"""


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A directory with the tunnel planned, both routers at their baseline."""
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    url = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    d = Directory(url, actor="tester")
    populate(d)
    from vpn.tunnels import create_tunnel

    with d.transaction() as s:
        store.add_device(s, "DOPA", "hq", hostname="xe-dopa", role="vpn-gateway",
                         platform="cisco_xe", mgmt_address="2001:db8:ffff::8")
        create_tunnel(s, "xe-hub", "xe-dopa", "ikev2", "psk", name=TUNNEL)
    d.close()
    boxes = tmp_path / "routers"
    boxes.mkdir()
    for n, h in enumerate(HOSTS, start=8):
        FileRouters.create(boxes, h, RUNNING.format(h=h, n=n))
    return url, boxes


def _run(url: str, boxes: Path, fault: str | None,
         how: str = "fault") -> subprocess.CompletedProcess:
    script = boxes.parent / "child.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if k != "GIN_FAULT"}
    env.update(PYTHONPATH=os.getcwd(), **({"GIN_FAULT": fault} if fault else {}))
    return subprocess.run([sys.executable, str(script), url, str(boxes), how], env=env,
                          capture_output=True, text=True, timeout=300)


def _judge(url: str, boxes: Path, pre: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Recover, then (tunnel status, each router's state: pre-image / configured / half)."""
    from vpn.deploy import plan_tunnel
    from vpn.tunnels import get_tunnel

    d = Directory(url, actor="tester")
    with d.transaction() as s:
        targets = [target_of(store.get_device(s, h)) for h in HOSTS]
        plan = plan_tunnel(s, get_tunnel(s, TUNNEL))
        status = get_tunnel(s, TUNNEL).status
    with Sessions(FileRouters(boxes), db=d.engine) as sessions:
        bad = [r for r in recovery.recover(sessions, targets) if not r.ok]
    assert not bad, bad
    with d.transaction() as s:
        status = get_tunnel(s, TUNNEL).status
    d.close()
    states = {}
    for side in plan.sides:
        now = FileConnection(side.hostname, boxes / f"{side.hostname}.json").show(
            "show running-config")
        if now == pre[side.hostname]:
            states[side.hostname] = "pre-image"
        elif not configtree.missing(platforms.get("cisco_xe"), now, side.text):
            states[side.hostname] = "configured"
        else:
            states[side.hostname] = "half"
    return status, states


def _pre(boxes: Path) -> dict[str, str]:
    return {h: FileConnection(h, boxes / f"{h}.json").show("show running-config")
            for h in HOSTS}


def test_an_uninterrupted_deploy_configures_both_routers_and_records_it(world):
    url, boxes = world
    pre = _pre(boxes)
    child = _run(url, boxes, None)
    assert child.returncode == 0 and child.stdout.startswith("changed"), child.stderr
    status, states = _judge(url, boxes, pre)
    assert (status, states) == ("up", {h: "configured" for h in HOSTS})


@pytest.mark.parametrize("fault", FAULTS)
def test_a_vpn_router_deploy_killed_at_a_named_step_is_recovered(world, fault):
    url, boxes = world
    pre = _pre(boxes)
    child = _run(url, boxes, fault)
    assert child.returncode == -9, (child.stdout, child.stderr)  # the hook fired there
    status, states = _judge(url, boxes, pre)
    # never recorded: the directory still says planned, and so do both routers
    assert (status, states) == ("planned", {h: "pre-image" for h in HOSTS})


def test_a_kill_between_verification_and_the_record_is_recovered(world):
    """The outcome and the end of the journal entries commit together: killed before that
    transaction, the entries are still open, and recovery takes the routers back to what
    the directory says (planned)."""
    url, boxes = world
    pre = _pre(boxes)
    child = _run(url, boxes, None, how="before-record")
    assert child.returncode == -9, (child.stdout, child.stderr)
    status, states = _judge(url, boxes, pre)
    assert (status, states) == ("planned", {h: "pre-image" for h in HOSTS})


def test_a_plan_deployed_on_its_own_journals_in_its_own_directory(world, monkeypatch,
                                                                  tmp_path):
    """deploy_plan with no sessions journals where the tunnel was planned, never in
    GIN_DB or the default directory."""
    from sqlalchemy import select

    from directory import models as m
    from vpn.deploy import deploy_plan, plan_tunnel
    from vpn.tunnels import get_tunnel

    url, boxes = world
    elsewhere = tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv("GIN_DB", f"sqlite:///{elsewhere}")
    d = Directory(url, actor="tester")
    with d.transaction() as s:
        plan = plan_tunnel(s, get_tunnel(s, TUNNEL))
    res = deploy_plan(plan, via=FileRouters(boxes))
    assert res.result == "changed", res.message
    with d.engine.connect() as conn:
        rows = conn.execute(select(m.DeviceChangeEntry.__table__.c.device)).scalars().all()
    d.close()
    assert sorted(rows) == sorted(HOSTS) and not elsewhere.exists()

"""A deploy and a withdraw tell the same step observer converge() tells (a job's progress and
log follow it): routers' sides their converge's steps, gateways' sides their own, the record
last; an observer refusing a gateway's step stops it before the gateway is touched.

Routers are :class:`~tests.unit.devices.iosbox.IosBox` (an IOS-XE running config in memory
behind the Connection contract Netmiko implements); the running strongSwan gateways are in
tests/integration/server/test_jobs_vpn_lab.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices import configtree, platforms
from devices.converge import Step, StepEvent
from directory import store
from directory.store import history
from tests.unit.devices.iosbox import IosBox, IosRouters
from vpn import deploy, tunnels
from vpn.gateway import Gateway


class Told(list):
    """Every event, as (device, step, state)."""

    def __call__(self, event: StepEvent) -> None:
        self.append((event.device, event.step.value, event.state))


@pytest.fixture
def hub_moph(vdir):
    """A tunnel between two IOS-XE routers, neither configured yet."""
    with vdir.transaction() as s:
        store.add_device(s, "MOPH", "hq", hostname="xe-moph", role="vpn-gateway",
                         platform="cisco_xe", mgmt_address="2001:db8:ffff::12")
        tunnels.create_tunnel(s, "xe-hub", "xe-moph", "ikev2", "psk", name="t1")
    xe = platforms.get("cisco_xe")
    return IosRouters(*(IosBox(h, "\n".join(configtree.union(xe, [f"hostname {h}\n"]).lines())
                               + "\n") for h in ("xe-hub", "xe-moph")))


def test_router_sides_report_their_converge_steps_then_the_record(vdir, hub_moph):
    told = Told()
    (res,) = deploy.deploy(vdir, ["t1"], via=hub_moph, observer=told)
    assert res.result == "changed", res.as_dict()
    done = [(d, step) for d, step, state in told if state == "done"]
    for host in ("xe-moph", "xe-hub"):  # side b first
        assert [step for d, step in done if d == host] == ["read", "diff", "push",
                                                          "read_back", "save"]
    assert done.index(("xe-moph", "save")) < done.index(("xe-hub", "read"))
    assert (None, "verify") in done  # the tunnel check, once both are pushed
    assert told[-2:] == [(None, "save", "start"), (None, "save", "done")]  # the record last
    assert not [e for e in told if e[2] == "failed"]
    withdrawn = Told()
    assert deploy.withdraw(vdir, ["t1"], via=hub_moph, observer=withdrawn) == ["t1"]
    assert ("xe-hub", "push", "done") in withdrawn and ("xe-moph", "save", "done") in withdrawn
    assert withdrawn[-1] == (None, "save", "done")
    assert "crypto ikev2" not in hub_moph.boxes["xe-hub"].text()


def test_a_refused_gateway_step_is_not_run_and_the_gateway_is_not_touched(vdir, tmp_path):
    """The observer refuses gw-moph's push: no file is written, no VICI socket opened (there
    is none: opening it would fail another way), and the failure is recorded."""
    with vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="t2")

    def gateway_of(device) -> Gateway:
        return Gateway(device.hostname, vici=f"unix://{tmp_path}/no-charon.vici",
                       swanctl_dir=tmp_path / device.hostname)

    told = Told()

    def refusing(event: StepEvent) -> None:
        told(event)
        if (event.step, event.state) == (Step.PUSH, "start"):
            raise OSError("journal full")

    (res,) = deploy.deploy(vdir, ["t2"], gateway_of=gateway_of, observer=refusing)
    assert res.result == "failed" and "push not started" in res.message, res.as_dict()
    assert "journal full" in res.message and res.sides == {} and res.restored is True
    assert told[:4] == [("gw-moph", "diff", "done"), ("gw-moph", "read", "start"),
                        ("gw-moph", "read", "done"), ("gw-moph", "push", "start")]
    assert not [e for e in told if e[0] == "gw-dopa" or e[1] == "restore"]
    assert not list(Path(tmp_path).rglob("*.conf"))
    assert told[-1] == (None, "save", "done")
    with vdir.transaction() as s:
        assert tunnels.get_tunnel(s, "t2").status == "planned"
        events = [c.after for c in history(s, "tunnel", "t2") if c.action == "vpn-deploy"]
    assert [e["result"] for e in events] == ["failed"]

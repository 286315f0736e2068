"""The router side of a deploy is a device change like any other (devices.converge): only
the missing lines are pushed, read back and saved under the router's lock; a router that
refuses a line, or silently does not take one, is put back exactly.

No Cisco box can run here: :class:`~tests.unit.devices.iosbox.IosBox` holds an IOS-XE
running config in memory behind the Connection contract Netmiko and Ansible implement.
"""

from __future__ import annotations

import pytest

from devices.sessions import Sessions
from devices.targets import DeviceTarget
from tests.unit.devices.iosbox import IosBox, IosRouters
from vpn import deploy, keys
from vpn.render import render_side
from vpn.tunnels import create_tunnel, spec

RUNNING = "hostname xe-hub\n!\ninterface Loopback0\n ip address 10.9.9.9 255.255.255.255\n!\n"


@pytest.fixture
def hub_plan(vdir):
    """A tunnel whose only side to push is xe-hub's (the router initiates by itself)."""
    with vdir.transaction() as s:
        t = create_tunnel(s, "xe-hub", "gw-dopa", "ikev2", "psk", name="hub-dopa")
        text = render_side(spec(t), "a", keys.unseal(t.secret_ref, "tunnel hub-dopa"))
        side = deploy.Side(key="a", hostname="xe-hub", platform="cisco_xe", gateway=None,
                           text=text,
                           target=DeviceTarget("xe-hub", "cisco_xe", "2001:db8:ffff::9", 22,
                                               None))
        return deploy.TunnelDeployment(spec=spec(t), sides=[side])


def test_router_side_pushes_only_missing_lines_then_no_change(hub_plan):
    box = IosBox("xe-hub", RUNNING)
    with Sessions(IosRouters(box)) as sessions:
        res = deploy.deploy_plan(hub_plan, sessions=sessions)
        assert (res.result, res.sides) == ("changed", {"xe-hub": "changed"}), res.message
        (pushed,) = box.sent
        assert any("crypto ikev2" in ln for ln in pushed) and box.saves == 1
        assert " ip address 10.9.9.9 255.255.255.255" not in pushed  # already on the router
        assert "crypto ikev2 profile" in box.text()
        again = deploy.deploy_plan(hub_plan, sessions=sessions)
    assert (again.result, again.sides) == ("no change", {"xe-hub": "no change"})
    assert len(box.sent) == 1  # nothing missing: nothing sent


@pytest.mark.parametrize("box_kw", [{"refuse": ("crypto ikev2 profile",)},
                                    {"ignore": ("crypto ikev2 profile",)}],
                         ids=["refused", "silently-not-taken"])
def test_router_that_does_not_take_the_side_is_put_back_exactly(hub_plan, box_kw):
    box = IosBox("xe-hub", RUNNING, **box_kw)
    before = box.text()
    with Sessions(IosRouters(box)) as sessions:
        res = deploy.deploy_plan(hub_plan, sessions=sessions)
    assert (res.result, res.restored, res.sides) == ("failed", True, {"xe-hub": "restored"})
    assert "rejected" in res.message or "did not take" in res.message
    assert box.text() == before and box.startup == before
    assert deploy.EXIT[res.result] == 3

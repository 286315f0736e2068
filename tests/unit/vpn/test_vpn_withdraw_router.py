"""`withdraw` reaches routers too, through the same device change as every push: the lines
only the tunnel needs are removed (what the router's other tunnels share, the CA
trustpoint, stays), read back and saved.

No Cisco box runs here: :class:`~tests.unit.devices.iosbox.IosBox` keeps each router's
running config in memory behind the Connection contract Netmiko and Ansible implement."""

from __future__ import annotations

import pytest

from devices import configtree, platforms
from devices import transport as transports
from directory import store
from tests.unit.devices.iosbox import IosBox, IosRouters
from vpn import deploy, tunnels
from vpn.render import render_side


@pytest.fixture
def routers(vdir, monkeypatch):
    """xe-hub with two live certificate tunnels (to xe-moph and xe-dopa), as deployed."""
    configs: dict[str, list[str]] = {}
    with vdir.transaction() as s:
        for agency, host, addr in (("MOPH", "xe-moph", "2001:db8:ffff::12"),
                                   ("DOPA", "xe-dopa", "2001:db8:ffff::11")):
            store.add_device(s, agency, "hq", hostname=host, role="vpn-gateway",
                             platform="cisco_xe", mgmt_address=addr)
        for name, peer in (("t1", "xe-moph"), ("t2", "xe-dopa")):
            t = tunnels.create_tunnel(s, "xe-hub", peer, "ikev2", "cert", name=name)
            t.status = "up"
            sp = tunnels.spec(t)
            for key, host in (("a", "xe-hub"), ("b", peer)):
                configs.setdefault(host, [f"hostname {host}\n"]).append(render_side(sp, key))
    xe = platforms.get("cisco_xe")
    boxes = IosRouters(*(IosBox(host, "\n".join(configtree.union(xe, texts).lines()) + "\n")
                         for host, texts in configs.items()))  # sections merged, as IOS has
    monkeypatch.setattr(transports, "get", lambda name, **kw: boxes)
    return boxes


def test_withdraw_removes_only_the_tunnels_lines_from_each_router(vdir, routers):
    hub, moph, dopa = (routers.boxes[h] for h in ("xe-hub", "xe-moph", "xe-dopa"))
    assert deploy.withdraw(vdir, ["t1"]) == ["t1"]
    sent = [ln for lines in hub.sent for ln in lines]
    assert "no crypto ikev2 profile GIN-t1" in sent and "no crypto ikev2 profile GIN-t2" \
        not in sent
    assert not any("trustpoint GIN-VPN-CA" in ln for ln in sent)  # t2 needs it still
    assert any("trustpoint GIN-VPN-CA" in ln for lines in moph.sent for ln in lines)
    assert "GIN-t1" not in hub.text() and "GIN-t2" in hub.text()  # read back: gone, kept
    assert "GIN-VPN-CA" in hub.text() and "GIN-VPN-CA" not in moph.text()
    assert dopa.sent == [] and (hub.saves, moph.saves) == (1, 1)
    with vdir.transaction() as s:
        assert tunnels.get_tunnel(s, "t1").status == "planned"
        assert tunnels.get_tunnel(s, "t2").status == "up"

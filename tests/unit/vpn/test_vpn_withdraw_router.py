"""`withdraw` reaches routers too, through the shared transport: the lines only the tunnel
needs are removed (what the router's other tunnels share, the CA trustpoint, stays).

No Cisco box runs here: :class:`Boxes` keeps each router's running config in memory behind
:class:`devices.transport.Connection` (what Netmiko and Ansible implement)."""

from __future__ import annotations

import pytest

from devices import configtree, platforms
from devices import transport as transports
from devices.transport import Target
from directory import store
from vpn import deploy, tunnels
from vpn.render import render_side


class Boxes:
    """Routers by host name; configure() records what each is sent."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}
        self.sent: dict[str, list[str]] = {}
        self.saves: dict[str, int] = {}

    def connect(self, target: Target) -> Boxes.Conn:
        return Boxes.Conn(self, target.hostname)

    class Conn:
        def __init__(self, boxes: Boxes, host: str) -> None:
            self.boxes, self.host = boxes, host

        def show(self, command: str) -> str:
            assert command == "show running-config"
            return self.boxes.running[self.host]

        def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
            self.boxes.sent.setdefault(self.host, []).extend(lines)
            return ""

        def save(self) -> None:
            self.boxes.saves[self.host] = self.boxes.saves.get(self.host, 0) + 1

        def close(self) -> None:
            pass


@pytest.fixture
def routers(vdir, monkeypatch):
    """xe-hub with two live certificate tunnels (to xe-moph and xe-dopa), as deployed."""
    boxes = Boxes()
    configs: dict[str, list[str]] = {}
    monkeypatch.setattr(transports, "get", lambda name, **kw: boxes)
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
    for host, texts in configs.items():  # one running config (sections merged, as IOS has)
        boxes.running[host] = "\n".join(configtree.union(xe, texts).lines()) + "\n"
    return boxes


def test_withdraw_removes_only_the_tunnels_lines_from_each_router(vdir, routers):
    assert deploy.withdraw(vdir, ["t1"]) == ["t1"]
    hub, moph = routers.sent["xe-hub"], routers.sent["xe-moph"]
    assert "no crypto ikev2 profile GIN-t1" in hub and "no crypto ikev2 profile GIN-t2" \
        not in hub
    assert not any("trustpoint GIN-VPN-CA" in ln for ln in hub)  # t2 needs it still
    assert any("trustpoint GIN-VPN-CA" in ln for ln in moph)  # xe-moph's only tunnel
    assert "xe-dopa" not in routers.sent and routers.saves == {"xe-hub": 1, "xe-moph": 1}
    with vdir.transaction() as s:
        assert tunnels.get_tunnel(s, "t1").status == "planned"
        assert tunnels.get_tunnel(s, "t2").status == "up"

"""The router side of a deploy goes through the shared transport and the links' config diff.

No Cisco box can run here: the connection below holds an IOS-XE running config in memory
and implements :class:`devices.transport.Connection` (what Netmiko and Ansible implement).
"""

from __future__ import annotations

import pytest

from devices import transport as transports
from devices.transport import Target
from vpn import deploy, keys
from vpn.render import render_side
from vpn.tunnels import create_tunnel, spec


class Box:
    """A router's running config; configure() appends what it is sent (as IOS would)."""

    def __init__(self) -> None:
        self.running = ("hostname xe-hub\n!\ninterface Loopback0\n"
                        " ip address 10.9.9.9 255.255.255.255\n!\n")
        self.sent: list[list[str]] = []
        self.saves = 0

    def connect(self, target: Target) -> Box.Conn:
        assert target.hostname == "xe-hub" and target.platform == "cisco_xe"
        return Box.Conn(self)

    class Conn:
        def __init__(self, box: Box) -> None:
            self.box = box

        def show(self, command: str) -> str:
            assert command == "show running-config"
            return self.box.running

        def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
            self.box.sent.append(list(lines))
            if not any(ln.startswith("no ") for ln in lines):
                self.box.running += "\n".join(lines) + "\n"
            return ""

        def save(self) -> None:
            self.box.saves += 1

        def close(self) -> None:
            pass


@pytest.fixture
def router_side(vdir, monkeypatch):
    box = Box()
    monkeypatch.setattr(transports, "get", lambda name, **kw: box)
    with vdir.transaction() as s:
        t = create_tunnel(s, "xe-hub", "gw-dopa", "ikev2", "psk", name="hub-dopa")
        text = render_side(spec(t), "a", keys.unseal(t.secret_ref, "tunnel hub-dopa"))
        side = deploy.Side(key="a", hostname="xe-hub", platform="cisco_xe", gateway=None,
                           text=text,
                           target=Target("xe-hub", "cisco_xe", "2001:db8:ffff::9", 22, None))
    return box, side


def test_router_side_pushes_only_missing_lines_then_no_change(router_side):
    box, side = router_side
    assert deploy.router_apply(side, "netmiko") is True
    (pushed,) = box.sent
    assert pushed and any("crypto ikev2" in ln for ln in pushed) and box.saves == 1
    assert " ip address 10.9.9.9 255.255.255.255" not in pushed  # already on the router
    assert deploy.router_apply(side, "netmiko") is False  # nothing missing: nothing sent
    assert len(box.sent) == 1


def test_router_side_restore_negates_what_was_pushed(router_side):
    box, side = router_side
    before = box.running
    deploy.router_apply(side, "netmiko")
    box.sent.clear()
    deploy.router_restore(side, "netmiko")
    (undo,) = box.sent
    assert undo and all(ln.lstrip().startswith("no ") for ln in undo if not ln.startswith(" "))
    assert side.previous == before

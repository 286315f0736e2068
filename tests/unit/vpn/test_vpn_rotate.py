"""`rotate`: new secrets stay pending (the current ones in force) until the deploy succeeds;
the change log records the rotation without any secret."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import models as m
from directory.errors import Conflict, Invalid
from vpn import keys, pki, tunnels
from vpn.policy import psk_weaknesses
from vpn.render import render_side


def _log(s, name):
    return [(c.action, c.before, c.after) for c in s.scalars(
        select(m.Change).where(m.Change.object_key == name).order_by(m.Change.id))]


def test_psk_rotation_pending_then_complete(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="p1")
        old = tunnels.tunnel_secrets(s, t)["psk"].reveal()
        tunnels.rotate(s, "p1")
        assert tunnels.row(t)["rotation"] == "pending"
        assert tunnels.tunnel_secrets(s, t)["psk"].reveal() == old  # still in force
        new = tunnels.tunnel_secrets(s, t, pending=True)["psk"].reveal()
        assert new != old and not psk_weaknesses(new)
        with pytest.raises(Conflict, match="pending already"):
            tunnels.rotate(s, "p1")
        text = render_side(tunnels.spec(t), "a", tunnels.tunnel_secrets(s, t, pending=True))
        assert f"secret = 0x{new.encode().hex()}" in text
        tunnels.complete_rotation(s, "p1")
        assert tunnels.tunnel_secrets(s, t)["psk"].reveal() == new
        assert tunnels.pending_rotation(s, t) is None
        with pytest.raises(Invalid, match="no rotation"):
            tunnels.complete_rotation(s, "p1")
        log = str(_log(s, "p1")) + str([c.after for c in s.scalars(select(m.Change).where(
            m.Change.object_type == "tunnel_rotation"))])
    assert old not in log and new not in log and "sealed:" not in log and "rotate" in log


def test_wireguard_rotation_changes_both_key_pairs(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="w1")
        before = tunnels.spec(t)
        rotation = tunnels.rotate(s, "w1")
        pending = tunnels.spec(t, rotation)
        assert pending.a.public_key != before.a.public_key
        new = tunnels.tunnel_secrets(s, t, pending=True)
        assert keys.public_key(new["a_private"]) == pending.a.public_key
        assert tunnels.spec(t).a.public_key == before.a.public_key  # not yet
        tunnels.complete_rotation(s, "w1")
        assert tunnels.spec(t).b.public_key == pending.b.public_key
        assert keys.public_key(tunnels.tunnel_secrets(s, t)["b_private"]) == pending.b.public_key


def test_cert_rotation_renews_and_supersedes_on_deploy(vdir):
    with vdir.transaction() as s:
        pki.init_ca(s)
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "cert", name="c1")
        first = {h: pki.issue(s, h) for h in ("gw-dopa", "gw-moph")}
        for c in first.values():
            pki.mark_deployed(s, c.serial)
        r = tunnels.rotate(s, "c1")
        assert {pki.current(s, h).serial for h in first} == {r.details["a_cert"],
                                                             r.details["b_cert"]}
        assert all(c.status == "valid" for c in first.values())  # until deployed
        tunnels.complete_rotation(s, "c1")
        assert all(c.status == "revoked" and c.revocation_reason == "superseded"
                   for c in first.values())
        # an aborted rotation revokes the never-deployed certificates
        r = tunnels.rotate(s, "c1")
        serial = r.details["a_cert"]
        tunnels.abort_rotation(s, "c1")
        assert pki.get_certificate(s, serial).status == "revoked"
        assert tunnels.pending_rotation(s, t) is None


def test_remove_tunnel_with_pending_rotation(vdir):
    with vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="p2")
        tunnels.rotate(s, "p2")
        tunnels.remove_tunnel(s, "p2")
        assert s.scalar(select(m.TunnelRotation)) is None


def test_a_deploy_loads_the_pending_secrets_and_completes_the_rotation_only_on_success(vdir):
    from vpn import deploy
    from vpn.gateway import Gateway

    def gateway_of(dev):
        return Gateway(dev.hostname)

    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="p3")
        old = tunnels.tunnel_secrets(s, t)["psk"].reveal()
        tunnels.rotate(s, "p3")
        new = tunnels.tunnel_secrets(s, t, pending=True)["psk"].reveal()
        plan = deploy.plan_tunnel(s, t, gateway_of)
        held = deploy.plan_tunnel(s, t, gateway_of, deploying=False)  # what a withdraw sees
    assert plan.pending and all(f"0x{new.encode().hex()}" in side.text for side in plan.sides)
    assert not held.pending and all(f"0x{old.encode().hex()}" in side.text
                                    for side in held.sides)
    deploy.record(vdir, [deploy.DeployResult("p3", "rolled back", reason="x")], True)
    with vdir.transaction() as s:  # failed: rolled back, the old PSK still in force
        t = tunnels.get_tunnel(s, "p3")
        assert tunnels.pending_rotation(s, t) is not None
        assert tunnels.tunnel_secrets(s, t)["psk"].reveal() == old
    deploy.record(vdir, [deploy.DeployResult("p3", "changed", "up", rotated=True)], True)
    with vdir.transaction() as s:
        t = tunnels.get_tunnel(s, "p3")
        assert tunnels.pending_rotation(s, t) is None and t.status == "up"
        assert tunnels.tunnel_secrets(s, t)["psk"].reveal() == new
        log = str(_log(s, "p3"))
    assert old not in log and new not in log

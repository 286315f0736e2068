"""Tunnels in the directory: subnets from prefixes, policy refused when weak, secrets sealed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from devices.errors import ConfigError
from directory import models as m
from directory.errors import Conflict, Invalid, NotFound
from vpn import keys, tunnels
from vpn.policy import PolicyError


def test_ikev2_psk_tunnel_recorded(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk")
        row = tunnels.row(t)
        token = t.secret_ref
    assert row["name"] == "gw-dopa-gw-moph" and row["status"] == "planned"
    # IPv6 first, whatever order the prefixes were added in
    assert row["a_subnets"] == ["2001:db8:1::/48", "10.1.0.0/16"]
    assert row["b_subnets"] == ["2001:db8:2::/48", "10.2.0.0/16"]
    assert row["ike"] == "aes256gcm16-prfsha384-ecp384" and row["weak"] == []
    assert row["secret"] == "sealed"
    psk = keys.unseal(token, "tunnel gw-dopa-gw-moph")["psk"]
    assert psk.reveal() not in json.dumps(row)


def test_cert_tunnel_has_no_secret(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2")
        assert t.auth == "cert" and t.secret_ref is None


def test_wireguard_keys_sealed_public_keys_match(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="wg1")
        row, token = tunnels.row(t), t.secret_ref
    opened = keys.unseal(token, "tunnel wg1")
    assert set(opened) == {"a_private", "b_private", "psk"}
    assert keys.public_key(opened["a_private"]) == row["a_public_key"]
    assert keys.public_key(opened["b_private"]) == row["b_public_key"]
    assert row["auth"] == "key" and row["policy"] == "wireguard"


def test_secrets_not_in_change_log_in_clear(vdir):
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="wg1")
        opened = keys.unseal(t.secret_ref, "tunnel wg1")
    with vdir.transaction() as s:
        log = json.dumps([(c.before, c.after) for c in s.scalars(select(m.Change))])
    for value in opened.values():
        assert value.reveal() not in log


def test_weak_policy_refused_then_recorded(vdir, monkeypatch):
    import vpn.policy as pol
    data = pol._data()
    weak = {**data["policies"]["default"], "ike": "aes256-sha1-prfsha1-modp1024"}
    monkeypatch.setitem(data["policies"], "legacy", weak)
    with pytest.raises(PolicyError, match="weak ike sha1"), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", policy_name="legacy")
    with vdir.transaction() as s:
        assert tunnels.list_tunnels(s) == []
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", policy_name="legacy",
                                  allow_weak=True)
        assert [w.split(":")[0] for w in tunnels.row(t)["weak"]] == [
            "ike sha1", "ike prfsha1", "ike modp1024"]
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", name="strong")
        # what the audit reads (audit.checks.vpn): the weak list on the stored policy
        from audit.checks.vpn import vpn_facts
        weak = {t.name for t in vpn_facts(s)["gw-dopa"].tunnels if t.weak}
        assert weak == {"gw-dopa-gw-moph"}


@pytest.mark.parametrize("args,kwargs,error,message", [
    (("gw-dopa", "gw-dopa", "ikev2"), {}, Invalid, "two gateways"),
    (("gw-dopa", "nope", "ikev2"), {}, NotFound, "device 'nope' not found"),
    (("gw-dopa", "gw-moph", "gre"), {}, Invalid, "expected ikev2 or wireguard"),
    (("gw-dopa", "gw-moph", "ikev2", "key"), {}, Invalid, "expected one of cert, psk"),
    (("gw-dopa", "gw-moph", "wireguard", "psk"), {}, Invalid, "--auth does not apply"),
    (("gw-dopa", "gw-moph", "wireguard", None, "modp-cbc"), {}, PolicyError, "fixed"),
    (("gw-dopa", "gw-moph", "ikev2"), {"name": "a\nb"}, Invalid, "tunnel name"),
    (("gw-dopa", "gw-moph", "ikev2"), {"name": "Bad Name"}, Invalid, "tunnel name"),
    (("gw-dopa", "gw-moph", "ikev2"), {"a_address": "10.0.0.1"}, Invalid, "different IP"),
    (("gw-dopa", "gw-moph", "ikev2"), {"b_address": "x"}, Invalid, "not an IP address"),
    (("gw-dopa", "gw-moph", "ikev2", None, "nope"), {}, PolicyError, "unknown crypto policy"),
])
def test_refusals_write_nothing(vdir, args, kwargs, error, message):
    with pytest.raises(error) as exc, vdir.transaction() as s:
        tunnels.create_tunnel(s, *args, **kwargs)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    with vdir.transaction() as s:
        assert tunnels.list_tunnels(s) == []


def test_agency_without_prefix_refused(vdir):
    from directory import store
    with vdir.transaction() as s:
        store.add_agency(s, code="NEW", name_en="New agency")
        store.add_site(s, "NEW", code="hq")
        store.add_device(s, "NEW", "hq", hostname="gw-new", role="vpn-gateway",
                         platform="linux", mgmt_address="2001:db8:ffff::5")
    with pytest.raises(Invalid, match="agency NEW has no prefix"), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-new", "ikev2")


def test_no_sealing_key_refused_for_psk(vdir, monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY")
    with pytest.raises(ConfigError, match="GIN_VPN_KEY_FILE"), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk")


def test_duplicate_show_remove(vdir):
    with vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", name="t1")
    with pytest.raises(Conflict, match="exists already"), vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-moph", "gw-dopa", "ikev2", name="t1")
    with vdir.transaction() as s:
        assert tunnels.get_tunnel(s, "t1").type == "ikev2"
        tunnels.remove_tunnel(s, "t1")
    with pytest.raises(NotFound, match="tunnel 't1' not found"), vdir.transaction() as s:
        tunnels.get_tunnel(s, "t1")

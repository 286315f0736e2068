"""WireGuard listen ports: each tunnel end gets its own port on its gateway (an interface owns
its UDP port, so two tunnels on 51820 could not both run on one gateway)."""

from __future__ import annotations

from vpn import tunnels
from vpn.render import render_side


def test_each_tunnel_end_gets_a_free_port_per_gateway(vdir):
    with vdir.transaction() as s:
        w1 = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="w1")
        w2 = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="w2")
        one, two = tunnels.spec(w1), tunnels.spec(w2)
        assert (one.a.listen_port, one.b.listen_port) == (51820, 51820)
        assert (two.a.listen_port, two.b.listen_port) == (51821, 51821)
        text = render_side(two, "a")
        assert "ListenPort = 51821" in text and "Endpoint = [2001:db8:ffff::2]:51821" in text
        assert tunnels.row(w2)["a_listen_port"] == 51821
        # an IKEv2 tunnel takes no port; a freed port is used again
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="i1")
        tunnels.remove_tunnel(s, "w1")
        w3 = tunnels.create_tunnel(s, "gw-moph", "gw-dopa", "wireguard", name="w3")
        assert (tunnels.spec(w3).a.listen_port, tunnels.spec(w3).b.listen_port) == (51820,
                                                                                    51820)
        assert tunnels.wireguard_ports(s, w3.a_device) == {51820, 51821}


def test_tunnels_recorded_with_one_port_keep_it(vdir):
    """Tunnels recorded before ports were per end held one ``listen_port`` for both ends."""
    with vdir.transaction() as s:
        t = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="old")
        data = {**t.policy, "listen_port": 51999}
        for key in ("a", "b"):
            data[key] = {k: v for k, v in data[key].items() if k != "listen_port"}
        t.policy = data
        s.flush()
        assert tunnels.spec(t).b.listen_port == 51999
        new = tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="new")
        assert tunnels.spec(new).a.listen_port == 51820

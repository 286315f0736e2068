"""GSI cut-off with the real nft: a block drops the attacker's traffic, lifting restores it."""

from __future__ import annotations

import shutil

import pytest

from directory.store import Directory, history
from monitor.sensor.respond import NftGateway, Responder
from tests.conftest import need

pytestmark = pytest.mark.integration


def _ping(pair, dst: str) -> bool:
    ping = "ping6" if ":" in dst and shutil.which("ping6") else "ping"
    return pair.run(pair.a, ping, "-c", "1", "-W", "1", dst, check=False).returncode == 0


def test_nft_block_drops_and_lift_restores(netns_pair, tmp_path):
    need(shutil.which("nft") is not None, "needs root/nftables (apt-get install -y nftables)")
    need(shutil.which("ping") is not None, "needs root/ping (apt-get install -y iputils-ping)")
    pair = netns_pair
    d = Directory(f"sqlite:///{tmp_path / 'dir.sqlite'}", actor="soc")
    r = Responder(d, NftGateway(pair.b))
    assert _ping(pair, pair.v4_b) and _ping(pair, pair.v6_b)

    r.block(pair.v4_a, ttl=120, reason="integration test")
    r.block(pair.v6_a, ttl=120, reason="integration test")
    assert not _ping(pair, pair.v4_b) and not _ping(pair, pair.v6_b)
    enforced = r.gateway.list()
    assert set(enforced) == {f"{pair.v4_a}/32", f"{pair.v6_a}/128"}
    assert all(0 < left <= 120_000 for left in enforced.values())
    counters = pair.run(pair.b, "nft", "list", "table", "inet", "gin_gsi").stdout
    assert "counter packets" in counters and "drop" in counters

    r.lift(pair.v4_a)
    assert _ping(pair, pair.v4_b) and not _ping(pair, pair.v6_b)
    with d.transaction() as s:
        actions = [(c.action, c.object_key) for c in history(s, object_type="sensor_block")]
    assert actions == [("delete", f"{pair.v4_a}/32"), ("create", f"{pair.v6_a}/128"),
                       ("create", f"{pair.v4_a}/32")]
    d.close()


def test_nft_block_expires_by_itself(netns_pair, tmp_path):
    need(shutil.which("nft") is not None, "needs root/nftables (apt-get install -y nftables)")
    import time

    pair = netns_pair
    d = Directory(f"sqlite:///{tmp_path / 'dir.sqlite'}", actor="soc")
    r = Responder(d, NftGateway(pair.b))
    r.block(pair.v4_a, ttl=2)
    assert not _ping(pair, pair.v4_b)
    time.sleep(3)
    assert _ping(pair, pair.v4_b) and r.list() == [] and r.gateway.list() == {}
    d.close()


def test_block_on_gateway_cuts_traffic_through_it(netns_chain, tmp_path):
    need(shutil.which("nft") is not None, "needs root/nftables (apt-get install -y nftables)")
    ch = netns_chain

    def reach() -> bool:
        return ch.run(ch.a, "ping", "-c", "1", "-W", "1", ch.v4_c, check=False).returncode == 0

    d = Directory(f"sqlite:///{tmp_path / 'dir.sqlite'}", actor="soc")
    r = Responder(d, NftGateway(ch.gw))
    assert reach()
    r.block(ch.v4_a, ttl=60, reason="forward test")
    assert not reach()  # dropped in the gateway's forward hook
    r.lift(ch.v4_a)
    assert reach()
    d.close()

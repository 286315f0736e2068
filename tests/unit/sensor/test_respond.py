"""GSI cut-off: protection rules, change log, expiry, automatic mode (router configs:
test_sensor_edge.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from directory import allocator, store
from directory import models as m
from directory.store import Directory
from monitor.sensor.errors import RespondError
from monitor.sensor.events import Event
from monitor.sensor.respond import AutoBlock, NftGateway, Responder


class FakeNft:
    """Records nft command lines instead of running them (the real one runs in the
    integration test)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, argv, stdin=None) -> str:
        self.calls.append((list(argv), stdin))
        if argv[-4:-1] == ["list", "table", "inet"] or "-j" in argv:
            return '{"nftables": []}'
        return ""


@pytest.fixture
def gin_dir(sqlite_url):
    d = Directory(sqlite_url, actor="soc-analyst")
    with d.transaction() as s:
        store.add_agency(s, code="GIN", name_en="GIN operator", kind="gin")
        store.add_site(s, "GIN", code="BKK")
        store.add_device(s, "GIN", "BKK", hostname="pe1", role="pe", platform="frr",
                         mgmt_address="192.168.50.1", snmp_address="2001:db8:ffff::1")
        allocator.add_prefix(s, "192.168.50.0/24", role="management", agency="GIN")
    yield d
    d.close()


def test_block_enforces_records_and_lists(gin_dir):
    nft = FakeNft()
    r = Responder(gin_dir, NftGateway("gsabcd", runner=nft))
    block = r.block("203.0.113.9", ttl=600, reason="port scan")
    assert block.source == "203.0.113.9/32"
    cmds = [" ".join(c) for c, _ in nft.calls]
    assert any("ip netns exec gsabcd nft -f -" in c for c in cmds)
    assert cmds[-1].endswith("add element inet gin_gsi blocked4 { 203.0.113.9/32 timeout 600s }")
    assert [b.source for b in r.list()] == ["203.0.113.9/32"]
    with gin_dir.transaction() as s:
        [ch] = store.history(s, object_type="sensor_block")
        assert ch.actor == f"cli:{store.os_user()} as soc-analyst" and ch.action == "create"
        assert ch.after["reason"] == "port scan" and ch.after["ttl_s"] == 600
    r.lift("203.0.113.9")
    assert r.list() == []
    assert " ".join(nft.calls[-1][0]).endswith("delete element inet gin_gsi blocked4 "
                                               "{ 203.0.113.9/32 }")
    with gin_dir.transaction() as s:
        assert [c.action for c in store.history(s, object_type="sensor_block")] == [
            "delete", "create"]
    with pytest.raises(RespondError, match="not blocked"):
        r.lift("203.0.113.9")


@pytest.mark.parametrize("source", ["192.168.50.7", "192.168.0.0/16", "2001:db8:ffff::1",
                                    "0.0.0.0/0", "::/0", "10.0.0.0/8"])
def test_protected_and_over_broad_sources_are_refused(gin_dir, source):
    nft = FakeNft()
    r = Responder(gin_dir, NftGateway(runner=nft))
    with pytest.raises(RespondError):
        r.block(source)
    assert nft.calls == [] and r.list() == []


def test_bad_input(gin_dir):
    r = Responder(gin_dir, None)
    with pytest.raises(RespondError, match="not an IPv4/IPv6"):
        r.block("evil.example")
    with pytest.raises(RespondError, match="positive"):
        r.block("203.0.113.1", ttl=0)


def test_expired_blocks_drop_out_of_the_list(gin_dir):
    r = Responder(gin_dir, None)
    r.block("2001:db8:bad::/48", ttl=3600)
    with gin_dir.transaction() as s:
        ch = s.query(m.Change).filter_by(object_type="sensor_block").one()
        past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat()
        ch.after = {**ch.after, "expires": past}
    assert r.list() == []


def _event(type_, source, **evidence):
    return Event(type_, "high", source, source, None, None, 0.0, 0.0, 1, evidence)


def test_auto_block_only_allowed_types_and_never_protected(gin_dir):
    r = Responder(gin_dir, None)
    auto = AutoBlock(r, ["port_scan", "blocklist"], ttl=60)
    auto(_event("port_scan", "203.0.113.50"))
    auto(_event("brute_force", "203.0.113.51"))        # not opted in
    auto(_event("port_scan", "192.168.50.9"))          # management network
    auto(_event("blocklist", "10.1.1.1", listed="198.51.100.66", direction="to"))
    assert [b.source for b in auto.blocked] == ["203.0.113.50/32", "198.51.100.66/32"]
    assert [t for t, _ in auto.refused] == ["192.168.50.9"]

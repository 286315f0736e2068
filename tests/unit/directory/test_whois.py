"""Longest-prefix match: the CLI query and the in-process index agree with a brute force."""

from __future__ import annotations

import ipaddress
import random

import pytest
from sqlalchemy import select

from directory import allocator as al
from directory import models as m
from directory import store
from directory.errors import Invalid, NotFound
from directory.whois import WhoisIndex, whois


@pytest.fixture
def populated(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="Department of Provincial Administration",
                         name_th="กรมการปกครอง")
        store.add_agency(s, code="SSO", name_en="Social Security Office")
        store.add_site(s, "DOPA", code="CNX", province="Chiang Mai")
        store.add_device(s, "DOPA", "CNX", hostname="cnx-ce1", role="ce", platform="frr")
        al.add_prefix(s, "2001:db8::/32", role="supernet")
        al.add_prefix(s, "2001:db8:2::/48", role="agency", agency="DOPA")
        al.add_prefix(s, "2001:db8:2:100::/56", role="site", site="CNX", agency="DOPA")
        al.add_prefix(s, "2001:db8:2:101::/64", role="lan")
        al.add_prefix(s, "2001:db8:2:1ff::1/128", role="loopback", device="cnx-ce1")
        al.add_prefix(s, "2001:db8:3::/48", role="agency", agency="SSO")
        al.add_prefix(s, "100.64.0.0/16", role="transit-pool")
        al.add_prefix(s, "100.64.0.6/31", role="p2p", agency="SSO")
    return directory


def test_whois_answers_most_specific_with_inherited_owner(populated):
    with populated.transaction() as s:
        r = whois(s, "2001:db8:2:101::42")
        assert r["prefix"] == "2001:db8:2:101::/64" and r["role"] == "lan"
        assert r["agency"]["code"] == "DOPA" and r["agency"]["name_th"] == "กรมการปกครอง"
        assert r["agency_from"] == "2001:db8:2:100::/56"
        assert (r["site"], r["site_from"]) == ("DOPA/CNX", "2001:db8:2:100::/56")
        assert r["covering"] == ["2001:db8:2:100::/56", "2001:db8:2::/48", "2001:db8::/32"]
        assert whois(s, "2001:db8:2:1ff::1")["device"] == "cnx-ce1"
        assert whois(s, "2001:db8:3:4::/64")["agency"]["code"] == "SSO"
        assert whois(s, "100.64.0.7")["prefix"] == "100.64.0.6/31"
        assert whois(s, "100.64.9.9")["agency"] is None
        assert whois(s, "2001:db8:2::/48")["prefix"] == "2001:db8:2::/48"  # a prefix itself
        with pytest.raises(NotFound, match="no prefix"):
            whois(s, "2001:db9::1")
        with pytest.raises(Invalid):
            whois(s, "not-an-address")


def test_index_matches_whois(populated):
    with populated.transaction() as s:
        index = WhoisIndex.load(s)
        assert len(index) == 8
        for query in ("2001:db8:2:101::42", "2001:db8:2:1ff::1", "2001:db8:3::9", "100.64.0.7",
                      "100.64.200.1", "2001:db8:ffff::1"):
            entry = index.lookup(query)
            assert entry is not None and entry.cidr == whois(s, query)["prefix"]
        assert index.agency("2001:db8:2:101::42") == "DOPA"
        assert index.lookup("2001:db8:2:101::42").owner.site == "DOPA/CNX"
        assert index.lookup("2001:db8:2:1ff::1").owner.device == "cnx-ce1"
        assert index.lookup("10.0.0.1") is None and index.lookup("2001:db9::1") is None
        assert index.lookup_int(4, int(ipaddress.ip_address("100.64.0.6"))).prefixlen == 31
        with pytest.raises(Invalid):
            index.lookup("1.2.3")


def test_index_agrees_with_brute_force_on_random_prefixes(sqlite_url):
    from directory.store import Directory

    rng = random.Random(7)
    d = Directory(sqlite_url, actor="t")
    nets = set()
    with d.transaction() as s:
        for _ in range(300):
            length = rng.choice([8, 12, 16, 20, 24, 28, 32])
            n = ipaddress.IPv4Network((rng.getrandbits(32) >> (32 - length) << (32 - length),
                                       length))
            if n not in nets:
                al.add_prefix(s, n)
                nets.add(n)
        index = WhoisIndex.load(s)
        for _ in range(2000):
            addr = ipaddress.IPv4Address(rng.getrandbits(32))
            best = max((n for n in nets if addr in n), key=lambda n: n.prefixlen, default=None)
            entry = index.lookup(str(addr))
            assert (entry.cidr if entry else None) == (str(best) if best else None)
        for n in list(nets)[:50]:
            assert whois(s, str(n.network_address))["prefix"] == str(
                max((x for x in nets if n.network_address in x), key=lambda x: x.prefixlen))
    d.close()


def test_snapshot_answers_exactly_what_whois_answers(populated):
    """The service's in-memory snapshot against the database query, over addresses in and
    around every prefix, prefixes themselves, space nobody holds and bad input."""
    from directory.whois import WhoisSnapshot, directory_version

    rng = random.Random(14)
    with populated.transaction() as s:
        snap = WhoisSnapshot.load(s)
        assert snap.version == directory_version(s) > 0
        queries = ["2001:db8:2::/48", "2001:db8:2:100::/60", "100.64.0.6/31", "100.64.0.0/8",
                   "2001:db9::1", "0.0.0.0"]
        for cidr in s.scalars(select(m.Prefix.cidr)):
            net = ipaddress.ip_network(cidr)
            for _ in range(5):
                queries.append(str(net.network_address + rng.randrange(net.num_addresses)))
            queries.append(str(net.broadcast_address + 1))
        for query in queries:
            try:
                expected = whois(s, query)
            except (NotFound, Invalid) as exc:
                with pytest.raises(type(exc)) as raised:
                    snap.answer(query)
                assert str(raised.value) == str(exc)
                continue
            assert snap.answer(query) == expected, query
        with pytest.raises(Invalid):
            snap.answer("not-an-address")


def test_snapshot_version_moves_with_every_change(populated):
    from directory.whois import WhoisSnapshot, directory_version

    with populated.transaction() as s:
        before = WhoisSnapshot.load(s).version
    with populated.transaction() as s:
        al.add_prefix(s, "2001:db8:4::/48", role="agency", agency="SSO")
    with populated.transaction() as s:
        assert directory_version(s) > before
        assert WhoisSnapshot.load(s).answer("2001:db8:4::1")["agency"]["code"] == "SSO"

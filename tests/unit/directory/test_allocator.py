"""The prefix allocator: next free, specific prefixes, release, and its invariants."""

from __future__ import annotations

import ipaddress
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory import allocator as al
from directory import models as m
from directory import store
from directory.errors import Conflict, Exhausted, Invalid, NotFound
from directory.plan import load_plan
from directory.store import Directory


def net(text: str):
    return ipaddress.ip_network(text)


def cidrs(prefixes) -> list[str]:
    return [p.cidr for p in prefixes]


def count(s, model) -> int:
    return s.scalar(select(func.count()).select_from(model))


def assert_tiles(s, parent: m.Prefix) -> None:
    """Children and free blocks tile the parent exactly; free blocks are maximal buddies."""
    fam = parent.family
    bits = al.BITS[fam]
    spans = [(int(c.network, 16), int(c.last, 16), "child") for c in al.children(s, parent)]
    blocks = s.execute(select(al.FB.c.prefixlen, al.FB.c.network)
                       .where(al.FB.c.parent_id == parent.id)).all()
    if not spans and not blocks:
        return  # lazy: wholly free
    free = {(int(n, 16), pl) for pl, n in blocks}
    for n, pl in free:
        assert n % al.size(fam, pl) == 0, "free block not aligned"
        assert pl > parent.prefixlen or (pl == parent.prefixlen and len(free) == 1)
        buddy = n ^ (1 << (bits - pl))
        assert (buddy, pl) not in free or pl == parent.prefixlen, "buddies left unmerged"
        spans.append((n, n + al.size(fam, pl) - 1, "free"))
    spans.sort()
    cursor = int(parent.network, 16)
    for lo, hi, _kind in spans:
        assert lo == cursor, f"gap or overlap at {lo:x} (expected {cursor:x})"
        cursor = hi + 1
    assert cursor == int(parent.last, 16) + 1, "tiling stops short of the parent's end"


def assert_all_tile(s) -> None:
    for p in s.scalars(select(m.Prefix)).unique():
        assert_tiles(s, p)


@pytest.fixture
def plan():
    return load_plan()


# --- next free ----------------------------------------------------------------------------------


def test_next_free_is_best_fit_lowest_address(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/24", role="supernet")
        assert al.allocate(s, "10.0.0.0/24", 26).cidr == "10.0.0.0/26"
        # best fit: the /28 comes from the free /26, not from the free /25
        assert al.allocate(s, "10.0.0.0/24", 28).cidr == "10.0.0.64/28"
        assert al.allocate(s, "10.0.0.0/24", 25).cidr == "10.0.0.128/25"
        assert al.allocate(s, "10.0.0.0/24", 28).cidr == "10.0.0.80/28"
        assert_all_tile(s)


def test_fresh_pool_hands_out_consecutive_prefixes(directory):
    with directory.transaction() as s:
        root = al.add_prefix(s, "2001:db8::/32", role="supernet")
        got = al.allocate_many(s, root, 48, 5, role="agency")
        assert [net(c) for c in cidrs(got)] == [net(f"2001:db8:{i}::/48") for i in range(5)]
        assert all(p.parent_id == root.id and p.role == "agency" for p in got)
        assert_all_tile(s)


def test_exhaustion_raises_and_changes_nothing(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "192.0.2.0/30")
        al.allocate_many(s, "192.0.2.0/30", 31, 2)
    with pytest.raises(Exhausted, match="192.0.2.0/30"), directory.transaction() as s:
        al.allocate(s, "192.0.2.0/30", 31)
    with directory.transaction() as s:
        al.add_prefix(s, "192.0.2.8/29")
        before = count(s, m.FreeBlock), count(s, m.Prefix)
    with pytest.raises(Exhausted, match="room for 4"), directory.transaction() as s:
        al.allocate_many(s, "192.0.2.8/29", 31, 5)
    with directory.transaction() as s:
        assert (count(s, m.FreeBlock), count(s, m.Prefix)) == before


def test_bad_lengths_are_invalid(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/24")
        for length in (24, 23, 33):
            with pytest.raises(Invalid, match="length"):
                al.allocate(s, "10.0.0.0/24", length)
        with pytest.raises(NotFound):
            al.allocate(s, "10.9.0.0/24", 25)
        with pytest.raises(Invalid, match="status"):
            al.allocate(s, "10.0.0.0/24", 25, status="bogus")


def test_last_64_of_a_32_without_enumeration(directory):
    """2^32 /64s in a /32: filling it down to the last /64 takes 33 allocations."""
    with directory.transaction() as s:
        root = al.add_prefix(s, "2001:db8::/32")
        for length in range(33, 65):
            al.allocate(s, root, length)
        last = al.allocate(s, root, 64)
        assert last.cidr == "2001:db8:ffff:ffff::/64"
        assert al.free_summary(s, root)["free_addresses"] == 0
        with pytest.raises(Exhausted):
            al.allocate(s, root, 128)
        assert count(s, m.FreeBlock) == 0
        assert_tiles(s, root)


def test_65536_48s_are_not_enumerated(directory):
    with directory.transaction() as s:
        root = al.add_prefix(s, "2001:db8::/32")
        last = al.add_prefix(s, "2001:db8:ffff::/48")
        assert last.parent_id == root.id
        assert count(s, m.FreeBlock) == 16  # one block per level, not 65,535 /48s
        assert al.free_summary(s, root)["blocks"]["/33"] == 1


# --- specific prefixes --------------------------------------------------------------------------


def test_specific_prefix_is_carved_out(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/24")
        mid = al.add_prefix(s, "10.0.0.64/26", description="server LAN")
        assert mid.parent_id is not None and mid.description == "server LAN"
        assert cidrs(al.allocate_many(s, "10.0.0.0/24", 26, 3)) == [
            "10.0.0.0/26", "10.0.0.128/26", "10.0.0.192/26"]
        assert_all_tile(s)


def test_duplicate_is_refused_and_changes_nothing(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/24")
        al.add_prefix(s, "10.0.0.0/25")
        before = count(s, m.Prefix), count(s, m.FreeBlock), count(s, m.Change)
    with pytest.raises(Conflict, match="10.0.0.0/25 already exists"), \
            directory.transaction() as s:
        al.add_prefix(s, "10.0.0.128/25")
        al.add_prefix(s, "10.0.0.0/25")
    with directory.transaction() as s:
        assert (count(s, m.Prefix), count(s, m.FreeBlock), count(s, m.Change)) == before


def test_other_agencys_space_is_refused(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="Provincial Administration")
        store.add_agency(s, code="SSO", name_en="Social Security Office")
        al.add_prefix(s, "2001:db8::/32", role="supernet")
        al.add_prefix(s, "2001:db8:2::/48", role="agency", agency="DOPA")
        al.add_prefix(s, "2001:db8:3:1::/64", agency="SSO")
        before = count(s, m.Prefix), count(s, m.FreeBlock), count(s, m.Change)
    with pytest.raises(Conflict, match=r"inside 2001:db8:2::/48, which belongs to agency DOPA"), \
            directory.transaction() as s:
        al.add_prefix(s, "2001:db8:2:5::/64", agency="SSO")
    with pytest.raises(Conflict, match="belongs to agency DOPA"), directory.transaction() as s:
        al.allocate(s, "2001:db8:2::/48", 64, agency="SSO")
    with pytest.raises(Conflict, match="would contain 2001:db8:3:1::/64"), \
            directory.transaction() as s:
        al.add_prefix(s, "2001:db8:3::/48", agency="DOPA")
    with directory.transaction() as s:
        assert (count(s, m.Prefix), count(s, m.FreeBlock), count(s, m.Change)) == before
        assert al.allocate(s, "2001:db8:2::/48", 64, agency="DOPA").cidr == "2001:db8:2::/64"


def test_container_adopts_what_it_contains(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/16")
        a, b, c = al.allocate_many(s, "10.0.0.0/16", 24, 3)
        box = al.add_prefix(s, "10.0.0.0/23", role="other")
        assert cidrs(al.children(s, box)) == ["10.0.0.0/24", "10.0.1.0/24"]
        assert box.parent_id is not None and c.parent_id == box.parent_id
        assert al.free_blocks(s, box) == []
        root = al.add_prefix(s, "10.0.0.0/8")
        assert cidrs(al.children(s, root)) == ["10.0.0.0/16"]
        assert al.free_blocks(s, root, None)[-1] == net("10.1.0.0/16")
        assert_all_tile(s)
        # a new root around several roots builds its free space around them
        al.add_prefix(s, "172.16.4.0/24")
        al.add_prefix(s, "172.16.9.0/24")
        big = al.add_prefix(s, "172.16.0.0/12")
        assert cidrs(al.children(s, big)) == ["172.16.4.0/24", "172.16.9.0/24"]
        assert_all_tile(s)
        assert al.allocate(s, big, 22).cidr == "172.16.0.0/22"


def test_prefixes_nest_under_most_specific_parent(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "2001:db8::/32")
        al.add_prefix(s, "2001:db8:5::/48")
        lan = al.add_prefix(s, "2001:db8:5:7::/64")
        assert cidrs(al.ancestors(s, lan)) == ["2001:db8:5::/48", "2001:db8::/32"]
        assert cidrs(al.containing(s, net("2001:db8:5:7::1/128"))) == [
            "2001:db8:5:7::/64", "2001:db8:5::/48", "2001:db8::/32"]


# --- release, remove, reserve -------------------------------------------------------------------


def test_release_merges_buddies_back(directory):
    with directory.transaction() as s:
        root = al.add_prefix(s, "10.0.0.0/24")
        quarters = al.allocate_many(s, root, 26, 4)
        assert al.free_blocks(s, root) == []
    with directory.transaction() as s:
        for p in (quarters[1], quarters[3], quarters[0]):
            al.release(s, p.cidr)
            assert_tiles(s, root)
        assert al.free_blocks(s, root) == [net("10.0.0.0/25"), net("10.0.0.192/26")]
        al.release(s, "10.0.0.128/26")
        assert al.free_blocks(s, root) == [net("10.0.0.0/24")]
        assert al.allocate(s, root, 26).cidr == "10.0.0.0/26"  # space is reused
        history = store.history(s, "prefix", "10.0.0.64/26")
        assert [c.action for c in history] == ["delete", "create"]


def test_release_refuses_while_prefixes_remain_beneath(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/16")
        al.allocate(s, "10.0.0.0/16", 24)
        al.allocate(s, "10.0.0.0/24", 26)
    with pytest.raises(Conflict, match="still holds prefixes"), directory.transaction() as s:
        al.release(s, "10.0.0.0/24")


def test_remove_keeps_the_contents(directory):
    with directory.transaction() as s:
        root = al.add_prefix(s, "10.0.0.0/16")
        mid = al.allocate(s, root, 24)
        al.allocate_many(s, mid, 26, 2)
        al.remove(s, mid)
        assert cidrs(al.children(s, root)) == ["10.0.0.0/26", "10.0.0.64/26"]
        assert_all_tile(s)
        al.remove(s, root)  # a root: its children become roots
        assert all(p.parent_id is None for p in s.scalars(select(m.Prefix)))
        with pytest.raises(NotFound):
            al.release(s, "10.0.0.0/16")


def test_reserve(directory):
    with directory.transaction() as s:
        al.add_prefix(s, "10.0.0.0/24")
        r = al.reserve(s, "10.0.0.0/30", description="future use")
        assert r.status == "reserved"
        assert al.reserve(s, "10.0.0.0/30").id == r.id
        al.add_prefix(s, "10.0.0.4/30")
        with pytest.raises(Conflict, match="status active"):
            al.reserve(s, "10.0.0.4/30")
        assert al.allocate(s, "10.0.0.0/24", 30).cidr == "10.0.0.8/30"


def test_owner_fields_resolve(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="Provincial Administration")
        store.add_site(s, "DOPA", code="HQ")
        al.add_prefix(s, "2001:db8::/32")
        p = al.allocate(s, "2001:db8::/32", 48, agency="dopa", site="hq", role="agency",
                        description="  head  office ")
        assert (p.agency.code, p.site.code, p.description) == ("DOPA", "HQ", "head office")
        with pytest.raises(Invalid, match="needs --agency"):
            al.allocate(s, "2001:db8::/32", 48, site="HQ")
        with pytest.raises(NotFound):
            al.allocate(s, "2001:db8::/32", 48, agency="NOPE")


# --- plan helpers -------------------------------------------------------------------------------


def test_agency_and_site_prefixes_are_allocated_once(directory, plan):
    from directory.plan import apply_plan

    with directory.transaction() as s:
        with pytest.raises(NotFound, match="plan apply"):
            al.allocate_from_pool(s, plan, "p2p6")
        apply_plan(s, plan)
        store.add_agency(s, code="DOPA", name_en="Provincial Administration")
        store.add_agency(s, code="SSO", name_en="Social Security Office")
        store.add_site(s, "DOPA", code="HQ")
        store.add_site(s, "DOPA", code="CNX")
        a = al.agency_prefix(s, "DOPA", plan)
        assert a.cidr == "2001:db8:2::/48" and a.role == "agency"
        assert al.agency_prefix(s, "dopa", plan).id == a.id
        assert al.agency_prefix(s, "SSO", plan).cidr == "2001:db8:3::/48"
        hq = al.site_prefix(s, "DOPA", "HQ", plan)
        assert (hq.cidr, hq.parent_id, hq.agency_id) == ("2001:db8:2::/56", a.id, a.agency_id)
        assert al.site_prefix(s, "DOPA", "HQ", plan).id == hq.id
        assert al.site_prefix(s, "DOPA", "CNX", plan).cidr == "2001:db8:2:100::/56"
        link6 = al.allocate_from_pool(s, plan, "p2p6")
        link4 = al.allocate_from_pool(s, plan, "transit4")
        assert (link6.cidr, link6.role) == ("2001:db8:1::/127", "p2p")
        assert (link4.cidr, link4.role) == ("100.64.0.0/31", "p2p")
        assert al.allocate_from_pool(s, plan, "loopback6").cidr == "2001:db8::/128"
        assert_all_tile(s)


# --- property: random sequences never overlap and always tile -----------------------------------

_sqlite = {}


def _sqlite_directory() -> Directory:
    if "d" not in _sqlite:
        _sqlite["d"] = Directory(os.path.join(tempfile.mkdtemp(), "prop.sqlite"), actor="prop")
    return _sqlite["d"]


class _Rollback(Exception):
    pass


ops = st.lists(st.one_of(
    st.tuples(st.just("alloc"), st.integers(27, 32), st.integers(1, 3)),
    st.tuples(st.just("add"), st.integers(0, 63), st.integers(27, 32)),
    st.tuples(st.just("release"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("rm"), st.integers(0, 10_000), st.just(0)),
), min_size=1, max_size=40)


def _room(existing: dict[tuple[int, int], int], lo: int, hi: int, length: int) -> bool:
    """Independent model: is there an aligned free /length in [lo, hi] given leaf spans?"""
    taken = sorted((n, n + (1 << (32 - pl)) - 1) for (n, pl) in existing)
    cursor = lo
    gaps = []
    for a, b in taken:
        if b < cursor:
            continue
        if a > cursor:
            gaps.append((cursor, a - 1))
        cursor = max(cursor, b + 1)
    if cursor <= hi:
        gaps.append((cursor, hi))
    return any(pl <= length for g in gaps for _n, pl in al._blocks_between(4, *g))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops)
def test_random_sequences_never_overlap_and_always_tile(sequence):
    d = _sqlite_directory()
    root_net = net("10.0.0.0/26")  # small, so sequences often fill it up
    lo, hi = int(root_net.network_address), int(root_net.broadcast_address)
    try:
        with d.transaction() as s:
            root = al.add_prefix(s, root_net)
            for op, a, b in sequence:
                rows = {(int(p.network, 16), p.prefixlen): p for p in
                        s.scalars(select(m.Prefix).where(m.Prefix.family == 4)).unique()}
                leaves = {k: v for k, v in rows.items() if k != (lo, 26)}
                if op == "alloc":
                    top = {k: v for k, v in leaves.items() if v.parent_id == root.id}
                    if not _room(top, lo, hi, a):
                        with pytest.raises(Exhausted):
                            al.allocate(s, root, a)
                        continue
                    made = al.allocate_many(s, root, a, 1)[0]
                    n = int(made.network, 16)
                    for (en, epl) in rows:
                        if (en, epl) == (lo, 26):
                            continue
                        e_hi, m_hi = en + (1 << (32 - epl)) - 1, n + (1 << (32 - a)) - 1
                        assert e_hi < n or en > m_hi, f"{made.cidr} overlaps an existing prefix"
                elif op == "add":
                    aligned = a & ~((1 << (32 - b)) - 1)
                    candidate = ipaddress.IPv4Network((lo + aligned, b))
                    key = (int(candidate.network_address), b)
                    if key in rows:
                        with pytest.raises(Conflict):
                            al.add_prefix(s, candidate)
                    else:
                        al.add_prefix(s, candidate)
                elif leaves:
                    victim = sorted(leaves.values(), key=lambda p: p.id)[a % len(leaves)]
                    if op == "release":
                        if al.children(s, victim):
                            with pytest.raises(Conflict):
                                al.release(s, victim)
                        else:
                            al.release(s, victim)
                    else:
                        al.remove(s, victim)
                assert_all_tile(s)
            # the incremental index equals a rebuild from scratch
            for p in s.scalars(select(m.Prefix)).unique():
                before = al.free_blocks(s, p, None)
                al.rebuild_free_space(s, p)
                assert al.free_blocks(s, p, None) == before
            raise _Rollback
    except _Rollback:
        pass


# --- the CLI ------------------------------------------------------------------------------------


def test_prefix_cli(sqlite_url, capsys):
    import json

    from gin.cli import main

    def gin(*args: str) -> tuple[int, str, str]:
        code = main(["--db", sqlite_url, "--actor", "cli-test", "directory", *args])
        out, err = capsys.readouterr()
        return code, out, err

    assert gin("plan", "apply")[0] == 0
    assert gin("agency", "add", "DOPA", "--name-en", "Provincial Administration")[0] == 0
    code, out, _ = gin("prefix", "allocate", "--agency", "DOPA", "--length", "48", "--json")
    assert code == 0 and json.loads(out)[0]["prefix"] == "2001:db8:2::/48"
    code, out, _ = gin("prefix", "allocate", "--agency", "DOPA", "--length", "64", "--count",
                       "2", "--json")
    assert [r["prefix"] for r in json.loads(out)] == ["2001:db8:2::/64", "2001:db8:2:1::/64"]
    assert all(r["agency"] == "DOPA" and r["role"] == "lan" for r in json.loads(out))
    code, out, _ = gin("prefix", "show", "2001:db8:2::/48", "--json")
    shown = json.loads(out)
    assert shown["children_count"] == 2 and shown["free"]["blocks"]["/49"] == 1
    code, out, _ = gin("prefix", "list", "--agency", "DOPA", "--json")
    assert len(json.loads(out)) == 3
    code, _, err = gin("prefix", "add", "2001:db8:2::/64")
    assert code == 1 and "already exists" in err and "Traceback" not in err
    assert gin("prefix", "add", "192.0.2.0/30", "--role", "p2p")[0] == 0
    code, _, err = gin("prefix", "allocate", "--parent", "192.0.2.0/30", "--length", "31",
                       "--count", "3")
    assert code == 1 and "room for 2" in err
    assert gin("prefix", "release", "2001:db8:2:1::/64")[0] == 0
    assert gin("prefix", "reserve", "2001:db8:2:1::/64")[0] == 0
    code, out, _ = gin("prefix", "list", "--status", "reserved", "--json")
    assert [r["prefix"] for r in json.loads(out)] == ["2001:db8:2:1::/64"]
    assert gin("prefix", "rm", "2001:db8:2:1::/64")[0] == 0
    code, out, _ = gin("whois", "2001:db8:2::77", "--json")
    assert json.loads(out)["agency"]["code"] == "DOPA"
    code, _, err = gin("whois", "2001:db9::1")
    assert code == 1 and "no prefix" in err
    code, out, _ = gin("plan", "show", "--json")
    assert all(p["in_directory"] for p in json.loads(out)["pools"])
    code, _, err = gin("prefix", "allocate", "--length", "64")
    assert code == 2


def test_release_takes_objects_from_an_earlier_transaction(directory):
    with directory.transaction() as s:
        root = al.add_prefix(s, "10.0.0.0/24")
        a, b = al.allocate_many(s, root, 25, 2)
    with directory.transaction() as s:
        al.release(s, a)  # detached: re-read under the lock
        with pytest.raises(NotFound):
            al.release(s, a)
        al.remove(s, b)
        assert al.free_blocks(s, "10.0.0.0/24") == [net("10.0.0.0/24")]

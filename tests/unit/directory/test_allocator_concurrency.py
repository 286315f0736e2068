"""Several ``gin`` processes allocating from one parent at the same moment never collide.

Real processes (multiprocessing, spawn: nothing shared but the database), released
together by one event, each allocating /64s in its own short transactions.  On SQLite
``BEGIN IMMEDIATE`` serialises them; on PostgreSQL the allocator's advisory lock does.
"""

from __future__ import annotations

import ipaddress
import multiprocessing as mp
import queue

import pytest

from directory import allocator as al
from directory.store import Directory

PROCESSES = 4
EACH = 30
PARENT = "2001:db8:7::/48"


def _worker(url: str, start, results, worker: int) -> None:  # runs in a child process
    d = Directory(url, actor=f"worker{worker}")
    got: list[str] = []
    try:
        start.wait(60)
        for i in range(EACH):
            with d.transaction() as s:
                if i % 3 == 2:  # mix single and bulk requests
                    got += [p.cidr for p in al.allocate_many(s, PARENT, 64, 2, role="lan")]
                else:
                    got.append(al.allocate(s, PARENT, 64, role="lan").cidr)
        results.put((worker, got, None))
    except Exception as exc:  # report, do not hang the parent
        results.put((worker, got, f"{type(exc).__name__}: {exc}"))
    finally:
        d.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def test_concurrent_processes_never_get_the_same_prefix(url):
    d = Directory(url, actor="setup")  # creates the schema before the workers start
    with d.transaction() as s:
        al.add_prefix(s, "2001:db8::/32")
        al.add_prefix(s, PARENT)
    d.close()

    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, start, results, w)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    outcomes = []
    try:
        for _ in procs:
            outcomes.append(results.get(timeout=300))
    except queue.Empty:
        pytest.fail("a worker did not report within 300 s")
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    errors = [e for _, _, e in outcomes if e]
    assert not errors, errors

    allocated = [c for _, got, _ in outcomes for c in got]
    per_worker = EACH + EACH // 3
    assert len(allocated) == PROCESSES * per_worker
    assert len(set(allocated)) == len(allocated), "two processes received the same prefix"
    nets = sorted(ipaddress.ip_network(c) for c in allocated)
    for a, b in zip(nets, nets[1:], strict=False):
        assert not a.overlaps(b)
    # deterministic best fit: together they took exactly the lowest /64s, no holes
    assert nets[0] == ipaddress.ip_network("2001:db8:7::/64")
    assert nets[-1] == ipaddress.ip_network(f"2001:db8:7:{len(nets) - 1:x}::/64")

    d = Directory(url, actor="check")
    with d.transaction() as s:
        summary = al.free_summary(s, PARENT)
        assert summary["free_addresses"] + len(nets) * 2**64 == summary["total_addresses"]
        assert sorted(c.cidr for c in al.children(s, PARENT)) == sorted(allocated)
    d.close()

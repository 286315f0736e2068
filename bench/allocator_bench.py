"""Allocator benchmark: one /48 per agency and /64 LANs beneath them, on SQLite.

    .venv/bin/python bench/allocator_bench.py          # 100,000 agencies, 1,000,000 /64s
    .venv/bin/python bench/allocator_bench.py --agencies 10000 --lans 100000    # quick

Reports prefixes/s and the time of the first and last 10,000 allocations of each phase
(flat cost = the buddy-system index does not slow down as the table grows).  Anchor in
the same run: NetBox's method (first fit over ``IPSet([parent]) - IPSet(children)``,
as in ``Prefix.get_available_prefixes``) on the same data, timed at the start-size and the
end-size of the table.  The anchor is timed on child lists already in memory (it is not
charged for fetching the children from the database, which NetBox also has to do).

The supernet is 3fff::/20, the IPv6 documentation prefix of RFC 9637: 100,000 agency /48s
do not fit in 2001:db8::/32 (65,536 /48s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import netaddr
from sqlalchemy import event, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from directory import allocator as al  # noqa: E402
from directory import models as m  # noqa: E402
from directory.errors import NotFound  # noqa: E402
from directory.store import Directory  # noqa: E402


def netbox_first_available(parent: str, child_cidrs: list[str], length: int) -> str | None:
    """NetBox: available = IPSet(parent) - IPSet(children); first cidr that fits (first fit)."""
    available = netaddr.IPSet([parent]) - netaddr.IPSet(child_cidrs)
    for cidr in available.iter_cidrs():
        if cidr.prefixlen <= length:
            return str(netaddr.IPNetwork(f"{cidr.network}/{length}"))
    return None


def time_netbox(parent: str, children: list[str], length: int, count: int) -> tuple[float, str]:
    """Seconds per allocation over ``count`` allocations, children growing as it allocates."""
    kids = list(children)
    first = ""
    t0 = time.process_time()  # CPU time, as for gin's batches: fair on a shared machine
    for i in range(count):
        got = netbox_first_available(parent, kids, length)
        assert got is not None
        if i == 0:
            first = got
        kids.append(got)
    return (time.process_time() - t0) / count, first


def make_agencies(d: Directory, n: int) -> list[str]:
    codes = [f"AG{i:06d}" for i in range(n)]
    now = dt.datetime.now(dt.UTC)
    with d.transaction() as s:
        s.execute(insert(m.Agency), [{"code": c, "name_en": f"Synthetic agency {c}",
                                      "kind": "department", "created_at": now,
                                      "updated_at": now} for c in codes])
    return codes


def run_phase(d: Directory, label: str, jobs, batch: int, progress: bool) -> dict:
    """Run ``jobs`` (session -> None callables), ``batch`` per transaction; time each batch."""
    times: list[float] = []
    cpu: list[float] = []  # process CPU time: robust when other jobs share the machine
    total = len(jobs)
    t_all, c_all = time.perf_counter(), time.process_time()
    for start in range(0, total, batch):
        t0, c0 = time.perf_counter(), time.process_time()
        with d.transaction() as s:
            for job in jobs[start:start + batch]:
                job(s)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if progress:
            done = min(start + batch, total)
            print(f"  {label}: {done:>9,}/{total:,}  last batch {times[-1]:.2f}s wall, "
                  f"{cpu[-1]:.2f}s cpu", file=sys.stderr)
    elapsed, cpu_all = time.perf_counter() - t_all, time.process_time() - c_all
    return {"count": total, "seconds": round(elapsed, 2), "per_second": round(total / elapsed),
            "cpu_seconds": round(cpu_all, 2), "per_cpu_second": round(total / cpu_all),
            "first_batch_s": round(times[0], 3), "last_batch_s": round(times[-1], 3),
            "first_batch_cpu_s": round(cpu[0], 3), "last_batch_cpu_s": round(cpu[-1], 3),
            "median_batch_s": round(sorted(times)[len(times) // 2], 3),
            "batch": batch, "flat_ratio_last_over_first_cpu": round(cpu[-1] / cpu[0], 2),
            "batch_times_s": [round(t, 2) for t in times],
            "batch_cpu_s": [round(t, 2) for t in cpu]}


class _RolledBack(Exception):
    pass


def probe(d: Directory, root: m.Prefix, agencies: int = 500, lans_each: int = 10) -> dict:
    """/48s and /64s beneath them in one transaction that is rolled back, at the table's
    current size: CPU time and SQL statements per allocation.  The statement count is
    deterministic, so it shows the flat cost even when other jobs make timings noisy."""
    statements = [0]

    def count(*_args) -> None:
        statements[0] += 1

    with d.transaction() as s:
        rows = s.scalar(select(func.count()).select_from(m.Prefix))
    event.listen(d.engine, "before_cursor_execute", count)
    c0 = time.process_time()
    try:
        with d.transaction() as s:
            for _ in range(agencies):
                a48 = al.allocate(s, root, 48, role="agency")
                for _ in range(lans_each):
                    al.allocate(s, a48, 64, role="lan")
            raise _RolledBack
    except _RolledBack:
        pass
    cpu = time.process_time() - c0
    event.remove(d.engine, "before_cursor_execute", count)
    total = agencies * (1 + lans_each)
    return {"prefix_rows": rows, "allocations": total,
            "cpu_ms_per_alloc": round(cpu / total * 1e3, 3),
            "sql_statements_per_alloc": round(statements[0] / total, 2)}


def probe_only(db: str, supernet: str) -> int:
    d = Directory(db, actor="bench")
    with d.transaction() as s:
        try:
            root = al.resolve(s, supernet)
        except NotFound:  # a fresh directory: the start-size probe
            root = al.add_prefix(s, supernet, role="supernet")
    print(json.dumps({"db": db, "probe": probe(d, root)}, indent=2))
    d.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agencies", type=int, default=100_000)
    ap.add_argument("--lans", type=int, default=1_000_000, help="total /64s (spread evenly)")
    ap.add_argument("--batch", type=int, default=10_000, help="allocations per transaction")
    ap.add_argument("--supernet", default="3fff::/20")
    ap.add_argument("--anchor-start", type=int, default=1000,
                    help="NetBox-method allocations timed at the start-size")
    ap.add_argument("--anchor-end", type=int, default=20,
                    help="NetBox-method allocations timed at the end-size (each is slow)")
    ap.add_argument("--db", help="SQLite file (default: a new temporary file)")
    ap.add_argument("--json", dest="json_out", help="also write the results to this file")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--probe-only", action="store_true",
                    help="only run the flatness probe on an existing --db")
    args = ap.parse_args(argv)
    if args.probe_only:
        return probe_only(args.db, args.supernet)

    db = args.db or os.path.join(tempfile.mkdtemp(prefix="gin-bench-"), "bench.sqlite")
    d = Directory(db, actor="bench")
    print(f"directory: {db}", file=sys.stderr)
    codes = make_agencies(d, args.agencies)
    with d.transaction() as s:
        root = al.add_prefix(s, args.supernet, role="supernet")
    root_id, parent = root.id, args.supernet
    probe_start = probe(d, root)

    # NetBox anchor at the start-size: the supernet with no children yet
    nb_start, nb_start_first = time_netbox(parent, [], 48, args.anchor_start)

    # parents are resolved once and reused, as a bulk caller would (objects stay usable
    # across transactions: the directory's sessions do not expire them on commit)
    def agency_job(code: str):
        return lambda s: al.allocate(s, root, 48, role="agency", agency=code)

    res48 = run_phase(d, "/48 per agency", [agency_job(c) for c in codes], args.batch,
                      not args.quiet)

    with d.transaction() as s:
        agency48 = list(s.scalars(select(m.Prefix).where(m.Prefix.parent_id == root_id)
                                  .order_by(m.Prefix.network)).unique())
        children48 = [c for (c,) in s.execute(select(m.Prefix.cidr)
                                              .where(m.Prefix.parent_id == root_id))]
    per_agency = max(1, args.lans // max(1, len(agency48)))
    lan_jobs = []
    for a48 in agency48:
        for _ in range(per_agency):
            lan_jobs.append(lambda s, a48=a48: al.allocate(s, a48, 64, role="lan"))
    lan_jobs = lan_jobs[:args.lans]
    res64 = run_phase(d, "/64 LANs", lan_jobs, args.batch, not args.quiet)

    probe_end = probe(d, root)
    # NetBox anchor at the end-size: the supernet with every agency /48 as a child
    nb_end, nb_end_first = time_netbox(parent, children48, 48, args.anchor_end)
    with d.transaction() as s:  # what gin would hand out next (rolled back below)
        ours_next = al.allocate(s, root, 48).cidr
        s.rollback()
    con = sqlite3.connect(db)
    n_prefix = con.execute("SELECT COUNT(*) FROM prefix").fetchone()[0]
    n_free = con.execute("SELECT COUNT(*) FROM free_block").fetchone()[0]
    con.close()
    d.close()

    ours_48_per_alloc = res48["cpu_seconds"] / res48["count"]
    ours_first = res48["first_batch_cpu_s"] / min(args.batch, res48["count"])
    ours_last = res48["last_batch_cpu_s"] / min(args.batch, res48["count"])
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version, "db": db, "supernet": parent,
        "agencies": args.agencies, "lans": len(lan_jobs), "prefix_rows": n_prefix,
        "free_block_rows": n_free,
        "gin_48": res48, "gin_64": res64,
        "probe_start": probe_start, "probe_end": probe_end,
        "gin_48_cpu_ms_per_alloc": {"all": round(ours_48_per_alloc * 1e3, 3),
                                "first_batch": round(ours_first * 1e3, 3),
                                "last_batch": round(ours_last * 1e3, 3)},
        "netbox_cpu_ms_per_alloc": {"start_size": round(nb_start * 1e3, 3),
                                "start_children": 0, "start_count": args.anchor_start,
                                "end_size": round(nb_end * 1e3, 3),
                                "end_children": len(children48), "end_count": args.anchor_end},
        "netbox_end_over_start": round(nb_end / nb_start, 1),
        "netbox_over_gin_at_end_size": round(nb_end / ours_last, 1),
        "same_next_prefix": {"netbox": nb_end_first, "gin": ours_next,
                             "agree": netaddr.IPNetwork(nb_end_first) == netaddr.IPNetwork(
                                 ours_next)},
        "netbox_first_at_start": nb_start_first,
    }
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

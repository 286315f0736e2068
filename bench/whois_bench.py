"""whois benchmark: in-process longest-prefix match (WhoisIndex) vs pytricia (C radix tree).

    .venv/bin/python bench/whois_bench.py --db /tmp/benchrun/bench.sqlite   # the allocator
                                                                            # bench's directory
    .venv/bin/python bench/whois_bench.py --agencies 10000 --lans 100000    # builds its own

Both answer the same random addresses (half inside allocated prefixes, half anywhere in
the supernet) over the same prefixes; the answers are checked to agree, then each is
timed on the whole list.  Goal: WhoisIndex within 2x of pytricia.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import pytricia
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from directory import models as m  # noqa: E402
from directory.store import Directory  # noqa: E402
from directory.whois import WhoisIndex  # noqa: E402


def build(db: str, agencies: int, lans: int, supernet: str) -> None:
    """A directory like the allocator bench's, built with allocate_many (quick)."""
    from directory import allocator as al

    d = Directory(db, actor="bench")
    with d.transaction() as s:
        root = al.add_prefix(s, supernet, role="supernet")
        parents = al.allocate_many(s, root, 48, agencies, role="agency")
        per = max(1, lans // agencies)
        for p in parents:
            al.allocate_many(s, p, 64, per, role="lan")
    d.close()


def addresses(prefixes: list[tuple[int, int, int]], supernet: str, n: int,
              rng: random.Random) -> list[str]:
    """Half inside random allocated prefixes, half uniformly in the supernet."""
    sup = ipaddress.ip_network(supernet)
    lo, span = int(sup.network_address), sup.num_addresses
    out = []
    for i in range(n):
        if i % 2 and prefixes:
            fam, net, plen = rng.choice(prefixes)
            host = rng.getrandbits((32 if fam == 4 else 128) - plen) if plen < 128 else 0
            value = net + host
        else:
            value = lo + rng.randrange(span)
        out.append(str(ipaddress.IPv6Address(value)))
    return out


def rate(fn, items: list[str], repeat: int) -> float:
    """Best of ``repeat`` runs over the list, in lookups per second (CPU time)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for a in items:
            fn(a)
        best = min(best, time.process_time() - t0)
    return len(items) / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="an existing directory (e.g. the allocator bench's)")
    ap.add_argument("--agencies", type=int, default=10_000, help="when building a directory")
    ap.add_argument("--lans", type=int, default=100_000, help="when building a directory")
    ap.add_argument("--supernet", default="3fff::/20")
    ap.add_argument("--lookups", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)

    db = args.db
    if not db:
        db = os.path.join(tempfile.mkdtemp(prefix="gin-whois-"), "whois.sqlite")
        t0 = time.perf_counter()
        build(db, args.agencies, args.lans, args.supernet)
        print(f"built {db} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    d = Directory(db, actor="bench")
    with d.transaction() as s:
        t0 = time.perf_counter()
        index = WhoisIndex.load(s)
        load_s = time.perf_counter() - t0
        rows = [(f, int(n, 16), pl, pid) for pid, f, n, pl in s.execute(
            select(m.Prefix.id, m.Prefix.family, m.Prefix.network, m.Prefix.prefixlen))]
    d.close()

    t0 = time.perf_counter()
    tree = pytricia.PyTricia(128)
    for fam, net, plen, pid in rows:
        if fam == 6:
            tree[f"{ipaddress.IPv6Address(net)}/{plen}"] = pid
    tree_s = time.perf_counter() - t0

    rng = random.Random(2013)
    six = [(f, n, pl) for f, n, pl, _ in rows if f == 6]
    items = addresses(six, args.supernet, args.lookups, rng)

    mismatches = 0
    for a in items[:20_000]:
        ours = index.lookup(a)
        theirs = tree.get(a)
        if (ours.prefix_id if ours else None) != theirs:
            mismatches += 1

    ours_rate = rate(index.lookup, items, args.repeat)
    agency_rate = rate(index.agency, items, args.repeat)
    tricia_rate = rate(tree.get, items, args.repeat)
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "db": db, "prefixes": len(rows), "lookups": len(items),
        "index_load_s": round(load_s, 2), "pytricia_build_s": round(tree_s, 2),
        "whoisindex_lookups_per_s": round(ours_rate),
        "whoisindex_agency_per_s": round(agency_rate),
        "pytricia_lookups_per_s": round(tricia_rate),
        "pytricia_over_whoisindex": round(tricia_rate / ours_rate, 2),
        "within_2x": tricia_rate / ours_rate <= 2.0,
        "answers_checked": min(20_000, len(items)), "mismatches": mismatches,
    }
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

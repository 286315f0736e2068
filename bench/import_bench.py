#!/usr/bin/env python3
"""Import benchmark: the 2,154-agency synthetic GIN directory into a fresh SQLite file.

What it measures: ``directory.transfer.import_files`` on a file written by
``directory.synth`` (agencies, sites, PE/CE devices, interfaces, links, contacts and, unless
``--no-prefixes``, the IPv6 plan's prefixes), into an empty SQLite database, in one
all-or-nothing transaction with the change log written for every row.  Generation and
file writing are timed apart from the import.  Then the directory is exported again and
compared with the input (a round trip), untimed.

    .venv/bin/python bench/import_bench.py                      # 2,154 agencies, JSON
    .venv/bin/python bench/import_bench.py --no-prefixes --format csv
    .venv/bin/python bench/import_bench.py --agencies 20000 --json
    .venv/bin/python bench/import_bench.py --db postgresql+psycopg://gin@127.0.0.1:5432/empty
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.platforms import interface_names  # noqa: E402
from directory.exporter import export_data, write_export  # noqa: E402
from directory.store import Directory  # noqa: E402
from directory.synth import DEFAULT_AGENCIES, count_rows, synthesize  # noqa: E402
from directory.transfer import import_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agencies", type=int, default=DEFAULT_AGENCIES)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--format", choices=("json", "yaml", "csv"), default="json")
    ap.add_argument("--no-prefixes", action="store_true", help="leave the IPv6 plan out")
    ap.add_argument("--careful", action="store_true",
                    help="every row through the per-row savepoint path (no bulk fast path)")
    ap.add_argument("--db", metavar="URL",
                    help="an EMPTY database to import into, e.g. postgresql+psycopg://... "
                         "(default: a fresh SQLite file in a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gin-import-bench-") as tmp:
        t0 = time.perf_counter()
        data = synthesize(args.agencies, seed=args.seed, prefixes=not args.no_prefixes,
                          ports=interface_names())
        t1 = time.perf_counter()
        dest = Path(tmp) / ("synth" if args.format == "csv" else f"synth.{args.format}")
        write_export(data, args.format, dest)
        t2 = time.perf_counter()
        size = sum(p.stat().st_size for p in ([dest] if dest.is_file() else dest.iterdir()))
        directory = Directory(args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}",
                              actor="bench")
        t3, c3 = time.perf_counter(), time.process_time()
        if args.careful:
            from directory.importer import import_rows, read_files

            parsed = read_files([str(dest)])
            with directory.transaction() as session:
                report = import_rows(session, parsed.rows, fast=False)
        else:
            report = import_files(directory, [str(dest)])
        t4, c4 = time.perf_counter(), time.process_time()
        with directory.transaction() as session:
            same = export_data(session) == _full(data)
        directory.close()

    rows = count_rows(data)
    result = {
        "agencies": args.agencies, "seed": args.seed, "format": args.format,
        "prefixes": not args.no_prefixes, "path": "careful" if args.careful else "fast",
        "rows": rows, "per_kind": {k: len(v) for k, v in data.items()},
        "file_bytes": size, "generate_s": round(t1 - t0, 2), "write_s": round(t2 - t1, 2),
        "import_s": round(t4 - t3, 2), "rows_per_s": round(rows / (t4 - t3)),
        "import_cpu_s": round(c4 - c3, 2), "rows_per_cpu_s": round(rows / (c4 - c3)),
        "created": dict(report.created), "errors": len(report.errors), "round_trip": same,
        "database": directory.engine.dialect.name,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.agencies} agencies, {rows} rows ({result['per_kind']}), "
              f"{args.format} {size / 1e6:.1f} MB")
        print(f"import: {result['import_s']} s wall, {result['rows_per_s']} rows/s; "
              f"{result['import_cpu_s']} s CPU, {result['rows_per_cpu_s']} rows/CPU-s "
              f"({result['path']} path); round trip identical: {same}")
    return 0 if same and not report.errors else 1


def _full(data: dict) -> dict:
    from directory.import_rules import FIELDS

    out = {}
    for kind, rows in data.items():
        out[kind] = [{f: r.get(f, True if (kind, f) == ("interfaces", "enabled") else None)
                      for f in FIELDS[kind]} for r in rows]
    return out


if __name__ == "__main__":
    sys.exit(main())

"""Directory-facts benchmark: the audit's directory checks over the whole GIN.

    .venv/bin/python bench/audit_directory_bench.py [--agencies 2154] [--db URL] [--json]

Imports the synthetic GIN (``directory.synth``: agencies, sites, PE/CE devices, links,
contacts, the IPv6 plan) into a fresh SQLite file (or an EMPTY database at ``--db``), then
times the runner judging :func:`audit.checks.records.directory_subjects` (inventory,
contacts, link protection and the VPN gateways' findings) and counts its SQL statements:
the statements must not grow with the directory (O(rows), never one query per device),
and the time stays a small part of the < 30 s whole-GIN audit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import runner  # noqa: E402
from audit.checks.records import directory_subjects  # noqa: E402
from audit.findings import findings_of  # noqa: E402
from devices.platforms import interface_names  # noqa: E402
from directory.exporter import write_export  # noqa: E402
from directory.store import Directory  # noqa: E402
from directory.synth import DEFAULT_AGENCIES, synthesize  # noqa: E402
from directory.transfer import import_files  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agencies", type=int, default=DEFAULT_AGENCIES)
    ap.add_argument("--db", metavar="URL", help="an EMPTY database (default: fresh SQLite)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gin-audit-dir-bench-") as tmp:
        dest = Path(tmp) / "synth.json"
        write_export(synthesize(args.agencies, ports=interface_names()), "json", dest)
        directory = Directory(args.db or f"sqlite:///{Path(tmp) / 'gin.sqlite'}",
                              actor="bench")
        import_files(directory, [str(dest)])
        statements: list[str] = []
        event.listen(directory.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        walls, cpus = [], []
        for _ in range(args.rounds):
            statements.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            with directory.transaction() as s:
                found = findings_of(runner.judge(directory_subjects(s)))
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        directory.close()
    by_check = Counter((f.check, f.status.value) for f in found)
    result = {"agencies": args.agencies, "findings": len(found),
              "sql_statements": len(statements), "wall_s": round(min(walls), 2),
              "cpu_s": round(min(cpus), 2),
              "by_check": {f"{c} {st}": n for (c, st), n in sorted(by_check.items())}}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()

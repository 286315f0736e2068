#!/usr/bin/env python3
"""Streaming import benchmark: a 100 MB agencies CSV through `gin directory import`, whole
process, against `sqlite3 .import` (and PostgreSQL COPY when a server is given) of the
same rows.

What it measures: wall time and peak RSS of the `gin directory import` child process
(``os.wait4``'s rusage, so only that process) importing a CSV of valid synthetic agencies
(every tenth a ministry, the others its departments: each row but the ministries refers to
a parent) into a fresh SQLite file, all-or-nothing in one transaction, change log written
for every row, by default with ``--dry-run`` (everything done, then rolled back; as the
issue measured it) and then for real.  The anchor loads the same CSV into a plain table
of the same columns with the sqlite3 shell's ``.import`` (no checks, no change log, no
foreign keys), and with ``--pg URL`` also with psql's ``\\copy``.

    .venv/bin/python bench/import_stream_bench.py                # 100 MB
    .venv/bin/python bench/import_stream_bench.py --mb 10 --json
    source scripts/pg.sh && pg_start && .venv/bin/python bench/import_stream_bench.py \\
        --pg "$GIN_TEST_PG_URL"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = "code,name_en,name_th,kind,parent,asn,description"


def write_csv(path: Path, megabytes: float) -> int:
    """Valid agencies up to ``megabytes``; returns the number of rows."""
    target = int(megabytes * 1024 * 1024)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(COLUMNS + "\n")
        size = len(COLUMNS) + 1
        lines = []
        while size < target:
            ministry = rows - rows % 10
            kind, parent = ("ministry", "") if rows % 10 == 0 else ("department",
                                                                    f"AG{ministry:07d}")
            line = (f"AG{rows:07d},Synthetic agency {rows} of the government network,"
                    f"หน่วยงานสังเคราะห์ที่ {rows},{kind},{parent},{64512 + rows % 1000},"
                    f"Made by bench/import_stream_bench.py\n")
            lines.append(line)
            size += len(line.encode("utf-8"))
            rows += 1
            if len(lines) == 10_000:
                fh.write("".join(lines))
                lines = []
        fh.write("".join(lines))
    return rows


def run_child(cmd: list[str], env: dict[str, str] | None = None,
              stdin: str | None = None) -> dict[str, float | int]:
    """Wall time, CPU and peak RSS of one child process (its own rusage, not ours)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin is not None else None, env=env,
                            text=True)
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {code}:\n{err[-2000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def gin_import(csv_path: Path, db: Path, dry_run: bool) -> dict[str, float | int]:
    db.unlink(missing_ok=True)
    cmd = [str(ROOT / ".venv" / "bin" / "gin"), "--db", f"sqlite:///{db}", "directory",
           "import", "--max-size", "200", str(csv_path)]
    if dry_run:
        cmd.append("--dry-run")
    return run_child(cmd, env={**os.environ, "GIN_ACTOR": "bench"})


def sqlite_import(csv_path: Path, db: Path) -> dict[str, float | int]:
    db.unlink(missing_ok=True)
    script = (f"CREATE TABLE agency_import (code TEXT, name_en TEXT, name_th TEXT, kind TEXT, "
              f"parent TEXT, asn INTEGER, description TEXT);\n"
              f".import --csv --skip 1 {csv_path} agency_import\n")
    return run_child(["sqlite3", str(db)], stdin=script)


def pg_copy(csv_path: Path, url: str) -> dict[str, float | int]:
    url = url.replace("postgresql+psycopg://", "postgresql://")
    table = "bench_agency_import"
    script = (f"DROP TABLE IF EXISTS {table};\n"
              f"CREATE TABLE {table} (code text, name_en text, name_th text, kind text, "
              f"parent text, asn integer, description text);\n"
              f"\\copy {table} FROM '{csv_path}' WITH (FORMAT csv, HEADER true)\n"
              f"DROP TABLE {table};\n")
    return run_child(["psql", "-v", "ON_ERROR_STOP=1", "-q", url], stdin=script)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100, help="CSV size in MB (default 100)")
    ap.add_argument("--no-real", action="store_true", help="only the --dry-run import")
    ap.add_argument("--pg", metavar="URL", help="also time psql \\copy into this server")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gin-import-stream-") as tmp:
        csv_path = Path(tmp) / "agencies.csv"
        rows = write_csv(csv_path, args.mb)
        result: dict = {"rows": rows, "file_mb": round(csv_path.stat().st_size / 2**20, 1)}
        result["gin_dry_run"] = gin_import(csv_path, Path(tmp) / "gin.sqlite", True)
        if not args.no_real:
            result["gin"] = gin_import(csv_path, Path(tmp) / "gin.sqlite", False)
        result["sqlite3_import"] = sqlite_import(csv_path, Path(tmp) / "anchor.sqlite")
        if args.pg and shutil.which("psql"):
            result["pg_copy"] = pg_copy(csv_path, args.pg)
    anchor = result["sqlite3_import"]
    for name in ("gin_dry_run", "gin"):
        if name in result:
            result[name]["wall_ratio_vs_sqlite3"] = round(result[name]["wall_s"]
                                                          / anchor["wall_s"], 1)
            if "pg_copy" in result:
                result[name]["wall_ratio_vs_pg_copy"] = round(
                    result[name]["wall_s"] / result["pg_copy"]["wall_s"], 1)
    result.update(python=platform.python_version(), machine=platform.machine(),
                  load=round(os.getloadavg()[0], 1))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{rows:,} agencies, {result['file_mb']} MB CSV (load {result['load']})")
        for name in ("gin_dry_run", "gin", "sqlite3_import", "pg_copy"):
            if name in result:
                r = result[name]
                ratio = (f", {r['wall_ratio_vs_sqlite3']}x sqlite3 .import"
                         if "wall_ratio_vs_sqlite3" in r else "")
                print(f"  {name:15} {r['wall_s']:8.2f} s wall {r['cpu_s']:8.2f} s CPU "
                      f"{r['peak_rss_mb']:8.1f} MB peak RSS{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

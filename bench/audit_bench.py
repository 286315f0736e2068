"""Audit benchmark: the whole GIN's configs audited from files, on one core.

    nice -n 10 .venv/bin/python bench/audit_bench.py [--data DIR] [--count 2154]
        [--naive-sample 300] [--ccp2-python /tmp/gin-ccp2-venv/bin/python]

1. Generates ``--count`` configs of ~300 lines with gin's templates (bench/audit_gen.py;
   reused when already there).
2. On every ``--count/--naive-sample``-th config, interleaved round by round (the load of
   a shared machine hits all three alike): gin (parse each config once, run every check),
   and two naive baselines: (a) every config check re-parses with hier_config (gin's
   parser), (b) every config check re-parses with ciscoconfparse2, in its own virtualenv
   (ciscoconfparse2 0.9 pins hier-config 2.x; gin needs 3.x).
   Create it with: python3 -m venv /tmp/gin-ccp2-venv &&
   /tmp/gin-ccp2-venv/bin/pip install ciscoconfparse2
3. End to end: read + audit + HTML report of the whole GIN written, wall and CPU time
   (< 30 s goal), on one core and then with one process per CPU (``runner.run(workers=N)``);
   and the OSCAL export of the same audit.

Everything but the last figure runs pinned to one CPU (sched_setaffinity / taskset).
Best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import report, runner, sources  # noqa: E402
from audit.checks import ALL  # noqa: E402
from audit.checks.base import Context  # noqa: E402
from audit.parse import AuditParseError, parse  # noqa: E402
from bench.audit_gen import generate  # noqa: E402


def gin_run(folder: Path, workers: int = 1) -> tuple[float, list[runner.DeviceAudit]]:
    start = time.perf_counter()
    audits = runner.run(sources.from_folder(folder), workers=workers)
    return time.perf_counter() - start, audits


def naive_hier(srcs: list[runner.ConfigSource]) -> float:
    """Every config check parses the config again (gin's parser, line mapping included)."""
    start = time.perf_counter()
    for src in srcs:
        ctx = Context(src.device, src.role, src.agency)
        for check in (c for c in ALL if not c.context_only):
            try:
                config = parse(src.text, src.platform)  # type: ignore[arg-type]
            except AuditParseError:
                config = None
            check.run(config, src.platform, ctx)
    return time.perf_counter() - start


def naive_ccp2(python: str, srcs: list[runner.ConfigSource], cpu: int) -> dict | None:
    if not Path(python).exists():
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(f"{s.platform} {s.origin}\n" for s in srcs))
    script = Path(__file__).with_name("audit_naive_ccp2.py")
    out = subprocess.run(["taskset", "-c", str(cpu), python, str(script), fh.name],
                         capture_output=True, text=True, check=True)
    os.unlink(fh.name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "gin-audit-bench")
    ap.add_argument("--count", type=int, default=2154)
    ap.add_argument("--naive-sample", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ccp2-python", default="/tmp/gin-ccp2-venv/bin/python")
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--end-to-end-only", action="store_true",
                    help="Skip the naive anchors: only the whole-GIN timings (a quick re-check "
                         "of the < 30 s goal when the machine is quiet).")
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.cpu})

    t = time.perf_counter()
    folder = generate(args.data / str(args.count), args.count)
    gen_s = time.perf_counter() - t
    files = sorted(folder.glob("*.cfg"))
    lines = sum(len(p.read_text().splitlines()) for p in files)

    # Same sample, same rounds, interleaved: the machine's load hits all three alike.
    every = max(1, args.count // args.naive_sample)
    sample = sources.from_folder(folder)[::every]  # read once: parsing is what is timed
    rounds = []
    for _ in range(0 if args.end_to_end_only else args.rounds):
        t = time.perf_counter()
        runner.run(sample)
        gin_sample = time.perf_counter() - t
        hier = naive_hier(sample)
        ccp2 = naive_ccp2(args.ccp2_python, sample, args.cpu)
        rounds.append({"gin_s": round(gin_sample, 2), "naive_hier_config_s": round(hier, 2),
                       "naive_ciscoconfparse2_s": round(ccp2["seconds"], 2) if ccp2 else None,
                       "load_1min": round(os.getloadavg()[0], 1)})

    html = args.data / "gin-report.html"
    ends = []
    cpu_s = []
    for _ in range(args.rounds):
        start, cpu = time.perf_counter(), time.process_time()
        _, audits = gin_run(folder)
        report.write(html, audits, "html")
        ends.append(time.perf_counter() - start)
        cpu_s.append(time.process_time() - cpu)
    end_s = min(ends)
    start = time.perf_counter()
    report.write(args.data / "gin-report.oscal.json", audits, "oscal")
    oscal_s = time.perf_counter() - start
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    ends2 = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        _, audits = gin_run(folder, workers=os.cpu_count() or 1)
        report.write(html, audits, "html")
        ends2.append(time.perf_counter() - start)

    findings = [f for a in audits for f in a.findings]
    by_status: dict[str, int] = {}
    for f in findings:
        by_status[f.status.value] = by_status.get(f.status.value, 0) + 1
    n = len(sample)
    best = min(rounds, key=lambda r: r["gin_s"]) if rounds else None
    result = {
        "configs": len(files), "avg_lines": round(lines / len(files)),
        "checks": len(ALL), "config_checks": sum(1 for c in ALL if not c.context_only),
        "generate_s": round(gen_s, 1), "sample": n, "rounds": rounds,
        "best_round_configs_per_s": {
            "gin": round(n / best["gin_s"], 1),
            "naive_hier_config": round(n / best["naive_hier_config_s"], 1),
            "naive_ciscoconfparse2": round(n / best["naive_ciscoconfparse2_s"], 1)
            if best["naive_ciscoconfparse2_s"] else None} if best else None,
        "end_to_end_one_cpu_s": [round(x, 2) for x in ends],
        "end_to_end_one_cpu_cpu_s": [round(x, 2) for x in cpu_s],
        "oscal_export_s": round(oscal_s, 2),
        "end_to_end_all_cpus_s": [round(x, 2) for x in ends2], "cpus": os.cpu_count(),
        "whole_gin_configs_per_s_one_cpu": round(len(files) / end_s, 1),
        "html_bytes": html.stat().st_size,
        "findings": by_status, "errors": sum(1 for a in audits if a.error),
        "load_avg": os.getloadavg(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

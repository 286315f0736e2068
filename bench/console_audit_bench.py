"""Auditor page benchmark: server time of the console's audit pages on the 2,154-agency
synthetic GIN with stored whole-GIN audit runs, beside the agency page and the floor of the
same app (the authenticated ``/api/v1/me``).

    .venv/bin/python bench/console_audit_bench.py             # fresh SQLite, 2,154 agencies
    .venv/bin/python bench/console_audit_bench.py --db URL    # an EMPTY database (PostgreSQL)

The directory is the synthetic GIN (``directory.synth``) and its routers' configs are
``bench/audit_gen.py``'s (one PE per agency, gin's own templates, ~15 % with a fault); one
real whole-GIN audit (configs + directory facts) is run and stored, then stored again at
earlier times so the trend has ``--runs`` points.  Requests go through the whole ASGI app
in-process (Starlette's TestClient), as in ``console_bench.py``.  Goal: each page under
300 ms.  Prints per page the median and worst of ``--rounds`` requests and the ratio of the
median to the floor's median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from audit import acceptance, assess, ministries  # noqa: E402
from bench.audit_gen import generate  # noqa: E402
from bench.console_bench import timed  # noqa: E402
from devices.platforms import interface_names  # noqa: E402
from directory import identity  # noqa: E402
from directory import models as m  # noqa: E402
from directory.exporter import write_export  # noqa: E402
from directory.store import Directory  # noqa: E402
from directory.synth import DEFAULT_AGENCIES, synthesize  # noqa: E402
from directory.transfer import import_files  # noqa: E402
from gin.server.app import create_app  # noqa: E402


def stored_runs(directory: Directory, configs: Path, runs: int) -> dict[str, float]:
    """One real whole-GIN audit, stored ``runs`` times a week apart; seconds per step."""
    t0 = time.perf_counter()
    result = assess.assess(assess.Scope(), assess.Evidence(directory=directory,
                                                           configs=configs))
    took = {"audit": time.perf_counter() - t0}
    t0 = time.perf_counter()
    for week in range(runs - 1, -1, -1):
        when = result.generated_at - dt.timedelta(days=7 * week)
        assess.record(directory, assess.Assessment(result.scope, result.audits, when,
                                                   result.framework, result.skipped))
    took["store"] = time.perf_counter() - t0
    failing = next(f for a in result.audits for f in a.findings
                   if f.status.value == "fail" and f.agency)
    acceptance.accept(directory, failing.device, failing.check, "bench",
                      acceptance.parse_until("30d"))
    return took


def pages(directory: Directory) -> dict[str, str]:
    """The pages timed: a ministry with the most agencies under it, one agency, a finding."""
    with directory.transaction() as s:
        tops = ministries.of_agencies(s)
        counts: dict[str, int] = {}
        for top in tops.values():
            counts[top] = counts.get(top, 0) + 1
        ministry = max(counts, key=lambda k: (counts[k], k))
        run_id = s.scalar(select(func.max(m.AuditRun.id)))
        finding = s.scalar(select(func.min(m.AuditFinding.id)).where(
            m.AuditFinding.run_id == run_id, m.AuditFinding.agency == "AG0100",
            m.AuditFinding.status == "fail"))
        if finding is None:
            finding = s.scalar(select(func.min(m.AuditFinding.id)).where(
                m.AuditFinding.run_id == run_id, m.AuditFinding.agency == "AG0100"))
    return {
        "floor /api/v1/me": "/api/v1/me",
        "agency AG0100": "/ui/agency/AG0100",
        "audit: whole GIN (newest run)": "/ui/audit",
        f"audit: ministry {ministry} ({counts[ministry]} ag.)": f"/ui/audit/agency/{ministry}",
        "audit: agency AG0100": "/ui/audit/agency/AG0100",
        "audit: a finding of AG0100": f"/ui/audit/agency/AG0100/finding/{finding}",
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agencies", type=int, default=DEFAULT_AGENCIES)
    ap.add_argument("--db", metavar="URL", help="an EMPTY database (default: fresh SQLite)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=4, help="stored runs (the trend's points)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gin-console-audit-bench-") as tmp:
        dest = Path(tmp) / "synth.json"
        write_export(synthesize(args.agencies, ports=interface_names()), "json", dest)
        directory = Directory(args.db or f"sqlite:///{Path(tmp) / 'gin.sqlite'}",
                              actor="bench")
        import_files(directory, [str(dest)])
        configs = generate(Path(tmp) / "configs", args.agencies)
        took = stored_runs(directory, configs, args.runs)
        with directory.transaction() as s:
            findings = s.scalar(select(func.count()).select_from(m.AuditFinding))
            identity.add_user(s, "bench", "bench password long enough")
            identity.grant(s, "bench", "auditor")
            token = identity.create_token(s, "bench", "bench")[1]
        client = TestClient(create_app(directory),
                            headers={"Authorization": f"Bearer {token}"})
        print(f"agencies: {args.agencies}, stored runs: {args.runs}, findings stored: "
              f"{findings} (audit {took['audit']:.1f} s, storing the runs {took['store']:.1f} s)")
        print(f"rounds: {args.rounds} (median / worst, ms)")
        floor = None
        for name, path in pages(directory).items():
            timed(client, path, 2)  # warm: first-use imports and template compilation
            times = timed(client, path, args.rounds)
            median = statistics.median(times)
            floor = floor or median
            print(f"{name:40s} {median * 1000:8.1f} {max(times) * 1000:8.1f}"
                  f"   x{median / floor:6.1f} of the floor")
        directory.close()


if __name__ == "__main__":
    main()

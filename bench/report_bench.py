"""Report benchmark: the whole 2,154-agency GIN as the document a ministry receives.

    nice -n 10 .venv/bin/python bench/report_bench.py [--data DIR] [--count 2154]
        [--lang th] [--anchor-pdf]

1. Generates ``--count`` configs with gin's templates (bench/audit_gen.py; reused) and
   audits them once (every CPU), with a synthetic ministry for every agency (20 ministries).
2. Anchor, same run: the report with one row per failing/unknown finding (the layout every
   report had before the annex was grouped; today ``--all-findings`` minus the passes):
   HTML size and render time; with ``--anchor-pdf`` also Chromium's attempt to print it.
3. The ministry report (summary + grouped annex, cover, sign-off, page numbers): HTML size
   and render time, then the PDF printed by headless Chromium (audit.pdf): size, pages,
   wall time.  Prints one JSON object with the ratios.
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
from audit.pdf import html_to_pdf  # noqa: E402
from bench.audit_gen import generate  # noqa: E402
from devices.errors import GinError  # noqa: E402


def _timed_html(path: Path, audits: list[runner.DeviceAudit], **kw: object) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    path.write_text(report.to_html(audits, **kw), encoding="utf-8")  # type: ignore[arg-type]
    return {"html_bytes": path.stat().st_size,
            "html_s": round(time.perf_counter() - start, 2),
            "html_cpu_s": round(time.process_time() - cpu, 2)}


def _timed_pdf(html: Path, pdf: Path, timeout: float) -> dict:
    start = time.perf_counter()
    try:
        html_to_pdf(html, pdf, timeout=timeout)
    except GinError as exc:
        return {"pdf_error": str(exc), "pdf_s": round(time.perf_counter() - start, 1)}
    wall = time.perf_counter() - start
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = next((int(x.split()[-1]) for x in info.splitlines() if x.startswith("Pages:")), None)
    return {"pdf_bytes": pdf.stat().st_size, "pdf_pages": pages, "pdf_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "gin-report-bench")
    ap.add_argument("--count", type=int, default=2154)
    ap.add_argument("--lang", default="th", choices=sorted(report.LABELS))
    ap.add_argument("--anchor-pdf", action="store_true",
                    help="Also let Chromium try to print the per-finding anchor (minutes).")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    folder = generate(args.data / str(args.count), args.count)
    start = time.perf_counter()
    audits = runner.run(sources.from_folder(folder), workers=os.cpu_count() or 1)
    audit_s = time.perf_counter() - start
    agencies = sorted({a.agency for a in audits if a.agency})
    ministries = {code: f"MIN{i % 20 + 1:02d}" for i, code in enumerate(agencies)}
    kw = {"scope": "GIN", "lang": args.lang, "ministries": ministries}
    findings = [f for a in audits for f in a.findings]
    open_findings = sum(1 for f in findings if f.status.value in ("fail", "unknown"))

    anchor_html = args.data / "anchor-per-finding.html"
    anchor = _timed_html(anchor_html, audits, detail_limit=len(findings) + 1, **kw)
    if args.anchor_pdf:
        anchor |= _timed_pdf(anchor_html, args.data / "anchor-per-finding.pdf", args.timeout)

    html = args.data / f"gin-report.{args.lang}.html"
    ministry = _timed_html(html, audits, **kw)
    ministry |= _timed_pdf(html, args.data / f"gin-report.{args.lang}.pdf", args.timeout)

    print(json.dumps({
        "devices": len(audits), "agencies": len(agencies), "findings": len(findings),
        "open_findings": open_findings, "audit_s": round(audit_s, 1), "lang": args.lang,
        "anchor_per_finding": anchor, "ministry_report": ministry,
        "html_size_ratio_anchor_over_ministry": round(anchor["html_bytes"]
                                                      / ministry["html_bytes"], 1),
        "load_avg": os.getloadavg(),
    }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

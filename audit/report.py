"""Posture reports for auditors: JSON, CSV and one self-contained HTML page.

The score of an agency or an ISO clause is the share of its applicable findings that pass:
pass / (pass + fail + unknown).  "Unknown" counts against the score, because missing
evidence is not compliance; "not applicable" is left out.  A finding that evidences
controls in two clauses counts in both clauses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from audit import catalogue, history
from audit.checks import Status
from audit.findings import DeviceAudit, Finding

TEMPLATES = Path(__file__).with_name("templates")
NO_AGENCY = "-"


@dataclass(frozen=True)
class Score:
    """Counts of findings by status and the resulting percentage (None: nothing applicable)."""

    key: str
    title: str
    passed: int
    failed: int
    unknown: int
    not_applicable: int

    @property
    def applicable(self) -> int:
        return self.passed + self.failed + self.unknown

    @property
    def percent(self) -> float | None:
        return round(100 * self.passed / self.applicable, 1) if self.applicable else None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "score": self.percent,
                "pass": self.passed, "fail": self.failed, "unknown": self.unknown,
                "not_applicable": self.not_applicable}


def _score(key: str, title: str, findings: Iterable[Finding]) -> Score:
    c = Counter(f.status for f in findings)
    return Score(key, title, c[Status.PASS], c[Status.FAIL], c[Status.UNKNOWN],
                 c[Status.NOT_APPLICABLE])


def by_agency(findings: Sequence[Finding]) -> list[Score]:
    """One score per agency, worst first (devices with no agency under "-")."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[f.agency or NO_AGENCY].append(f)
    scores = [_score(k, k, v) for k, v in groups.items()]
    return sorted(scores, key=lambda s: (s.percent if s.percent is not None else 101, s.key))


def by_clause(findings: Sequence[Finding], framework: catalogue.Framework,
              lang: str = "en") -> list[Score]:
    """One score per clause of the framework that any finding evidences, in clause order."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        for clause in {framework.controls[c].clause for c in f.controls}:
            groups[clause].append(f)
    out = []
    for cid, clause in framework.clauses.items():
        if cid in groups:
            title = clause.title_th if lang == "th" and clause.title_th else clause.title
            out.append(_score(cid, title, groups[cid]))
    return out


def by_control(findings: Sequence[Finding], framework: catalogue.Framework) -> list[Score]:
    """One score per control with evidence, in catalogue order."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        for c in f.controls:
            groups[c].append(f)
    return [_score(cid, c.title, groups[cid]) for cid, c in framework.controls.items()
            if cid in groups]


def filter_agency(audits: Sequence[DeviceAudit], agency: str | None) -> list[DeviceAudit]:
    """Only the devices of ``agency`` (case-insensitive code); all when None."""
    if not agency:
        return list(audits)
    code = agency.upper()
    return [a for a in audits if (a.agency or "").upper() == code]


def to_data(audits: Sequence[DeviceAudit], framework: catalogue.Framework | None = None,
            scope: str = "GIN", lang: str = "en", generated: dt.datetime | None = None,
            prior: dict[str, Any] | None = None, run: int | None = None,
            skipped: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Everything a report shows, as plain data (the JSON export).

    ``prior``: a stored earlier run (:mod:`audit.history`); adds the trend since then.
    ``run``: the id of the stored run this is (None: not stored); ``skipped``: evidence
    files not read, with why.
    """
    framework = framework or catalogue.load()
    findings = [f for a in audits for f in a.findings]
    overall = _score(scope, scope, findings)
    data = {
        # microseconds: two runs in one second still have an order (audit.history)
        "generated_at": (generated or dt.datetime.now(dt.UTC)).isoformat(),
        "framework": {"name": framework.name, "title": framework.title},
        "scope": scope,
        "run": run,
        "score": overall.as_dict(),
        "agencies": [s.as_dict() for s in by_agency(findings)],
        "clauses": [s.as_dict() for s in by_clause(findings, framework, lang)],
        "controls": [dict(s.as_dict(), iso27002_2022=framework.controls[s.key].iso27002_2022)
                     for s in by_control(findings, framework)],
        "devices": [{"device": a.device, "agency": a.agency, "platform": a.platform,
                     "error": a.error, "warnings": a.warnings} for a in audits],
        "findings": [f.as_dict() for f in findings],
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
    }
    data["trend"] = history.trend(data, prior)
    return data


def to_json(audits: Sequence[DeviceAudit], **kw: Any) -> str:
    return json.dumps(to_data(audits, **kw), ensure_ascii=False, indent=1)


CSV_COLUMNS = ["device", "agency", "platform", "check", "controls", "status", "severity",
               "reason", "evidence", "remediation", "origin"]


def _cell(value: str) -> str:
    """Spreadsheet-safe: a cell starting with = + - @ is not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(audits: Sequence[DeviceAudit]) -> str:
    """One row per finding; evidence as ``L<n>: text`` joined by `` | ``."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for a in audits:
        for f in a.findings:
            evidence = " | ".join(f"L{ln}: {tx}" if ln else tx for ln, tx in f.evidence)
            row = [f.device, f.agency or "", f.platform, f.check, ";".join(f.controls),
                   f.status.value, f.severity, f.reason, evidence, " / ".join(f.remediation),
                   f.origin]
            writer.writerow([_cell(str(v)) for v in row])
    return buf.getvalue()


LABELS: dict[str, dict[str, str]] = {
    "en": {"title": "Security posture report", "framework": "Framework", "scope": "Scope",
           "generated": "Generated", "overall": "Overall score", "by_agency": "Score by agency",
           "by_clause": "Score by ISO/IEC 17799 clause", "findings": "Findings",
           "device": "Device", "agency": "Agency", "check": "Check", "controls": "Controls",
           "status": "Status", "severity": "Severity", "reason": "Reason",
           "evidence": "Evidence (line: text)", "remediation": "Remediation",
           "devices": "Devices", "pass": "pass", "fail": "fail", "unknown": "unknown",
           "not_applicable": "not applicable", "clause": "Clause", "score": "Score",
           "errors": "Configurations that could not be read or look incomplete",
           "worst": "lowest first", "shown": "Failing and unknown findings; passes are counted "
           "in the scores and listed in the JSON/CSV export.",
           "shown_all": "Every finding, whatever its status.", "platform": "Platform",
           "na": "n/a", "under": "and every agency under it",
           "scoring": "Score = pass / (pass + fail + unknown); unknown counts against.",
           "trend": "Since the previous run", "changed": "findings changed status",
           "before": "before", "now": "now", "run": "Run",
           "skipped": "Evidence files not read", "file": "File"},
    "th": {"title": "รายงานสถานะความมั่นคงปลอดภัย", "framework": "มาตรฐาน",
           "scope": "ขอบเขต", "generated": "จัดทำเมื่อ", "overall": "คะแนนรวม",
           "by_agency": "คะแนนรายหน่วยงาน", "by_clause": "คะแนนตามหมวด ISO/IEC 17799",
           "findings": "ผลการตรวจ", "device": "อุปกรณ์", "agency": "หน่วยงาน",
           "check": "รายการตรวจ", "controls": "มาตรการควบคุม", "status": "สถานะ",
           "severity": "ความรุนแรง", "reason": "เหตุผล", "evidence": "หลักฐาน (บรรทัด: ข้อความ)",
           "remediation": "วิธีแก้ไข", "devices": "อุปกรณ์", "pass": "ผ่าน", "fail": "ไม่ผ่าน",
           "unknown": "ไม่ทราบ", "not_applicable": "ไม่เกี่ยวข้อง", "clause": "หมวด",
           "score": "คะแนน",
           "errors": "ไฟล์การตั้งค่าที่อ่านไม่ได้หรือไม่ครบถ้วน", "worst": "เรียงจากต่ำสุด",
           "shown": "แสดงเฉพาะรายการที่ไม่ผ่านและไม่ทราบผล รายการที่ผ่านนับรวมในคะแนน "
                    "และมีครบในไฟล์ JSON/CSV",
           "shown_all": "ทุกรายการ ไม่ว่าผลจะเป็นอย่างไร", "platform": "แพลตฟอร์ม",
           "na": "ไม่มีข้อมูล", "under": "และหน่วยงานในสังกัดทั้งหมด",
           "scoring": "คะแนน = ผ่าน / (ผ่าน + ไม่ผ่าน + ไม่ทราบ) รายการที่ไม่ทราบผลนับเป็นไม่ผ่าน",
           "trend": "เทียบกับการตรวจครั้งก่อน", "changed": "รายการที่สถานะเปลี่ยน",
           "before": "ก่อน", "now": "ล่าสุด", "run": "การตรวจครั้งที่",
           "skipped": "ไฟล์หลักฐานที่ไม่ได้อ่าน", "file": "ไฟล์"},
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def to_html(audits: Sequence[DeviceAudit], framework: catalogue.Framework | None = None,
            scope: str = "GIN", lang: str = "en", max_bars: int = 60,
            prior: dict[str, Any] | None = None, show_all: bool = False,
            generated: dt.datetime | None = None, run: int | None = None,
            skipped: Sequence[tuple[str, str]] = ()) -> str:
    """One self-contained page: inline CSS and SVG charts, no script, no external asset.

    The findings table lists failing and unknown findings (what needs work); ``show_all``
    lists passes and "not applicable" too, for an auditor who files the whole record."""
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LABELS)}")
    framework = framework or catalogue.load()
    data = to_data(audits, framework, scope, lang, generated, prior, run, skipped)
    open_findings = [f for a in audits for f in a.findings
                     if show_all or f.status in (Status.FAIL, Status.UNKNOWN)]
    troubled = [d for d in data["devices"] if d["error"] or d["warnings"]]
    return _environment().get_template("report.html.j2").render(
        data=data, t=LABELS[lang], lang=lang, findings=open_findings, troubled=troubled,
        show_all=show_all,
        agency_bars=data["agencies"][:max_bars], clause_bars=data["clauses"])


FORMATS = ("html", "pdf", "json", "csv", "oscal")
#: The keyword arguments each format takes (the CLI passes everything it has).
RUN = {"generated", "run", "skipped"}
OPTIONS = {"html": {"scope", "lang", "prior", "show_all", "framework", *RUN},
           "pdf": {"scope", "lang", "prior", "show_all", "framework", *RUN},
           "json": {"scope", "lang", "prior", "framework", *RUN}, "csv": set(),
           "oscal": {"scope", "framework", "generated"}}


def write(path: Path | str, audits: Sequence[DeviceAudit], fmt: str, **kw: Any) -> None:
    """Write a report in ``fmt`` (one of :data:`FORMATS`) to ``path``, UTF-8; options a
    format has no use for (``show_all`` for CSV) are ignored."""
    if fmt not in OPTIONS:
        raise ValueError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")
    kw = {k: v for k, v in kw.items() if k in OPTIONS[fmt]}
    if fmt == "pdf":
        from audit.pdf import html_to_pdf

        with tempfile.TemporaryDirectory(prefix="gin-report-") as tmp:
            page = Path(tmp) / "report.html"
            page.write_text(to_html(audits, **kw), encoding="utf-8")
            html_to_pdf(page, path)
        return
    if fmt == "html":
        text = to_html(audits, **kw)
    elif fmt == "json":
        text = to_json(audits, **kw)
    elif fmt == "csv":
        text = to_csv(audits)
    else:
        from audit import oscal

        text = oscal.to_json(audits, **kw)
    Path(path).write_text(text, encoding="utf-8")

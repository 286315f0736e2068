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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from audit import catalogue, history, messages
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
    #: Failing or unknown findings accepted as risks (in none of the counts above).
    accepted: int = 0

    @property
    def applicable(self) -> int:
        return self.passed + self.failed + self.unknown

    @property
    def percent(self) -> float | None:
        return round(100 * self.passed / self.applicable, 1) if self.applicable else None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "score": self.percent,
                "pass": self.passed, "fail": self.failed, "unknown": self.unknown,
                "not_applicable": self.not_applicable, "accepted": self.accepted}


def _score(key: str, title: str, findings: Iterable[Finding]) -> Score:
    """An accepted risk leaves the score (it is counted as accepted) only while the finding
    is failing or unknown: a pass stays a pass."""
    c: Counter[Status | str] = Counter()
    for f in findings:
        open_ = f.status in (Status.FAIL, Status.UNKNOWN)
        c["accepted" if open_ and f.accepted is not None else f.status] += 1
    return Score(key, title, c[Status.PASS], c[Status.FAIL], c[Status.UNKNOWN],
                 c[Status.NOT_APPLICABLE], c["accepted"])


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
               "reason", "evidence", "remediation", "origin", "accepted"]


def _cell(value: str) -> str:
    """Spreadsheet-safe: a cell starting with = + - @ is not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _accepted_cell(f: Finding) -> str:
    a = f.accepted
    return f"accepted by {a.by} until {a.until}: {a.reason}" if a else ""


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
                   f.origin, _accepted_cell(f)]
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
           "skipped": "Evidence files not read", "file": "File", "page": "Page",
           "cover_for": "Audit of the network devices' configurations against the "
                        "framework below.",
           "agencies": "Agencies", "classification": "Classification",
           "classification_default": "CONFIDENTIAL", "summary": "Summary",
           "by_ministry": "Score by ministry", "ministry": "Ministry",
           "worst_agencies": "Agencies with the lowest scores",
           "top_controls": "Controls with the most failing and unknown findings",
           "control": "Control", "title_col": "Title", "signoff": "Sign-off",
           "prepared_by": "Prepared by", "reviewed_by": "Reviewed by",
           "approved_by": "Approved by", "name": "Name", "position": "Position",
           "signature": "Signature", "date": "Date", "annex": "Annex",
           "aggregated": "%d findings in %d groups (check and status), each with its "
                         "reasons counted and up to %d examples; every finding is in the "
                         "JSON/CSV export, or in this annex with --all-findings.",
           "example": "Example device", "more": "%d more not shown",
           "accepted": "accepted risk", "accepted_by": "accepted by",
           "accepted_until": "until"},
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
           "skipped": "ไฟล์หลักฐานที่ไม่ได้อ่าน", "file": "ไฟล์", "page": "หน้า",
           "cover_for": "การตรวจประเมินการตั้งค่าอุปกรณ์เครือข่ายตามมาตรฐานที่ระบุด้านล่าง",
           "agencies": "หน่วยงาน", "classification": "ชั้นความลับ",
           "classification_default": "ลับ", "summary": "บทสรุปสำหรับผู้บริหาร",
           "by_ministry": "คะแนนรายกระทรวง", "ministry": "กระทรวง",
           "worst_agencies": "หน่วยงานที่มีคะแนนต่ำสุด",
           "top_controls": "มาตรการควบคุมที่มีรายการไม่ผ่านและไม่ทราบผลมากที่สุด",
           "control": "มาตรการ", "title_col": "ชื่อ", "signoff": "การลงนามรับรอง",
           "prepared_by": "ผู้จัดทำ", "reviewed_by": "ผู้ตรวจทาน", "approved_by": "ผู้อนุมัติ",
           "name": "ชื่อ-สกุล", "position": "ตำแหน่ง", "signature": "ลายมือชื่อ",
           "date": "วันที่", "annex": "ภาคผนวก",
           "aggregated": "ผลการตรวจ %d รายการ จัดเป็น %d กลุ่ม (รายการตรวจและสถานะ) "
                         "แต่ละกลุ่มนับจำนวนตามเหตุผลและแสดงตัวอย่างไม่เกิน %d อุปกรณ์ "
                         "ผลการตรวจทุกรายการอยู่ในไฟล์ JSON/CSV หรือในภาคผนวกนี้เมื่อใช้ "
                         "--all-findings",
           "example": "อุปกรณ์ตัวอย่าง", "more": "และอีก %d รายการที่ไม่ได้แสดง",
           "accepted": "ยอมรับความเสี่ยง", "accepted_by": "ผู้ยอมรับ",
           "accepted_until": "ถึง"},
}


def css_string(value: str) -> str:
    """``value`` inside a CSS double-quoted string (page margin boxes): quotes, backslashes,
    angle brackets and line ends escaped, so no text can close the string or the style."""
    return "".join(f"\\{ord(ch):x} " if ch in '"\\<>&\n\r\'' else ch for ch in value)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["css_string"] = css_string
    return env


#: Above this many failing/unknown findings the annex groups them (check and status) with a
#: few examples each, so a whole-GIN report stays a document a ministry can print and read.
DETAIL_LIMIT = 400
EXAMPLES = 3
EVIDENCE_LINES = 4
THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
               "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")


def _date_text(iso: str, lang: str) -> str:
    """The report's date as its reader writes it (Thai: Buddhist era, Thai month)."""
    when = dt.datetime.fromisoformat(iso)
    if lang == "th":
        return (f"{when.day} {THAI_MONTHS[when.month - 1]} {when.year + 543} "
                f"เวลา {when:%H:%M} น. ({when:%Z})")
    return f"{when:%d %B %Y, %H:%M} {when:%Z}"


def _row(f: Finding, say: messages.Translator) -> dict[str, Any]:
    return {"device": f.device, "agency": f.agency, "platform": f.platform, "check": f.check,
            "controls": f.controls, "status": f.status.value,
            "severity": say.severity(f.severity), "reason": say.reason(f.reason),
            "evidence": f.evidence, "remediation": [say.remediation(x) for x in f.remediation],
            "accepted": f.accepted}


def annex_groups(findings: Sequence[Finding], say: messages.Translator,
                 examples: int = EXAMPLES) -> list[dict[str, Any]]:
    """Findings grouped by check and status, worst first (fail before unknown, high severity
    and many devices first): counts, reasons with their counts, and a few examples, one
    per platform before a second of any (remediation differs by platform)."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        groups[(f.check, f.status.value)].append(f)
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    out = []
    for (check, status), fs in groups.items():
        picked: list[Finding] = []
        for f in fs:  # one per platform first
            if len(picked) < examples and f.platform not in {p.platform for p in picked}:
                picked.append(f)
        picked += [f for f in fs if f not in picked][:examples - len(picked)]
        first = fs[0]
        out.append({"check": check, "status": status, "title": say.check(check, first.title),
                    "controls": first.controls, "severity": say.severity(first.severity),
                    "rank": (status != "fail", rank.get(first.severity, 9), -len(fs), check),
                    "count": len(fs), "agencies": len({f.agency for f in fs}),
                    "reasons": [(say.reason(r), n) for r, n in
                                Counter(f.reason for f in fs).most_common(5)],
                    "examples": [_row(f, say) for f in picked]})
    return sorted(out, key=lambda g: g["rank"])


def by_ministry(findings: Sequence[Finding], ministries: Mapping[str, str]) -> list[Score]:
    """One score per ministry (``ministries``: agency code -> ministry code), worst first."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[ministries.get(f.agency or "", NO_AGENCY)].append(f)
    scores = [_score(k, k, v) for k, v in groups.items()]
    return sorted(scores, key=lambda s: (s.percent if s.percent is not None else 101, s.key))


def to_html(audits: Sequence[DeviceAudit], framework: catalogue.Framework | None = None,
            scope: str = "GIN", lang: str = "en", max_bars: int = 60,
            prior: dict[str, Any] | None = None, show_all: bool = False,
            generated: dt.datetime | None = None, run: int | None = None,
            skipped: Sequence[tuple[str, str]] = (),
            classification: str | None = None, ministries: Mapping[str, str] | None = None,
            signoff: Mapping[str, str] | None = None, detail_limit: int = DETAIL_LIMIT,
            worst: int = 20, max_rows: int = 200) -> str:
    """One self-contained page, printable as the document a ministry receives: cover (scope,
    date, framework, classification), summary (overall, per ministry, worst agencies, the
    controls failing most, charts), sign-off block, then the findings as an annex.  Inline
    CSS and SVG, no script, no external asset; the classification and page numbers are on
    every printed page (CSS page margin boxes).

    The annex lists failing and unknown findings (what needs work); ``show_all`` lists every
    finding, passes included, row by row.  Otherwise, above ``detail_limit`` open findings
    the annex groups them by check and status with counts and a few examples, so the report
    of the whole GIN stays short.  ``lang="th"`` words everything in Thai (labels and each
    finding's reason, severity and remediation prose: :mod:`audit.messages`)."""
    if lang not in LABELS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LABELS)}")
    framework = framework or catalogue.load()
    say = messages.Translator(lang)
    t = LABELS[lang]
    data = to_data(audits, framework, scope, lang, generated, prior, run, skipped)
    findings = [f for a in audits for f in a.findings]
    shown = [f for f in findings if show_all or f.status in (Status.FAIL, Status.UNKNOWN)]
    grouped = not show_all and len(shown) > detail_limit
    troubled = [{"device": d["device"], "agency": d["agency"], "platform": d["platform"],
                 "note": say.reason(d["error"]) if d["error"]
                 else "; ".join(say.reason(w) for w in d["warnings"])}
                for d in data["devices"] if d["error"] or d["warnings"]]
    controls = [Score(s.key, say.control(s.key, s.title), s.passed, s.failed, s.unknown,
                      s.not_applicable) for s in by_control(findings, framework)]
    top = [c.as_dict() for c in sorted((c for c in controls if c.failed + c.unknown),
                                       key=lambda c: (-(c.failed + c.unknown), c.key))[:10]]
    ministry_scores = []
    if ministries:
        agencies_of: dict[str, set[str]] = defaultdict(set)
        for f in findings:
            agencies_of[ministries.get(f.agency or "", NO_AGENCY)].add(f.agency or NO_AGENCY)
        ministry_scores = [dict(s.as_dict(), agencies=len(agencies_of[s.key]))
                           for s in by_ministry(findings, ministries)]
    scope_text = (f"{scope[:-2]} {t['under']}" if scope.endswith("/*") else scope)
    return _environment().get_template("report.html.j2").render(
        data=data, t=t, lang=lang, show_all=show_all, troubled=troubled,
        classification=classification or t["classification_default"],
        scope_text=scope_text, generated_text=_date_text(data["generated_at"], lang),
        footer=f"{t['title']} — {scope_text}", open_count=len(shown),
        findings=None if grouped else [_row(f, say) for f in shown],
        groups=annex_groups(shown, say) if grouped else None, examples=EXAMPLES,
        evidence_lines=EVIDENCE_LINES, ministry_scores=ministry_scores,
        ministries=dict(ministries or {}), worst=worst, top_controls=top,
        signoff=dict(signoff or {}), max_rows=max_rows,
        skipped=[{"path": k["path"], "reason": say.reason(k["reason"])}
                 for k in data["skipped"]],
        agency_bars=data["agencies"][:max_bars], clause_bars=data["clauses"])


FORMATS = ("html", "pdf", "json", "csv", "oscal")
#: The keyword arguments each format takes (the CLI passes everything it has).
RUN = {"generated", "run", "skipped"}
HTML_OPTIONS = {"scope", "lang", "prior", "show_all", "framework", "classification",
                "ministries", "signoff", *RUN}
OPTIONS = {"html": HTML_OPTIONS, "pdf": HTML_OPTIONS,
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

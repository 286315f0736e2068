"""The printed report, as headless Chromium prints it and poppler reads it back: a cover
with scope, date and classification; the classification and "page N / M" on every page;
the sign-off block; titles whole (never cut inside a word or a Thai character cluster)."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from audit import messages, report
from audit.runner import ConfigSource, DeviceAudit, run
from tests.conftest import need
from tests.unit.audit.conftest import ANSWERED, LOGGED, NOW, UP, golden

#: Thai marks that sit on a base letter: a text token never starts with one unless a
#: cluster was cut (U+0E31, U+0E34-0E3A, U+0E47-0E4E).
THAI_MARKS = re.compile(r"(?:^|\s)[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]")


@pytest.fixture(scope="module")
def audits() -> list[DeviceAudit]:
    need(shutil.which("chromium") is not None and shutil.which("pdftotext") is not None,
         "needs Debian's chromium and poppler-utils (pdftotext)")
    return run([
        ConfigSource("dopa-pe1", "cisco_ios", golden("cisco_ios_good.conf"), "pe", "DOPA",
                     NOW, True, changes=LOGGED, monitor=UP,
                     blocks=ANSWERED),
        ConfigSource("mof-pe1", "cisco_ios", golden("cisco_ios_bad.conf"), "pe", "MOF", None),
        ConfigSource("mof-fw1", "juniper_junos", golden("juniper_junos_bad.conf"), "pe",
                     "MOF", None),
        ConfigSource("mof-r9", "frr", golden("frr_bad.conf"), "pe", "MOF", None),
    ], now=NOW)


def pages(pdf: Path) -> list[str]:
    """The PDF's text, page by page (pdftotext separates pages with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return [p for p in out.split("\f") if p.strip()]


def squeezed(text: str) -> str:
    """Text without white space (pdftotext puts spaces inside Thai words at tone marks)."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFC", text))
    # SARA AM comes back as NIKHAHIT + SARA AA (with any tone mark between)
    return re.sub("\u0e4d([\u0e48-\u0e4b]?)\u0e32", "\\1\u0e33", text)


@pytest.mark.parametrize("lang,classification,page_word", [
    ("th", None, "หน้า"), ("en", 'SECRET "GIN" <eyes only>', "Page")])
def test_every_page_has_marking_and_number(audits, tmp_path: Path, lang: str,  # noqa: ANN001
                                           classification: str | None,
                                           page_word: str) -> None:
    pdf = tmp_path / "report.pdf"
    report.write(pdf, audits, "pdf", lang=lang, scope="MOF", classification=classification,
                 ministries={"MOF": "MOF", "DOPA": "MOI"},
                 signoff={"prepared_by": "Somchai Jaidee"})
    text = pages(pdf)
    marking = classification or report.LABELS[lang]["classification_default"]
    assert len(text) >= 3
    for n, page in enumerate(text, 1):
        assert squeezed(marking) in squeezed(page), f"page {n} has no marking"
        assert re.search(rf"{page_word}\s+{n}\s*/\s*{len(text)}\b", page), f"page {n}"
    cover = squeezed(text[0])
    t = report.LABELS[lang]
    assert squeezed(t["title"]) in cover and squeezed(t["scope"]) + "MOF" in cover
    year = "2569" if lang == "th" else "2026"  # the Buddhist era in Thai
    assert year in cover and squeezed(t["classification"]) in cover
    body = squeezed("".join(text))
    for role in ("prepared_by", "reviewed_by", "approved_by"):
        assert squeezed(t[role]) in body
    assert "SomchaiJaidee" in body
    assert squeezed(t["by_ministry"]) in body and squeezed(t["annex"]) in body


def test_thai_titles_are_whole_in_the_pdf(audits, tmp_path: Path) -> None:  # noqa: ANN001
    pdf = tmp_path / "report.pdf"
    report.write(pdf, audits, "pdf", lang="th", scope="GIN")
    text = "".join(pages(pdf))
    body = squeezed(text)
    th = messages.catalogue("th")
    assert th is not None
    clauses = report.to_data(audits, lang="th")["clauses"]
    assert len(clauses) >= 4
    for c in clauses:  # the chart labels: wrapped by the browser, never sliced
        assert squeezed(c["title"]) in body, c["title"]
    controls = report.to_data(audits)["controls"]
    worst = max(controls, key=lambda c: c["fail"] + c["unknown"])  # first of the summary's
    assert squeezed(th.controls[worst["key"]]) in body, worst["key"]
    assert not THAI_MARKS.search(text), \
        "a Thai character cluster was cut"


def test_whole_gin_style_annex_prints_grouped(audits, tmp_path: Path) -> None:  # noqa: ANN001
    """Above the detail limit the annex is grouped (check and status, counts, examples),
    and still prints with every failing check's group titled in Thai."""
    grouped = tmp_path / "grouped.pdf"
    html = report.to_html(audits, lang="th", detail_limit=5)
    assert 'id="aggregated"' in html
    page = tmp_path / "grouped.html"
    page.write_text(html, encoding="utf-8")
    from audit.pdf import html_to_pdf

    html_to_pdf(page, grouped)
    body = squeezed("".join(pages(grouped)))
    th = messages.catalogue("th")
    assert th is not None
    failing = {f.check for a in audits for f in a.findings if f.status.value == "fail"}
    for check in failing:  # every failing check has its group, titled in Thai
        assert squeezed(th.checks[check]) in body, check
    open_count = sum(1 for a in audits for f in a.findings
                     if f.status.value in ("fail", "unknown"))
    assert squeezed(f"ผลการตรวจ{open_count}รายการ") in body


def test_a_hundred_agencies_print_as_a_short_document(tmp_path: Path) -> None:
    """A realistic GIN slice (100 devices of bench/audit_gen.py, one agency each, five
    ministries): past the detail limit by default, so the annex is grouped and the whole
    report stays a few pages while naming every ministry."""
    from audit import sources
    from bench.audit_gen import generate

    need(shutil.which("chromium") is not None and shutil.which("pdftotext") is not None,
         "needs Debian's chromium and poppler-utils (pdftotext)")
    audits = run(sources.from_folder(generate(tmp_path / "gin", 100)), now=NOW)
    open_count = sum(1 for a in audits for f in a.findings
                     if f.status.value in ("fail", "unknown"))
    assert open_count > report.DETAIL_LIMIT
    ministries = {a.agency: f"MIN{i % 5}" for i, a in enumerate(audits) if a.agency}
    pdf = tmp_path / "gin.pdf"
    report.write(pdf, audits, "pdf", lang="th", ministries=ministries)
    text = pages(pdf)
    body = squeezed("".join(text))
    assert len(text) < 25
    assert squeezed(f"ผลการตรวจ{open_count}รายการ") in body  # the grouped annex's note
    assert all(f"MIN{i}" in body for i in range(5))
    assert all(re.search(rf"หน้า\s+{n}\s*/\s*{len(text)}\b", p) for n, p in enumerate(text, 1))

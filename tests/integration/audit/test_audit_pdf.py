"""The HTML report printed to PDF by real headless Chromium, rasterised by pdftoppm: the
Thai labels are real text in an embedded Thai font, and the bar charts are drawn."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from audit import report
from audit.runner import ConfigSource, run
from tests.conftest import need
from tests.unit.audit.conftest import NOW, golden

THAI_FONTS = ("Garuda", "Loma", "Norasi", "Kinnari", "Sawasdee", "Umpush", "Waree", "Tlwg",
              "Laksaman", "Purisa", "Kinnari", "Sarabun", "NotoSansThai")
AMBER, RED = (0xEF, 0x8F, 0x00), (0xC6, 0x28, 0x28)


def _pixels(ppm: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (P6) file."""
    parts = ppm.split(maxsplit=4)
    assert parts[0] == b"P6" and parts[3] == b"255"
    return int(parts[1]), int(parts[2]), parts[4]


def _count(rgb: bytes, colour: tuple[int, int, int], tol: int = 24) -> int:
    hits = 0
    for i in range(0, len(rgb) - 2, 3):
        if all(abs(rgb[i + k] - colour[k]) <= tol for k in range(3)):
            hits += 1
    return hits


def test_pdf_has_thai_text_and_charts(tmp_path: Path) -> None:
    for tool in ("chromium", "pdftoppm", "pdftotext", "pdffonts"):
        need(shutil.which(tool) is not None,
             f"needs {tool}: apt-get install chromium fonts-thai-tlwg poppler-utils")
    audits = run([
        ConfigSource("dopa-pe1", "cisco_ios", golden("cisco_ios_good.conf"), "pe", "DOPA", NOW),
        ConfigSource("mof-pe1", "cisco_ios", golden("cisco_ios_bad.conf"), "pe", "MOF", NOW),
    ], now=NOW)
    pdf = tmp_path / "report.pdf"
    report.write(pdf, audits, "pdf", lang="th", scope="GIN")
    assert pdf.read_bytes()[:5] == b"%PDF-"

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "รายงานสถานะความมั่นคงปลอดภัย" in text
    assert "คะแนนตามหมวด" in text and "ไม่ผ่าน" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert any(name in fonts for name in THAI_FONTS), fonts

    # the charts follow the cover and the summary tables: every page is looked at
    subprocess.run(["pdftoppm", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    rgb = b"".join(_pixels(p.read_bytes())[2] for p in sorted(tmp_path.glob("page*.ppm")))
    # DOPA's good config scores 78 % (amber): the evidence no one gave (Prometheus, the
    # directory, backups) is unknown and counts against it, as it must
    assert _count(rgb, AMBER) > 50
    assert _count(rgb, RED) > 20  # MOF's low bar and "fail" cells
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "png")],
                   check=True)
    assert list(tmp_path.glob("png*.png"))

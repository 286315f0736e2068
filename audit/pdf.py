"""PDF of the HTML report, printed by headless Chromium (the page auditors open is the
page they file: one template, no second layout to keep in step).

Thai text needs a Thai font on the machine (Debian: fonts-thai-tlwg); Chromium embeds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from devices.errors import ConfigError, GinError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    """Path of a Chromium binary, or a clear error saying what to install."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError("a PDF report needs headless Chromium: "
                      "apt-get install chromium fonts-thai-tlwg")


def html_to_pdf(html: Path | str, pdf: Path | str, timeout: float = 120) -> None:
    """Print ``html`` (a file) to ``pdf`` with the page's own print CSS (A4 landscape)."""
    src, out = Path(html).resolve(), Path(pdf).resolve()
    with tempfile.TemporaryDirectory(prefix="gin-chromium-") as profile:
        cmd = [browser(), "--headless", "--disable-gpu", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", "--disable-extensions", "--no-first-run",
               f"--print-to-pdf={out}", src.as_uri()]
        if os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise GinError(f"Chromium did not print {src.name} within {timeout:.0f} s") from exc
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise GinError(f"Chromium could not print {src.name} to PDF: {tail[0]}")

"""PDF of the HTML report, printed by headless Chromium (the page auditors open is the
page they file: one template, no second layout to keep in step).

Thai text needs a Thai font on the machine (Debian: fonts-thai-tlwg); Chromium embeds it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from devices.errors import ConfigError, GinError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: What headless Chromium always says in a container, whatever happens (no D-Bus, no
#: cpufreq, no GPU): never the reason a print failed.
NOISE = re.compile(r"dbus|crashpad|cpufreq|gpu|unexpected operator|Fontconfig", re.I)


def browser() -> str:
    """Path of a Chromium binary, or a clear error saying what to install."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError("a PDF report needs headless Chromium: "
                      "apt-get install chromium fonts-thai-tlwg")


def html_to_pdf(html: Path | str, pdf: Path | str, timeout: float = 120) -> None:
    """Print ``html`` (a file) to ``pdf`` with the page's own print CSS (A4 landscape, page
    numbers and marking in the page margin boxes); ``pdf`` is replaced only by a whole PDF."""
    src, target = Path(html).resolve(), Path(pdf).resolve()
    with tempfile.TemporaryDirectory(prefix="gin-chromium-") as profile:
        out = Path(profile) / "printed.pdf"
        cmd = [browser(), "--headless", "--disable-gpu", "--no-pdf-header-footer",
               f"--user-data-dir={profile}/user", "--disable-extensions", "--no-first-run",
               f"--print-to-pdf={out}", src.as_uri()]
        if os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise GinError(f"Chromium did not print {src.name} within {timeout:.0f} s") from exc
        _check(done, src, out)
        shutil.move(out, target)


def _check(done: subprocess.CompletedProcess[str], src: Path, out: Path) -> None:
    if done.returncode == 0 and (not out.is_file() or out.stat().st_size == 0):
        # Chromium gives up on a page it cannot lay out (a many-megabyte table) silently
        size = src.stat().st_size / 1e6
        raise GinError(f"Chromium wrote no PDF for {src.name} ({size:.1f} MB of HTML): print "
                       "the report without --all-findings, or use --format csv/json for "
                       "every finding")
    if done.returncode != 0:
        said = [x for x in (done.stderr or "").strip().splitlines() if not NOISE.search(x)]
        raise GinError(f"Chromium could not print {src.name} to PDF "
                       f"(exit {done.returncode}): {(said or ['no message'])[-1]}")

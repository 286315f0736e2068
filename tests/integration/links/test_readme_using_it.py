"""The README's "Using it" block runs as written, in order, from ``gin directory samples
load`` through the VPN section, on a scratch directory and a real lab.

Each line is run by bash from a fresh working directory with its own ``GIN_DB`` and data
home; a line that exits non-zero fails the test with its output.  The one liberty taken:
the lab gets a per-run name (the brief forbids the shared default), so ``gin lab up`` and
``gin lab status`` get ``--name`` and the lab's interface names (``gin-0-2``) take that
name's prefix.  The SOC and audit sections are not run here (they need a Prometheus, a
capture and a web target of their own).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import require_lab, unique_lab_name

README = Path(__file__).parents[3] / "README.md"


def using_it_lines() -> list[str]:
    """Command lines of the "Using it" block up to the SOC section (comments dropped)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Using it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = []
    for line in block.splitlines():
        if line.startswith("# SOC"):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line)
    return lines


def test_the_block_starts_from_samples_and_keeps_the_order_that_broke() -> None:
    lines = [ln.split("#")[0].strip() for ln in using_it_lines()]
    order = [next(i for i, ln in enumerate(lines) if ln.startswith(p)) for p in (
        "gin directory samples load", "gin lab up", "gin link plan MOF --site MOF-HQ",
        "gin vpn key init", "gin vpn ca init", "gin vpn create")]
    assert order == sorted(order)


def test_using_it_runs_in_order(tmp_path: Path) -> None:
    require_lab()
    lab = unique_lab_name()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "GIN_DB": str(tmp_path / "scratch.sqlite"), "GIN_ACTOR": "readme",
           "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": f"{bindir}:{os.environ['PATH']}"}
    for key in ("GIN_VPN_KEY", "GIN_VPN_KEY_FILE"):
        env.pop(key, None)
    try:
        for line in using_it_lines():
            cmd = re.sub(r"^gin lab (up|status)\b", rf"gin lab \1 --name {lab}", line)
            cmd = re.sub(r"(?<=[:\s])gin-(\d+-\d+)\b", rf"{lab}-\1", cmd)
            run = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, f"{cmd}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    finally:
        subprocess.run(["gin", "lab", "down", "--name", lab], env=env, capture_output=True,
                       timeout=300)

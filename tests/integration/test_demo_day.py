"""scripts/demo-day.sh, the demo's "one day in the GIN", run as the README's user runs it.

The script plays the whole day through the ``gin`` CLI on a real lab (FRR, strongSwan, the
agent, a sensor, Prometheus, Alertmanager); this runs it under its own lab name and output
directory and reads what it printed: each act of the story, the alerts as Alertmanager held
them (with the agency named), the block cutting traffic both ways and the lift restoring it,
and the HTML report it wrote.  GinLinkDown fires two minutes after the cut: the script shows
it, or says it is still pending when the machine is slow (never a failure).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.conftest import require_lab, unique_lab_name
from tests.integration.monitor.monitor_support import have_prometheus
from tests.integration.sensor.test_sensor_alerts import ALERTMANAGER

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parents[2] / "scripts" / "demo-day.sh"


def test_demo_day_plays_the_story(tmp_path: Path) -> None:
    require_lab()
    need(os.path.exists("/usr/lib/ipsec/charon"), "needs strongSwan (deps/apt-vpn.txt)")
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(os.path.exists(ALERTMANAGER),
         "needs Alertmanager (apt-get install -y prometheus-alertmanager)")
    lab = unique_lab_name()
    env = {**os.environ, "GIN_DEMO_OUT": str(tmp_path), "GIN_DEMO_DAY_LAB": lab}
    env.pop("GIN_DB", None)
    try:
        done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env,
                              timeout=900, check=False)
    finally:  # the script's trap tears the lab down; a killed run must not leave it behind
        subprocess.run([sys.executable, "-m", "gin.cli", "lab", "down", "--name", lab],
                       capture_output=True, check=False)
    out = done.stdout
    assert done.returncode == 0, (done.returncode, out[-4000:], done.stderr[-4000:])
    assert "skipped" not in out, out[-2000:]
    for line in ("== Engineer: two agencies from a CSV",
                 "$ gin --actor engineer link provision mof-ce1 moe-ce2 --no-ping",
                 "$ gin --actor engineer vpn deploy mof-moe",
                 "Prometheus scrapes every router (through the agent) and the sensor",
                 "'agency': 'MOE'",  # the sensor's events name the attacked agency
                 "'source_agency': 'MOF'",
                 "FIRING GinHighThreatEvent severity=warning agency=MOE: ",
                 "h1 -> h2: cut; h2 -> h1: cut",
                 "h1 -> h2: restored; h2 -> h1: restored",
                 "$ gin directory history --limit 15",
                 "== One day in the GIN: done"):
        assert line in out, (line, out[-4000:])
    assert ("FIRING GinLinkDown severity=critical agency=MOE: " in out
            or "GinLinkDown still pending" in out), out[-3000:]
    assert "FAILED" not in out, out[-3000:]
    report = (tmp_path / "day-report.html").read_text()
    assert "GSI block 2001:db8:1001::10/128 added " in report
    assert "mof-moe" in report

"""The README's "Using it" block runs as written, in order, from ``gin directory samples
load`` through the VPN, SOC and audit sections to ``gin lab down``, on a scratch directory
and a real lab.

Each line is run by bash from one scratch working directory with its own ``GIN_DB`` and
data home; a line that exits non-zero fails the test with its output, unless the line's
own comment documents that exit code (``exit 5 on a high failure``) -- then that code, and
only that one, is accepted.  The liberties taken, each because the machine is shared:

* the lab gets a per-run name, so ``gin lab up|status|down`` get ``--name`` and the lab's
  interface names (``gin-0-2``) take that name's prefix;
* ``gin monitor agent`` is a daemon: it is started in the background (on a free port in
  place of 9436, which ``prometheus-config`` is told with ``--agent``) and stopped at the
  end; after ``prometheus-config`` a real Prometheus runs on the files it wrote (on a free
  port in place of 9090);
* ``gin monitor respond`` gets ``--netns`` of a scratch namespace, so the gateway's nftables
  block lands there and not on this host (the edge routers it pushes to are the lab's);
* the inputs a user brings are the test's: ``capture.pcap`` (a port scan), ``received/``
  (configs an agency sent: the lab routers' backed-up configs), ``etc-copies/`` (their
  /etc files) and the public service www.mof.example.go.th, a real nginx on loopback (on
  a free port) whose name only the web lab's dnsmasq knows: ``gin audit web`` gets that
  ``--nameserver`` and the lab CA's ``--ca-file``, so no DNS query leaves the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.integration.conftest import require_lab, unique_lab_name
from tests.integration.monitor.monitor_support import PromServer, free_tcp_port

README = Path(__file__).parents[3] / "README.md"
AGENT_PORT, PROMETHEUS = "127.0.0.1:9436", "http://127.0.0.1:9090"
SERVICE = "https://www.mof.example.go.th/"


def using_it_lines() -> list[str]:
    """Command lines of the "Using it" block, each with its comment and the indented
    comment lines that continue it; section headings (``# SOC: ...``) dropped."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Using it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines: list[str] = []
    for line in block.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.lstrip().startswith("#"):
            if lines:
                lines[-1] += " " + line.strip().lstrip("#").strip()
            continue
        lines.append(line)
    return lines


def documented_exit(line: str) -> int | None:
    """The exit code a line's own comment says it ends with (``exit 5 on ...``)."""
    comment = line.split("#", 1)[1] if "#" in line else ""
    m = re.search(r"\bexit (\d+) on\b", comment)
    return int(m.group(1)) if m else None


def test_the_block_starts_from_samples_and_keeps_the_order_that_broke() -> None:
    lines = [ln.split("#")[0].strip() for ln in using_it_lines()]
    order = [next(i for i, ln in enumerate(lines) if ln.startswith(p)) for p in (
        "gin directory samples load", "gin lab up", "gin link plan MOF --site MOF-HQ",
        "gin vpn key init", "gin vpn ca init", "gin vpn create", "gin monitor agent",
        "gin monitor prometheus-config", "gin audit backup", "gin audit check",
        "gin audit report --run latest", "gin lab down")]
    assert order == sorted(order)
    assert lines[-1].startswith("gin lab down")


def _capture(path: Path) -> None:
    """A port scan from outside the GIN: what the sensor line reads."""
    from scapy.all import TCP, Ether, IPv6, wrpcap

    pkts = [Ether(src="02:00:00:00:66:66", dst="02:00:00:00:00:01")
            / IPv6(src="2001:db8:bad::1", dst="2001:db8:1::10")
            / TCP(sport=40000, dport=1000 + p, flags="S") for p in range(300)]
    for i, p in enumerate(pkts):
        p.time = 1_790_000_000.0 + i / 100
    wrpcap(str(path), pkts, linktype=1)


@pytest.fixture
def web() -> Iterator[Any]:
    """www.mof.example.go.th as a real nginx on loopback, its name served by the web lab's
    own dnsmasq (no DNS query leaves the machine), its certificate from the lab's CA."""
    for tool in ("nginx", "dnsmasq"):
        need(shutil.which(tool) is not None or Path(f"/usr/sbin/{tool}").exists(),
             f"needs {tool} (deps/apt-web.txt)")
    from audit.web.lab import WebLab

    with WebLab({"www": "good"}, prefix="readme", domain="mof.example.go.th") as lab:
        yield lab


def _wait_serving(url: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the agent exited: {proc.communicate()[0][-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the agent did not serve {url}")


def _user_inputs(work: Path, data: Path) -> None:
    """``received/`` and ``etc-copies/`` from what ``gin audit backup --host-files`` kept:
    the configs and /etc files a user would have been sent."""
    backups = data / "gin" / "backups"
    received, etc = work / "received", work / "etc-copies"
    received.mkdir(exist_ok=True)
    etc.mkdir(exist_ok=True)
    for cfg in sorted(backups.rglob("*")):
        if not cfg.is_file():
            continue
        rel = cfg.relative_to(backups)
        if "etc" in rel.parts:
            i = rel.parts.index("etc")
            dest = etc / rel.parts[0] / Path(*rel.parts[i:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cfg, dest)
        elif cfg.suffix in (".cfg", ".conf", ".txt"):
            shutil.copyfile(cfg, received / f"{rel.parts[0]}.cfg")


def test_using_it_runs_in_order(tmp_path: Path, web: Any) -> None:
    require_lab()
    lab = unique_lab_name()
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "GIN_DB": str(work / "scratch.sqlite"), "GIN_ACTOR": "readme",
           "XDG_DATA_HOME": str(data), "PATH": f"{bindir}:{os.environ['PATH']}"}
    for key in ("GIN_VPN_KEY", "GIN_VPN_KEY_FILE", "GIN_PROMETHEUS_URL", "GIN_BACKUP_DIR",
                "GIN_WEB_EVIDENCE_DIR"):
        env.pop(key, None)
    _capture(work / "capture.pcap")
    agent_port = f"127.0.0.1:{free_tcp_port()}"
    gateway_ns = f"{lab}gw"
    subprocess.run(["ip", "netns", "add", gateway_ns], check=True)
    agent: subprocess.Popen[str] | None = None
    prom: PromServer | None = None
    try:
        for line in using_it_lines():
            cmd = re.sub(r"^gin lab (up|status|down)\b", rf"gin lab \1 --name {lab}", line)
            cmd = re.sub(r"(?<=[:\s])gin-(\d+-\d+)\b", rf"{lab}-\1", cmd)
            cmd = cmd.replace(AGENT_PORT, agent_port).replace(SERVICE, web.servers["www"].url)
            if prom is not None:
                cmd = cmd.replace(PROMETHEUS, prom.url)
            if cmd.startswith("gin monitor respond"):
                cmd = cmd.replace("gin monitor respond", "gin monitor respond --netns "
                                  + gateway_ns, 1)
            if cmd.startswith("gin monitor prometheus-config"):
                cmd = cmd.replace("prometheus-config", "prometheus-config --agent "
                                  f"local={agent_port}", 1)
            if cmd.startswith("gin audit web"):
                cmd = cmd.replace("gin audit web", f"gin audit web --nameserver "
                                  f"{web.nameserver} --ca-file {web.ca_file}", 1)
            if cmd.startswith("gin audit check --configs"):
                _user_inputs(work, data)
            if cmd.startswith("gin monitor agent"):
                agent = subprocess.Popen(["bash", "-c", "exec " + cmd.split("#")[0]],
                                         cwd=work, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
                _wait_serving(f"http://{agent_port}/metrics", agent)
                continue
            run = subprocess.run(["bash", "-c", cmd], cwd=work, env=env,
                                 capture_output=True, text=True, timeout=900)
            allowed = {0} | ({documented_exit(line)} - {None})
            assert run.returncode in allowed, (
                f"{cmd}\nexit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
            if cmd.startswith("gin monitor prometheus-config"):
                prom = PromServer(work / "prom").start()
                # the joint: Prometheus scrapes the lab's routers through the agent
                prom.wait_for('gin_snmp_up{device="pe1"} == 1', timeout=120)
        # what the SOC and audit lines left behind, as their users would look for it
        events = (work / "events.jsonl").read_text()
        assert '"type": "port_scan"' in events and '"source": "2001:db8:bad::1"' in events
        ruleset = subprocess.run(["ip", "netns", "exec", gateway_ns, "nft", "list", "ruleset"],
                                 capture_output=True, text=True, check=True).stdout
        assert "2001:db8:bad::1" in ruleset  # blocked for 600 s: --expire kept it
        assert (work / "posture.html").stat().st_size and (work / "moi.json").stat().st_size
        assert list((work / "dashboards").glob("*.json"))
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(30)
        if prom is not None:
            prom.stop()
        subprocess.run(["gin", "lab", "down", "--name", lab], env=env, capture_output=True,
                       timeout=300)
        subprocess.run(["ip", "netns", "del", gateway_ns], capture_output=True)

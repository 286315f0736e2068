"""On the lab's FRR routers (real snmpd in each namespace, registered in the directory):
the agent polls them over SNMPv3/IPv6, Prometheus scrapes it through the generated config,
and a link taken down at the far end flips gin_if_oper_up and raises GinLinkDown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from monitor_support import PromServer, free_tcp_port, have_prometheus, need

from monitor.prometheus.config import AgentSpec, directory_inventory, write_all

pytestmark = pytest.mark.integration

AGENT = ("import sys; from gin.cli import cli, main; from gin.commands.monitor import monitor; "
         "cli.add_command(monitor); sys.exit(main(sys.argv[1:]))")


def test_link_down_in_the_lab(gin_lab: Any, gin_lab_directory: Any, tmp_path: Path) -> None:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    pe = next(n for n in gin_lab.routers if n.role == "pe" and n.interfaces)
    iface = pe.interfaces[0]
    db = gin_lab_directory.engine.url.render_as_string(hide_password=False)
    listen = free_tcp_port()
    devices, contacts = directory_inventory(gin_lab_directory)
    assert pe.name in {d["device"] for d in devices}
    write_all(tmp_path / "prom", devices, contacts, [AgentSpec("lab", f"127.0.0.1:{listen}")],
              scrape_interval="1s", alertmanager=None)
    agent = subprocess.Popen([sys.executable, "-c", AGENT, "--db", db, "monitor", "agent",
                              "--listen", f"127.0.0.1:{listen}", "--interval", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = PromServer(tmp_path / "prom")
    oper = f'gin_if_oper_up{{device="{pe.name}",ifname="{iface.name}"}}'
    try:
        prom.start()
        up = prom.wait_for("gin_snmp_up == 1", cond=lambda r: len(r) == len(devices),
                           timeout=60)
        assert {s["metric"]["device"] for s in up} == {d["device"] for d in devices}
        assert prom.wait_for(oper)[0]["value"][1] == "1"
        gin_lab.exec(iface.peer_node, ["ip", "link", "set", iface.peer_ifname, "down"])
        prom.wait_for(f"{oper} == 0", timeout=30)
        admin = prom.query(f'gin_if_admin_up{{device="{pe.name}",ifname="{iface.name}"}}')
        assert admin[0]["value"][1] == "1"  # our end is still administratively up
        alert = prom.wait_for(f'ALERTS{{alertname="GinLinkDown",device="{pe.name}",'
                              f'ifname="{iface.name}"}}', timeout=30)
        assert alert[0]["metric"]["alertstate"] in ("pending", "firing")
        assert alert[0]["metric"]["severity"] == "critical"
    finally:
        gin_lab.exec(iface.peer_node, ["ip", "link", "set", iface.peer_ifname, "up"])
        prom.stop()
        agent.terminate()
        agent.wait(10)


def test_poll_command_on_the_lab(gin_lab: Any, gin_lab_directory: Any) -> None:
    import json

    db = gin_lab_directory.engine.url.render_as_string(hide_password=False)
    proc = subprocess.run([sys.executable, "-c", AGENT, "--db", db, "monitor", "poll", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    devices = json.loads(proc.stdout)["devices"]
    assert devices and all(d["up"] and d["version"] == "v3" for d in devices)
    assert all(d["interfaces"] >= 2 for d in devices)
    secret = gin_lab.credentials()["snmp"]
    assert secret["auth_key"] not in proc.stdout + proc.stderr

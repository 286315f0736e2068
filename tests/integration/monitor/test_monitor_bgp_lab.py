"""BGP session state from the lab's real FRR (bgpd -M snmp, AgentX to the router's snmpd):
the PE iBGP session shows gin_bgp_peer_up 1; `neighbor X shutdown` on one side makes both
ends export 0 and Prometheus raises GinBgpSessionDown with the poller's labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from monitor_support import PromServer, free_tcp_port, have_prometheus, need

from gin.lab.frr import core_v4
from gin.lab.snmpd import frr_snmp_available
from monitor.prometheus.config import AgentSpec, directory_inventory, write_all

pytestmark = pytest.mark.integration

AGENT = ("import sys; from gin.cli import cli, main; from gin.commands.monitor import monitor; "
         "cli.add_command(monitor); sys.exit(main(sys.argv[1:]))")


def test_bgp_session_down_in_the_lab(gin_lab: Any, gin_lab_directory: Any,
                                     tmp_path: Path) -> None:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(frr_snmp_available(), "needs FRR's SNMP module (apt-get install -y frr-snmp)")
    pe = next(n for n in gin_lab.routers if n.role == "pe" and any(i.core for i in n.interfaces))
    core = next(i for i in pe.interfaces if i.core)
    addresses = core_v4(gin_lab)
    peer = str(addresses[(core.peer_node, core.peer_ifname)].ip)  # far end, as pe sees it
    back = str(addresses[(pe.name, core.name)].ip)  # pe, as the far end sees it
    db = gin_lab_directory.engine.url.render_as_string(hide_password=False)
    listen = free_tcp_port()
    devices, contacts = directory_inventory(gin_lab_directory)
    write_all(tmp_path / "prom", devices, contacts, [AgentSpec("lab", f"127.0.0.1:{listen}")],
              scrape_interval="1s", alertmanager=None)
    agent = subprocess.Popen([sys.executable, "-c", AGENT, "--db", db, "monitor", "agent",
                              "--listen", f"127.0.0.1:{listen}", "--interval", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = PromServer(tmp_path / "prom")
    here = f'gin_bgp_peer_up{{device="{pe.name}",peer="{peer}"}}'
    there = f'gin_bgp_peer_up{{device="{core.peer_node}",peer="{back}"}}'
    router = f"router bgp {pe.asn}"
    try:
        prom.start()
        up = prom.wait_for(f"{here} == 1", timeout=60)
        assert up[0]["metric"]["agency"] and up[0]["metric"]["site"]
        prom.wait_for(f"{there} == 1", timeout=30)
        # waited for, not read once: on a loaded machine one poll's BGP walk (bgpd answers
        # through AgentX) can miss, and Prometheus then marks the series stale for a moment
        state = prom.wait_for(f'gin_bgp_peer_state{{device="{pe.name}",peer="{peer}"}}')
        assert state[0]["value"][1] == "6"  # established
        remote_as = prom.wait_for(
            f'gin_bgp_peer_remote_as{{device="{pe.name}",peer="{peer}"}}')
        assert remote_as[0]["value"][1] == str(pe.asn)  # iBGP
        # devices without BGP (the CEs here) export no BGP samples and no error
        ce = next(n for n in gin_lab.routers if n.role == "ce")
        assert not prom.query(f'gin_bgp_peer_up{{device="{ce.name}"}}')
        prom.wait_for(f'gin_snmp_up{{device="{ce.name}"}} == 1', timeout=30)  # waited for, too

        gin_lab.vtysh(pe.name, "configure terminal", router, f"neighbor {peer} shutdown")
        prom.wait_for(f"{here} == 0", timeout=30)
        prom.wait_for(f"{there} == 0", timeout=30)  # the far end sees it too
        alert = prom.wait_for(f'ALERTS{{alertname="GinBgpSessionDown",device="{pe.name}",'
                              f'peer="{peer}"}}', timeout=30)
        labels = alert[0]["metric"]
        assert labels["alertstate"] in ("pending", "firing")
        assert labels["severity"] == "critical"
        assert {"agency", "site"} <= set(labels)  # what the annotations print
    finally:
        gin_lab.vtysh(pe.name, "configure terminal", router, f"no neighbor {peer} shutdown")
        prom.stop()
        agent.terminate()
        agent.wait(10)

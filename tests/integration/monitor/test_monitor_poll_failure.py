"""A device whose SNMP agent stops answering while one of its links is down, all real: a
net-snmp snmpd that reports a veth administratively up with its peer down, the agent
(``gin monitor agent``) polling it, and Prometheus on ``gin monitor prometheus-config``'s
files evaluating gin's rules.

snmpd is then frozen (SIGSTOP: every poll times out) and thawed.  While it is frozen the
agent exports ``gin_snmp_up 0`` with the reason and no interface values (no stale data),
Prometheus sees the interface series go stale, and yet GinLinkDown stays the same alert:
its ``activeAt`` does not move, so its ``for:`` never restarts because of a failed poll.
The agent's log says each of these in words, as it does why a device is not polled at all
(no SNMP credentials; a threat sensor).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from monitor_support import PromServer, free_tcp_port, have_prometheus, need
from test_monitor_agent import AGENT, add_device, metrics, wait_until_serving, write_secret

from directory import store
from directory.store import Directory
from monitor.prometheus.config import AgentSpec, directory_inventory, write_all
from monitor.snmp.snmpd import SNMPD, SnmpdInstance, loopback_endpoints

pytestmark = pytest.mark.integration

DEVICE = "edge1"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def down_link() -> Iterator[str]:
    """A veth in the root namespace, up, whose peer is down: admin up, oper down."""
    need(os.geteuid() == 0, "needs root (creates a veth pair)")
    name = f"gpf{os.getpid() % 100000}"
    sh("ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
    try:
        sh("ip", "link", "set", f"{name}a", "up")
        yield f"{name}a"
    finally:
        subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True)


@pytest.fixture
def setup(tmp_path: Path, down_link: str) -> Iterator[dict]:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(os.path.exists(SNMPD), "needs net-snmp snmpd (apt-get install -y snmpd snmp)")
    snmpd = SnmpdInstance(tmp_path / "snmpd", loopback_endpoints(1)).start()
    db = f"sqlite:///{tmp_path / 'dir.sqlite'}"
    Directory(db).engine.dispose()
    host, port = snmpd.endpoints[0]
    prof = tmp_path / "profiles.yaml"
    prof.write_text(yaml.safe_dump({"profiles": {
        "lab": {"version": "v3", "port": port, "timeout": 0.5, "retries": 0}}}))
    add_device(db, DEVICE, host, "lab", write_secret(tmp_path / "c.json", snmpd.credentials()))
    d = Directory(db, actor="tests")
    with d.transaction() as s:
        store.add_device(s, "MOF", "BKK", hostname="nocreds", role="ce", platform="frr",
                         snmp_address="127.0.0.2")
        store.add_device(s, "MOF", "BKK", hostname="ids1", role="sensor", platform="linux",
                         mgmt_address="127.0.0.3")
    d.close()
    listen = free_tcp_port()
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, "--db", db, "monitor", "agent", "--listen",
         f"127.0.0.1:{listen}", "--interval", "1", "--profiles", str(prof)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    d = Directory(db, actor="tests")
    try:
        devices, contacts = directory_inventory(d)
    finally:
        d.close()
    write_all(tmp_path / "prom", devices, contacts, [AgentSpec("local", f"127.0.0.1:{listen}")],
              scrape_interval="1s", alertmanager=None)
    prom = PromServer(tmp_path / "prom")
    try:
        wait_until_serving(agent, listen)
        prom.start()
        yield {"snmpd": snmpd, "prom": prom, "listen": listen, "ifname": down_link,
               "agent": agent}
    finally:
        prom.stop()
        if snmpd.proc is not None:
            snmpd.proc.send_signal(signal.SIGCONT)
        snmpd.stop()
        if agent.poll() is None:
            agent.kill()
        agent.wait()


def link_down_alerts(prom: PromServer, ifname: str) -> list[dict]:
    with urllib.request.urlopen(f"{prom.url}/api/v1/alerts", timeout=10) as r:
        alerts = json.load(r)["data"]["alerts"]
    return [a for a in alerts if a["labels"].get("alertname") == "GinLinkDown"
            and a["labels"].get("ifname") == ifname]


def test_link_down_alert_survives_failed_polls(setup: dict) -> None:
    prom: PromServer = setup["prom"]
    ifname, snmpd = setup["ifname"], setup["snmpd"]
    oper = f'gin_if_oper_up{{device="{DEVICE}",ifname="{ifname}"}}'
    prom.wait_for(f"{oper} == 0", timeout=90)
    prom.wait_for(f'gin_if_admin_up{{device="{DEVICE}",ifname="{ifname}"}} == 1')
    end = time.monotonic() + 60
    while not link_down_alerts(prom, ifname) and time.monotonic() < end:
        time.sleep(0.5)
    [before] = link_down_alerts(prom, ifname)
    assert before["state"] == "pending"  # for: 2m

    snmpd.proc.send_signal(signal.SIGSTOP)  # every poll now times out
    prom.wait_for(f'gin_snmp_up{{device="{DEVICE}"}} == 0', timeout=60)
    prom.wait_for(f'gin_snmp_last_error_info{{device="{DEVICE}",reason="timeout"}} == 1')
    # the agent keeps no stale values: the device's interface series are gone ...
    text = metrics(setup["listen"])
    assert f'gin_snmp_up{{agency="MOF",device="{DEVICE}",site="BKK"}} 0' in text
    assert not [line for line in text.splitlines()
                if line.startswith("gin_if_") and f'device="{DEVICE}"' in line]
    # ... so Prometheus has no current sample of the link (stale) ...
    prom.wait_for(oper, cond=lambda r: r == [], timeout=30)
    # ... and the alert is still the same one, pending since before the failure
    [during] = link_down_alerts(prom, ifname)
    assert during["activeAt"] == before["activeAt"]

    snmpd.proc.send_signal(signal.SIGCONT)
    prom.wait_for(f'gin_snmp_up{{device="{DEVICE}"}} == 1', timeout=60)
    prom.wait_for(f"{oper} == 0", timeout=30)
    [after] = link_down_alerts(prom, ifname)
    assert after["activeAt"] == before["activeAt"]

    agent: subprocess.Popen[bytes] = setup["agent"]
    agent.send_signal(signal.SIGTERM)
    log = agent.communicate(timeout=30)[0].decode()
    assert f"snmp target {DEVICE} (" in log and ") is down: timeout:" in log
    assert f"snmp target {DEVICE} (" in log and ") is up" in log
    assert ("snmp target nocreds (127.0.0.2:" in log and "cannot be polled: no SNMPv3 user"
            in log)
    assert ("not polled: ids1: a threat sensor, scraped over HTTP by the gin-sensor job"
            in log)

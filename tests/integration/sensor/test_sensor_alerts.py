"""Exporter -> Prometheus -> rule -> Alertmanager -> webhook, for the threat sensor, all real.

The sensor runs as the user runs it (``sensor run --interface``), capturing on the
root-namespace end of a veth whose other end is in an attacker namespace; the directory
names it (a device of role sensor) and owns the attacked prefix (MOF).  Prometheus runs
on the configuration ``gin monitor prometheus-config`` generates from that directory
(no hand-written scrape job), and sends to a real Alertmanager with the generated routes,
whose webhook is this test.  One SSH brute force (high) and one ARP spoof of MOF's gateway
(critical) must each arrive at the webhook, once, with the agency named; when the sensor
stops, the sensor-down rule takes hold on the real ``up`` series.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from directory import allocator, store
from directory.store import Directory
from monitor.prometheus.config import AgentSpec, generate
from tests.conftest import need
from tests.integration.monitor.monitor_support import PromServer, free_tcp_port, have_prometheus
from tests.integration.sensor.conftest import require_root_tools, sh

pytestmark = pytest.mark.integration

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
LAUNCHER = """
import os, sys, click
from gin.commands.sensor import sensor
from gin.context import Context

@click.group()
@click.pass_context
def root(ctx):
    ctx.obj = Context(db=os.environ["GIN_DB"], actor="sensor-test")

root.add_command(sensor)
root(sys.argv[1:])
"""
ATTACK = """
import sys
from scapy.all import ARP, IP, TCP, Ether, conf, sendp
conf.verb = 0
iface = sys.argv[1]
mac, rogue = "02:00:00:00:00:fe", "02:00:00:00:66:66"
sendp([Ether(src=rogue, dst="02:00:00:00:00:02") / IP(src="10.78.0.1", dst="10.77.0.2")
       / TCP(sport=40000 + i, dport=22, flags="S") for i in range(40)], iface=iface)
sendp([Ether(src=m, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, psrc="10.77.0.254", hwsrc=m,
                                                  pdst="10.77.0.2") for m in (mac, rogue)],
      iface=iface)
"""


class Webhook:
    """An HTTP endpoint collecting Alertmanager's webhook posts (path, payload)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gin"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[tuple[str, dict[str, Any]]]:
        return [(path, a) for path, body in self.posts for a in body["alerts"]
                if a["status"] == "firing"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[tuple[str, str, str]]:
    """(namespace, its veth end, the root-namespace end the sensor captures on)."""
    require_root_tools()
    tag = "gs" + secrets.token_hex(2)
    ns, inside, outside = f"{tag}a", f"{tag}x", f"{tag}y"
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
        sh("ip", "link", "set", inside, "netns", ns)
        sh("ip", "-n", ns, "link", "set", inside, "up")
        sh("sysctl", "-qw", f"net.ipv6.conf.{outside}.disable_ipv6=1")  # no chatter of ours
        sh("ip", "link", "set", outside, "up")
        yield ns, inside, outside
    finally:
        sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", outside, check=False)


def _directory(db: str) -> None:
    d = Directory(db, actor="tests")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        allocator.add_prefix(s, "10.77.0.0/24", role="agency", agency="MOF")
        store.add_agency(s, code="MOI", name_en="Interior")  # the brute force's source
        allocator.add_prefix(s, "10.78.0.0/24", role="agency", agency="MOI")
        store.add_device(s, "MOF", "BKK", hostname="ids-mof", role="sensor",
                         platform="linux", mgmt_address="127.0.0.1")
        store.add_device(s, "MOF", "BKK", hostname="mof-gw", role="ce", platform="frr",
                         mgmt_address="10.77.0.254")
    d.close()


def _wait(cond: Any, what: str, timeout: float, detail: Any = lambda: "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {detail()}")


def test_one_threat_event_reaches_the_webhook_with_the_agency(attacker, tmp_path: Path
                                                              ) -> None:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(os.path.exists(ALERTMANAGER),
         "needs Alertmanager (apt-get install -y prometheus-alertmanager)")
    ns, inside, outside = attacker
    db = f"sqlite:///{tmp_path / 'directory.sqlite'}"
    _directory(db)
    sensor_port, am_port = free_tcp_port(), free_tcp_port()
    hook = Webhook()
    d = Directory(db, actor="tests")
    try:
        done = generate(d, tmp_path / "prom", [AgentSpec("local", "127.0.0.1:1")],
                        scrape_interval="1s", alertmanager=f"127.0.0.1:{am_port}",
                        sensor_port=sensor_port, webhook=hook.url)
    finally:
        d.close()
    assert done.sensors == ["ids-mof"] and all(c["ok"] for c in done.checks)
    am = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={tmp_path / 'prom' / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
         "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "am.log", "wb"))  # noqa: SIM115
    sensor = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "sensor", "run", "--interface", outside,
         "--listen", f"127.0.0.1:{sensor_port}", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "GIN_DB": db})
    prom = PromServer(tmp_path / "prom")
    try:
        prom.start()
        prom.wait_for('up{job="gin-sensor",sensor="ids-mof"} == 1', timeout=90)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", ATTACK, inside],
                       check=True, capture_output=True, timeout=120)
        events = prom.wait_for("gin_threat_events_total", timeout=60,
                               cond=lambda r: len(r) >= 3)
        # agency: the attacked one; source_agency: the attacker's (MOI's host brute-forces
        # MOF, which is also traffic between two agencies; the ARP spoofer impersonates
        # MOF's own gateway)
        assert {(e["metric"]["type"], e["metric"]["severity"], e["metric"]["agency"],
                 e["metric"]["source_agency"]) for e in events} == {
            ("brute_force", "high", "MOF", "MOI"), ("arp_spoof", "critical", "MOF", "MOF"),
            ("segregation", "medium", "MOF", "MOI")}

        def arrived() -> set[str]:
            return {a["labels"]["alertname"] for _, a in hook.alerts()}

        # the high event goes to the SOC queue after its group wait (30 s): be generous
        _wait(lambda: {"GinHighThreatEvent", "GinCriticalThreatEvent"} <= arrived(),
              "both threat alerts at the webhook", 180, lambda: hook.posts)
        sensor.send_signal(signal.SIGTERM)
        out, err = sensor.communicate(timeout=30)
        # the sensor is gone: its job's up turns 0 and GinSensorDown is on its way
        down = prom.wait_for('ALERTS{alertname="GinSensorDown"}', timeout=60)
        assert down[0]["metric"]["sensor"] == "ids-mof"
    finally:
        prom.stop()
        if sensor.poll() is None:
            sensor.send_signal(signal.SIGTERM)
            out, err = sensor.communicate(timeout=30)
        am.terminate()
        am.wait(10)
        hook.close()
    assert sensor.returncode == 0, err
    by_name = {a["labels"]["alertname"]: (path, a) for path, a in hook.alerts()}
    path, high = by_name["GinHighThreatEvent"]
    assert path == "/gin" and high["labels"]["agency"] == "MOF"
    assert high["labels"]["source_agency"] == "MOI"
    assert "against MOF from source agency MOI" in high["annotations"]["description"]
    assert high["labels"]["type"] == "brute_force" and high["labels"]["severity"] == "warning"
    assert high["annotations"]["summary"] == (
        "High-severity threat event at MOF: brute_force")
    path, critical = by_name["GinCriticalThreatEvent"]
    assert path == "/gin/page" and critical["labels"]["agency"] == "MOF"
    assert critical["labels"]["type"] == "arp_spoof"
    # one event each: no spike, and the sensor's own summary agrees
    assert "GinThreatEventSpike" not in by_name
    summary = json.loads(out)["summary"]
    assert summary["events"] == 3 and summary["dropped"] == 0

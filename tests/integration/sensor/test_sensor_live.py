"""The sensor live on a veth while another namespace scans, floods and sends a rogue RA.

The sensor runs as the user would run it (the ``sensor run`` command, in the victim's
namespace, serving /metrics, with the opt-in automatic cut-off for port scans); the
attacker uses scapy.  The metrics endpoint and the event log must show exactly the three
attacks: one port scan, one ICMP flood, one rogue router advertisement; the scanner must
end up in the gateway's nftables set and in the directory's change log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from directory.store import Directory, history
from tests.conftest import need

pytestmark = pytest.mark.integration

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
from scapy.all import (Ether, IP, IPv6, TCP, ICMP, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr,
                       conf, sendp, getmacbyip)
conf.verb = 0
iface, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
mac = open(f"/sys/class/net/{iface}/address").read().strip()
peer = sys.argv[4]
eth = Ether(src=mac, dst=peer)
sendp([eth / IP(src=src, dst=dst) / TCP(sport=45000, dport=p, flags="S")
       for p in range(1, 301)], iface=iface)                                   # port scan
sendp([eth / IP(src=src, dst=dst) / ICMP(type=8, id=7, seq=i) for i in range(1500)],
      iface=iface)                                                              # ICMP flood
ra = (Ether(src="02:00:00:00:66:66", dst="33:33:00:00:00:01")
      / IPv6(src="fe80::666", dst="ff02::1", hlim=255) / ICMPv6ND_RA(routerlifetime=0)
      / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:66:66"))
sendp([ra] * 3, iface=iface)                                                    # rogue RA
"""

SCRAPE = """
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read()
      .decode())
"""


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def _scrape(pair, port: int) -> str:
    return pair.python(pair.b, SCRAPE, str(port)).stdout


def test_live_scan_flood_rogue_ra_show_in_metrics_and_event_log(netns_pair, tmp_path):
    pair = netns_pair
    pair.run(pair.b, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")  # no echo replies
    need(shutil.which("nft") is not None, "needs root/nftables (apt-get install -y nftables)")
    events = tmp_path / "events.jsonl"
    db = tmp_path / "directory.sqlite"
    port = 19000 + int(pair.a[2:6], 16) % 1000
    proc = subprocess.Popen(
        ["ip", "netns", "exec", pair.b, sys.executable, "-c", LAUNCHER, "sensor", "run",
         "--interface", pair.if_b, "--no-directory", "--events", str(events),
         "--listen", f"127.0.0.1:{port}", "--auto-block", "port_scan",
         "--bpf", "not udp port 9", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "GIN_DB": str(db)})
    try:
        deadline = time.monotonic() + 60
        while True:  # /metrics answers once the capture socket is open
            if proc.poll() is not None:
                pytest.fail(f"sensor exited early: {proc.stderr.read()}")
            if pair.python(pair.b, SCRAPE, str(port), check=False).returncode == 0:
                break
            assert time.monotonic() < deadline, "sensor did not start"
            time.sleep(0.3)
        peer_mac = pair.run(pair.b, "cat", f"/sys/class/net/{pair.if_b}/address").stdout.strip()
        pair.python(pair.a, ATTACK, pair.if_a, pair.v4_a, pair.v4_b, peer_mac, timeout=120)
        deadline = time.monotonic() + 20
        while True:
            text = _scrape(pair, port)
            if (_metric(text, "gin_sensor_packets_total") or 0) >= 1803 and all(
                    _metric(text, "gin_threat_events_total", type=t) for t in
                    ("port_scan", "icmp_flood", "rogue_ra")):
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    counted = {dict(re.findall(r'(\w+)="([^"]*)"', line))["type"]: float(line.split()[-1])
               for line in text.splitlines() if line.startswith("gin_threat_events_total{")}
    assert counted == {"port_scan": 1.0, "icmp_flood": 1.0, "rogue_ra": 1.0}
    assert _metric(text, "gin_sensor_dropped_packets_total") == 0
    assert _metric(text, "gin_sensor_malformed_packets_total") == 0

    log = [json.loads(x) for x in events.read_text().splitlines()]
    assert sorted(e["type"] for e in log) == ["icmp_flood", "port_scan", "rogue_ra"]
    by = {e["type"]: e for e in log}
    assert by["port_scan"]["source"] == pair.v4_a
    assert by["port_scan"]["evidence"]["distinct_ports"] >= 100
    assert by["icmp_flood"]["destination"] == pair.v4_b and by["icmp_flood"]["count"] >= 500
    assert by["rogue_ra"]["source"] == "fe80::666" and by["rogue_ra"]["count"] == 3
    summary = json.loads(out)["summary"]
    assert summary["events"] == 3 and summary["dropped"] == 0
    assert summary["blocked"] == [f"{pair.v4_a}/32"]
    assert f"{pair.v4_a}" in pair.run(pair.b, "nft", "list", "set", "inet", "gin_gsi",
                                      "blocked4").stdout
    d = Directory(f"sqlite:///{db}", actor="check")
    with d.transaction() as s:
        [ch] = history(s, object_type="sensor_block")
    assert ch.object_key == f"{pair.v4_a}/32" and ch.after["reason"] == "auto: port_scan"
    d.close()

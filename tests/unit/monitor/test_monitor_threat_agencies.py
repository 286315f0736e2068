"""Threat events name the attacked agency (``agency``: whose SOC contacts the alert goes
to) and, separately, the agency of the source (``source_agency``), on real packets through
the real detectors; the labels stay bounded (codes, never addresses) and the block still
acts on the source address."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from scapy.all import IP, TCP, Ether, wrpcap

from monitor.sensor.agency import PrefixResolver
from monitor.sensor.metrics import SensorCollector
from monitor.sensor.pcapfile import read_batches
from monitor.sensor.sensor import build_sensor

PREFIXES = {"10.1.0.0/16": "MOF", "10.2.0.0/16": "MOI"}
MAC, OTHER = "02:00:00:00:00:01", "02:00:00:00:00:02"


def _run(tmp_path: Path, src: str, dst: str, home: str | None = None) -> tuple[list, str]:
    pkts = [Ether(src=OTHER, dst=MAC) / IP(src=src, dst=dst)
            / TCP(sport=40000 + i, dport=22, flags="S") for i in range(40)]
    for i, p in enumerate(pkts):
        p.time = 1_790_000_000.0 + i / 100
    pcap = tmp_path / "brute.pcap"
    wrpcap(str(pcap), pkts, linktype=1)
    sensor = build_sensor(resolver=PrefixResolver(PREFIXES), routers=[], home_agency=home,
                          events_path=tmp_path / "events.jsonl")
    events = [e for e in sensor.run(read_batches(pcap)) if e.type == "brute_force"]
    reg = CollectorRegistry()
    reg.register(SensorCollector(sensor.stats, "eth1"))
    return events, generate_latest(reg).decode()


def test_an_attack_from_one_agency_on_another_names_both(tmp_path: Path) -> None:
    [ev], text = _run(tmp_path, "10.2.0.66", "10.1.0.10")
    assert (ev.agency, ev.source_agency, ev.source) == ("MOF", "MOI", "10.2.0.66")
    assert ('gin_threat_events_total{agency="MOF",severity="high",source_agency="MOI",'
            'type="brute_force"} 1.0') in text
    assert "10.2.0.66" not in text and "10.1.0.10" not in text
    line = (tmp_path / "events.jsonl").read_text().splitlines()[-1]
    assert '"agency": "MOF"' in line and '"source_agency": "MOI"' in line


def test_an_attack_from_outside_the_gin_has_an_unknown_source_agency(tmp_path: Path) -> None:
    [ev], text = _run(tmp_path, "198.51.100.7", "10.2.0.9", home="MOF")
    # the destination's agency wins over the sensor's home agency: it is the one attacked
    assert (ev.agency, ev.source_agency) == ("MOI", None)
    assert ('gin_threat_events_total{agency="MOI",severity="high",source_agency="unknown",'
            'type="brute_force"} 1.0') in text

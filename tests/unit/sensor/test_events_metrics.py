"""Event log (dedup, JSON lines) and Prometheus metrics (bounded labels, per batch)."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, generate_latest
from scapy.all import ICMP, IP, TCP

from monitor.sensor.detectors.base import Finding
from monitor.sensor.events import EventLog
from monitor.sensor.metrics import SensorCollector, SensorStats

from .conftest import timed


def test_event_log_lines_are_complete_json(run_pcap, tmp_path):
    pkts = timed(IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=40000, dport=p, flags="S")
                 for p in range(1, 300))
    run_pcap(pkts)
    [line] = (tmp_path / "events.jsonl").read_text().splitlines()
    rec = json.loads(line)
    assert set(rec) == {"time", "last_seen", "type", "severity", "source", "destination",
                        "agency", "source_agency", "count", "evidence"}
    assert rec["type"] == "port_scan" and rec["source"] == "10.1.1.1"
    assert rec["time"].startswith("2026-") and rec["count"] == 299


def test_dedup_quiet_period_and_max_age(tmp_path):
    log = EventLog(tmp_path / "e.jsonl", quiet_s=10, max_age_s=100)
    f = Finding("icmp_flood", "medium", "10.0.0.1", "1.2.3.4", "10.0.0.1", 5)
    assert log.add(f, 0) is not None
    assert log.add(f, 5) is None and log.expire(12) == []
    assert log.expire(16) != []  # quiet for 11 s
    assert log.add(f, 20) is not None  # a new attack: a new event
    for t in range(21, 130, 5):
        log.add(f, t)
        log.expire(t)
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [x["count"] for x in lines][:1] == [10]
    assert len(lines) == 3  # first attack, long attack cut at max_age, its remainder


def test_metrics_have_bounded_labels_and_sensor_counters(run_pcap):
    pkts = timed([IP(src="198.51.100.1", dst="10.2.0.1") / ICMP() for _ in range(300)]
                 + [IP(src=f"198.51.100.{i}", dst="10.2.0.1") / ICMP() for i in range(2, 200)],
                 rate=1000)
    run = run_pcap(pkts, settings={"icmp_flood": {"packets": 200}})
    reg = CollectorRegistry()
    reg.register(SensorCollector(run.stats, interface="pcap"))
    text = generate_latest(reg).decode()
    assert ('gin_threat_events_total{agency="unknown",severity="medium",'
            'source_agency="unknown",type="icmp_flood"} 1.0' in text)
    assert 'gin_sensor_packets_total{interface="pcap"} 498.0' in text
    assert 'gin_sensor_malformed_packets_total{interface="pcap"} 0.0' in text
    assert "gin_sensor_dropped_packets_total" in text and "gin_sensor_lag_seconds" in text
    assert "198.51.100" not in text and "10.2.0.1" not in text  # no per-IP labels


def test_stats_update_once_per_batch():
    stats = SensorStats()
    stats.count_event("port_scan", "medium", None, "MOI")
    assert stats.snapshot()["events"] == {("port_scan", "medium", "unknown", "MOI"): 1}


def test_live_sensor_closes_quiet_events_on_idle_ticks(tmp_path):
    from scapy.all import wrpcap

    from monitor.sensor.pcapfile import read_batches
    from monitor.sensor.sensor import build_sensor

    pcap = tmp_path / "scan.pcap"
    wrpcap(str(pcap), timed(IP(src="10.1.1.1", dst="10.2.2.2")
                            / TCP(sport=40000, dport=p, flags="S") for p in range(1, 200)))
    sensor = build_sensor(events_path=tmp_path / "e.jsonl", quiet_s=5, live=True)
    for batch in read_batches(pcap):
        sensor.process(batch)
    assert list(sensor.events.open) and not sensor.events.closed
    last = sensor.stats.last_packet_ts
    sensor.tick(last + 2)
    assert not sensor.events.closed  # still within the quiet period
    sensor.tick(last + 6)
    assert [e.type for e in sensor.events.closed] == ["port_scan"]
    assert json.loads((tmp_path / "e.jsonl").read_text())["count"] == 199
    assert sensor.stats.lag_seconds > 0  # live: age of the newest packet when processed

"""Prometheus metrics of the sensor: threat events by type/severity/agency, self-metrics.

The sensor updates plain integers once per batch; the collector reads them when Prometheus
scrapes.  Nothing is touched per packet (that would cost ~0.5 us a packet), and no label
carries an address: labels are bounded (type, severity, agency, source_agency).

``agency`` is the attacked agency and ``source_agency`` the agency of the source address
("unknown" for either when no agency owns it, e.g. an attacker outside the GIN).  Both are
directory agency codes, so the series stay bounded by the (type, victim, source) pairs
that actually occurred; the source address itself is in the event log, never a label.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass
class SensorStats:
    """Running totals of one sensor (updated by the sensor thread, read by scrapes)."""

    packets: int = 0
    bytes: int = 0
    malformed: int = 0
    dropped: int = 0
    batches: int = 0
    lag_seconds: float = 0.0
    last_packet_ts: float = 0.0
    started: float = field(default_factory=time.time)
    events: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_event(self, type_: str, severity: str, agency: str | None,
                    source_agency: str | None = None) -> None:
        with self.lock:
            self.events[(type_, severity, agency or "unknown", source_agency or "unknown")] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return {"packets": self.packets, "bytes": self.bytes, "malformed": self.malformed,
                    "dropped": self.dropped, "batches": self.batches,
                    "lag_seconds": self.lag_seconds, "events": dict(self.events)}


class SensorCollector(Collector):
    """Yields the sensor's metrics from :class:`SensorStats` at scrape time."""

    def __init__(self, stats: SensorStats, interface: str = "") -> None:
        self.stats = stats
        self.interface = interface

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap = self.stats.snapshot()
        ev = CounterMetricFamily("gin_threat_events_total",
                                 "Threat events detected by the sensor (deduplicated).",
                                 labels=["type", "severity", "agency", "source_agency"])
        for (type_, severity, agency, source_agency), n in sorted(snap["events"].items()):
            ev.add_metric([type_, severity, agency, source_agency], n)
        yield ev
        for name, doc, key in (
            ("gin_sensor_packets", "Packets processed by the sensor.", "packets"),
            ("gin_sensor_bytes", "Bytes (on the wire) processed by the sensor.", "bytes"),
            ("gin_sensor_dropped_packets", "Packets the kernel dropped before the sensor "
             "read them.", "dropped"),
            ("gin_sensor_malformed_packets", "Packets or records too broken to parse.",
             "malformed"),
        ):
            c = CounterMetricFamily(name, doc, labels=["interface"])
            c.add_metric([self.interface], snap[key])
            yield c
        lag = GaugeMetricFamily("gin_sensor_lag_seconds",
                                "Age of the newest processed packet when it was processed "
                                "(live capture; 0 when reading files).", labels=["interface"])
        lag.add_metric([self.interface], snap["lag_seconds"])
        yield lag

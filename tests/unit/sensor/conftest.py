"""Shared helpers for sensor unit tests: craft packets with scapy, run them through a pcap."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

pytest.importorskip("scapy")
pytest.importorskip("numba")

from scapy.all import IP, Ether, IPv6, Packet, wrpcap  # noqa: E402
from scapy.utils import wrpcapng  # noqa: E402

from monitor.sensor.events import Event  # noqa: E402
from monitor.sensor.pcapfile import read_batches  # noqa: E402
from monitor.sensor.sensor import Sensor, build_sensor  # noqa: E402

T0 = 1_790_000_000.0
MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def timed(packets: Iterable[Packet], start: float = T0, rate: float = 1000.0) -> list[Packet]:
    """Give packets increasing timestamps at ``rate`` packets per second; bare IP/IPv6
    packets get an Ethernet header (anything else, e.g. ``Raw``, is written as is)."""
    out = []
    for i, p in enumerate(packets):
        if isinstance(p, IP | IPv6):
            p = Ether(src=MAC_A, dst=MAC_B) / p
        p.time = start + i / rate
        out.append(p)
    return out


class Run:
    """The outcome of running packets through a sensor."""

    def __init__(self, sensor: Sensor, events: list[Event]) -> None:
        self.sensor = sensor
        self.events = events
        self.stats = sensor.stats

    def of(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]

    def types(self) -> set[str]:
        return {e.type for e in self.events}


@pytest.fixture
def run_pcap(tmp_path: Path):
    """``run_pcap(packets, settings=..., resolver=..., routers=..., ng=False)`` -> Run."""

    def run(packets: Sequence[Packet], settings: dict | None = None, resolver=None,
            routers: list[str] | None = None, ng: bool = False,
            path: Path | None = None) -> Run:
        pcap = path or tmp_path / ("t.pcapng" if ng else "t.pcap")
        if path is None:
            if ng:
                wrpcapng(str(pcap), list(packets))
            else:
                wrpcap(str(pcap), list(packets), linktype=1)
        sensor = build_sensor(settings, resolver=resolver, routers=routers,
                              events_path=tmp_path / "events.jsonl")
        events = sensor.run(read_batches(pcap))
        sensor.events.close()
        return Run(sensor, events)

    return run

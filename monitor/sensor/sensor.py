"""The sensor: batches in, detectors over one-second slices, events and metrics out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from .agency import Resolver, text_resolver
from .batch import Batch
from .detectors import Detector, Slice, build
from .events import Event, EventLog
from .metrics import SensorStats
from .parse import parse, warm_up


@dataclass
class Sensor:
    """Runs every detector over each batch, one second of packet time at a time.

    Time comes from packet timestamps, so a pcap replays with the same windows it was
    captured with; timestamps that go backwards are clamped to the newest second seen
    (late packets join the current bucket).  ``on_event`` is called once when an event
    opens (e.g. the automatic GSI cut-off), never per packet.
    """

    detectors: list[Detector]
    events: EventLog = field(default_factory=EventLog)
    stats: SensorStats = field(default_factory=SensorStats)
    on_event: Callable[[Event], None] | None = None
    live: bool = False
    _sec: int = field(default=-(2**62), init=False)

    def process(self, batch: Batch) -> None:
        """Parse and inspect one batch; update stats once for the whole batch."""
        f = parse(batch)
        n = len(f)
        malformed = int(batch.malformed) + (int(np.count_nonzero(f.malformed)) if n else 0)
        if n:
            secs = np.floor(f.ts).astype(np.int64)
            secs[0] = max(int(secs[0]), self._sec)
            secs = np.maximum.accumulate(secs)
            cuts = np.flatnonzero(secs[1:] != secs[:-1]) + 1
            starts = [0, *cuts.tolist()]
            ends = [*cuts.tolist(), n]
            for a, b in zip(starts, ends, strict=True):
                self._slice(Slice(f.slice(a, b), int(secs[a])))
        with self.stats.lock:
            self.stats.packets += n
            self.stats.bytes += int(batch.wires.sum()) if n else 0
            self.stats.malformed += malformed
            self.stats.dropped += int(batch.dropped)
            self.stats.batches += 1
            if n:
                self.stats.last_packet_ts = float(f.ts[-1])
                self.stats.lag_seconds = max(0.0, time.time() - float(f.ts[-1])) if self.live \
                    else 0.0

    def _slice(self, s: Slice) -> None:
        if s.sec != self._sec:
            self._sec = s.sec
            self.events.expire(s.sec)
        for det in self.detectors:
            for finding in det.process(s):
                ev = self.events.add(finding, float(s.sec))
                if ev is not None:
                    self.stats.count_event(ev.type, ev.severity, ev.agency,
                                           ev.source_agency)
                    if self.on_event is not None:
                        self.on_event(ev)

    def tick(self, now: float | None = None) -> None:
        """Close quiet events when no packets arrive (live capture on an idle link)."""
        self.events.expire(time.time() if now is None else now)

    def run(self, batches: Iterable[Batch]) -> list[Event]:
        """Process every batch, then close all events; returns the events closed."""
        for batch in batches:
            self.process(batch)
            if self.live and not len(batch):
                self.tick()
        return self.finish()

    def finish(self) -> list[Event]:
        self.events.close_all()
        return list(self.events.closed)


def build_sensor(settings: dict | None = None, resolver: Resolver | None = None,
                 routers: list[str] | None = None, events_path: str | Path | IO[str] | None = None,
                 quiet_s: float = 10, max_age_s: float = 300, live: bool = False,
                 on_event: Callable[[Event], None] | None = None,
                 home_agency: str | None = None) -> Sensor:
    """A sensor with every enabled detector, the event log, and agency resolution wired
    (``home_agency``: the agency of events whose addresses belong to none)."""
    warm_up()
    agency_of = text_resolver(resolver) if resolver is not None else None
    log = EventLog(events_path, quiet_s=quiet_s, max_age_s=max_age_s, agency_of=agency_of,
                   home_agency=home_agency)
    return Sensor(build(settings, resolver=resolver, routers=routers), events=log, live=live,
                  on_event=on_event)

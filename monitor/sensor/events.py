"""Threat events: findings deduplicated per subject, written as JSON lines for a SIEM.

A detector reports the same subject every second while an attack goes on; the log turns
that stream into one event per attack: the event opens at the first finding (metrics
count it at once), absorbs further findings (``count`` grows), and is written when the
subject has been quiet for ``quiet_s`` seconds, or every ``max_age_s`` seconds for a
long attack, or when the sensor stops.  One line per event keeps the log small and easy
to tail (``tail -F events.jsonl | your-siem-shipper``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .detectors.base import Finding
from .errors import SensorError


def _iso(sec: float) -> str:
    return dt.datetime.fromtimestamp(sec, dt.UTC).isoformat(timespec="seconds")


@dataclass
class Event:
    """One deduplicated threat: what, who, how much, and the evidence.

    ``agency`` is the attacked agency (the victim's, whose SOC contacts must hear of it);
    ``source_agency`` the agency the source address belongs to, when it belongs to one (an
    attack from inside the GIN: the agency to call about its host).  The block acts on
    ``source``, the address, whatever its agency.
    """

    type: str
    severity: str
    key: str
    source: str | None
    destination: str | None
    agency: str | None
    first_seen: float
    last_seen: float
    count: int
    evidence: dict[str, Any] = field(default_factory=dict)
    source_agency: str | None = None

    def record(self) -> dict[str, Any]:
        """The JSON object written to the event log."""
        return {"time": _iso(self.first_seen), "last_seen": _iso(self.last_seen),
                "type": self.type, "severity": self.severity, "source": self.source,
                "destination": self.destination, "agency": self.agency,
                "source_agency": self.source_agency, "count": self.count,
                "evidence": self.evidence}


class EventLog:
    """Deduplicates findings into events and appends closed events to a JSON-lines file.

    ``agency_of`` maps an address (text) to its agency code; it is called once per new
    event, never per packet.  The attacked agency is the destination's; when the
    destination belongs to no agency (a rogue RA to ff02::1, ARP on the LAN, a sweep, a
    hit on an outside block-listed address) it is ``home_agency``, the agency whose LAN
    the sensor watches, and without one the source's (the LAN host the finding is about).
    """

    def __init__(self, path: str | Path | IO[str] | None = None, quiet_s: float = 10,
                 max_age_s: float = 300,
                 agency_of: Callable[[str], str | None] | None = None,
                 home_agency: str | None = None) -> None:
        self.quiet_s, self.max_age_s = quiet_s, max_age_s
        self.agency_of = agency_of
        self.home_agency = home_agency
        self.open: dict[tuple[str, str], Event] = {}
        self.closed: list[Event] = []
        self.keep_closed = 10_000
        self._own = False
        self._fh: IO[str] | None
        if path is None:
            self._fh = None
        elif isinstance(path, str | Path):
            try:
                self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - see close()
            except OSError as exc:
                raise SensorError(f"cannot write the event log {str(path)!r}: "
                                  f"{exc.strerror}") from None
            self._own = True
        else:
            self._fh = path

    def add(self, finding: Finding, now: float) -> Event | None:
        """Merge a finding; returns the event if this finding opened a new one."""
        key = (finding.type, finding.key)
        ev = self.open.get(key)
        if ev is not None:
            ev.count += finding.count
            ev.last_seen = max(ev.last_seen, now)
            ev.evidence.update(finding.evidence)
            return None
        source_agency = self._agency(finding.source)
        agency = self._agency(finding.destination) or self.home_agency or source_agency
        ev = Event(finding.type, finding.severity, finding.key, finding.source,
                   finding.destination, agency, now, now, finding.count,
                   dict(finding.evidence), source_agency)
        self.open[key] = ev
        return ev

    def _agency(self, addr: str | None) -> str | None:
        if not addr or self.agency_of is None:
            return None
        try:
            return self.agency_of(addr)
        except ValueError:
            return None

    def expire(self, now: float) -> list[Event]:
        """Close (and write) events that went quiet or grew too old."""
        done = [k for k, ev in self.open.items()
                if now - ev.last_seen >= self.quiet_s or now - ev.first_seen >= self.max_age_s]
        return self._close(done)

    def close_all(self) -> list[Event]:
        """Close every open event (the sensor is stopping)."""
        events = self._close(list(self.open))
        if self._fh is not None:
            self._fh.flush()
        return events

    def _close(self, keys: list[tuple[str, str]]) -> list[Event]:
        events = [self.open.pop(k) for k in keys]
        for ev in events:
            if self._fh is not None:
                self._fh.write(json.dumps(ev.record(), ensure_ascii=False, default=str) + "\n")
        if events and self._fh is not None:
            self._fh.flush()
        self.closed.extend(events)
        del self.closed[:-self.keep_closed]
        return events

    def close(self) -> None:
        self.close_all()
        if self._own and self._fh is not None:
            self._fh.close()
            self._fh = None


#: Where the shared service reads the threat sensors' event log: ``$GIN_SENSOR_EVENTS``,
#: else ``sensor-events.jsonl`` in gin's data directory (run the sensor with ``--events``
#: pointing there, or have the SIEM shipper copy it there).
EVENTS_ENV, EVENTS_NAME = "GIN_SENSOR_EVENTS", "sensor-events.jsonl"


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The events of an event log, oldest first, each with ``id`` (its line number from 1:
    the log only grows, so an id names the same event for good).  A missing log has no
    events yet; a line that is not an event object (a write cut short) is skipped."""
    out: list[dict[str, Any]] = []
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise SensorError(f"cannot read the event log {str(path)!r}: {exc.strerror}") from None
    with fh:
        for number, line in enumerate(fh, 1):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append({"id": number, **record})
    return out

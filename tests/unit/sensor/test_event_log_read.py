"""Reading the sensor's event log back (what the service's /sensor/events serves): the events
the log wrote, in order, each with its line number as a lasting id; a line cut short by a
crash is skipped, a missing log has no events, an unreadable one is one clear error."""

from __future__ import annotations

import pytest

from monitor.sensor.detectors.base import Finding
from monitor.sensor.errors import SensorError
from monitor.sensor.events import EventLog, read_log


def test_read_log_gives_the_written_events_with_lasting_ids(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(str(path), agency_of={"2001:db8:1::1": "DOPA"}.get)
    log.add(Finding("port_scan", "warning", "a", "2001:db8:66::6", "2001:db8:1::1", 9), 10.0)
    log.add(Finding("syn_flood", "critical", "b", "2001:db8:66::7", None, 99), 11.0)
    log.close_all()
    with path.open("a") as fh:
        fh.write('{"type": "cut sho')  # a write cut short
    events = read_log(path)
    assert [(e["id"], e["type"], e["agency"], e["count"]) for e in events] == [
        (1, "port_scan", "DOPA", 9), (2, "syn_flood", None, 99)]
    assert read_log(tmp_path / "none.jsonl") == []
    with pytest.raises(SensorError, match="cannot read the event log"):
        read_log(tmp_path)

"""Link outages (10.10.5 fault logging) as the SOC's Prometheus recorded them.

An outage is a stretch of time in which an interface its operator keeps up
(``gin_if_admin_up`` 1) is operationally down (``gin_if_oper_up`` 0): a fault, not a
shutdown.  It is read from the raw samples over the audit window, not from the GinLinkDown
alert alone: the alert fires only after its 2 minutes (and starts them again after a missed
poll), while the samples say when the link went down and whether it came back.  Whether the
SOC was told is the alert's own history, Prometheus' ``ALERTS`` series: pending or firing,
since when.

Only the interfaces that were down at all in the window are read sample by sample (one
``min_over_time`` first), so the cost follows the faults, not the size of the GIN.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The audit window: outages that ended before it were judged by earlier audits.
WINDOW = dt.timedelta(days=1)
#: At most this many interfaces are read sample by sample (the rest are named as not read).
MAX_SERIES = 200
#: A hole in the samples longer than Prometheus' lookback (5 min) ends what is known.
GAP = dt.timedelta(minutes=5)
ALERT = "GinLinkDown"

Query = Callable[[str, float], list[dict[str, Any]]]


@dataclass(frozen=True)
class Outage:
    """One interface down while administratively up."""

    device: str
    ifname: str
    agency: str
    start: dt.datetime
    #: When it came back (None: still down at the last sample).
    end: dt.datetime | None
    #: GinLinkDown's state during the outage: "firing", "pending" or None (never raised).
    alert: str | None = None
    alert_since: dt.datetime | None = None

    def line(self) -> str:
        """The outage as one evidence line."""
        when = f"down from {_iso(self.start)} " + (
            f"to {_iso(self.end)} ({_span(self.end - self.start)})" if self.end
            else "and still down")
        said = (f"{ALERT} {self.alert} since {_iso(self.alert_since)}"
                if self.alert and self.alert_since else f"no {ALERT} alert")
        return f"gin_if_oper_up{{device={self.device!r}, ifname={self.ifname!r}}}: {when}; {said}"


@dataclass(frozen=True)
class LinkFacts:
    """Outages per device in the window, and how many interfaces of each had status series
    (a device with none is not watched: its outages could not be seen)."""

    window: dt.timedelta
    outages: dict[str, tuple[Outage, ...]]
    watched: dict[str, int]
    #: Interfaces down in the window but not read sample by sample (over MAX_SERIES).
    unread: tuple[str, ...] = ()


def _iso(t: dt.datetime | None) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else "?"


def _span(d: dt.timedelta) -> str:
    s = int(d.total_seconds())
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _seconds(window: dt.timedelta) -> str:
    return f"{max(1, int(window.total_seconds()))}s"


def _samples(series: dict[str, Any]) -> list[tuple[dt.datetime, float]]:
    out = []
    for value in series.get("values") or ():
        try:
            out.append((dt.datetime.fromtimestamp(float(value[0]), dt.UTC), float(value[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return sorted(out)


def _key(series: dict[str, Any]) -> tuple[str, str]:
    labels = series.get("metric") or {}
    return str(labels.get("device", "")), str(labels.get("ifname", ""))


def _selector(keys: Iterable[tuple[str, str]]) -> str:
    devices = sorted({d for d, _ in keys})
    return "device=~\"" + "|".join(re.escape(d).replace("\\", "\\\\") for d in devices) + "\""


def intervals(oper: list[tuple[dt.datetime, float]], admin: list[tuple[dt.datetime, float]],
              now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """(start, end or None) of each stretch where oper is 0 while admin is 1.

    A sample is down when oper reads 0 and the latest admin sample at or before it (the
    first one, before any) reads 1.  An outage ends at the first sample that is up again or
    administratively down, or at its last down sample when the samples stop for longer than
    :data:`GAP`; one whose last sample is down and recent is still going (end None)."""
    out: list[tuple[dt.datetime, dt.datetime | None]] = []
    start: dt.datetime | None = None
    last: dt.datetime | None = None
    j, admin_up = 0, (admin[0][1] >= 1 if admin else True)
    for t, value in oper:
        while j < len(admin) and admin[j][0] <= t:
            admin_up = admin[j][1] >= 1
            j += 1
        if start is not None and last is not None and t - last > GAP:
            out.append((start, last))
            start = None
        down = value < 1 and admin_up
        if down and start is None:
            start = t
        elif not down and start is not None:
            out.append((start, t))
            start = None
        last = t
    if start is not None and last is not None:
        out.append((start, None if now - last <= GAP else last))
    return out


def _alerts(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[dt.datetime, str]]]:
    out: dict[tuple[str, str], list[tuple[dt.datetime, str]]] = defaultdict(list)
    for series in rows:
        state = str((series.get("metric") or {}).get("alertstate", ""))
        out[_key(series)] += [(t, state) for t, v in _samples(series) if v >= 1]
    return {k: sorted(v) for k, v in out.items()}


def _alert_of(states: list[tuple[dt.datetime, str]], start: dt.datetime,
              end: dt.datetime | None) -> tuple[str | None, dt.datetime | None]:
    inside = [(t, s) for t, s in states if t >= start and (end is None or t <= end)]
    for wanted in ("firing", "pending"):
        times = [t for t, s in inside if s == wanted]
        if times:
            return wanted, times[0]
    return None, None


def link_facts(query: Query, now: dt.datetime, window: dt.timedelta = WINDOW,
               max_series: int = MAX_SERIES) -> LinkFacts:
    """Every outage in ``window`` up to ``now``, read through ``query(expr, at)`` (an
    instant query at unix time ``at``, as :func:`audit.monitoring.query` makes)."""
    at, w = now.timestamp(), _seconds(window)
    watched: dict[str, int] = {}
    for row in query(f"count by (device) (max_over_time(gin_if_oper_up[{w}]))", at):
        try:
            watched[str(row["metric"].get("device", ""))] = int(float(row["value"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    faulty: dict[tuple[str, str], str] = {}
    for row in query(f"min_over_time(gin_if_oper_up[{w}]) == 0", at):
        faulty[_key(row)] = str((row.get("metric") or {}).get("agency", ""))
    keys = sorted(faulty)
    read, unread = keys[:max_series], tuple(f"{d} {i}" for d, i in keys[max_series:])
    outages: dict[str, list[Outage]] = defaultdict(list)
    if read:
        sel = _selector(read)
        oper = {_key(s): _samples(s) for s in query(f"gin_if_oper_up{{{sel}}}[{w}]", at)}
        admin = {_key(s): _samples(s) for s in query(f"gin_if_admin_up{{{sel}}}[{w}]", at)}
        alerts = _alerts(query(f'ALERTS{{alertname="{ALERT}",{sel}}}[{w}]', at))
        for key in read:
            for start, end in intervals(oper.get(key, []), admin.get(key, []), now):
                state, since = _alert_of(alerts.get(key, []), start, end)
                outages[key[0]].append(Outage(key[0], key[1], faulty[key], start, end,
                                              state, since))
    return LinkFacts(window, {d: tuple(sorted(o, key=lambda x: (x.start, x.ifname)))
                              for d, o in outages.items()}, watched, unread)

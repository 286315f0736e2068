"""Monitoring evidence (10.10.2, 7.1.1, 10.10.5, 13.2.1): is every device scraped and up,
what threats did the sensors count, and which of its links failed?

The SOC's Prometheus knows: the monitor agent exports ``gin_snmp_up{device,agency}`` for
every device it polls (1 when SNMP answered) and its interfaces' status, and the threat
sensor counts ``gin_threat_events_total{agency,type,severity}``.  Instant queries over the
HTTP API, all at one instant; a device with no ``gin_snmp_up`` series is not monitored at
all.  Link outages over the audit window are read by :mod:`audit.outages`.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from audit.outages import WINDOW, LinkFacts, Outage, link_facts
from devices.errors import ConfigError, GinError

MAX_RESPONSE = 32 * 1024 * 1024
UP = "max by (device) (gin_snmp_up)"
THREATS = "sum by (agency, source_agency, type, severity) (gin_threat_events_total)"
TUNNELS = "max by (tunnel) (gin_vpn_tunnel_up)"
#: Severities that call for a response (the detectors' own words).
RESPONSE_SEVERITIES = ("high", "critical")


@dataclass(frozen=True)
class MonitorFact:
    """What Prometheus says about one device (``up`` None: no series, not monitored)."""

    source: str
    up: float | None
    threats: tuple[str, ...] = field(default=())
    #: Types of high or critical threat events from the agency's sources (they call for a
    #: response: a GSI block of the source).
    serious: tuple[str, ...] = field(default=())
    #: The device's link outages in the audit window (None: not read).
    outages: tuple[Outage, ...] | None = None
    #: How many of its interfaces had status series in the window (0: none watched).
    interfaces: int = 0
    window: dt.timedelta = WINDOW


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            c in url for c in "\r\n\t "):
        raise ConfigError(f"--prometheus {url!r}: expected http(s)://host:port")
    return url.rstrip("/")


def query(url: str, expr: str, timeout: float = 20, at: float | None = None
          ) -> list[dict[str, Any]]:
    """Instant query ``expr`` (at unix time ``at``; None: now); unreachable server or a
    PromQL error is one clear line."""
    base = _check_url(url)
    params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
    full = f"{base}/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(full, timeout=timeout) as r:  # noqa: S310 (http only)
            body = r.read(MAX_RESPONSE + 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GinError(f"Prometheus at {base} cannot be queried: {reason}") from exc
    if len(body) > MAX_RESPONSE:
        raise GinError(f"Prometheus at {base}: answer larger than "
                       f"{MAX_RESPONSE // 2**20} MiB")
    try:
        data = json.loads(body)
        if data.get("status") != "success":
            raise GinError(f"Prometheus at {base}: {data.get('error', 'query failed')}")
        return list(data["data"]["result"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GinError(f"Prometheus at {base} did not answer with query JSON") from exc


def monitor_facts(url: str, devices: dict[str, str | None],
                  now: dt.datetime | None = None, window: dt.timedelta = WINDOW
                  ) -> dict[str, MonitorFact]:
    """``{device: MonitorFact}`` for ``devices`` (hostname -> agency code), as Prometheus
    saw them at ``now`` and over the ``window`` before it (link outages)."""
    base = _check_url(url)
    at = (now or dt.datetime.now(dt.UTC)).timestamp()
    up: dict[str, float] = {}
    for series in query(base, UP, at=at):
        name = series.get("metric", {}).get("device")
        try:
            up[str(name)] = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    # an event names the attacked agency (agency) and the source's (source_agency): each
    # agency's evidence shows both sides; the response is owed where the source sits
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    serious: dict[str, set[str]] = defaultdict(set)
    for series in query(base, THREATS, at=at):
        labels = series.get("metric", {})
        try:
            count = int(float(series["value"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        kind = str(labels.get("type", ""))
        counts[("agency", str(labels.get("agency", "")), kind)] += count
        source = str(labels.get("source_agency", "unknown"))
        if source != "unknown":
            counts[("source_agency", source, kind)] += count
            if labels.get("severity") in RESPONSE_SEVERITIES and count > 0:
                serious[source].add(kind)
    threats: dict[str, list[str]] = defaultdict(list)
    for (side, agency, kind), count in sorted(counts.items()):
        threats[agency].append(
            f"gin_threat_events_total{{{side}={agency!r}, type={kind!r}}} = {count}")
    links: LinkFacts = link_facts(lambda expr, t: query(base, expr, at=t),
                                  dt.datetime.fromtimestamp(at, dt.UTC), window)
    return {d: MonitorFact(base, up.get(d), tuple(sorted(threats.get(a or "", ()))),
                           tuple(sorted(serious.get(a or "", ()))),
                           links.outages.get(d, ()), links.watched.get(d, 0), window)
            for d, a in devices.items()}


def tunnel_states(url: str, now: dt.datetime | None = None) -> dict[str, float]:
    """``gin_vpn_tunnel_up`` per tunnel name at ``now`` (the agent exports it from the
    gateways' live state; a tunnel with no series is absent)."""
    at = (now or dt.datetime.now(dt.UTC)).timestamp()
    out: dict[str, float] = {}
    for series in query(_check_url(url), TUNNELS, at=at):
        try:
            out[str(series["metric"]["tunnel"])] = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return out

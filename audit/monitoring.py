"""Monitoring evidence (10.10.2, 7.1.1): is every device scraped, and is it up?

The SOC's Prometheus knows: the monitor agent exports ``gin_snmp_up{device,agency}`` for
every device it polls (1 when SNMP answered), and the threat sensor counts
``gin_threat_events_total{agency,type,severity}``.  One instant query each, over the HTTP
API; a device with no ``gin_snmp_up`` series is not monitored at all.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from devices.errors import ConfigError, GinError

MAX_RESPONSE = 32 * 1024 * 1024
UP = "max by (device) (gin_snmp_up)"
THREATS = "sum by (agency, type) (gin_threat_events_total)"


@dataclass(frozen=True)
class MonitorFact:
    """What Prometheus says about one device (``up`` None: no series, not monitored)."""

    source: str
    up: float | None
    threats: tuple[str, ...] = field(default=())


def _check_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            c in url for c in "\r\n\t "):
        raise ConfigError(f"--prometheus {url!r}: expected http(s)://host:port")
    return url.rstrip("/")


def query(url: str, expr: str, timeout: float = 20) -> list[dict[str, Any]]:
    """Instant query ``expr``; unreachable server or a PromQL error is one clear line."""
    base = _check_url(url)
    full = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
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


def monitor_facts(url: str, devices: dict[str, str | None]) -> dict[str, MonitorFact]:
    """``{device: MonitorFact}`` for ``devices`` (hostname -> agency code)."""
    base = _check_url(url)
    up: dict[str, float] = {}
    for series in query(base, UP):
        name = series.get("metric", {}).get("device")
        try:
            up[str(name)] = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    threats: dict[str, list[str]] = defaultdict(list)
    for series in query(base, THREATS):
        labels = series.get("metric", {})
        try:
            count = int(float(series["value"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        threats[str(labels.get("agency", ""))].append(
            f"gin_threat_events_total{{agency={labels.get('agency', '')!r}, "
            f"type={labels.get('type', '')!r}}} = {count}")
    return {d: MonitorFact(base, up.get(d), tuple(sorted(threats.get(a or "", ()))))
            for d, a in devices.items()}

"""What the console shows live: Prometheus' link and tunnel state and threat events, and
Alertmanager's firing alerts, read over their HTTP APIs (``gin serve --prometheus URL
--alertmanager URL``).

Each read has a short timeout and never raises into a page: a source that is not configured
or does not answer becomes a one-line ``problem`` the page shows, and the rest of the page
renders from the directory as before.  No query carries user input: the PromQL is fixed here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 3.0
#: Threat events of the last hour by agency, type and severity.  A series that appeared within
#: the hour counts whole: ``increase()`` sees no rise in a series' first sample (the alert
#: rules in monitor.prometheus.rules use the same form).
THREAT_EVENTS = ("sum by (agency, type, severity) (increase(gin_threat_events_total[1h]) > 0"
                 " or (gin_threat_events_total unless gin_threat_events_total offset 1h))")


IF_OPER, IF_ADMIN, TUNNEL_UP = "gin_if_oper_up", "gin_if_admin_up", "gin_vpn_tunnel_up"
#: Every expression the console sends (before a device selector is added): the monitor's
#: metric contract test holds them to what gin's collectors export.
EXPRESSIONS = (THREAT_EVENTS, IF_OPER, IF_ADMIN, TUNNEL_UP)


class Unavailable(Exception):
    """A source is not configured or did not answer (the message is the page's line)."""


@dataclass(frozen=True)
class Telemetry:
    """Where the live state comes from (None: not configured)."""

    prometheus: str | None = None
    alertmanager: str | None = None


def _get(base: str | None, what: str, path: str, params: dict[str, str]) -> Any:
    if not base:
        raise Unavailable(f"{what} is not configured (gin serve --{what.lower()} URL)")
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 - http(s) URL from the operator
            return json.load(answer)
    except (OSError, ValueError) as exc:
        raise Unavailable(f"{what} at {base} did not answer: {exc}") from None


def query(t: Telemetry, expr: str) -> list[dict[str, Any]]:
    """An instant PromQL query's result vector."""
    body = _get(t.prometheus, "Prometheus", "/api/v1/query", {"query": expr})
    if body.get("status") != "success":
        raise Unavailable(f"Prometheus refused a query: {body.get('error', body)}")
    return list(body["data"]["result"])


def firing_alerts(t: Telemetry) -> list[dict[str, Any]]:
    """Alertmanager's active, unsilenced alerts: name, severity, agency, summary, since."""
    body = _get(t.alertmanager, "Alertmanager", "/api/v2/alerts",
                {"active": "true", "silenced": "false", "inhibited": "false"})
    out = []
    for a in body:
        labels, notes = a.get("labels", {}), a.get("annotations", {})
        out.append({"name": labels.get("alertname", "?"),
                    "severity": labels.get("severity", ""),
                    "agency": labels.get("agency", ""),
                    "summary": notes.get("summary", ""),
                    "since": (a.get("startsAt") or "")[:19].replace("T", " ")})
    order = {"critical": 0, "warning": 1}
    return sorted(out, key=lambda a: (order.get(a["severity"], 2), a["since"], a["name"]))


def threat_events(t: Telemetry) -> list[dict[str, Any]]:
    """Threat events of the last hour, by agency (the sensor's attribution), most first."""
    rows = [{"agency": r["metric"].get("agency", "unknown"), "type": r["metric"].get("type", ""),
             "severity": r["metric"].get("severity", ""), "count": round(float(r["value"][1]))}
            for r in query(t, THREAT_EVENTS)]
    return sorted(rows, key=lambda r: (-r["count"], r["agency"], r["type"]))


@dataclass
class LinkState:
    """Interface and tunnel state from the monitor's series: (device, ifname) -> up."""

    interfaces: dict[tuple[str, str], bool] = field(default_factory=dict)
    tunnels: dict[str, bool] = field(default_factory=dict)
    problem: str | None = None

    def interface(self, device: str, ifname: str) -> bool | None:
        return self.interfaces.get((device, ifname))

    def link(self, a: tuple[str, str], b: tuple[str, str]) -> str:
        """'down' when either end is seen down, 'up' when an end is seen up, else 'unknown'."""
        ends = [self.interface(*a), self.interface(*b)]
        if False in ends:
            return "down"
        return "up" if True in ends else "unknown"

    def tunnel(self, name: str) -> str:
        seen = self.tunnels.get(name)
        return "unknown" if seen is None else ("up" if seen else "down")


def link_state(t: Telemetry, devices: set[str] | None = None) -> LinkState:
    """Operational state of interfaces (an administratively down one is not 'down': someone
    meant it) and of tunnels; ``devices`` limits the interfaces asked for."""
    state = LinkState()
    if not t.prometheus:
        state.problem = "Prometheus is not configured (gin serve --prometheus URL)"
        return state
    selector = ""
    if devices is not None:
        if not devices:
            return state
        names = "|".join(sorted(d.replace("\\", "").replace('"', "") for d in devices))
        selector = f'{{device=~"{_regex(names)}"}}'
    try:
        oper = query(t, f"{IF_OPER}{selector}")
        admin = {(r["metric"].get("device"), r["metric"].get("ifname")): r["value"][1]
                 for r in query(t, f"{IF_ADMIN}{selector}")}
        for r in oper:
            key = (r["metric"].get("device", ""), r["metric"].get("ifname", ""))
            up = r["value"][1] == "1"
            state.interfaces[key] = up or admin.get(key) == "0"
        for r in query(t, TUNNEL_UP):
            state.tunnels[r["metric"].get("tunnel", "")] = r["value"][1] == "1"
    except Unavailable as exc:
        state.problem = str(exc)
    return state


def _regex(names: str) -> str:
    """Host names as a PromQL regex alternation (dots are the only metacharacter they hold)."""
    return names.replace(".", "\\\\.")

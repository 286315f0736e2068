"""Grafana dashboards for the SOC, generated in code with grafanalib: GIN overview,
per-agency, VPN.

Why in code: the PromQL must track the metric and recording-rule names in
monitor.prometheus.rules; the test suite runs every expression here (panels and template
variables) against a real Prometheus fed by a real agent.  Grafana imports the JSON
(old schemaVersion; Grafana migrates it on import).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    BarGauge,
    Dashboard,
    GridPos,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

from monitor.prometheus.rules import link_down

DS = "${DS_PROMETHEUS}"


def _t(expr: str, legend: str = "", instant: bool = False) -> Target:
    return Target(expr=expr, legendFormat=legend, refId="A", instant=instant, datasource=DS)


def _pos(x: int, y: int, w: int, h: int) -> GridPos:
    return GridPos(h=h, w=w, x=x, y=y)


def _dashboard(uid: str, title: str, panels: list[Any], templates: list[Template] | None = None
               ) -> Dashboard:
    return Dashboard(uid=uid, title=title, tags=["gin", "soc"], timezone="browser",
                     time=Time("now-6h", "now"), refresh="30s", panels=panels,
                     templating=Templating(list=templates or []))


def overview() -> Dashboard:
    """Whole-network view: agencies up, links down, top utilisation, threat events."""
    return _dashboard("gin-overview", "GIN overview", [
        Stat(title="Agencies fully up", gridPos=_pos(0, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t("count(gin:agency_devices_up:sum == on (agency) "
                         "gin:agency_devices:count) or vector(0)")]),
        Stat(title="Agencies with devices down", gridPos=_pos(6, 0, 6, 4),
             reduceCalc="lastNotNull", colorMode="background",
             targets=[_t("count(gin:agency_devices_up:sum < on (agency) "
                         "gin:agency_devices:count) or vector(0)")]),
        Stat(title="Devices unreachable", gridPos=_pos(12, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t("count(gin_snmp_up == 0) or vector(0)")]),
        Stat(title="Links down", gridPos=_pos(18, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t(f"count({link_down()}) or vector(0)")]),
        BarGauge(title="Top 10 link utilisation", gridPos=_pos(0, 4, 12, 10),
                 format="percentunit", max=1, min=0, calc="lastNotNull",
                 targets=[_t("topk(10, max by (agency, device, ifname) "
                             "(gin:if_in_utilisation:ratio_rate5m "
                             "or gin:if_out_utilisation:ratio_rate5m))",
                             "{{agency}} {{device}} {{ifname}}", instant=True)]),
        TimeSeries(title="Threat events by type", gridPos=_pos(12, 4, 12, 10), unit="ops",
                   targets=[_t("sum by (type) (rate(gin_threat_events_total"
                               "[$__rate_interval]))", "{{type}}")]),
        TimeSeries(title="Devices up by agency", gridPos=_pos(0, 14, 12, 8),
                   targets=[_t("gin:agency_devices_up:sum", "{{agency}}")]),
        Table(title="Unreachable devices and why", gridPos=_pos(12, 14, 12, 8),
              targets=[_t("gin_snmp_last_error_info == 1", instant=True)]),
        TimeSeries(title="Interface errors (top 10)", gridPos=_pos(0, 22, 24, 8), unit="pps",
                   targets=[_t("topk(10, gin:if_errors:rate5m)", "{{device}} {{ifname}}")]),
    ])


def agency() -> Dashboard:
    """One agency (``$agency``): its devices, links, traffic and threat events."""
    sel = 'agency="$agency", device=~"$device"'
    templates = [
        Template(name="agency", label="Agency", dataSource=DS,
                 query="label_values(gin_snmp_up, agency)"),
        Template(name="device", label="Device", dataSource=DS, includeAll=True, multi=True,
                 allValue=".*", default="All",
                 query='label_values(gin_snmp_up{agency="$agency"}, device)'),
    ]
    return _dashboard("gin-agency", "GIN agency", [
        Stat(title="Devices up", gridPos=_pos(0, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t(f"sum(gin_snmp_up{{{sel}}})")]),
        Stat(title="Links down", gridPos=_pos(6, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t(f"count({link_down(sel)}) or vector(0)")]),
        Table(title="Devices", gridPos=_pos(12, 0, 12, 8),
              targets=[_t(f"gin_snmp_up{{{sel}}}", instant=True),
                       _t(f"gin_device_uptime_seconds{{{sel}}}", instant=True)]),
        TimeSeries(title="Traffic in (bits/s)", gridPos=_pos(0, 8, 12, 8), unit="bps",
                   targets=[_t(f"rate(gin_if_in_octets_total{{{sel}}}[$__rate_interval]) * 8",
                               "{{device}} {{ifname}}")]),
        TimeSeries(title="Traffic out (bits/s)", gridPos=_pos(12, 8, 12, 8), unit="bps",
                   targets=[_t(f"rate(gin_if_out_octets_total{{{sel}}}[$__rate_interval]) * 8",
                               "{{device}} {{ifname}}")]),
        TimeSeries(title="Link utilisation", gridPos=_pos(0, 16, 12, 8), unit="percentunit",
                   targets=[_t(f"gin:if_in_utilisation:ratio_rate5m{{{sel}}}",
                               "in {{device}} {{ifname}}"),
                            _t(f"gin:if_out_utilisation:ratio_rate5m{{{sel}}}",
                               "out {{device}} {{ifname}}")]),
        TimeSeries(title="Interface errors and discards", gridPos=_pos(12, 16, 12, 8),
                   unit="pps",
                   targets=[_t(f"gin:if_errors:rate5m{{{sel}}}", "errors {{device}} {{ifname}}"),
                            _t(f"gin:if_discards:rate5m{{{sel}}}",
                               "discards {{device}} {{ifname}}")]),
        TimeSeries(title="CPU load", gridPos=_pos(0, 24, 12, 8), unit="percentunit",
                   targets=[_t(f"gin_device_cpu_load_ratio{{{sel}}}", "{{device}}")]),
        TimeSeries(title="IPv6 packets (in/out)", gridPos=_pos(12, 24, 12, 8), unit="pps",
                   targets=[_t(f"rate(gin_ipv6_in_receives_total{{{sel}}}[$__rate_interval])",
                               "in {{device}}"),
                            _t(f"rate(gin_ipv6_out_requests_total{{{sel}}}[$__rate_interval])",
                               "out {{device}}")]),
        TimeSeries(title="Threat events against the agency", gridPos=_pos(0, 32, 12, 8),
                   unit="ops",
                   targets=[_t('sum by (type, severity) (rate(gin_threat_events_total'
                               '{agency="$agency"}[$__rate_interval]))',
                               "{{type}} ({{severity}})")]),
        # the agency's own hosts as the source: compromised machines to clean up
        TimeSeries(title="Threat events from the agency's hosts", gridPos=_pos(12, 32, 12, 8),
                   unit="ops",
                   targets=[_t('sum by (type, agency) (rate(gin_threat_events_total'
                               '{source_agency="$agency"}[$__rate_interval]))',
                               "{{type}} against {{agency}}")]),
    ], templates)


def vpn() -> Dashboard:
    """Site-to-site VPN and BGP: tunnel state, sessions, certificate expiry (VPN gateway
    and agency web certificates; both metrics count seconds left)."""
    return _dashboard("gin-vpn", "GIN VPN", [
        Stat(title="Tunnels up", gridPos=_pos(0, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t("sum(gin_vpn_tunnel_up) or vector(0)")]),
        Stat(title="Tunnels down", gridPos=_pos(6, 0, 6, 4), reduceCalc="lastNotNull",
             colorMode="background",
             targets=[_t("count(gin_vpn_tunnel_up == 0) or vector(0)")]),
        Stat(title="BGP sessions down", gridPos=_pos(12, 0, 6, 4), reduceCalc="lastNotNull",
             targets=[_t("count(gin_bgp_peer_up == 0) or vector(0)")]),
        Stat(title="Certificates expiring < 14 days", gridPos=_pos(18, 0, 6, 4),
             reduceCalc="lastNotNull",
             targets=[_t("count(gin_vpn_certificate_expiry_seconds < 14 * 86400 "
                         "or gin_web_cert_expiry_seconds < 14 * 86400) or vector(0)")]),
        TimeSeries(title="Tunnel state", gridPos=_pos(0, 4, 12, 8),
                   targets=[_t("gin_vpn_tunnel_up", "{{agency}} {{tunnel}}")]),
        Table(title="Certificate expiry (days left; negative: expired)",
              gridPos=_pos(12, 4, 12, 8),
              targets=[_t("sort(gin_vpn_certificate_expiry_seconds / 86400)", instant=True),
                       _t("sort(gin_web_cert_expiry_seconds / 86400)", instant=True)]),
        TimeSeries(title="BGP sessions", gridPos=_pos(0, 12, 24, 8),
                   targets=[_t("gin_bgp_peer_up", "{{device}} -> {{peer}}")]),
    ])


DASHBOARDS = {"gin-overview": overview, "gin-agency": agency, "gin-vpn": vpn}


def to_json(dashboard: Dashboard) -> dict[str, Any]:
    """Dashboard JSON with a Prometheus datasource input, ready for Grafana import."""
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    data["__inputs"] = [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                         "pluginId": "prometheus", "pluginName": "Prometheus"}]
    return data


def expressions(data: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard JSON: panel targets and template queries."""
    out = [t["expr"] for p in data.get("panels", []) for t in p.get("targets", [])
           if t.get("expr")]
    out += [v["query"] for v in data.get("templating", {}).get("list", [])
            if isinstance(v.get("query"), str) and v["query"]]
    return out


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in DASHBOARDS.items():
        p = out / f"{name}.json"
        p.write_text(json.dumps(to_json(make()), indent=1, ensure_ascii=False) + "\n")
        paths.append(p)
    return paths

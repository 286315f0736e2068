"""Prometheus scrape configuration and Alertmanager example, generated from the directory.

Layout written by :func:`write_all` (``gin monitor prometheus-config --out DIR``)::

    DIR/prometheus.yml                 scrape jobs, rule files, Alertmanager
    DIR/file_sd/gin-snmp-<agent>.json  one target per device: labels agency, site
    DIR/file_sd/gin-sensor.json        one target per threat sensor: label sensor
    DIR/rules/gin-recording.yml        recording rules (utilisation, error rates, ...)
    DIR/rules/gin-alerts.yml           alert rules
    DIR/alertmanager.yml               routes by severity and agency (example)

Per agent two jobs: ``gin-agent-<name>`` scrapes the agent's own health
(``/metrics?devices=none``) and ``gin-snmp-<name>`` scrapes each device through the agent
(``/metrics?device=<hostname>``, the snmp_exporter multi-target pattern), so Prometheus
keeps a per-device ``up`` and scrape duration and file_sd labels every target with its
agency and site.  One more job, ``gin-sensor``, scrapes every threat sensor: the
directory's devices of role ``sensor``, at their management address and the sensor port
(``gin monitor sensor run --listen ADDR:9437``); its targets carry the label ``sensor``
(the hostname) and no ``agency``, which is the events' own label.  The file_sd files
are re-read by Prometheus when they change: rerun the
command after directory changes (no Prometheus restart).
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.prometheus.rules import SENSOR_JOB, alert_rules, recording_rules

#: where a threat sensor serves /metrics unless told otherwise
SENSOR_PORT = 9437


@dataclass(frozen=True)
class AgentSpec:
    """A monitor agent: where Prometheus reaches it and which agencies it polls."""

    name: str
    address: str  # host:port
    agencies: frozenset[str] = field(default_factory=frozenset)  # empty: the rest


def parse_agent(text: str) -> AgentSpec:
    """``name=host:port`` or ``name=host:port@AGENCY,AGENCY``."""
    name, sep, rest = text.partition("=")
    address, _, agencies = rest.partition("@")
    if not sep or not name or ":" not in address:
        raise ValueError(f"agent {text!r}: expected NAME=HOST:PORT[@AGENCY,...]")
    if not name.replace("-", "").isalnum():
        raise ValueError(f"agent name {name!r}: letters, digits and '-' only")
    return AgentSpec(name, address, frozenset(a for a in agencies.split(",") if a))


def assign(devices: list[dict[str, str]], agents: list[AgentSpec]) -> dict[str, list[dict]]:
    """Devices per agent: by listed agency, the rest to the first agent without a list."""
    default = next((a for a in agents if not a.agencies), agents[0])
    out: dict[str, list[dict]] = {a.name: [] for a in agents}
    for dev in devices:
        agent = next((a for a in agents if dev["agency"] in a.agencies), default)
        out[agent.name].append(dev)
    return out


def file_sd(devices: list[dict[str, str]], agent: AgentSpec) -> list[dict[str, Any]]:
    """file_sd groups: one per (agency, site), targets are device hostnames."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for dev in devices:
        groups[(dev["agency"], dev["site"])].append(dev["device"])
    return [{"targets": sorted(names),
             "labels": {"agency": agency, "site": site, "gin_agent": agent.name}}
            for (agency, site), names in sorted(groups.items())]


def sensor_file_sd(sensors: list[dict[str, str]]) -> list[dict[str, Any]]:
    """file_sd groups for the sensor job: one per sensor (``address`` is host:port)."""
    return [{"targets": [s["address"]], "labels": {"sensor": s["device"]}}
            for s in sorted(sensors, key=lambda s: s["device"])]


def prometheus_config(agents: list[AgentSpec], out_dir: str, *,
                      scrape_interval: str = "30s", alertmanager: str | None = "127.0.0.1:9093"
                      ) -> dict[str, Any]:
    """prometheus.yml as a dict; paths are relative to out_dir (Prometheus resolves them
    against the config file's directory)."""
    jobs: list[dict[str, Any]] = []
    for a in agents:
        jobs.append({"job_name": f"gin-agent-{a.name}", "scrape_interval": scrape_interval,
                     "metrics_path": "/metrics", "params": {"devices": ["none"]},
                     "static_configs": [{"targets": [a.address],
                                         "labels": {"gin_agent": a.name}}]})
        jobs.append({
            "job_name": f"gin-snmp-{a.name}", "scrape_interval": scrape_interval,
            "scrape_timeout": _snmp_timeout(scrape_interval),
            "metrics_path": "/metrics", "honor_labels": True,
            "file_sd_configs": [{"files": [f"file_sd/gin-snmp-{a.name}.json"],
                                 "refresh_interval": "5m"}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_device"},
                {"source_labels": ["__address__"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": a.address},
            ]})
    jobs.append({"job_name": SENSOR_JOB, "scrape_interval": scrape_interval,
                 "metrics_path": "/metrics",
                 "file_sd_configs": [{"files": [f"file_sd/{SENSOR_JOB}.json"],
                                      "refresh_interval": "5m"}]})
    conf: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "external_labels": {"gin": "monitor"}},
        "rule_files": ["rules/gin-recording.yml", "rules/gin-alerts.yml"],
        "scrape_configs": jobs,
    }
    if alertmanager:
        conf["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return conf


def alertmanager_config(agencies: dict[str, list[str]], *,
                        webhook: str = "http://127.0.0.1:5001/gin",
                        smtp: str = "localhost:25",
                        sender: str = "gin-alerts@localhost") -> dict[str, Any]:
    """Example Alertmanager config: critical alerts page the SOC, every alert also goes to
    the agency's contacts (e-mail from the directory), warnings to the SOC queue.

    ``agencies`` maps agency code -> contact e-mail addresses.
    """
    receivers: list[dict[str, Any]] = [
        {"name": "soc-queue", "webhook_configs": [{"url": webhook, "send_resolved": True}]},
        {"name": "soc-pager", "webhook_configs": [{"url": webhook + "/page",
                                                   "send_resolved": True}]},
    ]
    agency_routes = []
    for code, emails in sorted(agencies.items()):
        if not emails:
            continue
        receivers.append({"name": f"agency-{code}", "email_configs": [
            {"to": ", ".join(sorted(emails)), "send_resolved": True}]})
        agency_routes.append({"matchers": [f'agency="{code}"'], "receiver": f"agency-{code}",
                              "continue": True})
    routes = [
        {"matchers": ['severity="critical"'], "receiver": "soc-pager", "continue": True,
         "group_wait": "10s", "repeat_interval": "1h"},
        *agency_routes,
        {"matchers": ['severity=~"warning|info"'], "receiver": "soc-queue"},
    ]
    return {
        "global": {"resolve_timeout": "5m", "smtp_smarthost": smtp, "smtp_from": sender,
                   "smtp_require_tls": False},
        "route": {"receiver": "soc-queue", "group_by": ["alertname", "agency"],
                  "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
                  "routes": routes},
        "inhibit_rules": [
            # a device that does not answer at all: do not also page for each of its links
            {"source_matchers": ['alertname="GinDeviceUnreachable"'],
             "target_matchers": ['alertname=~"GinLinkDown|GinInterfaceErrors|GinBgpSessionDown"'],
             "equal": ["device"]},
            # the agent itself is down: not also one alert per device scraped through it
            {"source_matchers": ['alertname="GinMonitorAgentDown"'],
             "target_matchers": ['alertname="GinAgentScrapeFailed"'],
             "equal": ["gin_agent"]},
            {"source_matchers": ['alertname="GinCertificateExpiryImminent"'],
             "target_matchers": ['alertname="GinCertificateExpiringSoon"'],
             "equal": ["device", "subject"]},
        ],
        "receivers": receivers,
    }


def directory_inventory(directory: Any) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """(devices the agents poll, with agency/site; agency -> contact e-mails) from the
    directory.  The devices are the agent's own choice (monitor.snmp.targets.polled_address:
    a sensor is scraped by the sensor job instead), so the SNMP jobs never scrape a device
    the agent does not serve."""
    from directory import models as m
    from directory.store import list_all
    from monitor.snmp.targets import polled_address

    devices, contacts = [], defaultdict(list)
    with directory.transaction() as s:
        for dev in list_all(s, m.Device):
            if polled_address(dev)[0] is not None:
                devices.append({"device": dev.hostname, "agency": dev.site.agency.code,
                                "site": dev.site.code})
        for agency in list_all(s, m.Agency):
            contacts.setdefault(agency.code, [])
        for c in list_all(s, m.Contact):
            if c.email:
                contacts[c.agency.code].append(c.email)
    return devices, dict(contacts)


def directory_sensors(directory: Any, port: int = SENSOR_PORT) -> tuple[list[dict[str, str]],
                                                                       list[str]]:
    """The threat sensors Prometheus scrapes: the directory's devices of role ``sensor``
    with a management address (else their SNMP address), at ``port``;
    (sensors, skipped-with-why)."""
    from directory import models as m
    from directory.store import list_all

    sensors, skipped = [], []
    with directory.transaction() as s:
        for dev in list_all(s, m.Device):
            if dev.role != "sensor":
                continue
            host = (dev.mgmt_address or dev.snmp_address or "").split("/", 1)[0]
            if not host:
                skipped.append(f"sensor {dev.hostname}: no mgmt_address to scrape")
                continue
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            sensors.append({"device": dev.hostname, "address": address,
                            "agency": dev.site.agency.code, "site": dev.site.code})
    return sensors, skipped


def _write(path: Path, data: Any, as_json: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(data, indent=1) if as_json else yaml.safe_dump(data, sort_keys=False,
                                                                      allow_unicode=True)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # atomic: Prometheus never reads a half-written file_sd file


def write_all(out: Path, devices: list[dict[str, str]], contacts: dict[str, list[str]],
              agents: list[AgentSpec], *, scrape_interval: str = "30s",
              alertmanager: str | None = "127.0.0.1:9093",
              sensors: list[dict[str, str]] | None = None,
              webhook: str = "http://127.0.0.1:5001/gin") -> list[Path]:
    """Write every file of the layout; returns the paths written."""
    written = []
    per_agent = assign(devices, agents)
    for a in agents:
        p = out / "file_sd" / f"gin-snmp-{a.name}.json"
        _write(p, file_sd(per_agent[a.name], a), as_json=True)
        written.append(p)
    p = out / "file_sd" / f"{SENSOR_JOB}.json"
    _write(p, sensor_file_sd(sensors or []), as_json=True)
    written.append(p)
    files = {
        out / "prometheus.yml": prometheus_config(agents, str(out),
                                                  scrape_interval=scrape_interval,
                                                  alertmanager=alertmanager),
        out / "rules" / "gin-recording.yml": recording_rules(),
        out / "rules" / "gin-alerts.yml": alert_rules(),
        out / "alertmanager.yml": alertmanager_config(contacts, webhook=webhook),
    }
    for path, data in files.items():
        _write(path, data)
        written.append(path)
    return written


@dataclass
class Generated:
    """What :func:`generate` did: files written, what was scraped, the tools' verdicts."""

    written: list[Path]
    devices: int
    sensors: list[str]
    skipped: list[str]
    checks: list[dict[str, Any]]


def check_with_tools(out: Path) -> list[dict[str, Any]]:
    """``promtool check config`` and ``amtool check-config`` on the written files (each
    only when installed): [{tool, ok, output}]."""
    import shutil
    import subprocess

    checks = []
    for tool, args in (("promtool", ["check", "config", str(out / "prometheus.yml")]),
                       ("amtool", ["check-config", str(out / "alertmanager.yml")])):
        if not shutil.which(tool):
            continue
        proc = subprocess.run([tool, *args], capture_output=True, text=True)
        checks.append({"tool": tool, "ok": proc.returncode == 0,
                       "output": (proc.stdout + proc.stderr).strip()})
    return checks


def generate(directory: Any, out: Path, agents: list[AgentSpec], *,
             scrape_interval: str = "30s", alertmanager: str | None = "127.0.0.1:9093",
             sensor_port: int = SENSOR_PORT, webhook: str = "http://127.0.0.1:5001/gin",
             check: bool = True) -> Generated:
    """``gin monitor prometheus-config``: read the directory (devices for the agents,
    sensors for the sensor job, contacts for Alertmanager), write the layout, and check
    it with promtool/amtool when ``check`` and installed."""
    devices, contacts = directory_inventory(directory)
    sensors, skipped = directory_sensors(directory, sensor_port)
    written = write_all(out, devices, contacts, agents, scrape_interval=scrape_interval,
                        alertmanager=alertmanager, sensors=sensors, webhook=webhook)
    checks = check_with_tools(out) if check else []
    return Generated(written, len(devices), [s["device"] for s in sensors], skipped, checks)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _snmp_timeout(scrape_interval: str) -> str:
    """10 s for a device's SNMP poll, but never longer than the interval (Prometheus refuses
    a scrape timeout above the scrape interval)."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", scrape_interval.strip())
    if m is None or int(m.group(1)) * _UNITS[m.group(2)] >= 10:
        return "10s"
    return scrape_interval

"""The metric contract cannot drift again: every metric a rule or dashboard reads, and every
label it matches, groups by or names in an annotation, is one a gin collector really exports.

What is exported is not declared by hand: each collector (SNMP, BGP included; the agent's
own and process metrics; traps; threat sensor; VPN; web certificates) is run in a fixture
state and its real exposition is parsed.  The contract written in rules.py's docstring is
checked the same way, so the documentation cannot drift either.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from test_monitor_collector import result

from audit.web.evidence import WebEvidence
from audit.web.metrics import CertExpiryCollector
from monitor.agent import Agent
from monitor.collector import SnmpCollector
from monitor.prometheus import dashboards, rules
from monitor.sensor.metrics import SensorCollector, SensorStats
from monitor.snmp.oids import IF_COUNTERS, IP6_STATS
from monitor.snmp.traps import TrapReceiver
from vpn.metrics import VpnCollector
from vpn.status import TunnelStatus

#: series Prometheus makes itself (scrape health), not a gin collector
PROMETHEUS_OWN = {"up": {"job", "instance"}}


class FixtureVpn(VpnCollector):
    """The real VPN collector, reading a fixture state instead of live gateways."""

    def read(self) -> tuple[list[TunnelStatus], list[tuple[str, float]], bool]:
        tunnels = [TunnelStatus("mof-moi", "ikev2", "MOF", up=True, ike_rekey_seconds=3000,
                                child_rekey_seconds=2000),
                   TunnelStatus("mof-moe", "wireguard", "MOF", handshake_age_seconds=500)]
        return tunnels, [("gw-mof", 30 * 86400.0)], True


def _families(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, set()).update(s.labels)
    return out


def _collected(*collectors: Collector) -> str:
    reg = CollectorRegistry()
    for c in collectors:
        reg.register(c)
    return generate_latest(reg).decode()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Metric name -> label names, from every collector's exposition in a fixture state."""
    snmp = SnmpCollector()
    every_column = {key: {2: 1} for key in IF_COUNTERS}  # each column of IF-MIB answered
    snmp.update(result("pe1", counters=every_column, bgp={"10.254.0.1": (6, 65000)},
                       ip6={key: 1 for key in IP6_STATS}))
    snmp.update(result("pe2", ok=False, reason="timeout"))
    web_root = tmp_path_factory.mktemp("web")
    not_after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat()
    WebEvidence(web_root).save([{"agency": "MOF", "service": "www", "host": "www.mof.go.th",
                                 "tls": {"not_after": not_after}}])
    stats = SensorStats()
    stats.count_event("port_scan", "high", "MOF")
    agent = Agent(target_source=list)
    try:
        agent_text = agent.metrics_text({"devices": "none"}) or b""
    finally:
        agent.close()
    text = "".join([
        (snmp.render() or b"").decode(), agent_text.decode(),
        _collected(FixtureVpn("fixture"), CertExpiryCollector(web_root),
                   SensorCollector(stats, "eth0"), TrapReceiver())])
    out = _families(text)
    for name, labels in PROMETHEUS_OWN.items():
        out.setdefault(name, set()).update(labels)
    return out


# --- a small PromQL reader: enough for the expressions gin writes --------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_NAME = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)")
_LABEL_VALUES = re.compile(r"label_values\(\s*([^,)]+?)\s*,\s*(\w+)\s*\)")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> list[str]:
    """Metric (and recording-rule) names an expression reads, in order of appearance."""
    e = _LABEL_VALUES.sub(r"\1", expr)
    e = _STRING.sub('""', e)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = _CLAUSE.sub("", e)
    names = []
    for m in _NAME.finditer(e):
        if m.group(1) in KEYWORDS or e[m.end():].lstrip().startswith("("):
            continue  # operator keyword or function call
        names.append(m.group(1))
    return names


def clause_labels(expr: str) -> set[str]:
    """Labels named in by/on/... clauses, selectors' matchers and label_values()."""
    labels = {lb.strip() for _, body in _CLAUSE.findall(expr) for lb in body.split(",")
              if lb.strip()}
    labels |= {lb for _, body in _SELECTOR.findall(_STRING.sub('""', expr))
               for lb in _MATCHER.findall(body)}
    labels |= {lb for _, lb in _LABEL_VALUES.findall(expr)}
    return labels


def result_labels(expr: str, known: dict[str, set[str]]) -> set[str]:
    """Labels an expression's result carries: an outer ``by (...)`` list, else those of the
    first series it reads."""
    by = re.match(r"\s*\w+\s+by\s*\(([^)]*)\)", expr)
    if by:
        return {lb.strip() for lb in by.group(1).split(",")}
    return known.get(metric_names(expr)[0], set())


@pytest.fixture(scope="module")
def known(exported: dict[str, set[str]]) -> dict[str, set[str]]:
    """Exported series plus the recording rules (with the labels their results carry)."""
    out = dict(exported)
    for r in rules.RECORDING:
        out[r["record"]] = result_labels(r["expr"], out)
    return out


def _all_expressions() -> list[tuple[str, str]]:
    out = [(r["record"], r["expr"]) for r in rules.RECORDING]
    out += [(a["alert"], a["expr"]) for a in rules.ALERTS]
    for name, make in dashboards.DASHBOARDS.items():
        out += [(name, e) for e in dashboards.expressions(dashboards.to_json(make()))]
    return out


def test_the_reader_reads_gin_expressions() -> None:
    e = ('sum by (agency, type) (increase(gin_threat_events_total{severity="critical"}[5m]))'
         " > 0 or vector(0) and on (agency) up{job=~\"gin-agent-.*\"} < 1e9")
    assert metric_names(e) == ["gin_threat_events_total", "up"]
    assert clause_labels(e) == {"agency", "type", "severity", "job"}
    assert metric_names("label_values(gin_snmp_up{agency=\"$agency\"}, device)") == [
        "gin_snmp_up"]


@pytest.mark.parametrize("where, expr", _all_expressions())
def test_every_series_and_label_used_is_exported(where: str, expr: str,
                                                 known: dict[str, set[str]]) -> None:
    names = metric_names(expr)
    assert names, f"{where}: no metric found in {expr!r}"
    unknown = [n for n in names if n not in known]
    assert not unknown, f"{where}: {unknown} exported by no gin collector ({expr!r})"
    for label in clause_labels(expr):
        assert any(label in known[n] for n in names), (
            f"{where}: label {label!r} is on none of {names} ({expr!r})")
    for kind, body in _CLAUSE.findall(expr):
        if kind in ("on", "ignoring"):  # vector matching: every side must carry them
            for label in filter(None, (lb.strip() for lb in body.split(","))):
                assert all(label in known[n] for n in names), f"{where}: {kind} {label}"


@pytest.mark.parametrize("alert", rules.ALERTS, ids=lambda a: a["alert"])
def test_annotations_use_labels_the_alert_has(alert: dict, known: dict[str, set[str]]
                                              ) -> None:
    has = result_labels(alert["expr"], known)
    for text in alert["annotations"].values():
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in has, f"{alert['alert']}: $labels.{label} not in {sorted(has)}"


def test_the_documented_contract_is_what_is_exported(exported: dict[str, set[str]]) -> None:
    doc = rules.__doc__ or ""
    documented = dict(re.findall(r"``(gin_\w+)\{([\w,]+)\}``", doc))
    assert {"gin_bgp_peer_up", "gin_vpn_tunnel_up", "gin_vpn_certificate_expiry_seconds",
            "gin_web_cert_expiry_seconds", "gin_threat_events_total"} <= set(documented)
    for name, labels in documented.items():
        assert name in exported, f"rules.py documents {name}, which nobody exports"
        assert exported[name] == set(labels.split(",")), name


def test_fixture_reaches_every_collector(exported: dict[str, set[str]], tmp_path: Path
                                         ) -> None:
    """Guard for the guard: the fixture state really made each collector speak."""
    for name in ("gin_snmp_up", "gin_bgp_peer_up", "gin_if_oper_up", "gin_vpn_tunnel_up",
                 "gin_vpn_certificate_expiry_seconds", "gin_web_cert_expiry_seconds",
                 "gin_threat_events_total", "gin_monitor_targets",
                 "process_cpu_seconds_total"):
        assert name in exported, name

"""The metric contract cannot drift again: every metric a rule or dashboard reads, and every
label it matches, groups by or names in an annotation, is one a gin collector really exports.

What is exported is not declared by hand: each collector (SNMP, BGP included; the agent's
own and process metrics; traps; threat sensor, fed real packets; VPN; web certificates) is
run in a fixture state, its real exposition is parsed, and the job, instance and target
labels come from the scrape config gin generates (exporters.py).  Label VALUES are held to
the same rule: a rule matching ``severity="critical"`` or ``job="gin-sensor"`` must match
a value some producer emits (for threat events: what the detectors declare).  The contract
written in rules.py's docstring is checked the same way, so the documentation cannot drift
either.
"""

from __future__ import annotations

import re

import pytest
from exporters import Series, stored_series

from gin.server.web import telemetry
from monitor.prometheus import dashboards, rules
from monitor.sensor.detectors import severities


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> list[Series]:
    """Every series Prometheus stores from the fixture collectors via the generated config."""
    return stored_series(tmp_path_factory.mktemp("exporters"))


@pytest.fixture(scope="module")
def exported(stored: list[Series]) -> dict[str, set[str]]:
    """Metric name -> label names, as stored (target labels included)."""
    out: dict[str, set[str]] = {}
    for s in stored:
        out.setdefault(s.name, set()).update(s.labels)
    return out


@pytest.fixture(scope="module")
def values(stored: list[Series]) -> dict[tuple[str, str], set[str]]:
    """(metric, label) -> every value a producer emits.  The fixture run shows some; the
    threat sensor's full range is what its detectors declare (type and severity)."""
    out: dict[tuple[str, str], set[str]] = {}
    for s in stored:
        for k, v in s.labels.items():
            out.setdefault((s.name, k), set()).add(v)
    declared = severities()
    out[("gin_threat_events_total", "type")] |= set(declared)
    out[("gin_threat_events_total", "severity")] |= set().union(*declared.values())
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
    out += [("console", e) for e in telemetry.EXPRESSIONS]  # the web console's live state
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


_VALUE_MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@pytest.mark.parametrize("where, expr", _all_expressions())
def test_every_label_value_matched_is_one_a_producer_emits(
        where: str, expr: str, values: dict[tuple[str, str], set[str]]) -> None:
    """``severity="critical"``, ``job=~"gin-agent-.*"``, ``type="rogue_ra"``: a rule that
    matches a value nobody emits can never fire."""
    for name, body in _SELECTOR.findall(expr):
        for label, op, want in _VALUE_MATCHER.findall(body):
            if "$" in want or op.startswith("!"):
                continue  # a dashboard variable, or an exclusion
            have = values.get((name, label), set())
            ok = want in have if op == "=" else any(re.fullmatch(want, v) for v in have)
            assert ok, (f"{where}: {name}{{{label}{op}\"{want}\"}} matches no value a "
                        f"producer emits ({sorted(have)})")


def test_every_severity_a_detector_reports_reaches_an_alert() -> None:
    """Each declared severity of high or above has a rule firing on one such event."""
    exprs = " ".join(a["expr"] for a in rules.ALERTS)
    for sev in set().union(*severities().values()) & {"high", "critical"}:
        assert f'gin_threat_events_total{{severity="{sev}"}}' in exprs, sev


@pytest.mark.parametrize("alert", rules.ALERTS, ids=lambda a: a["alert"])
def test_annotations_use_labels_the_alert_has(alert: dict, known: dict[str, set[str]]
                                              ) -> None:
    has = result_labels(alert["expr"], known)
    for text in alert["annotations"].values():
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in has, f"{alert['alert']}: $labels.{label} not in {sorted(has)}"


def test_the_documented_contract_is_what_is_exported(exported: dict[str, set[str]]) -> None:
    """Exported labels minus what Prometheus adds at scrape time (job, instance, target
    labels) are the documented ones."""
    doc = rules.__doc__ or ""
    documented = dict(re.findall(r"``(gin_\w+)\{([\w,]+)\}``", doc))
    scrape = {"job", "instance", "gin_agent", "sensor"}
    assert {"gin_bgp_peer_up", "gin_vpn_tunnel_up", "gin_vpn_certificate_expiry_seconds",
            "gin_web_cert_expiry_seconds", "gin_threat_events_total"} <= set(documented)
    for name, labels in documented.items():
        assert name in exported, f"rules.py documents {name}, which nobody exports"
        assert exported[name] - scrape == set(labels.split(",")) - scrape, name


def test_fixture_reaches_every_collector(exported: dict[str, set[str]],
                                         values: dict[tuple[str, str], set[str]]) -> None:
    """Guard for the guard: the fixture state really made each collector speak, and the
    sensor's real detectors reported critical and high events with both agencies."""
    for name in ("gin_snmp_up", "gin_bgp_peer_up", "gin_if_oper_up", "gin_vpn_tunnel_up",
                 "gin_vpn_certificate_expiry_seconds", "gin_web_cert_expiry_seconds",
                 "gin_threat_events_total", "gin_monitor_targets",
                 "process_cpu_seconds_total", "gin_sensor_dropped_packets_total"):
        assert name in exported, name
    assert {"critical", "high"} <= values[("gin_threat_events_total", "severity")]
    assert "MOF" in values[("gin_threat_events_total", "agency")]
    # the fixture's MOI hosts attack MOF: the source agency is a label of its own
    assert "MOI" in values[("gin_threat_events_total", "source_agency")]
    assert {"gin-agent-bkk", "gin-snmp-bkk", "gin-sensor"} <= values[("up", "job")]

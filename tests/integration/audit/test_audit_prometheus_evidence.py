"""The audit's Prometheus evidence against a real Prometheus: link outages from the
interfaces' status samples and GinLinkDown's ``ALERTS`` history, threats by severity, the
tunnels' live state.

The hour of samples is backfilled (``promtool tsdb create-blocks-from openmetrics``) in the
shapes the agent (``gin_if_oper_up``/``gin_if_admin_up``/``gin_snmp_up`` with agency, site,
device, ifname; its VPN collector's ``gin_vpn_tunnel_up`` with tunnel, type, agency), the
sensor (``gin_threat_events_total`` with agency, type, severity) and Prometheus' rule
engine (``ALERTS`` with alertname, alertstate, the rule's labels) write them, over an hour
that ended a while ago, so the audit can be asked about any instant of it.  The readers
then query the server over its HTTP API, as ``gin audit check --prometheus`` does.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.monitor.monitor_support import PromServer, have_prometheus

pytestmark = pytest.mark.integration

STEP = 15  # seconds between samples, as a scrape interval
#: (device, agency, site, ifname): (oper stretches, admin stretches, alert stretches), in
#: minutes of the hour: (from, to, value) / (from, to, alertstate)
INTERFACES = {
    ("pe2", "LAB", "core-cnx", "gin-1-2"): ([(0, 10, 1), (10, 20, 0), (20, 60, 1)],
                                            [(0, 60, 1)],
                                            [(10, 12, "pending"), (12, 20, "firing")]),
    ("ce2", "MOE", "moe-hq", "gin-3-1"): ([(0, 50, 1), (50, 60, 0)], [(0, 60, 1)],
                                          [(50, 52, "pending"), (52, 60, "firing")]),
    ("ce2", "MOE", "moe-hq", "gin-3-2"): ([(0, 60, 0)], [(0, 60, 0)], []),  # shut: no fault
    ("pe1", "LAB", "core-bkk", "gin-0-1"): ([(0, 60, 1)], [(0, 60, 1)], []),
}


def _openmetrics(t0: int) -> str:
    def stretch(parts, render):  # noqa: ANN001, ANN202
        return [render(t0 + s, value) for a, b, value in parts
                for s in range(a * 60, b * 60, STEP)]

    out = []
    for metric, index in (("gin_if_oper_up", 0), ("gin_if_admin_up", 1)):
        out.append(f"# TYPE {metric} gauge")
        for (device, agency, site, ifname), parts in INTERFACES.items():
            labels = f'agency="{agency}",device="{device}",ifname="{ifname}",site="{site}"'
            out += stretch(parts[index], lambda t, v, m=metric, lb=labels: f"{m}{{{lb}}} {v} {t}")
    out.append("# TYPE ALERTS gauge")
    for (device, agency, site, ifname), (_, _, alerts) in INTERFACES.items():
        for state in ("pending", "firing"):
            labels = (f'agency="{agency}",alertname="GinLinkDown",alertstate="{state}",'
                      f'device="{device}",ifname="{ifname}",severity="critical",site="{site}"')
            out += stretch([a for a in alerts if a[2] == state],
                           lambda t, _v, lb=labels: f"ALERTS{{{lb}}} 1 {t}")
    out.append("# TYPE gin_snmp_up gauge")
    for device, agency in (("pe1", "LAB"), ("pe2", "LAB"), ("ce2", "MOE")):
        out += stretch([(0, 60, 1)], lambda t, v, d=device, a=agency:
                       f'gin_snmp_up{{agency="{a}",device="{d}"}} {v} {t}')
    out.append("# TYPE gin_vpn_tunnel_up gauge")
    for tunnel, parts in (("mof-moe", [(0, 60, 1)]), ("mof-moph", [(0, 40, 1), (40, 60, 0)])):
        out += stretch(parts, lambda t, v, n=tunnel:
                       f'gin_vpn_tunnel_up{{agency="MOF",tunnel="{n}",type="ikev2"}} {v} {t}')
    out.append("# TYPE gin_threat_events counter")
    for kind, severity, parts in (("brute_force", "high", [(0, 30, 0), (30, 60, 3)]),
                                  ("port_scan", "medium", [(30, 60, 1)])):
        labels = f'agency="MOE",severity="{severity}",source_agency="MOF",type="{kind}"'
        out += stretch(parts, lambda t, v, lb=labels: f"gin_threat_events_total{{{lb}}} {v} {t}")
    return "\n".join([*out, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """(URL, the hour's start): a Prometheus whose TSDB holds the backfilled hour."""
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    work = tmp_path_factory.mktemp("prom-evidence")
    now = int(dt.datetime.now(dt.UTC).timestamp())
    t0 = now - 3 * 3600 - now % 3600  # a whole hour, ended at least two hours ago
    source = work / "hour.om"
    source.write_text(_openmetrics(t0))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(source), str(work / "data")], check=True, capture_output=True,
                   timeout=300)
    server = PromServer(work, {"global": {"scrape_interval": "15s"}})
    server.start(timeout=60)
    try:
        yield server.url, dt.datetime.fromtimestamp(t0, dt.UTC)
    finally:
        server.stop()


def _at(t0: dt.datetime, minutes: float) -> dt.datetime:
    return t0 + dt.timedelta(minutes=minutes)


def test_outages_threats_and_their_findings_from_a_real_prometheus(prometheus) -> None:  # noqa: ANN001
    from audit.checks.base import Status
    from audit.monitoring import monitor_facts, tunnel_states
    from audit.outages import Outage
    from audit.runner import ConfigSource, audit_one

    url, t0 = prometheus
    end = _at(t0, 60)
    facts = monitor_facts(url, {"pe1": "LAB", "pe2": "LAB", "ce2": "MOE", "ce1": "MOF"},
                          now=end, window=dt.timedelta(hours=2))
    # cleared: down 10 minutes, GinLinkDown pending after the first sample, firing at 2m
    assert facts["pe2"].outages == (Outage("pe2", "gin-1-2", "LAB", _at(t0, 10), _at(t0, 20),
                                           "firing", _at(t0, 12)),)
    # still down at the audit; the shut interface beside it is no fault
    assert facts["ce2"].outages == (Outage("ce2", "gin-3-1", "MOE", _at(t0, 50), None,
                                           "firing", _at(t0, 52)),)
    assert (facts["ce2"].interfaces, facts["pe1"].interfaces, facts["ce1"].interfaces) == (
        2, 1, 0)
    assert facts["pe1"].outages == () and facts["pe2"].up == 1.0 and facts["ce1"].up is None
    # the threat counts keep their evidence line on both sides (MOF's hosts attacked MOE);
    # the serious ones call for a response where the source sits
    assert facts["ce1"].threats == (
        "gin_threat_events_total{source_agency='MOF', type='brute_force'} = 3",
        "gin_threat_events_total{source_agency='MOF', type='port_scan'} = 1")
    assert facts["ce2"].threats == (
        "gin_threat_events_total{agency='MOE', type='brute_force'} = 3",
        "gin_threat_events_total{agency='MOE', type='port_scan'} = 1")
    assert facts["ce1"].serious == ("brute_force",)
    assert facts["ce2"].serious == () and facts["pe1"].serious == ()
    assert tunnel_states(url, end) == {"mof-moe": 1.0, "mof-moph": 0.0}
    assert tunnel_states(url, _at(t0, 30)) == {"mof-moe": 1.0, "mof-moph": 1.0}
    # an instant inside the outage: the same link reads as still down then
    during = monitor_facts(url, {"pe2": "LAB"}, now=_at(t0, 15),
                           window=dt.timedelta(hours=1))
    assert [(o.start, o.end, o.alert) for o in during["pe2"].outages] == [
        (_at(t0, 10), None, "firing")]

    def verdict(device: str) -> tuple[Status, str, tuple[str, ...]]:
        audit = audit_one(ConfigSource(device, "frr", None, "pe", facts[device].source,
                                       monitor=facts[device], blocks=()), now=end)
        [f] = [f for f in audit.findings if f.check == "ops.link_faults"]
        return f.status, f.reason, tuple(text for _, text in f.evidence)

    status, reason, evidence = verdict("ce2")
    assert status is Status.FAIL and "gin-3-1" in reason
    assert evidence == (f"gin_if_oper_up{{device='ce2', ifname='gin-3-1'}}: down from "
                        f"{_at(t0, 50):%Y-%m-%dT%H:%M:%SZ} and still down; GinLinkDown firing "
                        f"since {_at(t0, 52):%Y-%m-%dT%H:%M:%SZ}",)
    assert verdict("pe2")[:2] == (Status.PASS, "1 link fault(s) in the last 2 h, all cleared")
    assert verdict("pe1")[:2] == (Status.PASS, "no link fault in the last 2 h (1 interface(s) "
                                               "watched)")
    assert verdict("ce1")[0] is Status.UNKNOWN  # no interface of it in Prometheus


def test_an_unreachable_prometheus_is_one_clear_error(tmp_path: Path) -> None:
    from audit.monitoring import monitor_facts
    from devices.errors import GinError
    from tests.integration.monitor.monitor_support import free_tcp_port

    with pytest.raises(GinError, match=r"^Prometheus at http://127\.0\.0\.1:\d+ cannot be "):
        monitor_facts(f"http://127.0.0.1:{free_tcp_port()}", {"pe1": "LAB"})

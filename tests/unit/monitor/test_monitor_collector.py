"""The collector's exposition: names, labels, counter semantics, failed devices."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.collector import SnmpCollector
from monitor.snmp.poller import PollResult
from monitor.snmp.targets import SnmpTarget
from monitor.snmp.transport import Stats


def result(name: str, ok: bool = True, **kw: object) -> PollResult:
    t = SnmpTarget(name=name, host="192.0.2.1", port=161, agency="MOF", site="BKK")
    base: dict = {"target": t, "ok": ok, "duration": 0.25, "finished": 1700000000.0,
                  "stats": Stats(3, 3, 1), "varbinds": 42}
    if ok:
        base.update(uptime=1234.5, ifnames={1: "lo", 2: "eth0", 3: "eth0", 4: ""},
                    ifalias={2: "to MOI"}, speed_bps={2: 1_000_000_000},
                    counters={"oper_status": {1: 1, 2: 2, 3: 1, 4: 1},
                              "admin_status": {1: 1, 2: 1, 3: 1, 4: 2},
                              "in_octets": {1: 10, 2: 2**64 - 1, 3: 0, 4: 5},
                              "out_errors": {2: 7}},
                    ip6={"in_receives": 99}, cpu_load=25.0, mem_total=1024, mem_used=512)
    base.update(kw)
    return PollResult(**base)


def scrape(c: SnmpCollector, fast: bool = False) -> dict[str, dict[tuple, float]]:
    """Samples by name; ``fast`` reads the agent's exposition instead of the Collector."""
    if fast:
        text = c.render().decode()
    else:
        reg = CollectorRegistry()
        reg.register(c)
        text = generate_latest(reg).decode()
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = float(s.value)
    return out


def key(**labels: str) -> tuple:
    return tuple(sorted(labels.items()))


def test_interface_and_device_metrics() -> None:
    c = SnmpCollector()
    c.update(result("r1"))
    m = scrape(c)
    dev = {"agency": "MOF", "site": "BKK", "device": "r1"}
    assert m["gin_snmp_up"][key(**dev)] == 1
    assert m["gin_device_uptime_seconds"][key(**dev)] == 1234.5
    assert m["gin_device_cpu_load_ratio"][key(**dev)] == 0.25
    assert m["gin_ipv6_in_receives_total"][key(**dev)] == 99
    assert m["gin_if_in_octets_total"][key(**dev, ifname="eth0")] == float(2**64 - 1)
    # duplicate and empty ifName never collapse into one series
    assert m["gin_if_in_octets_total"][key(**dev, ifname="eth0#3")] == 0
    assert m["gin_if_in_octets_total"][key(**dev, ifname="ifindex4")] == 5
    assert m["gin_if_oper_up"][key(**dev, ifname="eth0")] == 0
    assert m["gin_if_admin_up"][key(**dev, ifname="ifindex4")] == 0
    assert m["gin_if_speed_bits_per_second"][key(**dev, ifname="eth0")] == 1e9
    assert m["gin_if_out_errors_total"] == {key(**dev, ifname="eth0"): 7}
    assert m["gin_if_info"][key(**dev, ifname="eth0", ifindex="2", ifalias="to MOI")] == 1
    assert m["gin_snmp_poll_packets_retried"][key(**dev)] == 1
    assert m["gin_snmp_polls_total"][key(**dev)] == 1


def test_failed_device_exports_only_self_metrics() -> None:
    c = SnmpCollector()
    c.update(result("r1"))
    c.update(result("r1", ok=False, reason="timeout", error="no reply"))
    c.update(result("r1", ok=False, reason="timeout", error="no reply"))
    m = scrape(c)
    dev = {"agency": "MOF", "site": "BKK", "device": "r1"}
    assert m["gin_snmp_up"][key(**dev)] == 0
    assert m["gin_snmp_last_error_info"] == {key(**dev, reason="timeout"): 1}
    assert m["gin_snmp_errors_total"] == {key(**dev, reason="timeout"): 2}
    assert "gin_if_in_octets_total" not in m
    assert "gin_device_uptime_seconds" not in m


def test_retain_forgets_removed_devices() -> None:
    c = SnmpCollector()
    c.update(result("r1"))
    c.update(result("r2", ok=False, reason="auth_failure"))
    c.retain({"r1"})
    m = scrape(c)
    assert {dict(k)["device"] for k in m["gin_snmp_up"]} == {"r1"}
    assert "gin_snmp_errors_total" not in m


def test_fast_exposition_equals_the_collector() -> None:
    c = SnmpCollector()
    c.update(result("r1"))
    c.update(result("r2", ok=False, reason="auth_failure"))
    c.update(result('we"ird\\dev\nname'))
    assert scrape(c, fast=True) == scrape(c)
    text = c.render().decode()
    assert text.count("# TYPE gin_if_in_octets_total counter") == 1

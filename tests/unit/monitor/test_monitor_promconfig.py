"""Generation of scrape config, file_sd, rules and Alertmanager routes (no tools needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.prometheus import rules
from monitor.prometheus.config import (
    AgentSpec,
    alertmanager_config,
    assign,
    file_sd,
    parse_agent,
    write_all,
)

DEVICES = [{"device": "r1", "agency": "MOF", "site": "BKK"},
           {"device": "r2", "agency": "MOF", "site": "BKK"},
           {"device": "r3", "agency": "MOI", "site": "CNX"}]


def test_parse_agent() -> None:
    assert parse_agent("bkk=127.0.0.1:9436") == AgentSpec("bkk", "127.0.0.1:9436")
    assert parse_agent("north=[::1]:9437@MOI,MOE").agencies == {"MOI", "MOE"}
    for bad in ("bkk", "bkk=host", "b k=1.2.3.4:5"):
        with pytest.raises(ValueError):
            parse_agent(bad)


def test_devices_go_to_their_regional_agent() -> None:
    agents = [AgentSpec("bkk", "a:1"), AgentSpec("north", "b:2", frozenset({"MOI"}))]
    got = assign(DEVICES, agents)
    assert [d["device"] for d in got["bkk"]] == ["r1", "r2"]
    assert [d["device"] for d in got["north"]] == ["r3"]
    assert file_sd(got["bkk"], agents[0]) == [
        {"targets": ["r1", "r2"], "labels": {"agency": "MOF", "site": "BKK", "gin_agent": "bkk"}}]


def test_written_layout(tmp_path: Path) -> None:
    write_all(tmp_path, DEVICES, {"MOF": ["noc@mof.go.th"]}, [AgentSpec("bkk", "a:1")])
    conf = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
    assert set(jobs) == {"gin-agent-bkk", "gin-snmp-bkk", "gin-sensor"}
    snmp = jobs["gin-snmp-bkk"]
    assert snmp["honor_labels"] is True
    assert {"target_label": "__address__", "replacement": "a:1"} in snmp["relabel_configs"]
    assert jobs["gin-agent-bkk"]["params"] == {"devices": ["none"]}
    sd = json.loads((tmp_path / "file_sd" / "gin-snmp-bkk.json").read_text())
    assert sum(len(g["targets"]) for g in sd) == 3
    assert json.loads((tmp_path / "file_sd" / "gin-sensor.json").read_text()) == []
    assert not list(tmp_path.rglob("*.tmp"))


def test_sensors_are_scraped_from_the_directory(sqlite_url: str, tmp_path: Path) -> None:
    """Devices of role sensor, at their management address and the sensor port; the
    target label is ``sensor`` (never ``agency``: that is the events' own label)."""
    from directory import store
    from directory.store import Directory
    from monitor.prometheus.config import generate

    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="ids-mof", role="sensor",
                         platform="linux", mgmt_address="2001:db8::50")
        store.add_device(s, "MOF", "BKK", hostname="ids-v4", role="sensor",
                         platform="linux", mgmt_address="192.0.2.50")
        store.add_device(s, "MOF", "BKK", hostname="ids-bare", role="sensor",
                         platform="linux")
        store.add_device(s, "MOF", "BKK", hostname="ce1", role="ce", platform="frr",
                         mgmt_address="192.0.2.1")
    done = generate(d, tmp_path, [AgentSpec("bkk", "a:1")], sensor_port=9999, check=False)
    d.close()
    assert done.sensors == ["ids-mof", "ids-v4"]
    assert done.skipped == ["sensor ids-bare: no mgmt_address to scrape"]
    sd = json.loads((tmp_path / "file_sd" / "gin-sensor.json").read_text())
    assert sd == [{"targets": ["[2001:db8::50]:9999"], "labels": {"sensor": "ids-mof"}},
                  {"targets": ["192.0.2.50:9999"], "labels": {"sensor": "ids-v4"}}]
    conf = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    [job] = [j for j in conf["scrape_configs"] if j["job_name"] == rules.SENSOR_JOB]
    assert job["file_sd_configs"][0]["files"] == ["file_sd/gin-sensor.json"]
    assert "honor_labels" not in job


def test_rules_are_complete() -> None:
    names = {a["alert"] for a in rules.ALERTS}
    assert {"GinLinkDown", "GinDeviceUnreachable", "GinBgpSessionDown", "GinVpnTunnelDown",
            "GinInterfaceErrors", "GinLinkUtilisationHigh", "GinThreatEventSpike",
            "GinCertificateExpiringSoon", "GinCertificateExpiryImminent",
            "GinWebCertificateExpiringSoon", "GinWebCertificateExpired",
            "GinCriticalThreatEvent", "GinHighThreatEvent", "GinSensorDown",
            "GinSensorDroppingPackets", "GinAgentScrapeFailed"} <= names
    for a in rules.ALERTS:
        assert a["labels"]["severity"] in ("critical", "warning")
        assert a["annotations"]["summary"] and a["annotations"]["description"]


def test_certificate_rules_read_seconds_left() -> None:
    """vpn.metrics and audit.web.metrics export seconds LEFT, not a notAfter timestamp."""
    exprs = {a["alert"]: a["expr"] for a in rules.ALERTS}
    assert exprs["GinCertificateExpiringSoon"] == (
        "gin_vpn_certificate_expiry_seconds < 14 * 86400")
    assert exprs["GinWebCertificateExpired"] == "gin_web_cert_expiry_seconds < 0"
    assert not any("time()" in e for e in exprs.values())


def test_alertmanager_routes() -> None:
    conf = alertmanager_config({"MOF": ["noc@mof.go.th", "soc@mof.go.th"], "MOI": []})
    routes = conf["route"]["routes"]
    assert routes[0]["matchers"] == ['severity="critical"'] and routes[0]["continue"]
    assert {"matchers": ['agency="MOF"'], "receiver": "agency-MOF", "continue": True} in routes
    receivers = {r["name"]: r for r in conf["receivers"]}
    assert "agency-MOI" not in receivers  # no contact e-mail: no receiver
    assert receivers["agency-MOF"]["email_configs"][0]["to"] == "noc@mof.go.th, soc@mof.go.th"

"""The generated Prometheus/Alertmanager files through the real tools: `promtool check
config`, `promtool test rules` (one case per alert and recording rule), `amtool
check-config`.

The input series of every case are series as Prometheus stores them from the real
collectors' exposition (names, labels and target labels from
tests/unit/monitor/exporters.py, which runs every collector, the threat sensor's
detectors on real packets included, and the generated scrape config); only the values
over time are the cases' own."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitor_support import need

from monitor.prometheus import rules
from monitor.prometheus.config import AgentSpec, write_all
from tests.unit.monitor.exporters import Series, find, stored_series

pytestmark = pytest.mark.integration

#: every series Prometheus stores from the real collectors via the generated config
with tempfile.TemporaryDirectory(prefix="gin-rules-") as _tmp:
    STORED = stored_series(Path(_tmp))


def real(name: str, **labels: str) -> Series:
    return find(STORED, name, **labels)


def sel(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def alert(name: str, series: list[tuple[Series, str]], eval_time: str,
          labels: dict[str, str] | None, annotations: dict[str, str] | None = None
          ) -> dict[str, Any]:
    spec = next(a for a in rules.ALERTS if a["alert"] == name)
    exp = []
    if labels is not None:
        exp = [{"exp_labels": {**labels, **spec["labels"]},
                "exp_annotations": annotations or {}}]
    return {"interval": "1m",
            "input_series": [{"series": s.selector(), "values": v} for s, v in series],
            "alert_rule_test": [{"eval_time": eval_time, "alertname": name,
                                 "exp_alerts": exp}]}


def record(name: str, series: list[tuple[Series, str]], eval_time: str,
           samples: list[tuple[dict[str, str], float]], milli: bool = False) -> dict[str, Any]:
    """A recording-rule case; ``milli`` compares round(1000 x value) (float rates)."""
    expr = f"round({name} * 1000)" if milli else name
    return {"interval": "1m",
            "input_series": [{"series": s.selector(), "values": v} for s, v in series],
            "promql_expr_test": [{"expr": expr, "eval_time": eval_time, "exp_samples": [
                {"labels": sel("" if milli else name, **lb), "value": v * 1000 if milli else v}
                for lb, v in samples]}]}


def by(s: Series, *labels: str) -> dict[str, str]:
    return {k: s.labels[k] for k in labels}


IF = {"device": "pe1", "ifname": "eth0"}
ADMIN, OPER = real("gin_if_admin_up", **IF), real("gin_if_oper_up", **IF)
IFL = dict(ADMIN.labels)  # what an interface alert carries: every label of the series
IFK = by(ADMIN, "agency", "site", "device", "ifname")  # what a recording rule keeps
LINK_DOWN = [(ADMIN, "1x20"), (OPER, "1 1 0x18")]
LINK_FINE = [(ADMIN, "0x20"), (OPER, "0x20")]  # administratively down: not an outage
# the device fails two polls while its link is down: the agent then exports no interface
# values (gin_snmp_up 0), so Prometheus marks the series stale for two scrapes
STALE2 = "stale stale"
LINK_DOWN_POLLS_FAIL = [(ADMIN, f"1 1 1 1 {STALE2} 1x14"), (OPER, f"1 0 0 0 {STALE2} 0x14")]
# the device stops answering for good one minute after the link went down
LINK_DOWN_DEVICE_GONE = [(ADMIN, "1 1 " + " ".join(["stale"] * 14)),
                         (OPER, "1 0 " + " ".join(["stale"] * 14))]
SPEED = real("gin_if_speed_bits_per_second", **IF)
IN_OCT, OUT_OCT = real("gin_if_in_octets_total", **IF), real("gin_if_out_octets_total", **IF)
TRAFFIC = [(SPEED, "1000000000x40"),
           (IN_OCT, "0+3750000000x40"),  # 62.5 MB/s: 0.5
           (OUT_OCT, "0+1875000000x40"),  # 0.25
           (real("gin_if_in_errors_total", **IF), "0+120x40"),  # 2/s
           (real("gin_if_out_errors_total", **IF), "0+60x40"),  # 1/s
           (real("gin_if_in_discards_total", **IF), "0+30x40"),
           (real("gin_if_out_discards_total", **IF), "0+30x40")]
HOT = [(SPEED, "1000000000x40"), (IN_OCT, "0+7125000000x40"),  # 95%
       (OUT_OCT, "0x40")]
SNMP_UP1, SNMP_UP2 = real("gin_snmp_up", device="pe1"), real("gin_snmp_up", device="pe2")
AGENT_UP = real("up", job="gin-agent-bkk")
DEVICE_SCRAPE = real("up", job="gin-snmp-bkk", instance="pe1")
BGP = real("gin_bgp_peer_up", device="pe1")
TUNNEL = real("gin_vpn_tunnel_up", tunnel="mof-moi")
VPN_CERT = real("gin_vpn_certificate_expiry_seconds", device="gw-mof")
WEB_CERT = real("gin_web_cert_expiry_seconds", host="www.mof.go.th")
SENSOR_UP = real("up", job=rules.SENSOR_JOB)
DROPPED = real("gin_sensor_dropped_packets_total", sensor="ids-mof")
# what the real detectors reported on real packets (tests/unit/monitor/exporters.py)
RA = real("gin_threat_events_total", type="rogue_ra")
ARP = real("gin_threat_events_total", type="arp_spoof")
BRUTE = real("gin_threat_events_total", type="brute_force")
SCAN = real("gin_threat_events_total", type="port_scan")

ALERT_CASES = {
    "GinLinkDown": [alert("GinLinkDown", LINK_DOWN, "6m", IFL, {
        "summary": "Link pe1 eth0 is down",
        "description": "MOF/BKK: interface eth0 on pe1 is administratively up but "
                       "operationally down."}),
        alert("GinLinkDown", LINK_FINE, "6m", None),
        # down since 1m, two failed polls at 4m-5m: still firing at 6m (for: 2m did not
        # restart at the gap, which it did when the rule read the raw series)
        alert("GinLinkDown", LINK_DOWN_POLLS_FAIL, "6m", IFL, {
            "summary": "Link pe1 eth0 is down",
            "description": "MOF/BKK: interface eth0 on pe1 is administratively up but "
                           "operationally down."}),
        # the device has answered no poll for longer than GinDeviceUnreachable waits:
        # that alert speaks now, the link's last state is no longer carried
        alert("GinLinkDown", LINK_DOWN_DEVICE_GONE, "12m", None)],
    "GinDeviceUnreachable": [alert("GinDeviceUnreachable", [
        (SNMP_UP1, "0x10"), (SNMP_UP2, "1x10")], "6m", dict(SNMP_UP1.labels), {
        "summary": "Device pe1 does not answer SNMP",
        "description": "MOF/BKK: the last polls of pe1 failed; see gin_snmp_last_error_info "
                       "for the reason."}),
        alert("GinDeviceUnreachable", [(SNMP_UP1, "1 1 0x10")], "4m", None)],
    "GinMonitorAgentDown": [alert("GinMonitorAgentDown", [(AGENT_UP, "0x10")], "3m",
                                  dict(AGENT_UP.labels), {
        "summary": "gin monitor agent 127.0.0.1:9436 is down",
        "description": "Prometheus cannot scrape the agent: none of its devices are being "
                       "watched."}),
        alert("GinMonitorAgentDown", [(AGENT_UP, "1x10"), (SENSOR_UP, "0x10")], "3m", None)],
    "GinAgentScrapeFailed": [alert("GinAgentScrapeFailed", [(DEVICE_SCRAPE, "0x10")], "6m",
                                   dict(DEVICE_SCRAPE.labels), {
        "summary": "Prometheus cannot scrape pe1 through agent bkk",
        "description": "MOF/BKK: the agent does not serve pe1 (not in its directory view "
                       "yet: SIGHUP it; another agent's agency: rerun gin monitor "
                       "prometheus-config), or does not answer in time."}),
        alert("GinAgentScrapeFailed", [(DEVICE_SCRAPE, "1x10"), (AGENT_UP, "0x10")], "6m",
              None)],
    "GinSensorDown": [alert("GinSensorDown", [(SENSOR_UP, "0x10")], "3m",
                            dict(SENSOR_UP.labels), {
        "summary": "Threat sensor ids-mof is down",
        "description": "Prometheus cannot scrape the sensor at 127.0.0.1:9437: its network "
                       "is not being watched for threats."}),
        alert("GinSensorDown", [(SENSOR_UP, "1x10"), (AGENT_UP, "0x10")], "3m", None)],
    "GinSensorDroppingPackets": [alert("GinSensorDroppingPackets", [
        (DROPPED, "0 0 0 50 50 50")], "4m", dict(DROPPED.labels), {
        "summary": "Threat sensor ids-mof drops packets on eth1",
        "description": "50 packets dropped by the capture in 5 minutes: the sensor is "
                       "blind to part of the traffic (raise --ring-mb, narrow --bpf, or add "
                       "CPU)."}),
        alert("GinSensorDroppingPackets", [(DROPPED, "0x10")], "8m", None)],
    "GinBgpSessionDown": [alert("GinBgpSessionDown", [(BGP, "0x10")], "4m",
                                dict(BGP.labels), {
        "summary": "BGP session pe1 -> 10.254.0.1 is down",
        "description": "MOF: BGP peer 10.254.0.1 of pe1 is not Established."}),
        alert("GinBgpSessionDown", [(BGP, "1x10")], "4m", None),
        # down since 1m, the router missed two polls at 3m-4m: still firing at 5m
        alert("GinBgpSessionDown", [(BGP, f"1 0 0 {STALE2} 0x10")], "5m", dict(BGP.labels), {
            "summary": "BGP session pe1 -> 10.254.0.1 is down",
            "description": "MOF: BGP peer 10.254.0.1 of pe1 is not Established."})],
    "GinVpnTunnelDown": [alert("GinVpnTunnelDown", [(TUNNEL, "0x10")], "4m",
                               dict(TUNNEL.labels), {
        "summary": "VPN tunnel mof-moi (ikev2) is down",
        "description": "MOF: tunnel mof-moi carries no traffic (IKEv2: no CHILD_SA "
                       "installed; WireGuard: no handshake for 180 s)."})],
    "GinInterfaceErrors": [alert("GinInterfaceErrors", TRAFFIC, "20m", IFK, {
        "summary": "Errors on pe1 eth0",
        "description": "3 errored packets/s over 5 minutes."})],
    "GinLinkUtilisationHigh": [alert("GinLinkUtilisationHigh", HOT, "25m", IFK, {
        "summary": "pe1 eth0 above 90% utilisation",
        "description": "95% of link speed for 15 minutes."}),
        alert("GinLinkUtilisationHigh", TRAFFIC, "25m", None)],
    "GinThreatEventSpike": [alert("GinThreatEventSpike", [(SCAN, "0+10x30")], "10m",
                                  by(SCAN, "agency", "type"), {
        "summary": "Threat event spike at MOF: port_scan",
        "description": "50 port_scan events in 5 minutes."}),
        alert("GinThreatEventSpike", [(SCAN, "0+1x30")], "10m", None)],
    # ONE event: the sensor's series appears at 1 with the event (absent before: "_")
    "GinCriticalThreatEvent": [
        alert("GinCriticalThreatEvent", [(RA, "_ _ _ 1 1 1 1 1 1 1 1 1")], "4m",
              by(RA, "agency", "source_agency", "type"), {
                  "summary": "Critical threat event at MOF: rogue_ra",
                  "description": "The threat sensor reported critical rogue_ra events "
                                 "against MOF from source agency MOF; see its event log for "
                                 "the source address and evidence."}),
        alert("GinCriticalThreatEvent", [(ARP, "1x3 2 2 2 2 2 2")], "5m",
              by(ARP, "agency", "source_agency", "type"), {
                  "summary": "Critical threat event at MOF: arp_spoof",
                  "description": "The threat sensor reported critical arp_spoof events "
                                 "against MOF from source agency MOF; see its event log for "
                                 "the source address and evidence."}),
        # quiet for 5 minutes after the one event: resolved
        alert("GinCriticalThreatEvent", [(RA, "_ _ _ 1x20")], "15m", None),
        # a high event is not a critical one
        alert("GinCriticalThreatEvent", [(BRUTE, "_ 1x10")], "3m", None)],
    "GinHighThreatEvent": [
        # MOI's host attacks MOF: the alert is MOF's, and names MOI as the source agency
        alert("GinHighThreatEvent", [(BRUTE, "_ _ 1x10")], "3m",
              by(BRUTE, "agency", "source_agency", "type"), {
            "summary": "High-severity threat event at MOF: brute_force",
            "description": "The threat sensor reported brute_force against MOF from source "
                           "agency MOI; see its event log for the source address and "
                           "evidence, and consider gin monitor respond --block."}),
        alert("GinHighThreatEvent", [(SCAN, "_ 1x10")], "3m", None)],
    # seconds left count down by 60 per 1m step, as the collectors' values do
    "GinCertificateExpiringSoon": [alert("GinCertificateExpiringSoon", [
        (VPN_CERT, "868200-60x80")], "70m", dict(VPN_CERT.labels), {
        "summary": "VPN certificate of gw-mof expires within 14 days",
        "description": "The gateway certificate deployed on gw-mof expires in 10d 0h 0m 0s: "
                       "renew it (gin vpn cert renew)."}),
        alert("GinCertificateExpiringSoon", [(VPN_CERT, "31536000-60x80")], "70m", None)],
    "GinCertificateExpiryImminent": [alert("GinCertificateExpiryImminent", [
        (VPN_CERT, "174000-60x30")], "20m", dict(VPN_CERT.labels), {
        "summary": "VPN certificate of gw-mof expires within 3 days",
        "description": "The gateway certificate deployed on gw-mof expires in 2d 0h 0m 0s: "
                       "renew it (gin vpn cert renew)."})],
    "GinWebCertificateExpiringSoon": [alert("GinWebCertificateExpiringSoon", [
        (WEB_CERT, "868200-60x80")], "70m", dict(WEB_CERT.labels), {
        "summary": "TLS certificate of www.mof.go.th expires within 14 days",
        "description": "MOF: the certificate of www.mof.go.th expires in 10d 0h 0m 0s."}),
        # already expired: GinWebCertificateExpired speaks, not this one
        alert("GinWebCertificateExpiringSoon", [(WEB_CERT, "-3600-60x80")], "70m", None)],
    "GinWebCertificateExpired": [alert("GinWebCertificateExpired", [
        (WEB_CERT, "300-60x20")], "15m", dict(WEB_CERT.labels), {
        "summary": "TLS certificate of www.mof.go.th has expired",
        "description": "MOF: the certificate of www.mof.go.th expired; browsers refuse the "
                       "service."}),
        alert("GinWebCertificateExpired", [(WEB_CERT, "86400-60x20")], "15m", None)],
}

RECORD_CASES = {
    "gin:if_in_utilisation:ratio_rate5m": record(
        "gin:if_in_utilisation:ratio_rate5m", TRAFFIC, "10m", [(IFK, 0.5)], milli=True),
    "gin:if_out_utilisation:ratio_rate5m": record(
        "gin:if_out_utilisation:ratio_rate5m", TRAFFIC, "10m", [(IFK, 0.25)], milli=True),
    "gin:if_errors:rate5m": record("gin:if_errors:rate5m", TRAFFIC, "10m", [(IFK, 3)]),
    "gin:if_discards:rate5m": record("gin:if_discards:rate5m", TRAFFIC, "10m", [(IFK, 1)]),
    "gin:agency_devices_up:sum": record("gin:agency_devices_up:sum", [
        (SNMP_UP1, "1x5"), (SNMP_UP2, "0x5")], "2m", [({"agency": "MOF"}, 1)]),
    "gin:agency_devices:count": record("gin:agency_devices:count", [
        (SNMP_UP1, "1x5"), (SNMP_UP2, "0x5")], "2m", [({"agency": "MOF"}, 2)]),
    "gin:agency_links_down:count": record("gin:agency_links_down:count", LINK_DOWN, "5m",
                                          [({"agency": "MOF"}, 1)]),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("promconf")
    devices = [{"device": "r1", "agency": "MOF", "site": "BKK"},
               {"device": "r2", "agency": "MOI", "site": "CNX"}]
    write_all(out, devices, {"MOF": ["noc@mof.go.th"], "MOI": []},
              [AgentSpec("bkk", "127.0.0.1:9436"),
               AgentSpec("north", "127.0.0.1:9437", frozenset({"MOI"}))])
    return out


def test_every_rule_has_a_case() -> None:
    assert set(ALERT_CASES) == {a["alert"] for a in rules.ALERTS}
    assert set(RECORD_CASES) == {r["record"] for r in rules.RECORDING}


def test_promtool_test_rules(generated: Path) -> None:
    need(shutil.which("promtool") is not None, "needs promtool (apt-get install prometheus)")
    tests = [c for cases in ALERT_CASES.values() for c in cases] + list(RECORD_CASES.values())
    spec = {"rule_files": [str(generated / "rules" / "gin-recording.yml"),
                           str(generated / "rules" / "gin-alerts.yml")],
            "evaluation_interval": "1m", "tests": tests}
    path = generated / "rules-test.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_check_config_and_rules(generated: Path) -> None:
    need(shutil.which("promtool") is not None, "needs promtool (apt-get install prometheus)")
    proc = subprocess.run(["promtool", "check", "config", str(generated / "prometheus.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules.RECORDING)} rules found" in out
    assert f"SUCCESS: {len(rules.ALERTS)} rules found" in out


def test_amtool_check_config(generated: Path) -> None:
    need(shutil.which("amtool") is not None,
         "needs amtool (apt-get install prometheus-alertmanager)")
    proc = subprocess.run(["amtool", "check-config", str(generated / "alertmanager.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_amtool_routes_by_severity_and_agency(generated: Path) -> None:
    need(shutil.which("amtool") is not None,
         "needs amtool (apt-get install prometheus-alertmanager)")

    def route(*labels: str) -> str:
        proc = subprocess.run(["amtool", "config", "routes", "test", "--config.file",
                               str(generated / "alertmanager.yml"), *labels],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert route("severity=critical", "agency=MOF") == "soc-pager,agency-MOF"
    assert route("severity=warning", "agency=MOI") == "soc-queue"
    assert route("severity=warning", "agency=MOF") == "agency-MOF,soc-queue"


@pytest.mark.parametrize("interval", ["1s", "2s", "5s", "15s", "1m"])
def test_any_scrape_interval_passes_promtool(tmp_path: Path, interval: str) -> None:
    """The SNMP job's timeout never exceeds its interval, which Prometheus would refuse."""
    need(shutil.which("promtool") is not None, "needs promtool (apt-get install prometheus)")
    write_all(tmp_path, [{"device": "r1", "agency": "MOF", "site": "BKK"}], {},
              [AgentSpec("bkk", "127.0.0.1:9436")], scrape_interval=interval)
    proc = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

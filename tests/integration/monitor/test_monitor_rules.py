"""The generated Prometheus/Alertmanager files through the real tools: `promtool check
config`, `promtool test rules` (one case per alert and recording rule), `amtool
check-config`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitor_support import need

from monitor.prometheus import rules
from monitor.prometheus.config import AgentSpec, write_all

pytestmark = pytest.mark.integration

IF = {"agency": "MOF", "site": "BKK", "device": "r1", "ifname": "eth0"}
DEV = {"agency": "MOF", "site": "BKK", "device": "r1"}


def sel(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def alert(name: str, series: list[tuple[str, str]], eval_time: str,
          labels: dict[str, str] | None, annotations: dict[str, str] | None = None
          ) -> dict[str, Any]:
    spec = next(a for a in rules.ALERTS if a["alert"] == name)
    exp = []
    if labels is not None:
        exp = [{"exp_labels": {**labels, **spec["labels"]},
                "exp_annotations": annotations or {}}]
    return {"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
            "alert_rule_test": [{"eval_time": eval_time, "alertname": name,
                                 "exp_alerts": exp}]}


def record(name: str, series: list[tuple[str, str]], eval_time: str,
           samples: list[tuple[dict[str, str], float]], milli: bool = False) -> dict[str, Any]:
    """A recording-rule case; ``milli`` compares round(1000 x value) (float rates)."""
    expr = f"round({name} * 1000)" if milli else name
    return {"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
            "promql_expr_test": [{"expr": expr, "eval_time": eval_time, "exp_samples": [
                {"labels": sel("" if milli else name, **lb), "value": v * 1000 if milli else v}
                for lb, v in samples]}]}


LINK_DOWN = [(sel("gin_if_admin_up", **IF), "1x20"), (sel("gin_if_oper_up", **IF), "1 1 0x18"),
             (sel("gin_if_admin_up", **{**IF, "ifname": "eth9"}), "0x20"),
             (sel("gin_if_oper_up", **{**IF, "ifname": "eth9"}), "0x20")]
TRAFFIC = [(sel("gin_if_speed_bits_per_second", **IF), "1000000000x40"),
           (sel("gin_if_in_octets_total", **IF), "0+3750000000x40"),  # 62.5 MB/s: 0.5
           (sel("gin_if_out_octets_total", **IF), "0+1875000000x40"),  # 0.25
           (sel("gin_if_in_errors_total", **IF), "0+120x40"),  # 2/s
           (sel("gin_if_out_errors_total", **IF), "0+60x40"),  # 1/s
           (sel("gin_if_in_discards_total", **IF), "0+30x40"),
           (sel("gin_if_out_discards_total", **IF), "0+30x40")]
HOT = [(sel("gin_if_speed_bits_per_second", **IF), "1000000000x40"),
       (sel("gin_if_in_octets_total", **IF), "0+7125000000x40"),  # 95%
       (sel("gin_if_out_octets_total", **IF), "0x40")]
# the label sets the collectors really export (vpn.metrics, audit.web.metrics)
TUNNEL = {"tunnel": "mof-moi", "type": "ikev2", "agency": "MOF"}
VPN_CERT = {"device": "gw-mof"}
WEB_CERT = {"agency": "MOF", "host": "www.mof.go.th"}

ALERT_CASES = {
    "GinLinkDown": [alert("GinLinkDown", LINK_DOWN, "6m", IF, {
        "summary": "Link r1 eth0 is down",
        "description": "MOF/BKK: interface eth0 on r1 is administratively up but "
                       "operationally down."})],
    "GinDeviceUnreachable": [alert("GinDeviceUnreachable", [
        (sel("gin_snmp_up", **DEV), "0x10"),
        (sel("gin_snmp_up", **{**DEV, "device": "r2"}), "1x10")], "6m", DEV, {
        "summary": "Device r1 does not answer SNMP",
        "description": "MOF/BKK: the last polls of r1 failed; see gin_snmp_last_error_info "
                       "for the reason."}),
        alert("GinDeviceUnreachable", [(sel("gin_snmp_up", **DEV), "1 1 0x10")], "4m", None)],
    "GinMonitorAgentDown": [alert("GinMonitorAgentDown", [
        (sel("up", job="gin-agent-bkk", instance="127.0.0.1:9436"), "0x10"),
        (sel("up", job="node", instance="x:9100"), "0x10")], "3m",
        {"job": "gin-agent-bkk", "instance": "127.0.0.1:9436"}, {
        "summary": "gin monitor agent 127.0.0.1:9436 is down",
        "description": "Prometheus cannot scrape the agent: none of its devices are being "
                       "watched."})],
    "GinBgpSessionDown": [alert("GinBgpSessionDown", [
        (sel("gin_bgp_peer_up", **DEV, peer="10.254.0.1"), "0x10"),
        (sel("gin_bgp_peer_up", **DEV, peer="2001:db8::2"), "1x10")], "4m",
        {**DEV, "peer": "10.254.0.1"}, {
        "summary": "BGP session r1 -> 10.254.0.1 is down",
        "description": "MOF: BGP peer 10.254.0.1 of r1 is not Established."})],
    "GinVpnTunnelDown": [alert("GinVpnTunnelDown", [
        (sel("gin_vpn_tunnel_up", **TUNNEL), "0x10")], "4m", TUNNEL, {
        "summary": "VPN tunnel mof-moi (ikev2) is down",
        "description": "MOF: tunnel mof-moi carries no traffic (IKEv2: no CHILD_SA "
                       "installed; WireGuard: no handshake for 180 s)."})],
    "GinInterfaceErrors": [alert("GinInterfaceErrors", TRAFFIC, "20m", IF, {
        "summary": "Errors on r1 eth0",
        "description": "3 errored packets/s over 5 minutes."})],
    "GinLinkUtilisationHigh": [alert("GinLinkUtilisationHigh", HOT, "25m", IF, {
        "summary": "r1 eth0 above 90% utilisation",
        "description": "95% of link speed for 15 minutes."}),
        alert("GinLinkUtilisationHigh", TRAFFIC, "25m", None)],
    "GinThreatEventSpike": [alert("GinThreatEventSpike", [
        (sel("gin_threat_events_total", type="portscan", severity="high", agency="MOF"),
         "0+10x30")], "10m", {"agency": "MOF", "type": "portscan"}, {
        "summary": "Threat event spike at MOF: portscan",
        "description": "50 portscan events in 5 minutes."}),
        alert("GinThreatEventSpike", [
            (sel("gin_threat_events_total", type="portscan", severity="high", agency="MOF"),
             "0+1x30")], "10m", None)],
    "GinCriticalThreatEvent": [alert("GinCriticalThreatEvent", [
        (sel("gin_threat_events_total", type="rogue_ra", severity="critical", agency="MOI"),
         "0 0 0 1 1 1 1")], "5m", {"agency": "MOI", "type": "rogue_ra"}, {
        "summary": "Critical threat event at MOI: rogue_ra",
        "description": "The threat sensor reported critical rogue_ra events."})],
    # seconds left count down by 60 per 1m step, as the collectors' values do
    "GinCertificateExpiringSoon": [alert("GinCertificateExpiringSoon", [
        (sel("gin_vpn_certificate_expiry_seconds", **VPN_CERT), "868200-60x80")], "70m",
        VPN_CERT, {
        "summary": "VPN certificate of gw-mof expires within 14 days",
        "description": "The gateway certificate deployed on gw-mof expires in 10d 0h 0m 0s: "
                       "renew it (gin vpn cert renew)."}),
        alert("GinCertificateExpiringSoon", [
            (sel("gin_vpn_certificate_expiry_seconds", **VPN_CERT), "31536000-60x80")],
            "70m", None)],
    "GinCertificateExpiryImminent": [alert("GinCertificateExpiryImminent", [
        (sel("gin_vpn_certificate_expiry_seconds", **VPN_CERT), "174000-60x30")], "20m",
        VPN_CERT, {
        "summary": "VPN certificate of gw-mof expires within 3 days",
        "description": "The gateway certificate deployed on gw-mof expires in 2d 0h 0m 0s: "
                       "renew it (gin vpn cert renew)."})],
    "GinWebCertificateExpiringSoon": [alert("GinWebCertificateExpiringSoon", [
        (sel("gin_web_cert_expiry_seconds", **WEB_CERT), "868200-60x80")], "70m", WEB_CERT, {
        "summary": "TLS certificate of www.mof.go.th expires within 14 days",
        "description": "MOF: the certificate of www.mof.go.th expires in 10d 0h 0m 0s."}),
        # already expired: GinWebCertificateExpired speaks, not this one
        alert("GinWebCertificateExpiringSoon", [
            (sel("gin_web_cert_expiry_seconds", **WEB_CERT), "-3600-60x80")], "70m", None)],
    "GinWebCertificateExpired": [alert("GinWebCertificateExpired", [
        (sel("gin_web_cert_expiry_seconds", **WEB_CERT), "300-60x20")], "15m", WEB_CERT, {
        "summary": "TLS certificate of www.mof.go.th has expired",
        "description": "MOF: the certificate of www.mof.go.th expired; browsers refuse the "
                       "service."}),
        alert("GinWebCertificateExpired", [
            (sel("gin_web_cert_expiry_seconds", **WEB_CERT), "86400-60x20")], "15m", None)],
}

RECORD_CASES = {
    "gin:if_in_utilisation:ratio_rate5m": record(
        "gin:if_in_utilisation:ratio_rate5m", TRAFFIC, "10m", [(IF, 0.5)], milli=True),
    "gin:if_out_utilisation:ratio_rate5m": record(
        "gin:if_out_utilisation:ratio_rate5m", TRAFFIC, "10m", [(IF, 0.25)], milli=True),
    "gin:if_errors:rate5m": record("gin:if_errors:rate5m", TRAFFIC, "10m", [(IF, 3)]),
    "gin:if_discards:rate5m": record("gin:if_discards:rate5m", TRAFFIC, "10m", [(IF, 1)]),
    "gin:agency_devices_up:sum": record("gin:agency_devices_up:sum", [
        (sel("gin_snmp_up", **DEV), "1x5"), (sel("gin_snmp_up", **{**DEV, "device": "r2"}),
                                             "0x5")], "2m", [({"agency": "MOF"}, 1)]),
    "gin:agency_devices:count": record("gin:agency_devices:count", [
        (sel("gin_snmp_up", **DEV), "1x5"), (sel("gin_snmp_up", **{**DEV, "device": "r2"}),
                                             "0x5")], "2m", [({"agency": "MOF"}, 2)]),
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

"""Recording and alerting rules for the GIN, as Python data (written out as YAML).

Why in code: thresholds and label sets must match the metric names the agent exports, and
every rule has a ``promtool test rules`` case in the test suite
(tests/integration/monitor/test_monitor_rules.py); generating both from one place keeps
them in step.

Metrics these rules rely on beyond the SNMP collector's own (the contract; a unit test,
tests/unit/monitor/test_monitor_contract.py, checks every name and annotation label here
and in the dashboards against what the collectors really export):

* ``gin_bgp_peer_up{agency,site,device,peer}`` 1/0 — BGP session Established or not (the
  SNMP poller, from BGP4-MIB / BGP4V2-MIB / CISCO-BGP4-MIB; ``peer`` is the address)
* ``gin_vpn_tunnel_up{tunnel,type,agency}`` 1/0 — tunnel carries traffic (vpn.metrics)
* ``gin_vpn_certificate_expiry_seconds{device}`` — seconds LEFT until a deployed gateway
  certificate expires (vpn.metrics)
* ``gin_web_cert_expiry_seconds{agency,host}`` — seconds left until an agency web
  service's TLS certificate expires, negative once expired (audit.web.metrics)
* ``gin_threat_events_total{type,severity,agency,source_agency}`` — threat sensor events
  (monitor.sensor.metrics): ``agency`` is the attacked agency (the alerts route to its
  contacts), ``source_agency`` the agency of the source address or "unknown" (outside the
  GIN); severities are the detectors' own
  (monitor.sensor.detectors.severities: rogue RA and ARP spoofing of a router critical,
  brute force, floods, block-list hits high, ...)
* ``gin_sensor_dropped_packets_total{interface}`` — packets the capture dropped before the
  sensor read them (monitor.sensor.metrics), scraped by the ``gin-sensor`` job whose
  targets are the directory's devices of role sensor (label ``sensor``: the hostname)
"""

from __future__ import annotations

from typing import Any

IF = "agency, site, device, ifname"

#: how long a device may fail its polls before it is "unreachable" (GinDeviceUnreachable's
#: ``for``), and so how long the link rules carry an interface's last polled state
UNREACHABLE_AFTER = "5m"


def _last(metric: str) -> str:
    """``metric``'s last polled value, for up to :data:`UNREACHABLE_AFTER` without a poll.

    Why: a device that fails a poll (a timeout, a genErr) exports ``gin_snmp_up 0`` and no
    interface values at all (monitor.collector says why: no stale values), so Prometheus
    marks its interface series stale.  A rule on the raw series would lose a down link at
    the first failed poll and restart its ``for:``; a link whose router also misses a poll
    now and then (busy CPU, the very outage that took the link down) would never alert.
    Over the gap the link's last known state stands; once the device has failed polls for
    as long as GinDeviceUnreachable waits, that alert takes over (and Alertmanager inhibits
    the device's link alerts), and these series end.  BGP sessions, polled with the
    interfaces, are read the same way.
    """
    return f"last_over_time({metric}[{UNREACHABLE_AFTER}])"


def link_down(match: str = "") -> str:
    """Administratively up interfaces whose last polled operational state is down (of the
    series ``match``, label matchers such as ``agency="MOF"``, selects)."""
    sel = f"{{{match}}}" if match else ""
    return (f"{_last('gin_if_admin_up' + sel)} == 1 and on ({IF}) "
            f"{_last('gin_if_oper_up' + sel)} == 0")


LINK_DOWN = link_down()

RECORDING: list[dict[str, str]] = [
    {"record": "gin:if_in_utilisation:ratio_rate5m",
     "expr": "rate(gin_if_in_octets_total[5m]) * 8"
             f" / on ({IF}) (gin_if_speed_bits_per_second > 0)"},
    {"record": "gin:if_out_utilisation:ratio_rate5m",
     "expr": "rate(gin_if_out_octets_total[5m]) * 8"
             f" / on ({IF}) (gin_if_speed_bits_per_second > 0)"},
    {"record": "gin:if_errors:rate5m",
     "expr": "rate(gin_if_in_errors_total[5m])"
             f" + on ({IF}) rate(gin_if_out_errors_total[5m])"},
    {"record": "gin:if_discards:rate5m",
     "expr": "rate(gin_if_in_discards_total[5m])"
             f" + on ({IF}) rate(gin_if_out_discards_total[5m])"},
    {"record": "gin:agency_devices_up:sum",
     "expr": "sum by (agency) (gin_snmp_up)"},
    {"record": "gin:agency_devices:count",
     "expr": "count by (agency) (gin_snmp_up)"},
    {"record": "gin:agency_links_down:count",
     "expr": f"count by (agency) ({LINK_DOWN})"},
]


#: the scrape job of the threat sensors (monitor.prometheus.config writes it)
SENSOR_JOB = "gin-sensor"


def _one_event(severity: str) -> str:
    """Threat events of ``severity`` in the last 5 minutes, by attacked agency, source
    agency and type (an attack on one agency from two others is two alerts: two agencies
    to call): fires on ONE event.  The sensor exports a series only from its first event
    on, at 1, and ``increase()`` sees no rise in a series' first sample; so a series that
    is new within 5 minutes counts too."""
    sel = f'gin_threat_events_total{{severity="{severity}"}}'
    return (f"sum by (agency, source_agency, type) (increase({sel}[5m]) > 0"
            f" or ({sel} unless gin_threat_events_total offset 5m))")


def _alert(name: str, expr: str, for_: str, severity: str, summary: str,
           description: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description}}


ALERTS: list[dict[str, Any]] = [
    _alert("GinLinkDown",
           LINK_DOWN, "2m", "critical",
           "Link {{ $labels.device }} {{ $labels.ifname }} is down",
           "{{ $labels.agency }}/{{ $labels.site }}: interface {{ $labels.ifname }} on "
           "{{ $labels.device }} is administratively up but operationally down."),
    _alert("GinDeviceUnreachable", "gin_snmp_up == 0", UNREACHABLE_AFTER, "critical",
           "Device {{ $labels.device }} does not answer SNMP",
           "{{ $labels.agency }}/{{ $labels.site }}: the last polls of {{ $labels.device }} "
           "failed; see gin_snmp_last_error_info for the reason."),
    _alert("GinMonitorAgentDown", 'up{job=~"gin-agent-.*"} == 0', "2m", "critical",
           "gin monitor agent {{ $labels.instance }} is down",
           "Prometheus cannot scrape the agent: none of its devices are being watched."),
    _alert("GinBgpSessionDown", f"{_last('gin_bgp_peer_up')} == 0", "3m", "critical",
           "BGP session {{ $labels.device }} -> {{ $labels.peer }} is down",
           "{{ $labels.agency }}: BGP peer {{ $labels.peer }} of {{ $labels.device }} is not "
           "Established."),
    _alert("GinVpnTunnelDown", "gin_vpn_tunnel_up == 0", "3m", "critical",
           "VPN tunnel {{ $labels.tunnel }} ({{ $labels.type }}) is down",
           "{{ $labels.agency }}: tunnel {{ $labels.tunnel }} carries no traffic (IKEv2: no "
           "CHILD_SA installed; WireGuard: no handshake for 180 s)."),
    _alert("GinInterfaceErrors", "gin:if_errors:rate5m > 1", "10m", "warning",
           "Errors on {{ $labels.device }} {{ $labels.ifname }}",
           "{{ $value | humanize }} errored packets/s over 5 minutes."),
    _alert("GinLinkUtilisationHigh",
           "gin:if_in_utilisation:ratio_rate5m > 0.9 or gin:if_out_utilisation:ratio_rate5m > 0.9",
           "15m", "warning",
           "{{ $labels.device }} {{ $labels.ifname }} above 90% utilisation",
           "{{ $value | humanizePercentage }} of link speed for 15 minutes."),
    _alert("GinAgentScrapeFailed", 'up{job=~"gin-snmp-.*"} == 0', "5m", "warning",
           "Prometheus cannot scrape {{ $labels.instance }} through agent "
           "{{ $labels.gin_agent }}",
           "{{ $labels.agency }}/{{ $labels.site }}: the agent does not serve "
           "{{ $labels.instance }} (not in its directory view yet: SIGHUP it; another "
           "agent's agency: rerun gin monitor prometheus-config), or does not answer in time."),
    _alert("GinSensorDown", f'up{{job="{SENSOR_JOB}"}} == 0', "2m", "critical",
           "Threat sensor {{ $labels.sensor }} is down",
           "Prometheus cannot scrape the sensor at {{ $labels.instance }}: its network is "
           "not being watched for threats."),
    _alert("GinSensorDroppingPackets",
           "increase(gin_sensor_dropped_packets_total[5m]) > 0", "0m", "warning",
           "Threat sensor {{ $labels.sensor }} drops packets on {{ $labels.interface }}",
           "{{ $value | humanize }} packets dropped by the capture in 5 minutes: the sensor "
           "is blind to part of the traffic (raise --ring-mb, narrow --bpf, or add CPU)."),
    _alert("GinThreatEventSpike",
           "sum by (agency, type) (increase(gin_threat_events_total[5m])) > 20", "0m",
           "warning", "Threat event spike at {{ $labels.agency }}: {{ $labels.type }}",
           "{{ $value | humanize }} {{ $labels.type }} events in 5 minutes."),
    _alert("GinCriticalThreatEvent", _one_event("critical"), "0m", "critical",
           "Critical threat event at {{ $labels.agency }}: {{ $labels.type }}",
           "The threat sensor reported critical {{ $labels.type }} events against "
           "{{ $labels.agency }} from source agency {{ $labels.source_agency }}; see its "
           "event log for the source address and evidence."),
    _alert("GinHighThreatEvent", _one_event("high"), "0m", "warning",
           "High-severity threat event at {{ $labels.agency }}: {{ $labels.type }}",
           "The threat sensor reported {{ $labels.type }} against {{ $labels.agency }} "
           "from source agency {{ $labels.source_agency }}; see its event log for the "
           "source address and evidence, and consider gin monitor respond --block."),
    _alert("GinCertificateExpiringSoon",
           "gin_vpn_certificate_expiry_seconds < 14 * 86400", "1h", "warning",
           "VPN certificate of {{ $labels.device }} expires within 14 days",
           "The gateway certificate deployed on {{ $labels.device }} expires in "
           "{{ $value | humanizeDuration }}: renew it (gin vpn cert renew)."),
    _alert("GinCertificateExpiryImminent",
           "gin_vpn_certificate_expiry_seconds < 3 * 86400", "10m", "critical",
           "VPN certificate of {{ $labels.device }} expires within 3 days",
           "The gateway certificate deployed on {{ $labels.device }} expires in "
           "{{ $value | humanizeDuration }}: renew it (gin vpn cert renew)."),
    _alert("GinWebCertificateExpiringSoon",
           "(gin_web_cert_expiry_seconds < 14 * 86400) >= 0", "1h", "warning",
           "TLS certificate of {{ $labels.host }} expires within 14 days",
           "{{ $labels.agency }}: the certificate of {{ $labels.host }} expires in "
           "{{ $value | humanizeDuration }}."),
    _alert("GinWebCertificateExpired", "gin_web_cert_expiry_seconds < 0", "5m", "critical",
           "TLS certificate of {{ $labels.host }} has expired",
           "{{ $labels.agency }}: the certificate of {{ $labels.host }} expired; browsers "
           "refuse the service."),
]


def recording_rules(interval: str = "30s") -> dict[str, Any]:
    """The recording-rule file's content."""
    return {"groups": [{"name": "gin-recording", "interval": interval, "rules": RECORDING}]}


def alert_rules() -> dict[str, Any]:
    """The alerting-rule file's content."""
    return {"groups": [{"name": "gin-alerts", "rules": ALERTS}]}

"""Evidence of events: remote syslog (10.10.1) and synchronised clocks (10.10.6).

Logs kept only on the router are lost with it; timestamps from unsynchronised clocks
cannot be correlated across the GIN.  FRR hands its logs to the host's syslog daemon and
has no NTP client: forwarding and time are the host's (rsyslog, chrony), read from the host
evidence (:mod:`audit.checks.host`).
"""

from __future__ import annotations

import ipaddress

from audit.checks import host
from audit.checks.base import Check, Context, Result, active, bad, junos_active, ok, per_ios
from audit.checks.registry import register
from audit.parse import ParsedConfig
from devices.baseline import Baseline

BASE = Baseline()


def _is_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def syslog_ios(config: ParsedConfig, ctx: Context) -> Result:
    hosts = [n for n in active(config, "logging ")
             if n.text.startswith("logging host ") or _is_address(n.text.split()[1])]
    if hosts:
        return ok("logs are sent to a remote syslog server", hosts)
    return bad("no 'logging host': logs stay on the device")


def syslog_junos(config: ParsedConfig, ctx: Context) -> Result:
    hosts = [n for n, _ in junos_active(config, "system", "syslog", "host")]
    if hosts:
        return ok("logs are sent to a remote syslog server", hosts)
    return bad("no 'system syslog host': logs stay on the device")


SYSLOG = Check(
    id="log.remote_syslog",
    title="Logs sent to a remote syslog server",
    severity="medium",
    rules=per_ios(syslog_ios, frr=host.syslog, juniper_junos=syslog_junos),
    remediation={
        "cisco_ios": [*[f"logging host ipv6 {h}" for h in BASE.syslog_servers],
                      "logging trap informational"],
        "frr": host.FIX["syslog"],
        "juniper_junos": [f"set system syslog host {h} any info" for h in BASE.syslog_servers],
    },
)


def ntp_ios(config: ParsedConfig, ctx: Context) -> Result:
    servers = active(config, "ntp server ")
    if servers:
        return ok("clock synchronised by NTP", servers)
    return bad("no 'ntp server'")


def ntp_junos(config: ParsedConfig, ctx: Context) -> Result:
    servers = [n for n, _ in junos_active(config, "system", "ntp", "server")]
    if servers:
        return ok("clock synchronised by NTP", servers)
    return bad("no 'system ntp server'")


NTP = Check(
    id="log.ntp",
    title="Clock synchronised by NTP",
    severity="medium",
    rules=per_ios(ntp_ios, juniper_junos=ntp_junos, frr=host.ntp),
    remediation={
        "cisco_ios": [f"ntp server {h}" for h in BASE.ntp_servers],
        "frr": host.FIX["ntp"],
        "juniper_junos": [f"set system ntp server {h}" for h in BASE.ntp_servers],
    },
)

CHECKS = register(SYSLOG, NTP)

"""Network services: SNMP only as v3 with authPriv (10.6.2), web management off (10.6.1).

A v1/v2c community is a cleartext password on the wire, and "public"/"private" are the
first two any scanner tries.  FRR has no SNMP agent and no web server in vtysh: snmpd is a
host daemon, checked in the host evidence (:mod:`audit.checks.host`).
"""

from __future__ import annotations

from audit.checks import host
from audit.checks.base import (
    Check,
    Context,
    Result,
    active,
    bad,
    junos_active,
    ok,
    per_ios,
    unknown,
)
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig
from devices.baseline import Baseline

BASE = Baseline()
DEFAULT_COMMUNITIES = {"public", "private"}


def snmp_ios(config: ParsedConfig, ctx: Context) -> Result:
    weak: list[Node] = []
    good: list[Node] = []
    for node in active(config, "snmp-server "):
        words = node.text.split()
        if words[1] == "community":
            weak.append(node)
        elif words[1] == "group" and len(words) > 3:
            (good if words[3:5] == ["v3", "priv"] else weak).append(node)
        elif words[1] == "user" and "v3" in words:
            (good if "priv" in words else weak).append(node)
        elif words[1] == "host" and "version" in words:
            after = words[words.index("version") + 1:]
            if after[:2] != ["3", "priv"]:
                weak.append(node)
    if weak:
        named = [n for n in weak if n.text.split()[1] == "community"
                 and n.text.split()[2] in DEFAULT_COMMUNITIES]
        why = "default community string" if named else "SNMP v1/v2c or v3 without privacy"
        return bad(why, weak)
    if good:
        return ok("SNMP v3 with authentication and privacy only", good)
    return ok("SNMP agent not configured")


def snmp_junos(config: ParsedConfig, ctx: Context) -> Result:
    weak = [n for n, _ in junos_active(config, "snmp", "community")]
    levels = [(n, w) for n, w in junos_active(config, "snmp", "v3") if "security-level" in w]
    weak += [n for n, w in levels if w[w.index("security-level") + 1] != "privacy"]
    if weak:
        return bad("SNMP community (v1/v2c) or v3 without privacy", weak)
    if levels:
        return ok("SNMP v3 with authentication and privacy only", [n for n, _ in levels])
    return ok("SNMP agent not configured")


SNMP = Check(
    id="svc.snmp_v3_priv",
    title="SNMP v3 authPriv only, no default communities",
    severity="high",
    rules=per_ios(snmp_ios, juniper_junos=snmp_junos, frr=host.snmp),
    remediation={
        "cisco_ios": ["no snmp-server community public", "no snmp-server community private",
                      f"snmp-server group {BASE.snmp_group} v3 priv"],
        "frr": host.FIX["snmp"],
        "juniper_junos": ["delete snmp community",
                          f"set snmp v3 vacm access group {BASE.snmp_group} "
                          "default-context-prefix security-model usm security-level privacy "
                          "read-view all"],
    },
)


def http_ios(config: ParsedConfig, ctx: Context) -> Result:
    on = active(config, "ip http server") + active(config, "ip http secure-server")
    if on:
        return bad("the web management server is on", on)
    off = active(config, "no ip http server")
    if not off:
        return unknown("neither 'ip http server' nor 'no ip http server': the default "
                       "depends on the IOS release")
    return ok("web management server off", off + active(config, "no ip http secure-server"))


def http_junos(config: ParsedConfig, ctx: Context) -> Result:
    web = [n for n, _ in junos_active(config, "system", "services", "web-management")]
    if web:
        return bad("J-Web (web-management) is on", web)
    return ok("no web-management service (Junos runs none unless configured)")


HTTP = Check(
    id="svc.http_off",
    title="HTTP/HTTPS management server off",
    severity="medium",
    rules=per_ios(http_ios, juniper_junos=http_junos),
    not_applicable={"frr": "FRR has no web server"},
    remediation={
        "cisco_ios": ["no ip http server", "no ip http secure-server"],
        "juniper_junos": ["delete system services web-management"],
    },
)

CHECKS = register(SNMP, HTTP)

"""Configs that stand on their own (15.2.2, 11.4.7, 11.4.6): every prefix-list, route-map,
ACL, policy-statement, community list, peer-group, SNMP group and view, IKE/IPsec proposal,
policy, profile and gateway a config names is defined in it, and every one it defines is
used.

A reference to nothing fails open where it matters most: an IOS BGP neighbour whose
prefix-list does not exist announces or accepts every route, a route-map ``match`` on a
missing list matches everything; Junos refuses to commit.  A definition nothing uses is a
filter its author believes in force that is bound nowhere.  The analysis itself is
:mod:`audit.references`; these checks only turn it into findings.
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, bad, ok, unknown
from audit.checks.registry import register
from audit.parse import ParsedConfig
from audit.references import Ref, references

#: Findings cite at most this many lines (a config can have thousands of stale lists).
MAX_CITED = 50


def _names(refs: list[Ref]) -> str:
    names = sorted({r.describe() for r in refs})
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def undefined(config: ParsedConfig, ctx: Context) -> Result:
    if config.incomplete:
        return unknown("configuration incomplete: a definition may be in the missing part")
    refs = references(config)
    missing = refs.undefined()
    if missing:
        return bad(f"{len(missing)} reference(s) to names never defined: {_names(missing)}",
                   [r.node for r in missing[:MAX_CITED]])
    return ok(f"all {len(refs.used)} references name a definition",
              [r.node for r in refs.used[:MAX_CITED]])


def unused(config: ParsedConfig, ctx: Context) -> Result:
    if config.incomplete:
        return unknown("configuration incomplete: a use may be in the missing part")
    refs = references(config)
    idle = refs.unused()
    if idle:
        return bad(f"{len(idle)} definition(s) nothing refers to: {_names(idle)}",
                   [r.node for r in idle[:MAX_CITED]])
    return ok(f"all {len({r.key for r in refs.defined})} defined names are used")


RULES = {"cisco_ios": undefined, "frr": undefined, "juniper_junos": undefined}

UNDEFINED = Check(
    id="cfg.undefined_reference",
    title="Every list, map, policy, group and view a config names is defined",
    severity="high",
    rules=RULES,
    remediation={
        "cisco_ios": ["! define each list named in the finding, e.g. an empty match:",
                      "ipv6 prefix-list <NAME> seq 5 deny ::/0 le 128",
                      "ip prefix-list <NAME> seq 5 deny 0.0.0.0/0 le 32"],
        "frr": ["ipv6 prefix-list <NAME> seq 5 deny ::/0 le 128",
                "ip prefix-list <NAME> seq 5 deny 0.0.0.0/0 le 32"],
        "juniper_junos": ["# define what the finding names, or delete the line naming it:",
                          "set policy-options prefix-list <NAME> <prefix>",
                          "set snmp view <VIEW> oid .1 include"],
    },
)

UNUSED = Check(
    id="cfg.unused_definition",
    title="No list, map, policy or view is defined and left unused",
    severity="low",
    rules={"cisco_ios": unused, "frr": unused, "juniper_junos": unused},
    remediation={
        "cisco_ios": ["! bind the list where it was meant to act, or remove it:",
                      "no ipv6 prefix-list <NAME>"],
        "frr": ["no ipv6 prefix-list <NAME>"],
        "juniper_junos": ["delete policy-options prefix-list <NAME>"],
    },
)

CHECKS = register(UNDEFINED, UNUSED)

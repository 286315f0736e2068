"""Names a configuration defines and names it refers to: what is used but never defined,
and what is defined but never used.

A reference to a list that does not exist is not harmless: on IOS a BGP neighbour's
``prefix-list`` naming no list matches everything (the session announces or accepts any
route), a route-map ``match`` on a missing list matches everything too, and Junos refuses to
commit at all.  A definition nobody uses is dead weight that hides intent (a filter the
author believed in force, but bound nowhere).

The analysis reads the same :class:`~audit.parse.ParsedConfig` tree as every audit check,
for the indented dialects (IOS, IOS-XE, FRR) and for Junos ``set`` lines.  Names live in
namespaces (``kind``): IOS keeps IPv4 and IPv6 prefix-lists and ACLs apart, and a BGP
neighbour's ``prefix-list`` means the family of the address-family it sits in.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from audit.parse import Node, ParsedConfig

#: Names every IOS device has without a definition.
BUILTIN: dict[str, frozenset[str]] = {
    "snmp view": frozenset({"v1default", "*ilmi", "*tv.FFFFFFFF.FFFFFFFF.FFFFFFFF.F"}),
    "class-map": frozenset({"class-default"}),
}
#: Definitions IOS-XE prints on its own (smart licensing's trustpoint, the HTTPS server's
#: self-signed one, Catalyst 9000 control-plane policing classes and its cloud-management
#: ACL): used by the software, never by a line, so never "unused".  Shell patterns.
BUILTIN_DEFINED: dict[str, tuple[str, ...]] = {
    "pki trustpoint": ("SLA-TrustPoint", "TP-self-signed-*"),
    "class-map": ("system-cpp-*", "non-client-nrt-class"),
    "policy-map": ("system-cpp-policy",),
    "ipv4 access-list": ("meraki-fqdn-dns",),
}
#: Kinds whose use a configuration cannot show, so "unused" is never said of them: IOS
#: keeps SNMPv3 users (who join a group) out of the running config, and both IOS and Junos
#: users come with their keys, provisioned apart from the group they join.
NEVER_UNUSED = frozenset({"snmp group"})
#: ``crypto <what> <kind> NAME`` definitions of IOS (IKEv2 policies are matched by address,
#: never named, so they are not tracked).
IOS_CRYPTO = {("ikev2", "proposal"): "ikev2 proposal", ("ikev2", "keyring"): "ikev2 keyring",
              ("ikev2", "profile"): "ikev2 profile",
              ("ipsec", "transform-set"): "ipsec transform-set",
              ("ipsec", "profile"): "ipsec profile", ("pki", "trustpoint"): "pki trustpoint"}
#: ``security <what> <kind> NAME`` definitions of Junos (an IPsec VPN is never referred to,
#: a CA profile is used by certificate validation without a name: neither is tracked).
JUNOS_CRYPTO = {("ike", "proposal"): "ike proposal", ("ike", "policy"): "ike policy",
                ("ike", "gateway"): "ike gateway", ("ipsec", "proposal"): "ipsec proposal",
                ("ipsec", "policy"): "ipsec policy"}
#: A reference that does not say its family (an IOS class-map's ``match access-group``)
#: is satisfied by a definition of either family, and uses both.
EITHER = {"access-list": ("ipv4 access-list", "ipv6 access-list")}
#: Words after which IOS/FRR name a route-map, wherever they appear.
ROUTE_MAP_WORDS = frozenset({"route-map", "unsuppress-map", "advertise-map", "suppress-map",
                             "attribute-map", "exist-map", "non-exist-map", "table-map",
                             "inject-map"})


@dataclass(frozen=True)
class Ref:
    """One defining or referring line: the name's namespace, the name, the line."""

    kind: str
    name: str
    node: Node

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def describe(self) -> str:
        return f"{self.kind} {self.name}" if self.name else f"{self.kind} (no name given)"


@dataclass
class References:
    """Every definition and reference of one configuration."""

    defined: list[Ref] = field(default_factory=list)
    used: list[Ref] = field(default_factory=list)

    def undefined(self) -> list[Ref]:
        """References to names the configuration never defines (built-in names aside)."""
        names = {r.key for r in self.defined}
        return [r for r in self.used if r.key not in names
                and not any((k, r.name) in names for k in EITHER.get(r.kind, ()))
                and r.name not in BUILTIN.get(r.kind, ())]

    def unused(self) -> list[Ref]:
        """Definitions nothing refers to (first defining line of each name)."""
        names = {r.key for r in self.used}
        names |= {(k, n) for kind, n in list(names) for k in EITHER.get(kind, ())}
        seen: set[tuple[str, str]] = set()
        out = []
        for r in self.defined:
            if r.key in names or r.key in seen or r.kind in NEVER_UNUSED or any(
                    fnmatch.fnmatchcase(r.name, p) for p in BUILTIN_DEFINED.get(r.kind, ())):
                continue
            seen.add(r.key)
            out.append(r)
        return out


def references(config: ParsedConfig) -> References:
    """Definitions and references of ``config`` (Junos ``set`` syntax or indented IOS/FRR)."""
    refs = References()
    if config.platform.syntax == "set":
        _junos(config, refs)
    else:
        _indented(config.root.children, (), refs)
    return refs


# --- IOS, IOS-XE, FRR ---------------------------------------------------------------------


def _family(path: tuple[str, ...]) -> str:
    """``ipv6`` inside an IPv6 address-family or IPv6 routing process, else ``ipv4``."""
    for text in path:
        w = text.split()
        if w[0] == "address-family" and len(w) > 1 and w[1].startswith("ipv6"):
            return "ipv6"
        if text.startswith(("ipv6 router", "router ospf6", "router ospfv3", "router ripng")):
            return "ipv6"
    return "ipv4"


def _indented(nodes: Iterable[Node], path: tuple[str, ...], refs: References) -> None:
    for node in nodes:
        w = node.text.split()
        if not w:
            continue
        define = [(k, n) for k, n in _ios_defines(w, path)]
        use = [(k, n) for k, n in _ios_uses(w, path)]
        refs.defined += [Ref(k, n, node) for k, n in define]
        refs.used += [Ref(k, n, node) for k, n in use]
        if node.children:
            _indented(node.children, path + (node.text,), refs)


def _ios_defines(w: list[str], path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if w[0] == "no":
        return
    if not path:
        if w[0] in ("ip", "ipv6") and len(w) >= 3 and w[1] == "prefix-list" \
                and w[2] not in ("sequence-number",):
            yield f"{'ipv6' if w[0] == 'ipv6' else 'ipv4'} prefix-list", w[2]
        elif w[0] == "route-map" and len(w) >= 2:
            yield "route-map", w[1]
        elif w[0] == "access-list" and len(w) >= 2:
            yield "ipv4 access-list", w[1]
        elif w[0] in ("ip", "ipv6") and len(w) >= 3 and w[1] == "access-list":
            rest = w[2:]
            if rest[0] in ("standard", "extended", "role-based") and len(rest) > 1:
                rest = rest[1:]
            if rest[0] not in ("logging", "log-update", "resequence", "persistent"):
                yield f"{'ipv6' if w[0] == 'ipv6' else 'ipv4'} access-list", rest[0]
        elif w[:2] in (["ip", "community-list"], ["bgp", "community-list"]) and len(w) >= 3:
            yield "community-list", _list_name(w[2:])
        elif w[:2] in (["ip", "extcommunity-list"], ["bgp", "extcommunity-list"]) and len(w) >= 3:
            yield "extcommunity-list", _list_name(w[2:])
        elif w[:2] == ["bgp", "large-community-list"] and len(w) >= 3:
            yield "large-community-list", _list_name(w[2:])
        elif w[1:3] == ["as-path", "access-list"] and w[0] in ("ip", "bgp") and len(w) >= 4:
            yield "as-path", w[3]
        elif w[:2] == ["snmp-server", "view"] and len(w) >= 3:
            yield "snmp view", w[2]
        elif w[:2] == ["snmp-server", "group"] and len(w) >= 3:
            yield "snmp group", w[2]
        elif w[:4] == ["ipv6", "nd", "raguard", "policy"] and len(w) >= 5:
            yield "raguard policy", w[4]
        elif w[0] == "class-map" and len(w) >= 2:
            yield "class-map", w[-1]
        elif w[0] == "policy-map" and len(w) >= 2:
            yield "policy-map", w[-1]
        elif w[0] == "crypto" and len(w) >= 4 and (w[1], w[2]) in IOS_CRYPTO:
            yield IOS_CRYPTO[(w[1], w[2])], w[3]
        elif w[:2] == ["crypto", "map"] and len(w) >= 3:
            yield "crypto map", w[2]
    elif path[0].startswith("router bgp") and w[0] == "neighbor" and len(w) == 3 \
            and w[2] == "peer-group":
        yield "peer-group", w[1]
    elif path[0].startswith("router bgp") and w[0] == "template" and len(w) >= 3 \
            and w[1] in ("peer-session", "peer-policy"):
        yield w[1] + " template", w[2]


def _list_name(rest: list[str]) -> str:
    """``standard NAME ...`` / ``expanded NAME ...`` / ``NUMBER ...`` -> the list's name."""
    if rest[0] in ("standard", "expanded") and len(rest) > 1:
        return rest[1]
    return rest[0]


def _ios_uses(w: list[str], path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if w[0] in ("no", "description", "remark", "banner"):
        return
    fam = _family(path)
    top = path[0] if path else ""
    for i, word in enumerate(w[:-1]):
        if word in ROUTE_MAP_WORDS and not (i == 0 and not path):
            yield "route-map", w[i + 1]
    if top.startswith("router bgp") and w[:1] == ["inherit"] and len(w) >= 3 \
            and w[1] in ("peer-session", "peer-policy"):
        yield w[1] + " template", w[2]  # a template inheriting another
        return
    if top.startswith("router bgp") and w[0] == "neighbor" and "v6only" in w[3:4]:
        w = w[:3] + w[4:]  # FRR "neighbor IF interface v6only peer-group G"
    if top.startswith("router bgp") and w[0] == "neighbor" and len(w) >= 5 \
            and w[2] == "inherit" and w[3] in ("peer-session", "peer-policy"):
        yield w[3] + " template", w[4]
        return
    if top.startswith("router bgp") and w[0] == "neighbor" and len(w) >= 4:
        what, name = w[2], w[3]
        if what == "peer-group" and len(w) == 4:
            yield "peer-group", name
        elif what == "prefix-list":
            yield f"{fam} prefix-list", name
        elif what == "filter-list":
            yield "as-path", name
        elif what == "distribute-list":
            yield f"{fam} access-list", name
        elif w[2:4] == ["interface", "peer-group"] and len(w) >= 5:
            yield "peer-group", w[4]
        return
    if top.startswith("route-map ") and w[0] in ("match", "set", "call"):
        yield from _route_map_entry(w)
        return
    if w[0] == "distribute-list" and len(w) >= 3:
        if w[1] in ("prefix", "prefix-list"):
            yield f"{fam} prefix-list", w[2]
        elif w[1] not in ("route-map",):
            yield f"{fam} access-list", w[1]
        return
    if w[:2] == ["ip", "access-group"] and len(w) >= 3:
        yield "ipv4 access-list", w[2]
    elif w[:2] == ["ipv6", "traffic-filter"] and len(w) >= 3:
        yield "ipv6 access-list", w[2]
    elif w[0] == "access-class" and len(w) >= 2:
        yield "ipv4 access-list", w[1]
    elif w[:2] == ["ipv6", "access-class"] and len(w) >= 3:
        yield "ipv6 access-list", w[2]
    elif w[:2] == ["ntp", "access-group"] and len(w) >= 4:
        yield ("ipv6 access-list", w[4]) if w[3] == "ipv6" and len(w) > 4 \
            else ("ipv4 access-list", w[3])
    elif w[:4] == ["ipv6", "nd", "raguard", "attach-policy"] and len(w) >= 5:
        yield "raguard policy", w[4]
    elif w[0] == "service-policy" and len(w) >= 3:
        yield "policy-map", w[-1]
    elif top.startswith("policy-map ") and w[0] == "class" and len(w) >= 2:
        yield "class-map", w[1]
    elif top.startswith("class-map ") and w[:2] == ["match", "access-group"] and len(w) >= 3:
        yield "access-list", w[-1]
    elif top.startswith("crypto map ") and w[:2] == ["match", "address"] and len(w) >= 3:
        yield "ipv4 access-list", w[2]
    elif w[:2] == ["ip", "nat"] and "list" in w[:-1]:
        yield "ipv4 access-list", w[w.index("list") + 1]
    elif w[:3] == ["ip", "http", "access-class"] and len(w) >= 4:
        yield "ipv4 access-list", w[-1]
    elif w[:2] == ["snmp-server", "group"] and len(w) >= 3:
        yield from _snmp_group(w)
    elif w[:2] == ["snmp-server", "community"] and len(w) >= 3:
        yield from _snmp_community(w)
    elif w[:2] == ["snmp-server", "user"] and len(w) >= 4:
        yield "snmp group", w[3]
    elif top.startswith("crypto "):
        yield from _ios_crypto(w, top)
    elif w[:4] == ["tunnel", "protection", "ipsec", "profile"] and len(w) >= 5:
        yield "ipsec profile", w[4]
    elif w[:2] == ["crypto", "map"] and len(w) >= 3 and path:
        yield "crypto map", w[2]


def _ios_crypto(w: list[str], top: str) -> Iterator[tuple[str, str]]:
    if top.startswith("crypto ikev2 policy") and w[0] == "proposal":
        yield from (("ikev2 proposal", n) for n in w[1:])
    elif w[:2] == ["keyring", "local"] and len(w) >= 3:
        yield "ikev2 keyring", w[2]
    elif w[:2] == ["pki", "trustpoint"] and len(w) >= 3:
        yield "pki trustpoint", w[2]
    elif w[:2] == ["set", "transform-set"]:
        yield from (("ipsec transform-set", n) for n in w[2:])
    elif w[:2] == ["set", "ikev2-profile"] and len(w) >= 3:
        yield "ikev2 profile", w[2]


def _route_map_entry(w: list[str]) -> Iterator[tuple[str, str]]:
    if w[0] == "call" and len(w) >= 2:
        yield "route-map", w[1]
        return
    if w[0] == "set":
        if w[1:2] in (["comm-list"], ["community-list"]) and len(w) >= 3:
            yield "community-list", w[2]
        elif w[1:2] == ["large-comm-list"] and len(w) >= 3:
            yield "large-community-list", w[2]
        elif w[1:2] == ["extcomm-list"] and len(w) >= 3:
            yield "extcommunity-list", w[2]
        return
    # match ...
    if w[1:2] in (["ip"], ["ipv6"]) and len(w) >= 4:
        fam = "ipv6" if w[1] == "ipv6" else "ipv4"
        if w[2] in ("address", "next-hop", "route-source"):
            if w[3] == "prefix-list":
                yield from ((f"{fam} prefix-list", n) for n in w[4:])
            elif w[2] == "next-hop" and w[3] == "address":
                return  # FRR "match ipv6 next-hop address X": an address, not a list
            elif w[3] not in ("type",):
                yield from ((f"{fam} access-list", n) for n in w[3:])
        return
    names = [n for n in w[2:] if n not in ("exact-match", "any")]
    kind = {"community": "community-list", "large-community": "large-community-list",
            "extcommunity": "extcommunity-list", "as-path": "as-path"}.get(w[1] if len(w) > 1
                                                                          else "")
    if kind:
        yield from ((kind, n) for n in names)


def _snmp_group(w: list[str]) -> Iterator[tuple[str, str]]:
    for i, word in enumerate(w[:-1]):
        if word in ("read", "write", "notify"):
            yield "snmp view", w[i + 1]
        elif word == "access":
            name = w[i + 2] if w[i + 1] == "ipv6" and i + 2 < len(w) else w[i + 1]
            yield ("ipv6" if w[i + 1] == "ipv6" else "ipv4") + " access-list", name


def _snmp_community(w: list[str]) -> Iterator[tuple[str, str]]:
    rest = w[3:]
    if rest[:1] == ["view"] and len(rest) > 1:
        yield "snmp view", rest[1]
        rest = rest[2:]
    if rest and rest[0].upper() in ("RO", "RW"):
        rest = rest[1:]
    if rest[:1] == ["ipv6"] and len(rest) > 1:
        yield "ipv6 access-list", rest[1]
        rest = rest[2:]
    if rest:
        yield "ipv4 access-list", rest[0]


# --- Junos set lines ----------------------------------------------------------------------


def _names(words: list[str], start: int) -> list[str]:
    """The name at ``words[start]``, or every name of a ``[ A B ]`` list there."""
    if start >= len(words):
        return []
    if words[start] == "[":
        end = words.index("]", start) if "]" in words[start:] else len(words)
        return words[start + 1:end]
    return [words[start]]


POLICY_WORDS = frozenset({"import", "export", "vrf-import", "vrf-export", "import-policy",
                          "export-policy"})
ROUTING = frozenset({"protocols", "routing-options", "routing-instances", "logical-systems"})
#: ``from`` (and ``then``) words of policy terms and firewall terms that name a list.
FROM_WORDS = {
    "prefix-list": "prefix-list", "prefix-list-filter": "prefix-list",
    "source-prefix-list": "prefix-list", "destination-prefix-list": "prefix-list",
    "policy": "policy-statement", "community": "community", "as-path": "as-path",
    "as-path-group": "as-path-group", "route-filter-list": "route-filter-list",
}


def _junos(config: ParsedConfig, refs: References) -> None:
    for node, w in config.set_lines():
        if len(w) < 2:
            continue
        for kind, name in _junos_defines(w):
            refs.defined.append(Ref(kind, name, node))
        for kind, name in _junos_uses(w):
            refs.used.append(Ref(kind, name, node))


def _junos_defines(w: list[str]) -> Iterator[tuple[str, str]]:
    if w[0] == "policy-options" and len(w) >= 3 and w[1] in (
            "prefix-list", "policy-statement", "community", "as-path", "as-path-group",
            "route-filter-list"):
        yield w[1], w[2]
    elif w[0] == "firewall":
        if w[1] == "family" and len(w) >= 5 and w[3] == "filter":
            yield f"{w[2]} filter", w[4]
        elif w[1] == "filter" and len(w) >= 3:
            yield "inet filter", w[2]
        elif w[1] == "policer" and len(w) >= 3:
            yield "policer", w[2]
    elif w[:2] == ["snmp", "view"] and len(w) >= 3:
        yield "snmp view", w[2]
    elif w[:5] == ["snmp", "v3", "vacm", "access", "group"] and len(w) >= 6:
        yield "snmp group", w[5]
    elif w[0] == "groups" and len(w) >= 2:
        yield "configuration group", w[1]
    elif w[0] == "security" and len(w) >= 4 and (w[1], w[2]) in JUNOS_CRYPTO:
        yield JUNOS_CRYPTO[(w[1], w[2])], w[3]


def _junos_uses(w: list[str]) -> Iterator[tuple[str, str]]:
    for i, word in enumerate(w):
        if word == "apply-groups":
            yield from (("configuration group", n) for n in _names(w, i + 1))
    if w[0] in ROUTING:
        for i, word in enumerate(w):
            if word in POLICY_WORDS:
                yield from (("policy-statement", n) for n in _names(w, i + 1))
    if (w[:2] == ["policy-options", "policy-statement"]) or w[0] == "firewall":
        for i, word in enumerate(w[:-1]):
            if word == "from" and w[i + 1] in FROM_WORDS:
                yield from ((FROM_WORDS[w[i + 1]], n) for n in _names(w, i + 2))
            elif word == "then" and w[i + 1] == "community" and len(w) > i + 3:
                yield from (("community", n) for n in _names(w, i + 3))
            elif word in ("then", "policer") and w[i + 1] == "policer" and len(w) > i + 2:
                yield "policer", w[i + 2]
    if w[0] == "interfaces" and "family" in w:
        fam = w[w.index("family") + 1] if w.index("family") + 1 < len(w) else ""
        for i, word in enumerate(w[:-1]):
            if word == "filter" and w[i + 1] in ("input", "output") and len(w) > i + 2:
                yield f"{fam} filter", w[i + 2]
            elif word == "filter" and w[i + 1] in ("input-list", "output-list"):
                yield from ((f"{fam} filter", n) for n in _names(w, i + 2))
            elif word == "policer" and w[i + 1] in ("input", "output") and len(w) > i + 2:
                yield "policer", w[i + 2]
    if w[:4] == ["snmp", "v3", "vacm", "access"]:
        for i, word in enumerate(w[:-1]):
            if word in ("read-view", "write-view", "notify-view"):
                yield "snmp view", w[i + 1]
    elif w[:4] == ["snmp", "v3", "vacm", "security-to-group"]:
        # a user's group: a line naming no group is a reference to nothing
        yield "snmp group", w[w.index("group") + 1] if "group" in w[:-1] else ""
    elif w[:2] == ["snmp", "community"] and "view" in w[:-1]:
        yield "snmp view", w[w.index("view") + 1]
    elif w[0] == "security" and len(w) >= 6:
        what = (w[1], w[2], w[4])
        if what in (("ike", "policy", "proposals"), ("ipsec", "policy", "proposals")):
            yield from ((f"{w[1]} proposal", n) for n in _names(w, 5))
        elif what == ("ike", "gateway", "ike-policy"):
            yield "ike policy", w[5]
        elif w[1:3] == ["ipsec", "vpn"] and w[4] == "ike" and len(w) >= 7:
            if w[5] == "gateway":
                yield "ike gateway", w[6]
            elif w[5] == "ipsec-policy":
                yield "ipsec policy", w[6]

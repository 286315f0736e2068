"""Routing control on agency edges (11.4.7): inbound BGP filters and unicast RPF.

An eBGP session without an inbound filter lets an agency announce any prefix into the GIN
(a hijack or a leak); an agency edge without uRPF forwards spoofed sources.  A filter that
names a prefix-list or route-map that does not exist is a failure too: IOS then permits
everything.  So is a "filter" that lets every route through (a route-map permit with no
match, a prefix-list ``permit any``, a Junos import chain no term of which rejects, since
BGP's default import policy then accepts the rest): real configs use such maps to set a
local preference and call them filters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from audit.checks.base import (
    Check,
    Context,
    Result,
    Status,
    active,
    bad,
    junos_active,
    na,
    ok,
    per_ios,
)
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig

FILTER_KINDS = ("prefix-list", "route-map", "distribute-list", "filter-list")


@dataclass(frozen=True)
class Inbound:
    """One inbound filter a neighbor gets: the line, its kind and policy name, and the
    address family it applies in (None: every family)."""

    node: Node
    kind: str
    name: str
    family: str | None


@dataclass
class Neighbor:
    address: str
    node: Node
    #: The VRF of an ``address-family ... vrf NAME`` session (None: the global table).
    vrf: str | None = None
    remote_as: str | None = None
    peer_group: str | None = None
    #: True for a ``neighbor NAME peer-group`` definition (a template, not a session).
    is_group: bool = False
    session: str | None = None
    families: list[str] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    #: (peer-policy template, family of the ``inherit peer-policy`` line).
    policies: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class _Template:
    remote_as: str | None = None
    inherits: list[str] = field(default_factory=list)
    inbound: list[tuple[Node, str, str]] = field(default_factory=list)


def _defined_policies(config: ParsedConfig) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for node in config.root.children:
        w = node.text.split()
        if len(w) >= 3 and w[0] in ("ip", "ipv6") and w[1] in ("prefix-list", "as-path"):
            out.add(("prefix-list" if w[1] == "prefix-list" else "filter-list", w[2]))
            if w[1] == "as-path" and len(w) > 3:
                out.add(("filter-list", w[3]))
        elif len(w) >= 2 and w[0] == "route-map":
            out.add(("route-map", w[1]))
        elif len(w) >= 2 and w[0] == "access-list":
            out.add(("distribute-list", w[1]))
        elif len(w) >= 3 and w[0] in ("ip", "ipv6") and w[1] == "access-list":
            out.add(("distribute-list", w[-1]))
    return out


def _inbound(words: list[str]) -> tuple[str, str] | None:
    """(kind, name) of an inbound filter's words after the neighbor (``prefix-list X in``)."""
    if len(words) >= 3 and words[0] in FILTER_KINDS and words[-1] == "in":
        return words[0], words[1]
    return None


def _templates(bgp: Node, kind: str) -> dict[str, _Template]:
    """IOS-XE ``template peer-session`` / ``peer-policy`` blocks of a ``router bgp``."""
    out: dict[str, _Template] = {}
    for node in bgp.find(f"template {kind} "):
        t = out.setdefault(node.text.split()[2], _Template())
        for child in node.children:
            w = child.text.split()
            if w[:1] == ["remote-as"] and len(w) > 1:
                t.remote_as = w[1]
            elif w[:2] == ["inherit", kind] and len(w) > 2:
                t.inherits.append(w[2])
            elif (f := _inbound(w)) is not None:
                t.inbound.append((child, *f))
    return out


def _chain(templates: dict[str, _Template], name: str | None) -> list[_Template]:
    """A template and those it inherits, nearest first (a cycle ends the walk)."""
    out: list[_Template] = []
    todo = [name] if name else []
    seen: set[str] = set()
    while todo:
        current = todo.pop(0)
        if current in seen or current not in templates:
            continue
        seen.add(current)
        out.append(templates[current])
        todo += templates[current].inherits
    return out


def bgp_neighbors(bgp: Node) -> tuple[str, dict[str, Neighbor]]:
    """(local AS, sessions with their families and inbound filters) of a ``router bgp``.

    What a real config states once and shares is resolved here, so every session is judged
    by what it actually gets: a peer-group member inherits the group's remote-as, families
    and filters (IOS, FRR), an IOS-XE neighbor its ``inherit peer-session`` remote-as and
    its ``inherit peer-policy`` filters.  Peer-group definitions are not in the table.
    """
    local_as = bgp.text.split()[2] if len(bgp.text.split()) > 2 else ""
    table: dict[str, Neighbor] = {}
    sessions, policies = _templates(bgp, "peer-session"), _templates(bgp, "peer-policy")

    def get(addr: str, vrf: str | None, node: Node) -> Neighbor:
        # a PE reuses one CE address in many VRFs: each is its own session
        return table.setdefault(f"{addr}%{vrf}" if vrf else addr, Neighbor(addr, node, vrf))

    def scan(section: Node, family: str | None) -> None:
        words = (family or "").split()
        vrf = words[words.index("vrf") + 1] if "vrf" in words[:-1] else None
        for child in section.children:
            w = child.text.split()
            if w[0] == "address-family":
                scan(child, " ".join(w[1:]))
                continue
            if w[0] != "neighbor" or len(w) < 3:
                continue
            nb = get(w[1], vrf, child)
            if w[2] == "interface":  # FRR unnumbered: "neighbor IF interface [v6only] ..."
                w = w[:2] + [x for x in w[3:] if x != "v6only"]
                if len(w) < 3:
                    continue
            if w[2] == "remote-as":
                nb.remote_as = w[3] if len(w) > 3 else None
            elif w[2] == "peer-group" and len(w) == 3:
                nb.is_group = True
            elif w[2] == "peer-group" and len(w) > 3:
                nb.peer_group = w[3]
                nb.node = child  # the member line is the session's own line
            elif w[2:4] == ["inherit", "peer-session"] and len(w) > 4:
                nb.session = w[4]
                nb.node = child
            elif w[2:4] == ["inherit", "peer-policy"] and len(w) > 4:
                nb.policies.append((w[4], family))
            elif w[2] == "activate" and family:
                nb.families.append(family)
            elif (f := _inbound(w[2:])) is not None:
                nb.inbound.append(Inbound(child, *f, family))

    scan(bgp, None)
    for nb in table.values():
        group = (table.get(f"{nb.peer_group}%{nb.vrf}") or table.get(nb.peer_group)
                 if nb.peer_group else None)
        if nb.remote_as is None:
            inherited = [t.remote_as for t in _chain(sessions, nb.session) if t.remote_as]
            nb.remote_as = (group.remote_as if group else None) or next(iter(inherited), None)
        for name, family in nb.policies:
            nb.inbound += [Inbound(node, kind, policy, family)
                           for t in _chain(policies, name) for node, kind, policy in t.inbound]
        if group is not None:
            nb.inbound += group.inbound
            nb.families += group.families
    return local_as, {a: nb for a, nb in table.items() if not nb.is_group}


def _seq(words: list[str], at: int, default: int) -> int:
    try:
        return int(words[at])
    except (IndexError, ValueError):
        return default


def _catch_all(words: list[str]) -> bool:
    """A prefix-list entry's words after permit/deny match every prefix of its family:
    ``any``, or the zero-length prefix up to the longest length (``0.0.0.0/0 le 32``)."""
    if words[:1] == ["any"]:
        return True
    try:
        net = ipaddress.ip_network(words[0])
    except (IndexError, ValueError):
        return False
    le = _seq(words, words.index("le") + 1, 0) if "le" in words else net.prefixlen
    ge = _seq(words, words.index("ge") + 1, 0) if "ge" in words else 0
    return net.prefixlen == 0 and le == net.max_prefixlen and ge <= 1


def open_policies(config: ParsedConfig) -> set[tuple[str, str]]:
    """(kind, name) of the route-maps and prefix-lists that let every route through: in
    sequence order, an entry that permits without any condition (a route-map ``permit``
    with no ``match``, a prefix-list ``permit any``) comes before anything is denied.
    A list whose entries all match something ends in an implicit deny: a filter."""
    entries: dict[tuple[str, str], list[tuple[int, str, bool]]] = {}
    for node in config.root.children:
        w = node.text.split()
        if w[:1] == ["route-map"] and len(w) > 1:
            action = w[2] if len(w) > 2 and w[2] in ("permit", "deny") else "permit"
            every = not any(c.text.startswith("match ") for c in node.children)
            entries.setdefault(("route-map", w[1]), []).append((_seq(w, 3, 10), action, every))
        elif len(w) > 4 and w[0] in ("ip", "ipv6") and w[1] == "prefix-list":
            rest = w[3:]
            seq = len(entries.get(("prefix-list", w[2]), [])) * 5 + 5
            if rest[0] == "seq":
                seq, rest = _seq(rest, 1, seq), rest[2:]
            if rest and rest[0] in ("permit", "deny"):
                entries.setdefault(("prefix-list", w[2]), []).append(
                    (seq, rest[0], _catch_all(rest[1:])))
    out: set[tuple[str, str]] = set()
    for key, rows in entries.items():
        for _, action, every in sorted(rows, key=lambda r: r[0]):
            if action == "deny":
                break
            if every:
                out.add(key)
                break
    return out


def bgp_filter_hier(config: ParsedConfig, ctx: Context) -> Result:
    processes = active(config, "router bgp")
    if not processes:
        return na("no BGP process")
    defined = _defined_policies(config)
    permissive = open_policies(config)
    good: list[Node] = []
    wrong: list[Node] = []
    everything: list[str] = []
    sessions = 0
    for bgp in processes:
        local_as, table = bgp_neighbors(bgp)
        for nb in table.values():
            if nb.remote_as is None or nb.remote_as in (local_as, "internal"):
                continue  # no session (a bare description) or an iBGP session
            sessions += 1
            named = [f for f in nb.inbound if (f.kind, f.name) in defined]
            filtering = [f for f in named if (f.kind, f.name) not in permissive]
            covered = {f.family for f in filtering}
            # no explicit 'activate': the filters' own families (implicit activation)
            families = set(nb.families) or {f.family for f in named} or {None}
            if None in covered or families <= covered:
                good.extend(f.node for f in filtering)
            else:
                wrong.extend([f.node for f in nb.inbound] or [nb.node])
                everything += [f.name for f in named if f not in filtering]
    if not sessions:
        return na("no eBGP session")
    if wrong:
        why = ("eBGP sessions without an inbound filter naming a defined policy (in every "
               "activated address family)")
        if everything:
            why += (", or whose inbound policy accepts every route (a permit with no match "
                    f"before anything is denied): {', '.join(dict.fromkeys(everything))}")
        return bad(why, wrong)
    return ok(f"all {sessions} eBGP sessions filter what they accept", good)


def _junos_bgp(config: ParsedConfig) -> list[tuple[str | None, Node, list[str]]]:
    """(routing instance or None, line, words after ``protocols bgp``) of every BGP
    statement, in the master instance and in each routing instance."""
    out: list[tuple[str | None, Node, list[str]]] = [
        (None, n, w[2:]) for n, w in junos_active(config, "protocols", "bgp")]
    out += [(w[1], n, w[4:]) for n, w in junos_active(config, "routing-instances")
            if len(w) > 4 and w[2:4] == ["protocols", "bgp"]]
    return out


def _imports(node: Node, words: list[str]) -> tuple[Node, list[str]] | None:
    """(line, policy chain) of an ``import`` statement (a name or a ``[ A B ]`` list)."""
    if "import" not in words:
        return None
    k = words.index("import")
    if k + 1 >= len(words):
        return None
    if words[k + 1] == "[":
        end = words.index("]") if "]" in words else len(words)
        return node, words[k + 2:end]
    return node, [words[k + 1]]


def junos_policies(config: ParsedConfig) -> dict[str, list[tuple[bool, set[str]]]]:
    """Each policy-statement's terms in order: (has a ``from``/``to`` condition, the
    actions of its ``then``).  Statements outside any term form a last, unnamed term."""
    terms: dict[str, dict[str | None, tuple[bool, set[str]]]] = {}
    for _, w in junos_active(config, "policy-options", "policy-statement"):
        if len(w) < 4:
            continue
        named = w[3] == "term" and len(w) > 5
        term, rest = (w[4], w[5:]) if named else (None, w[3:])
        policy = terms.setdefault(w[2], {})
        cond, actions = policy.get(term, (False, set()))
        if rest[0] in ("from", "to"):
            cond = True
        elif rest[0] == "then" and len(rest) > 1:
            actions = actions | {rest[1]}
        policy[term] = (cond, actions)
    return {name: [t for k, t in ts.items() if k is not None] + ([ts[None]] if None in ts
                                                                  else [])
            for name, ts in terms.items()}


def junos_accepts_all(chain: list[str],
                      policies: dict[str, list[tuple[bool, set[str]]]]) -> bool:
    """True when an import chain lets every route in: a term with no condition accepts
    before any term rejects, or no term rejects at all (BGP's default import policy,
    reached by every route no term decided, accepts)."""
    for name in chain:
        for cond, actions in policies.get(name, []):
            if "reject" in actions:
                return False
            if not cond and "accept" in actions:
                return True
    return True


def bgp_filter_junos(config: ParsedConfig, ctx: Context) -> Result:
    lines = _junos_bgp(config)
    if not lines:
        return na("no BGP")
    local = {None: {w[2] for _, w in junos_active(config, "routing-options",
                                                  "autonomous-system")}}
    for _, w in junos_active(config, "routing-instances"):
        if w[2:4] == ["routing-options", "autonomous-system"] and len(w) > 4:
            local.setdefault(w[1], set()).add(w[4])
    top_import: dict[str | None, list[tuple[Node, list[str]]]] = {}
    groups: dict[tuple[str | None, str], dict[str, object]] = {}
    for instance, node, w in lines:
        if w[:1] == ["import"]:
            top_import.setdefault(instance, []).append(_imports(node, w))  # type: ignore
        if len(w) < 3 or w[0] != "group":
            continue
        g = groups.setdefault((instance, w[1]), {"import": [], "type": None, "peer_as": None,
                                                 "neighbors": {}})
        if w[2] == "import" and (imp := _imports(node, w)):
            g["import"].append(imp)  # type: ignore[attr-defined]
        elif w[2] == "type" and len(w) > 3:
            g["type"] = w[3]
        elif w[2] == "peer-as" and len(w) > 3:
            g["peer_as"] = w[3]
        elif w[2] == "neighbor" and len(w) > 3:
            nb = g["neighbors"].setdefault(w[3], {"node": node, "import": [],  # type: ignore
                                                   "peer_as": None})
            if w[4:5] == ["import"] and (imp := _imports(node, w)):
                nb["import"].append(imp)
            elif w[4:5] == ["peer-as"] and len(w) > 5:
                nb["peer_as"] = w[5]
    policies = junos_policies(config)
    good: list[Node] = []
    wrong: list[Node] = []
    open_policies: list[str] = []
    sessions = 0
    for (instance, _), g in groups.items():
        mine = local.get(instance) or local[None]
        for nb in g["neighbors"].values():  # type: ignore[attr-defined]
            peer_as = nb["peer_as"] or g["peer_as"]
            external = g["type"] == "external" or (peer_as is not None and peer_as not in mine)
            if not external:
                continue
            sessions += 1
            imports = nb["import"] or g["import"] or top_import.get(instance, [])
            chain = [name for _, names in imports for name in names]
            nodes = [n for n, _ in imports]
            if not chain or any(name not in policies for name in chain):
                wrong.extend(nodes or [nb["node"]])
            elif junos_accepts_all(chain, policies):
                wrong.extend(nodes)
                open_policies += chain
            else:
                good.extend(nodes)
    if not sessions:
        return na("no eBGP session")
    if wrong:
        why = "eBGP neighbors without an import policy (Junos then accepts every route)"
        if open_policies:
            names = ", ".join(dict.fromkeys(open_policies))
            why += (f", or whose import policy accepts every route (no term rejects, or a "
                    f"term with no condition accepts first): {names}")
        return bad(why, wrong)
    return ok(f"all {sessions} eBGP sessions have an import policy that rejects what it "
              "does not accept", good)


BGP_FILTER = Check(
    id="route.bgp_inbound_filter",
    title="Inbound routing filters on eBGP sessions",
    severity="high",
    rules=per_ios(bgp_filter_hier, frr=bgp_filter_hier, juniper_junos=bgp_filter_junos),
    remediation={
        "cisco_ios": ["router bgp <asn>", " address-family ipv6 unicast",
                      "  neighbor <peer> prefix-list GIN-IN-<AGENCY> in",
                      " exit-address-family", "exit"],
        "frr": ["router bgp <asn>", " address-family ipv6 unicast",
                "  neighbor <peer> route-map GIN-IN-<AGENCY> in", " exit-address-family",
                "exit"],
        "juniper_junos": ["set protocols bgp group <group> neighbor <peer> import "
                          "GIN-IN-<AGENCY>"],
    },
)


def _ebgp_peers(config: ParsedConfig) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    peers = []
    for bgp in active(config, "router bgp"):
        local_as, table = bgp_neighbors(bgp)
        for nb in table.values():
            if nb.remote_as not in (None, local_as, "internal"):
                try:
                    peers.append(ipaddress.ip_address(nb.address))
                except ValueError:
                    continue
    return peers


def urpf_ios(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.role == "ce":
        return na("uRPF is enforced on the PE side of an agency edge, not on the CE")
    peers = _ebgp_peers(config)
    good: list[Node] = []
    wrong: list[Node] = []
    edges = 0
    for iface in active(config, "interface "):
        nets: dict[int, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
        for c in iface.children:
            w = c.text.split()
            try:
                if w[:2] == ["ipv6", "address"] and len(w) > 2 and "/" in w[2]:
                    nets[6] = ipaddress.ip_interface(w[2]).network
                elif w[:2] == ["ip", "address"] and len(w) > 3:
                    nets[4] = ipaddress.ip_interface(f"{w[2]}/{w[3]}").network
            except ValueError:
                continue  # "ip address dhcp", link-local, ...
        facing = {v for v, net in nets.items() if any(p in net for p in peers)}
        if not facing:
            continue
        edges += 1
        for version in sorted(nets):
            want = "ipv6 verify unicast" if version == 6 else "ip verify unicast"
            node = iface.child(want)
            (good if node else wrong).append(node or iface)
    if not edges:
        return na("no interface faces an eBGP peer (no agency edge)")
    if wrong:
        return bad("agency-edge interfaces without unicast RPF", wrong)
    return _role_unsure(ok(f"uRPF on all {edges} agency-edge interfaces", good), ctx, "ce")


def urpf_junos(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.role == "ce":
        return na("uRPF is enforced on the PE side of an agency edge, not on the CE")
    # CE sessions of a PE live in routing instances as often as in the master instance
    peers = [ipaddress.ip_address(w[3]) for _, _, w in _junos_bgp(config)
             if len(w) > 3 and w[0] == "group" and w[2] == "neighbor" and _is_ip(w[3])]
    units: dict[tuple[str, str, str], dict[str, object]] = {}
    for node, w in junos_active(config, "interfaces"):
        if len(w) > 6 and w[2] == "unit" and w[4] == "family":
            key = (w[1], w[3], w[5])
            u = units.setdefault(key, {"node": node, "rpf": None, "net": None})
            if w[6] == "rpf-check":
                u["rpf"] = node
            elif w[6] == "address" and len(w) > 7 and _is_ip(w[7].split("/")[0]):
                u["net"] = ipaddress.ip_interface(w[7]).network
    good: list[Node] = []
    wrong: list[Node] = []
    edges = 0
    for u in units.values():
        net = u["net"]
        if net is None or not any(p in net for p in peers):  # type: ignore[operator]
            continue
        edges += 1
        (good if u["rpf"] else wrong).append(u["rpf"] or u["node"])  # type: ignore[arg-type]
    if not edges:
        return na("no interface faces an eBGP peer (no agency edge)")
    if wrong:
        return bad("agency-edge interfaces without rpf-check", wrong)
    return _role_unsure(ok(f"rpf-check on all {edges} agency-edge interface families", good),
                        ctx, "ce")


def _role_unsure(passed: Result, ctx: Context, exempt: str) -> Result:
    """A pass of a check that does not apply on role ``exempt``, when the role is not known:
    "unknown", since with the role on record it could be "not applicable" and leave the
    score, and a missing fact must never raise a score.  (A failure stays a failure: the
    role, once recorded, can only take it out of the score.)"""
    if ctx.role is not None:
        return passed
    return Result(Status.UNKNOWN, f"{passed.reason}, but the device's role is not recorded "
                                  f"(on a {exempt.upper()} the check does not apply)",
                  passed.evidence)


def _is_ip(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


URPF = Check(
    id="route.urpf_edges",
    title="Unicast RPF on agency-edge interfaces",
    severity="medium",
    rules=per_ios(urpf_ios, juniper_junos=urpf_junos),
    not_applicable={"frr": "FRR has no uRPF; the Linux kernel's rp_filter (IPv4 only) is "
                           "host configuration"},
    remediation={
        "cisco_ios": ["interface <edge>", " ipv6 verify unicast source reachable-via rx",
                      " ip verify unicast source reachable-via rx", "exit"],
        "juniper_junos": ["set interfaces <edge> unit 0 family inet6 rpf-check",
                          "set interfaces <edge> unit 0 family inet rpf-check"],
    },
)



def _lan_interfaces(config: ParsedConfig) -> list[Node]:
    """Interfaces with a global IPv6 address that face no eBGP peer: the agency LANs."""
    peers = _ebgp_peers(config)
    out = []
    for iface in active(config, "interface "):
        name = iface.text.split(None, 1)[1].lower() if " " in iface.text else ""
        if name.startswith(("loopback", "lo", "tunnel", "null", "mgmt", "vlan1 ")):
            continue
        nets = []
        for c in iface.children:
            w = c.text.split()
            if w[:2] == ["ipv6", "address"] and len(w) > 2 and "/" in w[2]:
                try:
                    nets.append(ipaddress.ip_interface(w[2]).network)
                except ValueError:
                    continue
        if nets and not any(p in net for net in nets for p in peers):
            out.append(iface)
    return out


def raguard_ios(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.role == "pe":
        return na("agency LANs are on the CE; a PE has none")
    lans = _lan_interfaces(config)
    if not lans:
        return na("no IPv6 LAN interface")
    policies = {n.text.split()[4]: n for n in active(config, "ipv6 nd raguard policy ")
                if len(n.text.split()) > 4}
    good: list[Node] = []
    wrong: list[Node] = []
    for lan in lans:
        attach = lan.child("ipv6 nd raguard")
        words = attach.text.split() if attach else []
        policy = words[-1] if "attach-policy" in words else None
        if attach is None or (policy is not None and policy not in policies):
            wrong.append(attach or lan)
        else:
            good.extend([attach] + ([policies[policy]] if policy else []))
    if wrong:
        return bad("agency LAN interfaces without IPv6 RA guard (rogue router adverts)", wrong)
    return _role_unsure(ok(f"RA guard on all {len(lans)} agency LAN interfaces", good), ctx,
                        "pe")


RA_GUARD = Check(
    id="route.ra_guard",
    title="IPv6 RA guard on agency LANs",
    severity="medium",
    rules=per_ios(raguard_ios),
    not_applicable={
        "frr": "FRR has no RA guard; rogue RAs are filtered on the LAN's switch or bridge",
        "juniper_junos": "Junos enforces RA guard on the access switch (EX/QFX "
                         "router-advertisement-guard), not in a router's config",
    },
    remediation={
        "cisco_ios": ["ipv6 nd raguard policy GIN-RA-GUARD", " device-role host", "exit",
                      "interface <lan>", " ipv6 nd raguard attach-policy GIN-RA-GUARD", "exit"],
    },
)

CHECKS = register(BGP_FILTER, URPF, RA_GUARD)

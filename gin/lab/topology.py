"""Lab topology: a small YAML file of nodes and links, parsed into validated dataclasses.

Everything in a topology ends up in shell arguments, interface names and router
configs, so every name is checked against a strict pattern here, once, and the
rest of the lab code can trust it (a newline in a name must never become a
config command).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gin.lab.errors import TopologyError

#: Lab names become prefixes of namespace and interface names (Linux: 15 chars).
LAB_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
#: Node names become hostnames, namespace names and FRR `hostname` lines.
NODE_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$")
AGENCY_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
PRINTABLE_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,120}$")
ROLES = ("pe", "ce", "host", "gw")  # gw: a bare forwarding namespace (VPN gateways)
ROUTER_ROLES = ("pe", "ce")
MAX_NODES = 1000  # node index has at most 3 digits in interface names
MAX_PORTS = 99

DEFAULT_TOPOLOGY = "default.yaml"


@dataclass(frozen=True)
class Agency:
    """The agency a node belongs to (the core belongs to the lab agency "LAB")."""

    code: str
    name: str


@dataclass
class Node:
    """One router or host; each lives in its own network namespace."""

    name: str
    role: str
    index: int
    agency: Agency
    site: str
    asn: int | None = None
    router_id: str | None = None
    loopback: str | None = None
    address: str | None = None  # hosts: LAN address with prefix length
    gateway: str | None = None  # hosts: default gateway

    @property
    def is_router(self) -> bool:
        return self.role in ROUTER_ROLES


@dataclass
class LinkEnd:
    """One end of a link: which node, and the address to configure (if any)."""

    node: str
    address: str | None = None


@dataclass
class Link:
    """A point-to-point veth between two nodes.

    `core` links are configured as backbone links (addresses + OSPFv3); all other
    links exist as cables only, left for provisioning (or host addressing).
    """

    a: LinkEnd
    b: LinkEnd
    core: bool = False


@dataclass
class Topology:
    """A validated lab topology."""

    name: str
    asn: int
    nodes: list[Node]
    links: list[Link] = field(default_factory=list)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def routers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_router]

    def links_of(self, name: str) -> list[tuple[int, Link, LinkEnd, LinkEnd]]:
        """Return (port, link, own end, peer end) for each link of a node, port 1..n in order.

        Port 0 is reserved for the management interface of routers.
        """
        out = []
        port = 0
        for link in self.links:
            for own, peer in ((link.a, link.b), (link.b, link.a)):
                if own.node == name:
                    port += 1
                    out.append((port, link, own, peer))
        return out


def default_topology_path() -> Path:
    """Path of the topology shipped with gin (2 PEs, 3 CEs, 3 LAN hosts)."""
    return Path(str(resources.files("gin.lab") / "topologies" / DEFAULT_TOPOLOGY))


def load_topology(path: str | Path | None = None) -> Topology:
    """Read and validate a topology file (default: the shipped one)."""
    path = Path(path) if path else default_topology_path()
    try:
        text = path.read_text()
    except OSError as exc:
        raise TopologyError(
            f"cannot read topology {path}: {exc.strerror}; pass an existing YAML file"
        ) from exc
    return parse_topology(text, source=str(path))


def parse_topology(text: str, source: str = "<topology>") -> Topology:
    """Parse YAML text into a Topology, raising TopologyError with one clear line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise TopologyError(
            f"{source}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax"
        ) from exc
    return topology_from_dict(data, source)


def _fail(source: str, what: str) -> TopologyError:
    return TopologyError(f"{source}: {what}")


def _check_addr(source: str, where: str, value: Any, *, host_bits: bool = True) -> str:
    try:
        iface = ipaddress.IPv6Interface(str(value))
    except ValueError as exc:
        raise _fail(source, f"{where}: {value!r} is not an IPv6 address/prefix-length") from exc
    if "/" not in str(value):
        raise _fail(source, f"{where}: {value!r} needs a prefix length, e.g. /64 or /128")
    return str(iface)


def topology_from_dict(data: Any, source: str = "<topology>") -> Topology:
    """Validate an already-loaded mapping (from YAML or code) into a Topology."""
    if not isinstance(data, dict):
        raise _fail(source, "top level must be a mapping with 'nodes' and 'links'")
    unknown = set(data) - {"name", "asn", "nodes", "links", "description"}
    if unknown:
        raise _fail(source, f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")
    name = str(data.get("name", "lab"))
    if not PRINTABLE_RE.fullmatch(name):
        raise _fail(source, "'name' must be one line of printable text")
    asn = data.get("asn", 65000)
    if not isinstance(asn, int) or isinstance(asn, bool) or not 1 <= asn <= 4294967295:
        raise _fail(source, f"'asn' must be an integer 1..4294967295, got {asn!r}")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise _fail(source, "'nodes' must be a non-empty list")
    if len(raw_nodes) > MAX_NODES:
        raise _fail(source, f"at most {MAX_NODES} nodes per lab, got {len(raw_nodes)}")
    nodes: list[Node] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes):
        node = _parse_node(source, index, raw, asn)
        if node.name in seen:
            raise _fail(source, f"duplicate node name {node.name!r}; node names must be unique")
        seen.add(node.name)
        nodes.append(node)
    links = [_parse_link(source, i, raw, seen) for i, raw in enumerate(data.get("links") or [])]
    topo = Topology(name=name, asn=asn, nodes=nodes, links=links)
    _check_ports(source, topo)
    return topo


def _parse_node(source: str, index: int, raw: Any, core_asn: int) -> Node:
    where = f"nodes[{index}]"
    if not isinstance(raw, dict):
        raise _fail(source, f"{where} must be a mapping with at least 'name' and 'role'")
    allowed = {"name", "role", "agency", "site", "asn", "router_id", "loopback", "address",
               "gateway"}
    unknown = set(raw) - allowed
    if unknown:
        raise _fail(source, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    name = raw.get("name")
    if not isinstance(name, str) or not NODE_NAME_RE.fullmatch(name):
        raise _fail(
            source,
            f"{where}: node name {name!r} is invalid; use 1-24 chars of a-z, 0-9 and '-' "
            "starting with a letter (no spaces, newlines or punctuation)",
        )
    where = f"node {name!r}"
    role = raw.get("role")
    if role not in ROLES:
        raise _fail(source, f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
    agency = _parse_agency(source, where, raw.get("agency"), role)
    site = raw.get("site", name if role != "pe" else f"core-{name}")
    if not isinstance(site, str) or not NODE_NAME_RE.fullmatch(site):
        raise _fail(source, f"{where}: site {site!r} must look like a node name (a-z, 0-9, '-')")
    asn = raw.get("asn", core_asn if role == "pe" else None)
    if asn is not None and (not isinstance(asn, int) or isinstance(asn, bool)
                            or not 1 <= asn <= 4294967295):
        raise _fail(source, f"{where}: asn must be an integer 1..4294967295, got {asn!r}")
    router_id = raw.get("router_id")
    if router_id is not None:
        try:
            router_id = str(ipaddress.IPv4Address(str(router_id)))
        except ValueError as exc:
            raise _fail(source, f"{where}: router_id {router_id!r} is not dotted-quad") from exc
    loopback = raw.get("loopback")
    if loopback is not None:
        loopback = _check_addr(source, f"{where} loopback", loopback)
    if role == "pe" and (router_id is None or loopback is None):
        raise _fail(source, f"{where}: a pe needs 'router_id' and 'loopback' (IPv6 /128)")
    address = raw.get("address")
    gateway = raw.get("gateway")
    if role != "host" and address is not None:
        raise _fail(source, f"{where}: 'address' is for hosts; others use link 'addresses'")
    if role in ROUTER_ROLES and gateway is not None:
        raise _fail(source, f"{where}: 'gateway' is for hosts and gws; routers use FRR")
    if address is not None:
        address = _check_addr(source, f"{where} address", address)
    if gateway is not None:
        try:
            gateway = str(ipaddress.IPv6Address(str(gateway)))
        except ValueError as exc:
            raise _fail(source, f"{where}: gateway {gateway!r} is not an IPv6 address") from exc
    return Node(name=name, role=role, index=index, agency=agency, site=site, asn=asn,
                router_id=router_id, loopback=loopback, address=address, gateway=gateway)


def _parse_agency(source: str, where: str, raw: Any, role: str) -> Agency:
    if raw is None:
        return Agency("LAB", "GIN lab core")
    if isinstance(raw, str):
        raw = {"code": raw, "name": raw}
    if not isinstance(raw, dict):
        raise _fail(source, f"{where}: agency must be a code or {{code:, name:}}")
    code, name = raw.get("code"), raw.get("name", raw.get("code"))
    if not isinstance(code, str) or not AGENCY_CODE_RE.fullmatch(code):
        raise _fail(source, f"{where}: agency code {code!r} must be A-Z, 0-9, '_' or '-'")
    if not isinstance(name, str) or not PRINTABLE_RE.fullmatch(name):
        raise _fail(source, f"{where}: agency name must be one line of printable text")
    return Agency(code, name)


def _parse_link(source: str, index: int, raw: Any, names: set[str]) -> Link:
    where = f"links[{index}]"
    if isinstance(raw, list):
        raw = {"endpoints": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("endpoints"), list):
        raise _fail(source, f"{where} must be a mapping with 'endpoints: [node, node]'")
    unknown = set(raw) - {"endpoints", "core", "addresses"}
    if unknown:
        raise _fail(source, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    ends = raw["endpoints"]
    if len(ends) != 2 or not all(isinstance(e, str) for e in ends):
        raise _fail(source, f"{where}: 'endpoints' needs exactly two node names")
    for end in ends:
        if end not in names:
            raise _fail(source, f"{where}: unknown node {end!r}; define it under 'nodes' first")
    if ends[0] == ends[1]:
        raise _fail(source, f"{where}: a link needs two different nodes, got {ends[0]!r} twice")
    addresses = raw.get("addresses") or [None, None]
    if not isinstance(addresses, list) or len(addresses) != 2:
        raise _fail(source, f"{where}: 'addresses' needs one entry per endpoint (or null)")
    addrs = [None if a is None else _check_addr(source, f"{where} address", a)
             for a in addresses]
    core = raw.get("core", False)
    if not isinstance(core, bool):
        raise _fail(source, f"{where}: 'core' must be true or false")
    return Link(LinkEnd(ends[0], addrs[0]), LinkEnd(ends[1], addrs[1]), core=core)


def _check_ports(source: str, topo: Topology) -> None:
    for node in topo.nodes:
        links = topo.links_of(node.name)
        if len(links) > MAX_PORTS:
            raise _fail(source, f"node {node.name!r} has {len(links)} links, at most {MAX_PORTS}")
        for _, link, _, peer in links:
            if link.core and not (node.role == "pe" and topo.node(peer.node).role == "pe"):
                raise _fail(source, f"node {node.name!r}: 'core' links join two pe nodes only")
        if node.role == "host" and len(links) > 1:
            raise _fail(source, f"host {node.name!r} may have one link (to its CE), has "
                        f"{len(links)}")


def validate_lab_name(name: str) -> str:
    """Check a lab name: it prefixes namespace and interface names, so it is short and plain."""
    if not isinstance(name, str) or not LAB_NAME_RE.fullmatch(name):
        raise TopologyError(
            f"lab name {name!r} is invalid: use 1-8 chars of a-z and 0-9 starting with a letter "
            "(it prefixes interface names, which Linux limits to 15 chars)"
        )
    return name


def generate_topology(routers: int, hosts: bool = False) -> Topology:
    """Build a lab of `routers` routers: 2 PEs in an iBGP/OSPFv3 core, the rest CEs.

    Used by the benchmark; CEs hang off the PEs alternately, like the default lab.
    """
    if routers < 2:
        raise TopologyError("a generated lab needs at least 2 routers (the two PEs)")
    nodes: list[dict[str, Any]] = [
        {"name": f"pe{i}", "role": "pe", "router_id": f"10.255.0.{i}",
         "loopback": f"2001:db8:0:ffff::{i}/128"} for i in (1, 2)
    ]
    links: list[dict[str, Any]] = [{"endpoints": ["pe1", "pe2"], "core": True}]
    for i in range(1, routers - 1):
        nodes.append({"name": f"ce{i}", "role": "ce", "agency": f"AG{i:03d}"})
        links.append({"endpoints": [f"pe{1 + (i - 1) % 2}", f"ce{i}"]})
        if hosts:
            nodes.append({"name": f"h{i}", "role": "host", "agency": f"AG{i:03d}",
                          "site": f"ce{i}",
                          "address": f"2001:db8:{0x1000 + i:x}::10/64",
                          "gateway": f"2001:db8:{0x1000 + i:x}::1"})
            links.append({"endpoints": [f"ce{i}", f"h{i}"]})
    return topology_from_dict({"name": f"generated-{routers}", "nodes": nodes, "links": links},
                              source=f"<generated {routers} routers>")

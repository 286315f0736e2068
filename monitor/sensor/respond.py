"""GSI cut-off: block a source on the Linux gateway (nftables) and on the edge routers.

The Government Secure Intranet plan asks that an attacked network can cut the attacker
off.  A block is:

* checked first: never the management network (directory prefixes with role
  ``management``), never one of the directory's own device addresses, never a default
  route or an over-broad prefix;
* enforced on a Linux gateway as an element of an nftables set with a timeout (table
  ``inet gin_gsi``), so the kernel itself lifts it when it expires, even if gin is gone;
* pushed to the directory's edge routers (the PEs) through the provisioning transport
  (:mod:`monitor.sensor.edge`: FRR blackhole routes, IOS/IOS-XE ACLs, Junos filters).
  Every block or lift converges them to the active set.  Routers do not expire anything
  by themselves: ``gin monitor respond --expire`` (run every minute by the
  ``gin-gsi-expire.timer`` unit beside this module) converges them again, which takes
  expired blocks off and puts on the blocks the sensor's automatic mode made (it blocks
  on the gateway only, so a capture loop never waits for a router);
* recorded in the directory's change log (``object_type = "sensor_block"``): a block is an
  action, not a directory object, so it lives in the log rather than in a table of its
  own; the active blocks are the log's latest word per source (created and not yet
  expired or lifted).  Each router change is logged too (``sensor_block_push``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from directory import models as m
from directory.store import Directory

from .addresses import Net
from .edge import EdgeRouters, RouterResult
from .errors import RespondError
from .events import Event

OBJECT_TYPE = "sensor_block"
TABLE = "gin_gsi"
MIN_PREFIXLEN = {4: 16, 6: 32}  # refuse blocking more than a /16 or a /32 at once
DEFAULT_TTL = 3600


@dataclass(frozen=True)
class Block:
    """One active (or just lifted) block."""

    source: str
    expires: dt.datetime
    reason: str
    actor: str
    created: dt.datetime

    def record(self) -> dict[str, Any]:
        return {"source": self.source, "expires": self.expires.isoformat(timespec="seconds"),
                "reason": self.reason, "actor": self.actor,
                "created": self.created.isoformat(timespec="seconds")}


def parse_source(text: str) -> Net:
    """An address or prefix to block, host bits cleared (``10.1.2.3/24`` -> 10.1.2.0/24)."""
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise RespondError(f"block: {str(text)[:80]!r} is not an IPv4/IPv6 address or "
                           "prefix") from None
    if net.prefixlen < MIN_PREFIXLEN[net.version]:
        raise RespondError(f"block: {net} is broader than /{MIN_PREFIXLEN[net.version]}; "
                           "block narrower prefixes one by one")
    return net


def protected_networks(directory: Directory) -> list[Net]:
    """What must never be blocked: the management network and the directory's devices."""
    out: list[Net] = []
    with directory.transaction() as session:
        for cidr in session.scalars(select(m.Prefix.cidr).where(m.Prefix.role == "management")):
            out.append(ipaddress.ip_network(cidr, strict=False))
        for row in session.execute(select(m.Device.mgmt_address, m.Device.snmp_address)):
            for addr in row:
                if addr:
                    out.append(ipaddress.ip_network(addr.split("%", 1)[0]))
    return out


def check_allowed(net: Net, protected: Iterable[Net]) -> None:
    """Refuse a block that would touch a protected network (either contains the other)."""
    for p in protected:
        if p.version == net.version and (net.overlaps(p)):
            raise RespondError(f"refusing to block {net}: it overlaps {p}, which is the "
                               "management network or a device of the directory")


Runner = Callable[[Sequence[str], str | None], str]


def run_command(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run a command; a failure becomes a :class:`RespondError` with its stderr."""
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              timeout=30, check=False)
    except FileNotFoundError:
        raise RespondError(f"{argv[0]} not found (apt-get install -y nftables)") from None
    if proc.returncode != 0:
        raise RespondError(f"{' '.join(argv)} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


class NftGateway:
    """The blocks as nftables set elements with timeouts on a Linux gateway.

    ``netns`` runs ``nft`` inside a network namespace (a lab or test gateway).  Both the
    input and forward hooks drop packets from the sets, so traffic to the gateway and
    through it is cut.
    """

    def __init__(self, netns: str | None = None, runner: Runner = run_command) -> None:
        self.netns = netns
        self.runner = runner

    def _nft(self, *args: str, stdin: str | None = None) -> str:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return self.runner([*prefix, "nft", *args], stdin)

    @staticmethod
    def available() -> bool:
        return shutil.which("nft") is not None

    def ensure(self) -> None:
        """Create the table, sets and chains if missing (idempotent: ``add`` never fails
        on existing objects)."""
        self._nft("-f", "-", stdin=f"""
add table inet {TABLE}
add set inet {TABLE} blocked4 {{ type ipv4_addr; flags interval, timeout; }}
add set inet {TABLE} blocked6 {{ type ipv6_addr; flags interval, timeout; }}
add chain inet {TABLE} input {{ type filter hook input priority -10; policy accept; }}
add chain inet {TABLE} forward {{ type filter hook forward priority -10; policy accept; }}
""")
        rules = self._nft("-a", "list", "table", "inet", TABLE)
        if "@blocked4" not in rules:
            self._nft("-f", "-", stdin="".join(
                f"add rule inet {TABLE} {chain} {fam} saddr @blocked{v} counter drop\n"
                for chain in ("input", "forward") for fam, v in (("ip", 4), ("ip6", 6))))

    def add(self, net: Net, ttl: int) -> None:
        self.ensure()
        self._nft("add", "element", "inet", TABLE, f"blocked{net.version}",
                  f"{{ {net} timeout {int(ttl)}s }}")

    def delete(self, net: Net) -> None:
        try:
            self._nft("delete", "element", "inet", TABLE, f"blocked{net.version}",
                      f"{{ {net} }}")
        except RespondError as exc:
            if "No such file" not in str(exc) and "does not exist" not in str(exc):
                raise

    def list(self) -> dict[str, int]:
        """Enforced blocks: source -> seconds left."""
        try:
            raw = self._nft("-j", "list", "table", "inet", TABLE)
        except RespondError:
            return {}
        out: dict[str, int] = {}
        for item in json.loads(raw).get("nftables", []):
            for elem in (item.get("set") or {}).get("elem", []):
                if isinstance(elem, dict) and "elem" in elem:
                    val, left = elem["elem"].get("val"), elem["elem"].get("expires", 0)
                else:
                    val, left = elem, 0
                if isinstance(val, dict) and "prefix" in val:
                    val = f"{val['prefix']['addr']}/{val['prefix']['len']}"
                out[str(ipaddress.ip_network(val, strict=False))] = int(left)
        return out


class Responder:
    """Block, lift, expire and list, with the directory's protection and change log.

    ``edge`` (optional) carries the blocks to the edge routers; the results of the last
    router change are in ``routers`` (one :class:`~monitor.sensor.edge.RouterResult` per
    router, a failed one rolled back there).
    """

    def __init__(self, directory: Directory, gateway: NftGateway | None = None,
                 edge: EdgeRouters | None = None) -> None:
        self.directory = directory
        self.gateway = gateway
        self.edge = edge
        self.routers: list[RouterResult] = []
        self._protected: list[Net] | None = None

    def protected(self) -> list[Net]:
        if self._protected is None:
            self._protected = protected_networks(self.directory)
        return self._protected

    def block(self, source: str, ttl: int = DEFAULT_TTL, reason: str = "manual") -> Block:
        """Check, enforce (gateway), then record; a refused or failed block records nothing."""
        if ttl <= 0:
            raise RespondError("block: --ttl must be a positive number of seconds")
        net = parse_source(source)
        check_allowed(net, self.protected())
        if self.gateway is not None:
            self.gateway.add(net, ttl)
        now = m.utcnow()
        block = Block(str(net), now + dt.timedelta(seconds=ttl), reason[:200],
                      self.directory.actor, now)
        self._record("create", str(net), None, {**block.record(), "ttl_s": int(ttl)})
        self._converge("block")
        return block

    def lift(self, source: str, reason: str | None = None) -> None:
        """Take a block off; ``reason`` (why it was lifted) goes into the change log."""
        net = parse_source(source)
        active = {b.source: b for b in self.list()}
        if str(net) not in active:
            raise RespondError(f"{net} is not blocked (see: gin monitor respond --list)")
        if self.gateway is not None:
            self.gateway.delete(net)
        self._record("delete", str(net), active[str(net)].record(),
                     {"reason": reason[:200]} if reason else None)
        self._converge("lift")

    def expire(self) -> list[RouterResult]:
        """Bring the edge routers to the active set: expired and lifted blocks off, blocks
        made without them (automatic mode) on.  The gateway's nftables timeouts need no
        help."""
        self._converge("expire")
        return self.routers

    def _converge(self, action: str) -> None:
        if self.edge is not None:
            self.routers = self.edge.converge([b.source for b in self.list()], action)

    def list(self) -> list[Block]:
        """Active blocks according to the change log (latest record per source)."""
        latest: dict[str, m.Change] = {}
        with self.directory.transaction() as session:
            stmt = (select(m.Change).where(m.Change.object_type == OBJECT_TYPE)
                    .order_by(m.Change.id))
            for ch in session.scalars(stmt):
                latest[ch.object_key] = ch
        now = m.utcnow()
        out = []
        for key, ch in latest.items():
            if ch.action != "create" or not ch.after:
                continue
            a = ch.after
            expires = dt.datetime.fromisoformat(a["expires"])
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=dt.UTC)
            if expires > now:
                out.append(Block(key, expires, a.get("reason", ""), a.get("actor", ch.actor),
                                 dt.datetime.fromisoformat(a["created"])))
        return sorted(out, key=lambda b: b.created)

    def _record(self, action: str, key: str, before: dict | None, after: dict | None) -> None:
        with self.directory.transaction() as session:
            session.add(m.Change(time=m.utcnow(), actor=self.directory.actor, action=action,
                                 object_type=OBJECT_TYPE, object_id=None, object_key=key,
                                 before=before, after=after))


def block_target(ev: Event) -> str | None:
    """Whom an event says to cut off: the listed address for block-list hits, else the
    source (None for events whose source may be spoofed, e.g. floods)."""
    if ev.type == "blocklist":
        return ev.evidence.get("listed")
    if ev.type in ("syn_flood", "udp_flood", "icmp_flood", "segregation", "arp_storm"):
        return None
    return ev.source


class AutoBlock:
    """Opt-in automatic cut-off: events of the allowed ``types`` block their source.

    Refusals (a protected address) are kept in ``refused`` rather than raised, so the
    sensor keeps running.
    """

    def __init__(self, responder: Responder, types: Iterable[str], ttl: int = DEFAULT_TTL
                 ) -> None:
        self.responder = responder
        self.types = set(types)
        self.ttl = ttl
        self.blocked: list[Block] = []
        self.refused: list[tuple[str, str]] = []

    def __call__(self, ev: Event) -> None:
        if ev.type not in self.types:
            return
        target = block_target(ev)
        if not target:
            return
        try:
            self.blocked.append(self.responder.block(target.split("/")[0], self.ttl,
                                                     reason=f"auto: {ev.type}"))
        except RespondError as exc:
            self.refused.append((target, str(exc)))


@dataclass
class Response:
    """What ``gin monitor respond`` did: the record, one line in words, each router."""

    done: dict[str, Any]
    line: str
    routers: list[RouterResult]


def respond(directory: Directory, *, block: str | None = None, lift: str | None = None,
            expire: bool = False, ttl: int = DEFAULT_TTL, reason: str | None = "manual",
            netns: str | None = None, gateway: bool = True,
            routers_via: str | None = "netmiko") -> Response:
    """One of block / lift / expire, on the gateway (unless ``gateway`` is off; never for
    expire: nftables lifts by itself) and on the edge routers through the transport
    ``routers_via`` (None: not the routers).  ``reason`` is logged with a block or a lift."""
    if sum(map(bool, (block, lift, expire))) != 1:
        raise RespondError("respond: give one of block, lift or expire")
    gw = NftGateway(netns) if gateway and not expire else None
    edge = None
    if routers_via is not None:
        from devices import transport as transports

        edge = EdgeRouters(directory, transports.get(routers_via))
    responder = Responder(directory, gw, edge)
    if block:
        done: dict[str, Any] = responder.block(block, ttl, reason or "manual").record()
        line = f"blocked {done['source']} until {done['expires']}"
    elif lift:
        responder.lift(lift, reason)
        done, line = {"lifted": lift, "reason": reason}, f"lifted {lift}"
    else:
        responder.expire()
        done, line = {"expired": True}, "edge routers brought to the active blocks"
    return Response(done, line, responder.routers)


def active_blocks(directory: Directory, *, netns: str | None = None,
                  gateway: bool = True) -> list[dict[str, Any]]:
    """The active blocks, each with whether the gateway enforces it (None: not asked)."""
    gw = NftGateway(netns) if gateway else None
    blocks = Responder(directory, gw).list()
    enforced = gw.list() if gw is not None else {}
    return [{**b.record(), "enforced": (b.source in enforced) if gw else None}
            for b in blocks]


def edge_config(directory: Directory, platform: str) -> str:
    """The active blocks as an edge router of ``platform`` carries them."""
    from devices import platforms

    from .edge import render

    return render(platforms.get(platform).name,
                  [b.source for b in Responder(directory).list()])

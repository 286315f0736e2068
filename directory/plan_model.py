"""The addressing plan as data: its pools and prefix lengths, with no database code.

Why a module of its own: the allocator hands out prefixes from a plan's pools and
:mod:`directory.plan` records those pools with the allocator, so both need the plan's
shape; keeping the shape here lets each import it without importing the other.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .errors import NotFound

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Pool:
    """One top-level prefix of the plan and what is allocated from it."""

    name: str  # supernet6, loopback6, p2p6, transit4, loopback4, agency4
    field: str  # where it is in the file, e.g. ``ipv6.p2p_pool``
    network: Network
    role: str  # role of the pool's own Prefix row
    child_length: int
    child_role: str
    description: str


@dataclass(frozen=True)
class IPv6Plan:
    supernet: ipaddress.IPv6Network
    agency_length: int = 48
    site_length: int = 56
    lan_length: int = 64
    p2p_length: int = 127
    loopback_length: int = 128
    loopback_pool: ipaddress.IPv6Network | None = None
    p2p_pool: ipaddress.IPv6Network | None = None


@dataclass(frozen=True)
class IPv4Plan:
    transit_pool: ipaddress.IPv4Network | None = None
    p2p_length: int = 31
    loopback_pool: ipaddress.IPv4Network | None = None
    loopback_length: int = 32
    agency_pool: ipaddress.IPv4Network | None = None
    agency_block_length: int = 28


@dataclass(frozen=True)
class Plan:
    source: str
    ipv6: IPv6Plan
    ipv4: IPv4Plan = field(default_factory=IPv4Plan)

    @property
    def pools(self) -> list[Pool]:
        """The plan's top-level prefixes, supernet first (the order :func:`apply_plan` uses)."""
        v6, v4 = self.ipv6, self.ipv4
        out = [Pool("supernet6", "ipv6.supernet", v6.supernet, "supernet", v6.agency_length,
                    "agency", "GIN IPv6 supernet")]
        if v6.loopback_pool:
            out.append(Pool("loopback6", "ipv6.loopback_pool", v6.loopback_pool, "loopback",
                            v6.loopback_length, "loopback", "GIN IPv6 router loopbacks"))
        if v6.p2p_pool:
            out.append(Pool("p2p6", "ipv6.p2p_pool", v6.p2p_pool, "transit-pool",
                            v6.p2p_length, "p2p", "GIN IPv6 point-to-point links"))
        if v4.transit_pool:
            out.append(Pool("transit4", "ipv4.transit_pool", v4.transit_pool, "transit-pool",
                            v4.p2p_length, "p2p", "GIN IPv4 transit links"))
        if v4.loopback_pool:
            out.append(Pool("loopback4", "ipv4.loopback_pool", v4.loopback_pool, "loopback",
                            v4.loopback_length, "loopback", "GIN IPv4 router loopbacks"))
        if v4.agency_pool:
            out.append(Pool("agency4", "ipv4.agency_pool", v4.agency_pool, "supernet",
                            v4.agency_block_length, "agency-block", "GIN IPv4 agency blocks"))
        return out

    def pool(self, name: str) -> Pool:
        for pool in self.pools:
            if pool.name == name:
                return pool
        names = ", ".join(p.name for p in self.pools)
        raise NotFound(f"{self.source}: the plan has no pool {name!r} (it has {names})")

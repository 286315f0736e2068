"""Rogue IPv6 router advertisements: an RA from a router the directory does not know."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..addresses import halves, key64
from ..parse import ICMPV6
from .base import Finding, Slice, group_counts

RA = 134


def _mac(text: str) -> int:
    return int(text.replace(":", "").replace("-", "").replace(".", ""), 16)


@dataclass
class RogueRA:
    """Alert on every ICMPv6 Router Advertisement whose IPv6 source is not in ``routers``
    and whose Ethernet source is not in ``router_macs``.

    GIN is IPv6: a host that advertises itself as router can silently take the traffic
    of a whole LAN (SLAAC picks it up), so a single RA is enough, and it is critical: the
    rogue router is already in the path of every host that listened.  ``routers`` comes
    from the directory's devices (their addresses, link-local included when recorded).
    """

    routers: Iterable[str] = ()
    router_macs: Iterable[str] = ()
    severity: str = "critical"
    type: str = "rogue_ra"
    _allowed: np.ndarray = field(init=False, repr=False)
    _macs: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        keys = []
        for r in self.routers:
            hi, lo = halves(ipaddress.ip_address(str(r).split("%", 1)[0]))
            keys.append(int(key64(np.array([hi], np.uint64), np.array([lo], np.uint64))[0]))
        self._allowed = np.array(sorted(set(keys)), np.uint64)
        self._macs = np.array(sorted({_mac(m) for m in self.router_macs}), np.uint64)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        ra = (f.proto == ICMPV6) & (f.family == 6) & (f.icmp_type == RA)
        if not ra.any():
            return []
        ra &= ~np.isin(s.src, self._allowed) & ~np.isin(f.src_mac, self._macs)
        idx = np.flatnonzero(ra)
        uniq, counts, first = group_counts(s.src[idx])
        out = []
        for u in range(uniq.shape[0]):
            i = int(idx[first[u]])
            mac = s.mac_text(i)
            out.append(Finding(self.type, self.severity, f"{s.src_text(i)}/{mac}",
                               s.src_text(i), s.dst_text(i), int(counts[u]),
                               {"router_mac": mac, "vlan": int(f.vlan[i])}))
        return out

"""ARP spoofing (an IP address changing MAC) and gratuitous-ARP storms."""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..addresses import halves, mac_text, to_text
from ..parse import ETH_ARP
from .base import Finding, Slice
from .common import counts_over
from .window import WindowCount


def _arp(s: Slice) -> np.ndarray:
    f = s.f
    return (f.ethertype == ETH_ARP) & ((f.arp_op == 1) | (f.arp_op == 2)) & (f.src_lo != 0)


@dataclass
class ArpSpoof:
    """Alert when an IPv4 address is claimed by a different MAC address than the one
    that claimed it within the last ``hold`` seconds (ARP cache poisoning, the first step
    of a man-in-the-middle on a LAN).

    A spoofed address of one of ``routers`` (the directory's devices: the gateways) is
    ``router_severity`` (critical): whoever answers for the gateway sees, and can alter,
    all the LAN's traffic leaving it.  Any other address is ``severity`` (high).

    The IP->MAC table keeps at most ``max_entries`` addresses (least recently seen
    dropped first), so memory is bounded whatever the traffic.
    """

    hold: int = 300
    max_entries: int = 65536
    routers: Iterable[str] = ()
    severity: str = "high"
    router_severity: str = "critical"
    type: str = "arp_spoof"
    _table: OrderedDict[int, tuple[int, int]] = field(init=False, repr=False)
    _routers: frozenset[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._table = OrderedDict()
        addrs = (ipaddress.ip_address(str(r).split("%", 1)[0]) for r in self.routers)
        self._routers = frozenset(halves(a)[1] for a in addrs if a.version == 4)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        idx = np.flatnonzero(_arp(s))
        if idx.shape[0] == 0:
            return []
        pairs = np.stack([f.src_lo[idx], f.arp_sha[idx]], axis=1)
        uniq, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
        out = []
        for (ip, mac), j, n in zip(uniq.tolist(), first.tolist(), counts.tolist(), strict=True):
            old = self._table.get(ip)
            if old is not None and old[0] != mac and s.sec - old[1] <= self.hold:
                ip_text = to_text(0, ip)
                router = ip in self._routers
                out.append(Finding(self.type, self.router_severity if router else self.severity,
                                   ip_text, ip_text, None, int(n),
                                   {"old_mac": mac_text(old[0]), "new_mac": mac_text(mac),
                                    "arp_op": int(f.arp_op[idx[j]]), "router": router}))
            self._table[ip] = (mac, s.sec)
            self._table.move_to_end(ip)
        while len(self._table) > self.max_entries:
            self._table.popitem(last=False)
        return out


@dataclass
class ArpStorm:
    """Alert when one MAC sends at least ``gratuitous`` gratuitous ARPs (sender address
    equal to target address) within ``window`` seconds.  A few at boot or fail-over are
    normal; a storm is a spoofing tool or a broken device flooding the LAN."""

    gratuitous: int = 20
    window: int = 10
    severity: str = "medium"
    type: str = "arp_storm"
    _w: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        mask = _arp(s) & (f.src_lo == f.dst_lo)
        hits = counts_over(s, mask, f.arp_sha, self._w, self.gratuitous)
        return [Finding(self.type, self.severity, mac_text(f.arp_sha[i]), s.src_text(i), None,
                        n, {"mac": mac_text(f.arp_sha[i]), "gratuitous": t,
                            "window_s": self.window}) for i, n, t in hits]

"""ICMP and ICMPv6 flood: too many ICMP messages to one destination."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..parse import ICMP, ICMPV6
from .base import Finding, Slice
from .common import ICMPV6_CONTROL, counts_over
from .window import WindowCount


@dataclass
class IcmpFlood:
    """Alert when a destination receives at least ``packets`` ICMP/ICMPv6 messages within
    ``window`` seconds.  Neighbour discovery and MLD are left out: IPv6 needs them to work
    and they are counted by the rogue-RA detector instead.
    """

    packets: int = 1000
    window: int = 10
    severity: str = "medium"
    type: str = "icmp_flood"
    _w: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        mask = ((f.proto == ICMP) & (f.family == 4)) | (
            (f.proto == ICMPV6) & (f.family == 6) & ~np.isin(f.icmp_type, ICMPV6_CONTROL))
        hits = counts_over(s, mask, s.dst, self._w, self.packets)
        return [Finding(self.type, self.severity, s.dst_text(i), s.src_text(i), s.dst_text(i),
                        n, {"packets": t, "window_s": self.window, "family": int(f.family[i])})
                for i, n, t in hits]

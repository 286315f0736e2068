"""UDP flood: too many UDP datagrams to one destination."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..parse import UDP
from .base import Finding, Slice
from .common import counts_over
from .window import WindowCount


@dataclass
class UdpFlood:
    """Alert when a destination receives at least ``packets`` UDP datagrams within
    ``window`` seconds.  The default (500 per second on average) is above what a busy
    agency DNS or syslog server receives; raise it for known heavy receivers.
    """

    packets: int = 5000
    window: int = 10
    severity: str = "high"
    type: str = "udp_flood"
    _w: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        hits = counts_over(s, (f.proto == UDP) & (f.family != 0), s.dst, self._w, self.packets)
        return [Finding(self.type, self.severity, s.dst_text(i), s.src_text(i), s.dst_text(i),
                        n, {"packets": t, "window_s": self.window, "dport": int(f.dport[i])})
                for i, n, t in hits]

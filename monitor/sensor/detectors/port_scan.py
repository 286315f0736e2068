"""TCP/UDP port scan: one source touching many destination ports within a window."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Finding, Slice
from .common import distinct_over, syn_only, udp_from_client
from .window import WindowDistinct


@dataclass
class PortScan:
    """Alert when a source sends connection attempts (TCP SYN, UDP from an ephemeral port)
    to at least ``ports`` distinct destination ports within ``window`` seconds.

    Why those packets: established flows and service replies never fan out over ports,
    connection attempts from a scanner do.  ``ports=100`` stays clear of busy clients
    (browsers open a handful of ports per server) and still catches ``nmap`` top-1000.
    """

    ports: int = 100
    window: int = 10
    severity: str = "medium"
    type: str = "port_scan"
    _w: WindowDistinct = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowDistinct(self.window)

    def process(self, s: Slice) -> list[Finding]:
        mask = syn_only(s) | udp_from_client(s)
        hits = distinct_over(s, mask, s.src, s.f.dport, self._w, self.ports)
        return [Finding(self.type, self.severity, s.src_text(i), s.src_text(i), s.dst_text(i),
                        n, {"distinct_ports": d, "window_s": self.window})
                for i, n, d in hits]

"""Address sweep: one source probing many destination addresses within a window."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Finding, Slice
from .common import distinct_over, echo_request, syn_only, udp_from_client
from .window import WindowDistinct


@dataclass
class AddressSweep:
    """Alert when a source sends probes (TCP SYN, UDP from an ephemeral port, ICMP/ICMPv6
    echo request) to at least ``hosts`` distinct addresses within ``window`` seconds.

    IPv6 subnets are too large to sweep blindly, so a sweep that is seen at all (often of
    the low addresses of a /64) is worth reporting; ``hosts=50`` leaves room for a client
    talking to many servers.
    """

    hosts: int = 50
    window: int = 10
    severity: str = "medium"
    type: str = "address_sweep"
    _w: WindowDistinct = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowDistinct(self.window)

    def process(self, s: Slice) -> list[Finding]:
        mask = syn_only(s) | udp_from_client(s) | echo_request(s)
        hits = distinct_over(s, mask, s.src, s.dst, self._w, self.hosts)
        return [Finding(self.type, self.severity, s.src_text(i), s.src_text(i), None, n,
                        {"distinct_hosts": d, "window_s": self.window}) for i, n, d in hits]

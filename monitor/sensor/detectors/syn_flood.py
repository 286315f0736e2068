"""SYN flood: many connection attempts to one destination that never complete."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..parse import ACK, FIN, RST, SYN, TCP
from .base import Finding, Slice
from .common import counts_over, syn_only
from .window import WindowCount


@dataclass
class SynFlood:
    """Alert when a destination receives at least ``syns`` TCP SYNs within ``window``
    seconds while, in the current second, fewer than ``completed_ratio`` of its SYNs are
    matched by handshake completions (pure ACKs towards the destination).

    Why the ratio: a busy web server gets thousands of SYNs too, but its clients then
    send ACKs; a flood (usually from spoofed sources) never does.
    """

    syns: int = 1000
    completed_ratio: float = 0.2
    window: int = 10
    severity: str = "high"
    type: str = "syn_flood"
    _syn: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._syn = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        hits = counts_over(s, syn_only(s), s.dst, self._syn, self.syns)
        if not hits:
            return []
        f = s.f
        acks = (f.proto == TCP) & (f.family != 0) & ((f.tcp_flags & (SYN | ACK | RST | FIN)) == ACK)
        out = []
        for i, n, total in hits:
            # Completions are judged on this second only: cheap (done only for the rare
            # destination over threshold) and it follows the flood as it goes on.
            acked = int(np.count_nonzero(acks & (s.dst == s.dst[i])))
            if acked >= self.completed_ratio * n:
                continue
            out.append(Finding(self.type, self.severity, s.dst_text(i), s.src_text(i),
                               s.dst_text(i), n, {"syns": total, "acks": acked,
                                                  "window_s": self.window}))
        return out

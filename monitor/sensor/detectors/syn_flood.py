"""SYN flood: many connection attempts to one destination that never complete."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..parse import ACK, FIN, RST, SYN, TCP
from .base import Finding, Slice, group_counts
from .common import counts_over, syn_only
from .window import WindowCount


@dataclass
class SynFlood:
    """Alert when a destination receives at least ``syns`` TCP SYNs within ``window``
    seconds while fewer than ``completed_ratio`` of them are followed by handshake
    completions (pure ACKs towards the destination).

    Why the ratio: a busy web server gets thousands of SYNs too, but its clients then
    send ACKs; a flood (usually from spoofed sources) never does.
    """

    syns: int = 1000
    completed_ratio: float = 0.2
    window: int = 10
    severity: str = "high"
    type: str = "syn_flood"
    _syn: WindowCount = field(init=False, repr=False)
    _ack: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._syn = WindowCount(self.window)
        self._ack = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        acks = np.flatnonzero((f.proto == TCP) & (f.family != 0)
                              & ((f.tcp_flags & (SYN | ACK | RST | FIN)) == ACK))
        akeys, acounts, _ = group_counts(s.dst[acks])
        if akeys.shape[0]:
            self._ack.add(s.sec, akeys, acounts)
        hits = counts_over(s, syn_only(s), s.dst, self._syn, self.syns)
        out = []
        for i, n, total in hits:
            acked = int(self._ack.total(s.sec, s.dst[i:i + 1])[0])
            if acked >= self.completed_ratio * total:
                continue
            out.append(Finding(self.type, self.severity, s.dst_text(i), s.src_text(i),
                               s.dst_text(i), n, {"syns": total, "acks": acked,
                                                  "window_s": self.window}))
        return out


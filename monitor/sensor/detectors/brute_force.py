"""SSH/Telnet brute force: a high rate of new connections to login ports per source."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .base import Finding, Slice
from .common import counts_over, syn_only
from .window import WindowCount


@dataclass
class BruteForce:
    """Alert when a source opens at least ``attempts`` TCP connections (SYNs) to the
    login ``ports`` (SSH 22, Telnet 23 by default) within ``window`` seconds.

    Each password guess costs a connection (ssh clients get a few tries per connection),
    so the connection rate is visible without decrypting anything.
    """

    attempts: int = 30
    window: int = 60
    ports: Iterable[int] = (22, 23)
    severity: str = "high"
    type: str = "brute_force"
    _w: WindowCount = field(init=False, repr=False)
    _ports: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._w = WindowCount(self.window)
        self._ports = np.array(sorted(set(int(p) for p in self.ports)), np.uint16)

    def process(self, s: Slice) -> list[Finding]:
        mask = syn_only(s) & np.isin(s.f.dport, self._ports)
        hits = counts_over(s, mask, s.src, self._w, self.attempts)
        return [Finding(self.type, self.severity, s.src_text(i), s.src_text(i), s.dst_text(i),
                        n, {"connections": t, "port": int(s.f.dport[i]),
                            "window_s": self.window}) for i, n, t in hits]

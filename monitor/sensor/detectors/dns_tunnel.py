"""DNS tunnelling: long or high-entropy query names, or a flood of queries, per source."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dns import name_features, qname
from .base import Finding, Slice, group_counts
from .window import WindowCount


@dataclass
class DnsTunnel:
    """Alert when a source sends, within ``window`` seconds, at least ``suspicious``
    queries whose name is long (``long_name`` characters or more) or random-looking
    (``min_entropy_len`` characters or more with at least ``entropy`` bits per
    character), or at least ``queries`` queries in all.

    Why: tunnels encode data in labels (base32/hex, 50+ characters, ~4-5 bits per
    character); ordinary names are short and low-entropy (``www.example.go.th`` ~3.3).
    """

    suspicious: int = 10
    long_name: int = 52
    min_entropy_len: int = 24
    entropy: float = 3.9
    queries: int = 2000
    window: int = 60
    severity: str = "medium"
    type: str = "dns_tunnel"
    _bad: WindowCount = field(init=False, repr=False)
    _all: WindowCount = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._bad = WindowCount(self.window)
        self._all = WindowCount(self.window)

    def process(self, s: Slice) -> list[Finding]:
        f = s.f
        idx = np.flatnonzero((f.dns_off >= 0) & (f.family != 0))
        if idx.shape[0] == 0:
            return []
        qlen, ent = name_features(f.buf, f.dns_off[idx], f.dns_end[idx])
        valid = qlen >= 0
        idx, qlen, ent = idx[valid], qlen[valid], ent[valid]
        bad = (qlen >= self.long_name) | ((qlen >= self.min_entropy_len) & (ent >= self.entropy))
        src = s.src[idx]
        akeys, acounts, afirst = group_counts(src)
        totals = self._all.add(s.sec, akeys, acounts) if akeys.shape[0] else acounts
        bkeys, bcounts, bfirst = group_counts(src[bad])
        btotals = self._bad.add(s.sec, bkeys, bcounts) if bkeys.shape[0] else bcounts
        out: list[Finding] = []
        flagged: set[int] = set()
        bad_idx = np.flatnonzero(bad)
        for u in np.flatnonzero(btotals >= self.suspicious):
            j = int(bad_idx[bfirst[u]])
            flagged.add(int(bkeys[u]))
            out.append(self._finding(s, int(idx[j]), int(bcounts[u]), "suspicious_names",
                                     {"suspicious_queries": int(btotals[u]),
                                      "name_length": int(qlen[j]),
                                      "entropy": round(float(ent[j]), 2)}))
        for u in np.flatnonzero(totals >= self.queries):
            if int(akeys[u]) in flagged:
                continue
            j = int(afirst[u])
            out.append(self._finding(s, int(idx[j]), int(acounts[u]), "query_volume",
                                     {"queries": int(totals[u])}))
        return out

    def _finding(self, s: Slice, i: int, n: int, reason: str, extra: dict) -> Finding:
        f = s.f
        msg = f.buf[int(f.dns_off[i]):int(f.dns_end[i])].tobytes()
        evidence = {"reason": reason, "qname": qname(msg), "window_s": self.window, **extra}
        return Finding(self.type, self.severity, s.src_text(i), s.src_text(i), s.dst_text(i),
                       n, evidence)

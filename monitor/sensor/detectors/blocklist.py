"""Block-list hits: traffic to or from addresses on a threat-intelligence list."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..addresses import Net
from ..lpm import PrefixTable
from .base import Finding, Slice, group_counts


def read_blocklist(path: str | Path) -> tuple[list[Net], list[int]]:
    """Prefixes from a plain file: one IP or CIDR per line, ``#`` starts a comment.
    Returns the networks and the numbers of lines that could not be read."""
    nets: list[Net] = []
    bad: list[int] = []
    for no, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            bad.append(no)
    return nets, bad


@dataclass
class Blocklist:
    """Alert on any packet whose source or destination is on the block list in ``path``.

    The file is re-read when its modification time changes (checked at most every
    ``reload_s`` seconds), so a threat feed can replace it without restarting the sensor.
    A listed address and the direction form the event key, so a listed scanner hitting
    a thousand hosts is one event with a count, not a thousand.
    """

    path: str | None = None
    reload_s: float = 5.0
    severity: str = "high"
    type: str = "blocklist"
    invalid_lines: list[int] = field(default_factory=list)
    _set: PrefixTable = field(init=False, repr=False)
    _mtime: float | None = field(init=False, default=None, repr=False)
    _checked: float = field(init=False, default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._set = PrefixTable([])
        self.reload(force=True)

    def reload(self, force: bool = False) -> bool:
        """Re-read the file if it changed; returns whether the list was replaced."""
        if not self.path:
            return False
        now = time.monotonic()
        if not force and now - self._checked < self.reload_s:
            return False
        self._checked = now
        try:
            mtime = Path(self.path).stat().st_mtime
        except OSError:
            return False  # keep the last good list while the feed is being replaced
        if not force and mtime == self._mtime:
            return False
        nets, self.invalid_lines = read_blocklist(self.path)
        self._set, self._mtime = PrefixTable((n, 1) for n in nets), mtime
        return True

    def __len__(self) -> int:
        return len(self._set)

    def process(self, s: Slice) -> list[Finding]:
        self.reload()
        if not len(self._set):
            return []
        f = s.f
        ip = np.flatnonzero(f.family != 0)
        out: list[Finding] = []
        for direction, hi, lo, keys in (("from", f.src_hi, f.src_lo, s.src),
                                        ("to", f.dst_hi, f.dst_lo, s.dst)):
            hit = ip[self._set.contains(hi[ip], lo[ip])]
            uniq, counts, first = group_counts(keys[hit])
            for u in range(uniq.shape[0]):
                i = int(hit[first[u]])
                listed = s.src_text(i) if direction == "from" else s.dst_text(i)
                out.append(Finding(self.type, self.severity, f"{direction} {listed}",
                                   s.src_text(i), s.dst_text(i), int(counts[u]),
                                   {"listed": listed, "direction": direction,
                                    "proto": int(f.proto[i]), "dport": int(f.dport[i])}))
        return out

"""What every detector shares: the slice it looks at, the findings it returns, its shape.

The sensor cuts each parsed batch into one-second slices and hands every slice to every
detector.  A detector keeps its own sliding-window state (see :mod:`.window`) and returns
a few :class:`Finding` objects for the keys over its threshold, never one per packet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from ..addresses import key64, mac_text, to_text
from ..parse import Fields

SEVERITIES = ("low", "medium", "high", "critical")


@dataclass
class Finding:
    """One detector verdict for one subject in one slice.

    ``key`` identifies the subject for deduplication (e.g. the scanning source);
    ``count`` is how many packets of this slice it covers, so a deduplicated event can
    report the whole flood's size.
    """

    type: str
    severity: str
    key: str
    source: str | None
    destination: str | None
    count: int
    evidence: dict[str, Any] = field(default_factory=dict)


class Slice:
    """One second (or less) of parsed packets, with groupings shared by all detectors.

    The groupings (unique source/destination keys and each packet's index into them)
    cost one sort each; computing them once here instead of once per detector is what
    keeps a dozen detectors affordable.
    """

    def __init__(self, fields: Fields, sec: int) -> None:
        self.f = fields
        self.sec = sec
        self._masks: dict[str, np.ndarray] = {}

    def mask(self, name: str, make: Callable[[Fields], np.ndarray]) -> np.ndarray:
        """A packet mask several detectors share, computed once per slice."""
        got = self._masks.get(name)
        if got is None:
            got = self._masks[name] = make(self.f)
        return got

    def __len__(self) -> int:
        return len(self.f)

    @cached_property
    def src(self) -> np.ndarray:
        return key64(self.f.src_hi, self.f.src_lo)

    @cached_property
    def dst(self) -> np.ndarray:
        return key64(self.f.dst_hi, self.f.dst_lo)

    @cached_property
    def is_ip(self) -> np.ndarray:
        return self.f.family != 0

    def src_text(self, i: int) -> str:
        return to_text(self.f.src_hi[i], self.f.src_lo[i])

    def dst_text(self, i: int) -> str:
        return to_text(self.f.dst_hi[i], self.f.dst_lo[i])

    def mac_text(self, i: int) -> str:
        return mac_text(self.f.src_mac[i])


def group_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique keys (sorted), their packet counts, and the index of one packet of each.

    An unstable argsort plus run boundaries: about twice as fast as ``np.unique`` with
    ``return_index`` (which needs a stable sort), and any packet of a group will do as
    the group's example.
    """
    n = keys.shape[0]
    if n == 0:
        return keys, np.zeros(0, np.int64), np.zeros(0, np.int64)
    perm = np.argsort(keys)
    ordered = keys[perm]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, n))
    return ordered[starts], counts, perm[starts]


class Detector(Protocol):
    """A threat detector: configurable thresholds, a sliding window, findings per slice."""

    type: str
    severity: str

    def process(self, s: Slice) -> list[Finding]:
        """Update the window with this slice and report subjects over threshold."""
        ...

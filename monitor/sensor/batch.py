"""A batch of raw packets: one buffer plus per-packet offsets, lengths and timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229


@dataclass
class Batch:
    """Packets ``buf[offs[i] : offs[i] + caps[i]]`` captured at ``ts[i]`` (Unix seconds).

    Batches are views into one read buffer so that no packet is ever copied into its own
    Python object; ``malformed`` counts records the reader had to drop (a file cut
    mid-record, an impossible length) before parsing.
    """

    buf: np.ndarray
    offs: np.ndarray
    caps: np.ndarray
    wires: np.ndarray
    ts: np.ndarray
    linktypes: np.ndarray
    malformed: int = 0
    dropped: int = 0  # packets the kernel dropped since the previous batch (live)
    fields: Any = None  # parse.Fields when the reader parsed while walking

    def __len__(self) -> int:
        return int(self.offs.shape[0])

    def packet(self, i: int) -> bytes:
        """The bytes of packet ``i`` (for evidence and tests, not the hot path)."""
        start = int(self.offs[i])
        return self.buf[start:start + int(self.caps[i])].tobytes()


def empty_arrays(n: int) -> tuple[np.ndarray, ...]:
    """Output arrays for the walkers: offsets, caplens, wire lengths, timestamps, linktypes."""
    return (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64),
            np.empty(n, np.float64), np.empty(n, np.int32))

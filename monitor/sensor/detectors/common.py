"""Small helpers the detectors share: packet masks and "count over a window" checks."""

from __future__ import annotations

import numpy as np

from ..parse import ACK, ICMP, ICMPV6, SYN, TCP, UDP
from .base import Slice, group_counts
from .window import WindowCount, WindowDistinct

EPHEMERAL_MIN = 1024
ICMPV6_CONTROL = (130, 131, 132, 133, 134, 135, 136, 137, 143)  # MLD and neighbour discovery


def syn_only(s: Slice) -> np.ndarray:
    """TCP connection attempts: SYN set, ACK clear (computed once per slice)."""
    return s.mask("syn_only", lambda f: (f.proto == TCP) & (f.family != 0)
                  & ((f.tcp_flags & (SYN | ACK)) == SYN))


def udp_from_client(s: Slice) -> np.ndarray:
    """UDP sent from an ephemeral port: what a client or scanner sends, not a reply from a
    service (a DNS server's answers go from port 53 to many client ports)."""
    return s.mask("udp_client", lambda f: (f.proto == UDP) & (f.family != 0)
                  & (f.sport >= EPHEMERAL_MIN))


def echo_request(s: Slice) -> np.ndarray:
    return s.mask("echo_request", lambda f: (
        ((f.proto == ICMP) & (f.family == 4) & (f.icmp_type == 8))
        | ((f.proto == ICMPV6) & (f.family == 6) & (f.icmp_type == 128))))


def counts_over(s: Slice, mask: np.ndarray, keys: np.ndarray, window: WindowCount,
                threshold: int) -> list[tuple[int, int, int]]:
    """For keys of the masked packets: ``(packet index, packets in slice, window total)``
    of each key whose window total reached ``threshold``."""
    idx = np.flatnonzero(mask)
    if idx.shape[0] == 0:
        return []
    uniq, counts, first = group_counts(keys[idx])
    totals = window.add(s.sec, uniq, counts)
    hot = np.flatnonzero(totals >= threshold)
    return [(int(idx[first[h]]), int(counts[h]), int(totals[h])) for h in hot]


def distinct_over(s: Slice, mask: np.ndarray, owners: np.ndarray, values: np.ndarray,
                  window: WindowDistinct, threshold: int) -> list[tuple[int, int, int]]:
    """For owners of the masked packets: ``(packet index, packets in slice, distinct values
    in window)`` of each owner with at least ``threshold`` distinct values."""
    idx = np.flatnonzero(mask)
    if idx.shape[0] == 0:
        return []
    o, v = owners[idx], values[idx]
    uniq, counts, first = group_counts(o)
    distinct = window.add(s.sec, o, v, uniq)
    hot = np.flatnonzero(distinct >= threshold)
    return [(int(idx[first[h]]), int(counts[h]), int(distinct[h])) for h in hot]

"""DNS query names: length and character entropy, compiled, for UDP/53 packets only.

Tunnels (iodine, dnscat2, DNS exfiltration) pack data into long, random-looking labels;
ordinary names are short and repetitive.  Only packets the parser marked as DNS to port 53
are looked at, so the cost is proportional to the DNS share of traffic.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _features(buf, offs, ends, qlen, entropy):  # type: ignore[no-untyped-def]
    counts = np.zeros(256, np.int64)
    for i in range(offs.shape[0]):
        o = offs[i]
        end = ends[i]
        qlen[i] = -1
        entropy[i] = 0.0
        if o + 12 > end or (buf[o + 2] & 0x80) or ((np.int64(buf[o + 4]) << 8) | buf[o + 5]) == 0:
            continue  # not a query, or no question
        p = o + 12
        total = 0
        chars = 0
        ok = False
        while p < end:
            n = np.int64(buf[p])
            if n == 0:
                ok = True
                break
            if n > 63 or p + 1 + n > end:
                break
            for k in range(p + 1, p + 1 + n):
                counts[buf[k]] += 1
            chars += n
            total += n + (1 if total else 0)
            p += 1 + n
        if ok and chars > 0:
            h = 0.0
            for k in range(p - total - 1, p):
                c = counts[buf[k]]
                if c > 0:
                    f = c / chars
                    h -= f * math.log2(f)
                    counts[buf[k]] = 0
            qlen[i] = total
            entropy[i] = h
        elif chars > 0:
            counts[:] = 0  # a broken name: forget its partial histogram


def name_features(buf: np.ndarray, offs: np.ndarray, ends: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Query-name length (dotted text, -1 when not a valid query) and Shannon entropy
    (bits per character) for the DNS messages at ``buf[offs[i]:ends[i]]``."""
    qlen = np.empty(offs.shape[0], np.int64)
    ent = np.empty(offs.shape[0], np.float64)
    if offs.shape[0]:
        _features(buf, offs, ends, qlen, ent)
    return qlen, ent


def qname(message: bytes) -> str | None:
    """The first question's name as text (evidence only; not the hot path)."""
    pos, labels = 12, []
    while pos < len(message):
        n = message[pos]
        if n == 0:
            return ".".join(labels) + "."
        if n > 63 or pos + 1 + n > len(message):
            return None
        labels.append(message[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return None

"""Longest-prefix match over whole arrays of addresses: one compiled hash table.

Why: the segregation detector needs the agency of both ends of every packet and the block
list needs membership of both ends; a Python look-up per address (even cached) cost
~3 us per packet on the benchmark mix, more than everything else together.  Here every
(prefix length, masked network) pair is one entry in an open-addressing hash table; a
look-up tries the lengths present, longest first, at ~10-20 ns a probe.

Addresses use the parser's layout: two uint64 halves, IPv4 mapped into ``::ffff:0:0/96``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import numpy as np
from numba import njit

from .addresses import Net, mapped_network

_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)


@njit(cache=True, inline="always")
def _mask(plen):  # type: ignore[no-untyped-def]
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    if plen >= 128:
        return full, full
    if plen > 64:
        return full, full << np.uint64(128 - plen)
    if plen == 64:
        return full, np.uint64(0)
    if plen == 0:
        return np.uint64(0), np.uint64(0)
    return full << np.uint64(64 - plen), np.uint64(0)


@njit(cache=True, inline="always")
def _slot(hi, lo, plen, size_mask):  # type: ignore[no-untyped-def]
    h = (hi * _K1) ^ lo ^ (np.uint64(plen) * _K2)
    h ^= h >> np.uint64(29)
    h *= _K1
    h ^= h >> np.uint64(32)
    return np.int64(h & size_mask)


@njit(cache=True)
def _insert(t_hi, t_lo, t_len, t_val, hi, lo, plen, value):  # type: ignore[no-untyped-def]
    size_mask = np.uint64(t_hi.shape[0] - 1)
    s = _slot(hi, lo, plen, size_mask)
    while t_len[s] >= 0:
        if t_len[s] == plen and t_hi[s] == hi and t_lo[s] == lo:
            break
        s = (s + 1) & np.int64(size_mask)
    t_hi[s], t_lo[s], t_len[s], t_val[s] = hi, lo, plen, value


@njit(cache=True)
def _lookup(t_hi, t_lo, t_len, t_val, lengths4, lengths6, hi, lo,
            out):  # type: ignore[no-untyped-def]
    size_mask = np.uint64(t_hi.shape[0] - 1)
    for i in range(hi.shape[0]):
        out[i] = -1
        v4 = hi[i] == 0 and (lo[i] >> np.uint64(32)) == np.uint64(0xFFFF)
        for plen in lengths4 if v4 else lengths6:
            mh, ml = _mask(plen)
            a, b = hi[i] & mh, lo[i] & ml
            s = _slot(a, b, plen, size_mask)
            found = False
            while t_len[s] >= 0:
                if t_len[s] == plen and t_hi[s] == a and t_lo[s] == b:
                    out[i] = t_val[s]
                    found = True
                    break
                s = (s + 1) & np.int64(size_mask)
            if found:
                break


class PrefixTable:
    """Networks mapped to small integer values, matched longest-first over arrays."""

    def __init__(self, entries: Iterable[tuple[Net, int]]) -> None:
        pairs = list(entries)
        items = [(mapped_network(net), int(v)) for net, v in pairs]
        self._v4_lengths = {net.prefixlen + 96 for net, _ in pairs if net.version == 4}
        self._v6_lengths = {net.prefixlen for net, _ in pairs if net.version == 6}
        size = 16
        while size < 2 * len(items) + 2:
            size *= 2
        self._hi = np.zeros(size, np.uint64)
        self._lo = np.zeros(size, np.uint64)
        self._len = np.full(size, -1, np.int64)
        self._val = np.zeros(size, np.int64)
        for (hi, lo, plen), value in items:
            _insert(self._hi, self._lo, self._len, self._val, np.uint64(hi), np.uint64(lo),
                    np.int64(plen), np.int64(value))
        # IPv4 networks only ever match IPv4 packets and IPv6 networks IPv6 packets (an
        # IPv6 ::/1 must not swallow IPv4, which is stored mapped); each family tries only
        # its own lengths, which also halves the probes.
        self.lengths4 = np.array(sorted(self._v4_lengths, reverse=True), np.int64)
        self.lengths6 = np.array(sorted(self._v6_lengths, reverse=True), np.int64)
        self.size = len(items)

    def __len__(self) -> int:
        return self.size

    def lookup(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """The value of the longest matching network for each address, -1 for none."""
        out = np.empty(hi.shape[0], np.int64)
        if hi.shape[0]:
            _lookup(self._hi, self._lo, self._len, self._val, self.lengths4, self.lengths6,
                    np.ascontiguousarray(hi), np.ascontiguousarray(lo), out)
        return out

    def contains(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        return self.lookup(hi, lo) >= 0


def network(text: str) -> Net:
    return ipaddress.ip_network(text, strict=False)

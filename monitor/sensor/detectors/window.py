"""Sliding windows over one-second buckets, for counts and for distinct values per key.

A window of ``W`` seconds keeps the last ``W`` buckets, each a sorted array of keys with
their counts (or of distinct (key, value) pairs).  The buckets before the current second
are merged once when the second changes, so each slice costs one ``searchsorted`` against
that merge rather than a pass over the whole window.  Memory is bounded by the window,
never by the number of packets seen.
"""

from __future__ import annotations

import numpy as np

from ..addresses import pair64
from .base import group_counts

EMPTY_U = np.zeros(0, np.uint64)
EMPTY_I = np.zeros(0, np.int64)


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``values`` of ``query`` in sorted ``keys`` (0 where absent)."""
    if keys.shape[0] == 0 or query.shape[0] == 0:
        return np.zeros(query.shape[0], np.int64)
    idx = np.searchsorted(keys, query)
    idx[idx == keys.shape[0]] = 0
    hit = keys[idx] == query
    return np.where(hit, values[idx], 0)


def member(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Which of ``query`` are in sorted ``keys``."""
    if keys.shape[0] == 0 or query.shape[0] == 0:
        return np.zeros(query.shape[0], bool)
    idx = np.searchsorted(keys, query)
    idx[idx == keys.shape[0]] = 0
    return keys[idx] == query


def _sum_by_key(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if keys.shape[0] == 0:
        return EMPTY_U, EMPTY_I
    perm = np.argsort(keys)
    ordered = keys[perm]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.add.reduceat(counts[perm], starts)


class WindowCount:
    """Per-key counts over the last ``window`` seconds."""

    def __init__(self, window: int) -> None:
        self.window = max(1, int(window))
        self.buckets: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._prev_sec: int | None = None
        self._prev: tuple[np.ndarray, np.ndarray] = (EMPTY_U, EMPTY_I)

    def add(self, sec: int, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Add per-key counts (``keys`` unique) for second ``sec``; return the window totals
        of those keys."""
        if self._prev_sec != sec:
            self._roll(sec)
        if sec in self.buckets:
            old_k, old_c = self.buckets[sec]
            self.buckets[sec] = _sum_by_key(np.concatenate([old_k, keys]),
                                            np.concatenate([old_c, counts]))
        else:
            order = np.argsort(keys)
            self.buckets[sec] = (keys[order], counts[order])
        cur_k, cur_c = self.buckets[sec]
        return lookup(cur_k, cur_c, keys) + lookup(*self._prev, keys)

    def total(self, sec: int, keys: np.ndarray) -> np.ndarray:
        """Window totals of ``keys`` as of second ``sec``, without adding anything."""
        if self._prev_sec != sec:
            self._roll(sec)
        cur = self.buckets.get(sec, (EMPTY_U, EMPTY_I))
        return lookup(*cur, keys) + lookup(*self._prev, keys)

    def _roll(self, sec: int) -> None:
        low = sec - self.window + 1
        for old in [s for s in self.buckets if s < low]:
            del self.buckets[old]
        prev = [b for s, b in self.buckets.items() if s < sec]
        if prev:
            self._prev = _sum_by_key(np.concatenate([k for k, _ in prev]),
                                     np.concatenate([c for _, c in prev]))
        else:
            self._prev = (EMPTY_U, EMPTY_I)
        self._prev_sec = sec

    def size(self) -> int:
        return sum(k.shape[0] for k, _ in self.buckets.values())


class WindowDistinct:
    """Number of distinct values per key over the last ``window`` seconds.

    Pairs are hashed to 64 bits (:func:`~..addresses.pair64`); the owner key of each
    pair is kept alongside so per-key counts can be rebuilt from the pairs.
    """

    def __init__(self, window: int) -> None:
        self.window = max(1, int(window))
        self.buckets: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._prev_sec: int | None = None
        self._prev_pairs = EMPTY_U
        self._prev_owners: tuple[np.ndarray, np.ndarray] = (EMPTY_U, EMPTY_I)

    def add(self, sec: int, owners: np.ndarray, values: np.ndarray,
            query: np.ndarray) -> np.ndarray:
        """Record (owner, value) pairs seen in second ``sec``; return the distinct-value
        counts over the window for the owner keys in ``query``."""
        if self._prev_sec != sec:
            self._roll(sec)
        pairs = pair64(owners, values)
        if sec in self.buckets:
            old_p, old_o = self.buckets[sec]
            pairs = np.concatenate([old_p, pairs])
            owners = np.concatenate([old_o, owners])
        upairs, _, rep = group_counts(pairs)
        uowners = owners[rep]
        self.buckets[sec] = (upairs, uowners)
        new = ~member(self._prev_pairs, upairs)
        cur_keys, cur_counts, _ = group_counts(uowners[new])
        return lookup(cur_keys, cur_counts, query) + lookup(*self._prev_owners, query)

    def _roll(self, sec: int) -> None:
        low = sec - self.window + 1
        for old in [s for s in self.buckets if s < low]:
            del self.buckets[old]
        prev = [b for s, b in self.buckets.items() if s < sec]
        if prev:
            pairs = np.concatenate([p for p, _ in prev])
            owners = np.concatenate([o for _, o in prev])
            upairs, _, rep = group_counts(pairs)
            self._prev_pairs = upairs
            keys, counts, _ = group_counts(owners[rep])
            self._prev_owners = (keys, counts)
        else:
            self._prev_pairs = EMPTY_U
            self._prev_owners = (EMPTY_U, EMPTY_I)
        self._prev_sec = sec

    def size(self) -> int:
        return sum(p.shape[0] for p, _ in self.buckets.values())

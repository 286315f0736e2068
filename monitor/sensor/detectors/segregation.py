"""Segregation (ISO/IEC 17799 11.4.5): traffic between agencies the policy keeps apart."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..addresses import family_int
from .base import Finding, Slice, group_counts
from .window import member

Resolver = Callable[[int, int], "str | None"]
CACHE_LIMIT = 1_000_000


@dataclass
class Segregation:
    """Alert on IP traffic whose source and destination belong to two different agencies
    (by the directory's longest-prefix match, ``resolver``) unless the pair is in
    ``allowed`` (unordered pairs of agency codes).

    Addresses outside every agency prefix (the Internet, GIN transit) are not judged
    here.  A resolver with a ``table()`` (:class:`~..agency.PrefixResolver`) is matched
    in compiled code over the whole slice; any other callable is cached per address, so
    it runs once per address, not per packet.
    """

    resolver: Resolver | None = None
    allowed: Iterable[tuple[str, str]] = ()
    severity: str = "medium"
    type: str = "segregation"
    _cache: dict[int, int] = field(init=False, repr=False)
    _codes: list[str] = field(init=False, repr=False)
    _index: dict[str, int] = field(init=False, repr=False)
    _allowed: set[tuple[str, str]] = field(init=False, repr=False)
    _allowed_cache: tuple[int, np.ndarray] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self._cache, self._codes, self._index = {}, [], {}
        self._allowed = {tuple(sorted((a, b))) for a, b in self.allowed}  # type: ignore[misc]

    def _agency_ids(self, s: Slice, keys: np.ndarray, hi: np.ndarray, lo: np.ndarray
                    ) -> np.ndarray:
        uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        ids = np.empty(uniq.shape[0], np.int64)
        cache = self._cache
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        for u, key in enumerate(uniq.tolist()):
            got = cache.get(key)
            if got is None:
                i = first[u]
                code = self.resolver(*family_int(hi[i], lo[i])) if self.resolver else None
                if code is None:
                    got = -1
                else:
                    got = self._index.get(code)
                    if got is None:
                        got = self._index[code] = len(self._codes)
                        self._codes.append(code)
                cache[key] = got
            ids[u] = got
        return ids[inv]

    def _allowed_codes(self, width: int) -> np.ndarray:
        """Allowed pairs as sorted ``a * width + b`` codes (both directions)."""
        if self._allowed_cache is None or self._allowed_cache[0] != width:
            index = {c: i for i, c in enumerate(self._codes)}
            codes = {index[x] * width + index[y]
                     for pair in self._allowed for x, y in (pair, pair[::-1])
                     if x in index and y in index}
            self._allowed_cache = (width, np.array(sorted(codes), np.int64))
        return self._allowed_cache[1]

    def _ids(self, s: Slice, ip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = s.f
        table = getattr(self.resolver, "table", None)
        if table is not None:  # compiled longest-prefix match over the whole slice
            lpm, self._codes = table()
            return (lpm.lookup(f.src_hi[ip], f.src_lo[ip]),
                    lpm.lookup(f.dst_hi[ip], f.dst_lo[ip]))
        return (self._agency_ids(s, s.src[ip], f.src_hi[ip], f.src_lo[ip]),
                self._agency_ids(s, s.dst[ip], f.dst_hi[ip], f.dst_lo[ip]))

    def process(self, s: Slice) -> list[Finding]:
        if self.resolver is None:
            return []
        ip = np.flatnonzero(s.f.family != 0)
        if ip.shape[0] == 0:
            return []
        a, b = self._ids(s, ip)
        cross = np.flatnonzero((a >= 0) & (b >= 0) & (a != b))
        if cross.shape[0] == 0:
            return []
        width = len(self._codes) + 1
        pair = a[cross] * width + b[cross]
        bad = ~member(self._allowed_codes(width), pair)
        uniq, counts, rep = group_counts(pair[bad])
        rows = ip[cross[bad]]
        out = []
        for u in range(uniq.shape[0]):
            src_ag, dst_ag = self._codes[int(uniq[u]) // width], self._codes[int(uniq[u]) % width]
            i = int(rows[rep[u]])
            out.append(Finding(self.type, self.severity, f"{src_ag}->{dst_ag}", s.src_text(i),
                               s.dst_text(i), int(counts[u]),
                               {"source_agency": src_ag, "destination_agency": dst_ag}))
        return out

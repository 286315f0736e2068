"""Which agency owns an address: the directory's longest-prefix match as a plain callable.

Detectors and the event log take a resolver ``(family, int_address) -> agency | None``,
so unit tests build one from a dict and the sensor builds one from the directory's
:class:`directory.whois.WhoisIndex` (loaded once, answered in-process).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import select

from directory import models as m
from directory.store import Directory

from .lpm import PrefixTable

Resolver = Callable[[int, int], str | None]


class PrefixResolver:
    """Longest-prefix match over ``{cidr: agency}``: one dict probe per prefix length.

    Besides answering one address at a time, it hands detectors a compiled
    :class:`~.lpm.PrefixTable` (:meth:`table`) to resolve whole packet arrays at once.
    """

    def __init__(self, prefixes: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        items = list(prefixes.items() if isinstance(prefixes, Mapping) else prefixes)
        self.pairs = [(ipaddress.ip_network(c, strict=False), a) for c, a in items]
        self._table: tuple[PrefixTable, list[str]] | None = None
        tables: dict[tuple[int, int], dict[int, str]] = {}
        for net, agency in self.pairs:
            bits = net.max_prefixlen - net.prefixlen
            tables.setdefault((net.version, bits), {})[int(net.network_address) >> bits] = agency
        self._tables: dict[int, list[tuple[int, dict[int, str]]]] = {4: [], 6: []}
        for (fam, bits), table in sorted(tables.items(), key=lambda kv: kv[0][1]):
            self._tables[fam].append((bits, table))

    def table(self) -> tuple[PrefixTable, list[str]]:
        """A compiled table mapping networks to indexes into the returned agency codes."""
        if self._table is None:
            codes = sorted({a for _, a in self.pairs})
            index = {c: i for i, c in enumerate(codes)}
            self._table = (PrefixTable((n, index[a]) for n, a in self.pairs), codes)
        return self._table

    def __call__(self, family: int, address: int) -> str | None:
        for bits, table in self._tables.get(family, ()):
            agency = table.get(address >> bits)
            if agency is not None:
                return agency
        return None


def text_resolver(resolver: Resolver) -> Callable[[str], str | None]:
    """The same resolver for addresses in text form (event log, responses)."""

    def agency_of(address: str) -> str | None:
        ip = ipaddress.ip_address(address)
        return resolver(ip.version, int(ip))

    return agency_of


def directory_prefixes(directory: Directory) -> list[tuple[str, str]]:
    """``(cidr, agency)`` of every directory prefix that has an agency, own or inherited
    from its parent (a LAN recorded without agency inside an agency's /48 is theirs) --
    the same rule as :mod:`directory.whois`."""
    stmt = (select(m.Prefix.id, m.Prefix.parent_id, m.Prefix.cidr, m.Agency.code)
            .outerjoin(m.Agency, m.Prefix.agency_id == m.Agency.id)
            .order_by(m.Prefix.prefixlen))
    agency_of: dict[int, str | None] = {}
    out = []
    with directory.transaction() as session:
        for pid, parent, cidr, code in session.execute(stmt):
            code = code or (agency_of.get(parent) if parent is not None else None)
            agency_of[pid] = code
            if code:
                out.append((cidr, code))
    return out


def directory_resolver(directory: Directory) -> PrefixResolver:
    """A resolver with the directory's prefix ownership, loaded once."""
    return PrefixResolver(directory_prefixes(directory))


def directory_routers(directory: Directory) -> list[str]:
    """Addresses of the directory's devices but its sensors: the routers allowed to send
    IPv6 RAs, and the gateways whose ARP spoofing is critical."""
    with directory.transaction() as session:
        rows = session.execute(select(m.Device.mgmt_address, m.Device.snmp_address)
                               .where(m.Device.role != "sensor")).all()
    return sorted({a for row in rows for a in row if a})

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

Resolver = Callable[[int, int], str | None]


class PrefixResolver:
    """Longest-prefix match over ``{cidr: agency}``: one dict probe per prefix length."""

    def __init__(self, prefixes: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        items = prefixes.items() if isinstance(prefixes, Mapping) else prefixes
        tables: dict[tuple[int, int], dict[int, str]] = {}
        for cidr, agency in items:
            net = ipaddress.ip_network(cidr, strict=False)
            bits = net.max_prefixlen - net.prefixlen
            tables.setdefault((net.version, bits), {})[int(net.network_address) >> bits] = agency
        self._tables: dict[int, list[tuple[int, dict[int, str]]]] = {4: [], 6: []}
        for (fam, bits), table in sorted(tables.items(), key=lambda kv: kv[0][1]):
            self._tables[fam].append((bits, table))

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


def directory_resolver(directory: Directory) -> Resolver:
    """A resolver backed by the directory's in-process whois index."""
    from directory.whois import WhoisIndex

    with directory.transaction() as session:
        index = WhoisIndex.load(session)

    def resolve(family: int, address: int) -> str | None:
        entry = index.lookup_int(family, address)
        return entry.owner.agency if entry is not None else None

    return resolve


def directory_routers(directory: Directory) -> list[str]:
    """Addresses of the directory's devices: the routers allowed to send IPv6 RAs."""
    with directory.transaction() as session:
        rows = session.execute(select(m.Device.mgmt_address, m.Device.snmp_address)).all()
    return sorted({a for row in rows for a in row if a})

"""Longest-prefix match: which agency, site, device or link owns an address or prefix.

Two forms, for two kinds of caller:

* :func:`whois` answers one question from the database (the CLI): for each prefix length
  present there is exactly one candidate, the query masked to that length, so the answer
  costs one index seek per distinct length (a handful), never a scan of the prefix table.
* :class:`WhoisIndex` loads the directory's prefixes once and answers in-process, for
  callers that resolve many addresses (the threat sensor labels every flow with its
  agency).  Per prefix length it keeps a dict from the network's integer, shifted right by
  the host bits, to an entry; a look-up parses with :func:`socket.inet_pton` and
  ``int.from_bytes`` (several times faster than :mod:`ipaddress`) and tries the lengths
  longest first, so the first hit is the longest match.

Ownership is inherited: a LAN recorded without an agency inside an agency's /48 belongs
to that agency, so agency and site come from the nearest prefix that names them.
"""

from __future__ import annotations

import socket
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import models as m
from .allocator import BITS, PT, containing, make_network
from .errors import Invalid, NotFound
from .store import parse_address, parse_network


class Owner(NamedTuple):
    """Who a prefix belongs to (agency and site inherited from enclosing prefixes)."""

    agency: str | None = None
    site: str | None = None  # AGENCY/SITE
    device: str | None = None
    interface: str | None = None  # host:ifname
    link: str | None = None


class Entry(NamedTuple):
    """One prefix in the in-process index."""

    prefix_id: int
    family: int
    prefixlen: int
    network: int
    role: str
    status: str
    owner: Owner

    @property
    def cidr(self) -> str:
        return str(make_network(self.family, self.network, self.prefixlen))


def _query_network(text: str) -> Any:
    raw = text.strip()
    if "/" in raw:
        return parse_network(raw)
    addr = parse_address(raw)
    return parse_network(f"{addr}/{addr.max_prefixlen}")


def _prefix_owner(p: m.Prefix) -> dict[str, Any]:
    out: dict[str, Any] = {"agency": None, "site": None, "device": None, "interface": None,
                           "link": None}
    if p.agency is not None:
        out["agency"] = {"code": p.agency.code, "name_en": p.agency.name_en,
                         "name_th": p.agency.name_th}
    if p.site is not None:
        out["site"] = f"{p.site.agency.code}/{p.site.code}"
    if p.device is not None:
        out["device"] = p.device.hostname
    return out


def whois(session: Session, query: str) -> dict[str, Any]:
    """The most specific prefix containing an address or prefix, and who owns it.

    Raises :class:`NotFound` when no prefix in the directory contains the query.
    """
    net = _query_network(query)
    chain = containing(session, net)
    if not chain:
        raise NotFound(f"no prefix in the directory contains {net}")
    match = chain[0]
    owner = _prefix_owner(match)
    for key in ("agency", "site"):
        owner[f"{key}_from"] = match.cidr if owner[key] else None
        if owner[key] is None:
            for anc in chain[1:]:
                inherited = _prefix_owner(anc)[key]
                if inherited is not None:
                    owner[key], owner[f"{key}_from"] = inherited, anc.cidr
                    break
    if match.interface_id is not None:
        iface = session.get(m.Interface, match.interface_id)
        if iface is not None:
            owner["interface"] = f"{iface.device.hostname}:{iface.name}"
    if match.link_id is not None:
        link = session.get(m.Link, match.link_id)
        if link is not None:
            owner["link"] = link.name
    return {"query": query.strip(), "prefix": match.cidr, "role": match.role,
            "status": match.status, "description": match.description, **owner,
            "covering": [p.cidr for p in chain[1:]]}


class WhoisIndex:
    """An in-process longest-prefix-match index of the directory (see module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[int, list[tuple[int, dict[int, Entry]]]] = {4: [], 6: []}
        self.size = 0

    @classmethod
    def load(cls, session: Session) -> WhoisIndex:
        """Read every prefix once; parents come before children (ordered by length)."""
        names = _owner_names(session)
        index = cls()
        by_len: dict[tuple[int, int], dict[int, Entry]] = {}
        resolved: dict[int, tuple[str | None, str | None]] = {}
        owners: dict[Owner, Owner] = {}
        stmt = select(PT.c.id, PT.c.parent_id, PT.c.family, PT.c.prefixlen, PT.c.network,
                      PT.c.role, PT.c.status, PT.c.agency_id, PT.c.site_id, PT.c.device_id,
                      PT.c.interface_id, PT.c.link_id)
        rows = list(session.execute(stmt))
        rows.sort(key=itemgetter(3))  # parents first; cheaper than ORDER BY in the database
        agencies, sites, devices, ifaces, links = names
        for (pid, parent, fam, plen, hexnet, role, status, ag, st, dev, ifc, lk) in rows:
            up = resolved.get(parent, (None, None)) if parent is not None else (None, None)
            agency = agencies.get(ag) if ag is not None else up[0]
            site = sites.get(st) if st is not None else up[1]
            resolved[pid] = (agency, site)
            owner = Owner(agency, site, devices.get(dev), ifaces.get(ifc), links.get(lk))
            owner = owners.setdefault(owner, owner)
            network = int(hexnet, 16)
            table = by_len.setdefault((fam, plen), {})
            table[network >> (BITS[fam] - plen)] = Entry(pid, fam, plen, network, role, status,
                                                         owner)
        for (fam, plen), table in sorted(by_len.items(), key=lambda kv: -kv[0][1]):
            index._tables[fam].append((BITS[fam] - plen, table))
            index.size += len(table)
        return index

    def __len__(self) -> int:
        return self.size

    def lookup_int(self, family: int, address: int) -> Entry | None:
        """Longest match for an address given as an integer (e.g. from a packet header)."""
        for shift, table in self._tables[family]:
            entry = table.get(address >> shift)
            if entry is not None:
                return entry
        return None

    def lookup(self, address: str) -> Entry | None:
        """Longest match for an address in text form; ``None`` if nothing contains it."""
        try:
            if ":" in address:
                value, tables = int.from_bytes(socket.inet_pton(socket.AF_INET6, address)), \
                    self._tables[6]
            else:
                value, tables = int.from_bytes(socket.inet_pton(socket.AF_INET, address)), \
                    self._tables[4]
        except (OSError, TypeError):
            raise Invalid(f"address: {address!r} is not a valid IPv4/IPv6 address") from None
        for shift, table in tables:
            entry = table.get(value >> shift)
            if entry is not None:
                return entry
        return None

    def agency(self, address: str) -> str | None:
        """The owning agency's code, or ``None`` (what the threat sensor labels flows with)."""
        entry = self.lookup(address)
        return entry.owner.agency if entry is not None else None


def _owner_names(session: Session) -> tuple[dict[int, str], ...]:
    agencies = {i: c for i, c in session.execute(select(m.Agency.id, m.Agency.code))}
    sites = {sid: f"{agencies.get(aid)}/{code}" for sid, aid, code in
             session.execute(select(m.Site.id, m.Site.agency_id, m.Site.code))}
    devices = {i: h for i, h in session.execute(select(m.Device.id, m.Device.hostname))}
    ifaces = {iid: f"{devices.get(did)}:{name}" for iid, did, name in
              session.execute(select(m.Interface.id, m.Interface.device_id, m.Interface.name))}
    links = {i: n for i, n in session.execute(select(m.Link.id, m.Link.name))}
    return agencies, sites, devices, ifaces, links


# --- a snapshot for a service answering many whois questions ---------------------------------


def directory_version(session: Session) -> int:
    """The change log's head (its sequence number): any change to the directory raises it.

    On PostgreSQL the chain's advisory lock is held until commit, so heads are numbered in
    commit order and a snapshot read after the head is never older than that head."""
    return int(session.scalar(select(func.max(m.Change.seq))) or 0)


class _Row(NamedTuple):
    cidr: str
    role: str
    status: str
    description: str | None
    agency: dict[str, Any] | None
    site: str | None
    device: str | None
    interface: str | None
    link: str | None


class WhoisSnapshot:
    """Every prefix with what :func:`whois` says about it, as of one directory version.

    For a service that answers many whois questions: :meth:`answer` gives exactly the dict
    :func:`whois` gives (same longest-match chain, same inheritance of agency and site) with
    no database access; the caller compares :attr:`version` with :func:`directory_version`
    and falls back to :func:`whois` while the snapshot is behind.
    """

    def __init__(self, version: int) -> None:
        self.version = version
        self._tables: dict[int, list[tuple[int, int, dict[int, _Row]]]] = {4: [], 6: []}

    @classmethod
    def load(cls, session: Session) -> WhoisSnapshot:
        """Read the version first, then the prefixes: the data is at least that new."""
        snap = cls(directory_version(session))
        agencies = {i: {"code": c, "name_en": en, "name_th": th} for i, c, en, th in
                    session.execute(select(m.Agency.id, m.Agency.code, m.Agency.name_en,
                                           m.Agency.name_th))}
        agencies_code = {i: a["code"] for i, a in agencies.items()}
        sites = {sid: f"{agencies_code.get(aid)}/{code}" for sid, aid, code in
                 session.execute(select(m.Site.id, m.Site.agency_id, m.Site.code))}
        devices = dict(session.execute(select(m.Device.id, m.Device.hostname)).all())
        ifaces = {iid: f"{devices.get(did)}:{name}" for iid, did, name in
                  session.execute(select(m.Interface.id, m.Interface.device_id,
                                         m.Interface.name))}
        links = dict(session.execute(select(m.Link.id, m.Link.name)).all())
        by_len: dict[tuple[int, int], dict[int, _Row]] = {}
        stmt = select(PT.c.family, PT.c.prefixlen, PT.c.network, PT.c.cidr, PT.c.role,
                      PT.c.status, PT.c.description, PT.c.agency_id, PT.c.site_id,
                      PT.c.device_id, PT.c.interface_id, PT.c.link_id)
        for fam, plen, hexnet, cidr, role, status, desc, ag, st, dev, ifc, lk in \
                session.execute(stmt):
            row = _Row(cidr, role, status, desc, agencies.get(ag) if ag is not None else None,
                       sites.get(st) if st is not None else None,
                       devices.get(dev) if dev is not None else None,
                       ifaces.get(ifc) if ifc is not None else None,
                       links.get(lk) if lk is not None else None)
            by_len.setdefault((fam, plen), {})[int(hexnet, 16) >> (BITS[fam] - plen)] = row
        for (fam, plen), table in sorted(by_len.items(), key=lambda kv: -kv[0][1]):
            snap._tables[fam].append((plen, BITS[fam] - plen, table))
        return snap

    def answer(self, query: str) -> dict[str, Any]:
        """What :func:`whois` answers for ``query`` (NotFound / Invalid alike)."""
        net = _query_network(query)
        n, plen = int(net.network_address), net.prefixlen
        chain = [row for length, shift, table in self._tables[net.version]
                 if length <= plen and (row := table.get(n >> shift)) is not None]
        if not chain:
            raise NotFound(f"no prefix in the directory contains {net}")
        match = chain[0]
        owner: dict[str, Any] = {"agency": dict(match.agency) if match.agency else None,
                                 "site": match.site,
                                 "device": match.device, "interface": None, "link": None}
        for key in ("agency", "site"):
            owner[f"{key}_from"] = match.cidr if owner[key] else None
            if owner[key] is None:
                for anc in chain[1:]:
                    inherited = getattr(anc, key)
                    if inherited is not None:
                        owner[key] = dict(inherited) if key == "agency" else inherited
                        owner[f"{key}_from"] = anc.cidr
                        break
        owner["interface"], owner["link"] = match.interface, match.link
        return {"query": query.strip(), "prefix": match.cidr, "role": match.role,
                "status": match.status, "description": match.description, **owner,
                "covering": [p.cidr for p in chain[1:]]}

"""The prefix allocator: next free, a specific prefix, reserve, release; never an overlap.

Free-space model (a buddy system over integer ranges, never over addresses)
-------------------------------------------------------------------------------
A prefix P that has been allocated from is tiled exactly by its children and its free
blocks: ``P = children(P) + free_block(P)``, where the free blocks are *maximal aligned*
CIDR blocks (two free buddies are always merged into their parent block).  A prefix nobody
has allocated from yet has no children and no free blocks: it is wholly free ("lazy"), so a
/64 LAN or a /128 loopback costs no extra row.

Finding room for a /L under P is two indexed queries whatever the size of the table: the
longest free-block length <= L (one B-tree seek backwards), then the lowest block of that
length (one seek forwards).  Splitting a /l block to get a /L inserts the L-l buddies that
fall free; releasing merges buddies back with one indexed delete per level.  An IPv6 /32
with 65,536 /48s or 2^32 /64s is never enumerated.

Why best fit, lowest address first: taking the smallest free block that fits keeps large
blocks whole (a later /48 request still finds a /48 after thousands of /64s), and taking
the lowest address among those makes the result deterministic: the same requests give the
same plan on SQLite and PostgreSQL, and a fresh pool hands out consecutive prefixes in
ascending order, which is what engineers expect to read in a plan.

Release semantics, as NetBox users expect them: NetBox has no "released" state that frees
space; a prefix you no longer use is deleted and its space is available again.  Here
:func:`release` deletes the prefix and merges its space back into the parent's free
blocks; the change log keeps the deleted row (who, when, full before-image), so nothing
is lost.  :func:`remove` deletes a prefix *record* but keeps what lies inside it: its
children move up to its parent, as when a NetBox container prefix is deleted.

Concurrency: SQLite serialises writers with ``BEGIN IMMEDIATE`` (see :mod:`directory.db`);
on PostgreSQL every mutation first takes a transaction-scoped advisory lock per address
family, so two ``gin`` processes allocating at the same moment never pick the same block.
The unique constraint on (family, network, prefixlen) stays as a backstop.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, text, update
from sqlalchemy.orm import Session

from . import models as m
from .errors import Conflict, Exhausted, Invalid, NotFound
from .names import clean_text
from .store import get_agency, get_device, get_interface, get_link, get_site, parse_network

if TYPE_CHECKING:
    from .plan_model import Plan

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
BITS = {4: 32, 6: 128}
FB = m.FreeBlock.__table__
PT = m.Prefix.__table__
LOCK_KEY = {4: 0x67696E0004, 6: 0x67696E0006}  # "gin" + family: one allocator lock per family
MAX_BULK = 1_000_000

# The hot path's statements, built once (building a statement costs more than running it).
_PICK = (select(FB.c.id, FB.c.prefixlen, FB.c.network)
         .where(FB.c.parent_id == bindparam("pid"),
                FB.c.prefixlen == (select(FB.c.prefixlen)
                                   .where(FB.c.parent_id == bindparam("pid"),
                                          FB.c.prefixlen <= bindparam("plen"))
                                   .order_by(FB.c.prefixlen.desc()).limit(1)
                                   .scalar_subquery()))
         .order_by(FB.c.network).limit(1))
_DELETE_BLOCK = delete(FB).where(FB.c.id == bindparam("bid"))
_DELETE_BUDDY = delete(FB).where(FB.c.parent_id == bindparam("pid"),
                                 FB.c.prefixlen == bindparam("plen"),
                                 FB.c.network == bindparam("net"))
_INSERT_BLOCK = insert(FB)
_ANY_CHILD = select(exists().where(PT.c.parent_id == bindparam("pid")))
_ANY_FREE = select(exists().where(FB.c.parent_id == bindparam("pid")))

__all__ = [
    "add_prefix", "allocate", "allocate_many", "reserve", "release", "remove", "children",
    "free_blocks", "free_summary", "ancestors", "containing", "prefix_lengths", "agency_prefix",
    "site_prefix", "allocate_from_pool", "network_of", "lock", "rebuild_free_space",
]


# --- small helpers on integers ----------------------------------------------------------------


def hx(value: int) -> str:
    """Fixed-width hex as stored in ``prefix.network`` (string order = numeric order)."""
    return f"{value:032x}"


def size(family: int, prefixlen: int) -> int:
    return 1 << (BITS[family] - prefixlen)


def make_network(family: int, network: int, prefixlen: int) -> Network:
    cls = ipaddress.IPv4Network if family == 4 else ipaddress.IPv6Network
    return cls((network, prefixlen))


def network_of(prefix: m.Prefix) -> Network:
    """The :mod:`ipaddress` network of a Prefix row."""
    return make_network(prefix.family, int(prefix.network, 16), prefix.prefixlen)


def lock(session: Session, family: int) -> None:
    """Serialise prefix mutations of one family across processes until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock.  SQLite already holds the database
    write lock from ``BEGIN IMMEDIATE``.  Callers that allocate something else under the
    same rule (e.g. AS numbers) may take it too.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY[family]})


_lock = lock  # the name other modules already use


# --- look-ups ---------------------------------------------------------------------------------


_LENGTHS_SQL = text(
    "WITH RECURSIVE lens(l) AS ("
    " SELECT MIN(prefixlen) FROM prefix WHERE family = :f"
    " UNION ALL"
    " SELECT (SELECT MIN(p.prefixlen) FROM prefix p WHERE p.family = :f AND p.prefixlen > lens.l)"
    " FROM lens WHERE lens.l IS NOT NULL"
    ") SELECT l FROM lens WHERE l IS NOT NULL"
)


def prefix_lengths(session: Session, family: int) -> list[int]:
    """The distinct prefix lengths present for a family, shortest first.

    A loose index scan (one B-tree seek per distinct length on ``ix_prefix_lookup``),
    the same answer as ``SELECT DISTINCT prefixlen`` without reading every row.
    """
    return [int(r[0]) for r in session.execute(_LENGTHS_SQL, {"f": family})]


def containing(session: Session, net: Network, include_self: bool = True) -> list[m.Prefix]:
    """Existing prefixes that contain ``net``, most specific first.

    For each prefix length present the only candidate is ``net`` masked to that length,
    looked up exactly on ``ix_prefix_lookup``: one index seek per length, no range scan.
    """
    family, n, plen = net.version, int(net.network_address), net.prefixlen
    bits = BITS[family]
    ids = []
    for length in reversed(prefix_lengths(session, family)):
        if length > plen or (length == plen and not include_self):
            continue
        masked = (n >> (bits - length)) << (bits - length)
        found = session.scalar(select(PT.c.id).where(PT.c.family == family,
                                                     PT.c.prefixlen == length,
                                                     PT.c.network == hx(masked)))
        if found is not None:
            ids.append(found)
    if not ids:
        return []
    rows = {p.id: p for p in session.scalars(select(m.Prefix).where(m.Prefix.id.in_(ids)))
            .unique()}
    return [rows[i] for i in ids]


def resolve(session: Session, prefix: m.Prefix | str | Network) -> m.Prefix:
    """A Prefix row from a row, a CIDR string or an :mod:`ipaddress` network."""
    if isinstance(prefix, m.Prefix):
        return prefix
    net = parse_network(prefix) if isinstance(prefix, str) else prefix
    stmt = select(m.Prefix).where(m.Prefix.family == net.version,
                                  m.Prefix.prefixlen == net.prefixlen,
                                  m.Prefix.network == hx(int(net.network_address)))
    found = session.scalars(stmt).unique().first()
    if found is None:
        raise NotFound(f"prefix {net} not found")
    return found


def ancestors(session: Session, prefix: m.Prefix) -> list[m.Prefix]:
    """The parent chain of a prefix, nearest first (primary-key look-ups)."""
    chain = []
    current = prefix
    while current.parent_id is not None:
        current = session.get(m.Prefix, current.parent_id)
        assert current is not None
        chain.append(current)
    return chain


def children(session: Session, prefix: m.Prefix | str | Network,
             limit: int | None = None) -> list[m.Prefix]:
    """Direct children of a prefix, in address order."""
    parent = resolve(session, prefix)
    stmt = select(m.Prefix).where(m.Prefix.parent_id == parent.id).order_by(m.Prefix.network)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt).unique())


def _has_children(session: Session, parent_id: int) -> bool:
    return bool(session.connection().execute(_ANY_CHILD, {"pid": parent_id}).scalar())


def _has_free(session: Session, parent_id: int) -> bool:
    return bool(session.connection().execute(_ANY_FREE, {"pid": parent_id}).scalar())


def free_blocks(session: Session, prefix: m.Prefix | str | Network,
                limit: int | None = 100) -> list[Network]:
    """Free space of a prefix as maximal aligned blocks, largest first then by address."""
    parent = resolve(session, prefix)
    if not _has_free(session, parent.id) and not _has_children(session, parent.id):
        return [network_of(parent)]
    stmt = (select(FB.c.prefixlen, FB.c.network).where(FB.c.parent_id == parent.id)
            .order_by(FB.c.prefixlen, FB.c.network))
    if limit:
        stmt = stmt.limit(limit)
    return [make_network(parent.family, int(n, 16), pl) for pl, n in session.execute(stmt)]


def free_summary(session: Session, prefix: m.Prefix | str | Network) -> dict[str, Any]:
    """How much of a prefix is free: block counts per length and the free fraction.

    Arithmetic on block sizes (one GROUP BY over the prefix's free blocks), no enumeration.
    """
    parent = resolve(session, prefix)
    stmt = (select(FB.c.prefixlen, func.count()).where(FB.c.parent_id == parent.id)
            .group_by(FB.c.prefixlen).order_by(FB.c.prefixlen))
    counts = {int(pl): int(c) for pl, c in session.execute(stmt)}
    if not counts and not _has_children(session, parent.id):
        counts = {parent.prefixlen: 1}
    free = sum(c * size(parent.family, pl) for pl, c in counts.items())
    total = size(parent.family, parent.prefixlen)
    return {"blocks": {f"/{pl}": c for pl, c in counts.items()},
            "free_addresses": free, "total_addresses": total,
            "free_percent": round(100 * free / total, 4)}


# --- attribute validation ---------------------------------------------------------------------


def _attrs(session: Session, status: str = "active", role: str = "other",
           agency: m.Agency | str | None = None, site: m.Site | str | None = None,
           device: m.Device | str | None = None, interface: m.Interface | str | None = None,
           link: m.Link | str | None = None, link_id: int | None = None,
           description: str | None = None) -> dict[str, Any]:
    """Validate the owner fields of a prefix and turn names into ids."""
    if status not in m.PREFIX_STATUSES or status == "released":
        allowed = ", ".join(s for s in m.PREFIX_STATUSES if s != "released")
        raise Invalid(f"status: {status!r} is not one of {allowed} (use release to free space)")
    if role not in m.PREFIX_ROLES:
        raise Invalid(f"role: {role!r} is not one of {', '.join(m.PREFIX_ROLES)}")
    ag = get_agency(session, agency) if isinstance(agency, str) else agency
    if isinstance(site, str):
        if ag is None:
            raise Invalid(f"site: {site!r} needs --agency (site codes are per agency)")
        site = get_site(session, ag.code, site)
    if site is not None:
        if ag is None:
            ag = site.agency
        elif site.agency_id != ag.id:
            raise Conflict(f"site {site.code} belongs to agency {site.agency.code}, not {ag.code}")
    dev = get_device(session, device) if isinstance(device, str) else device
    if isinstance(interface, str):
        host, _, ifname = interface.partition(":")
        if not ifname:
            raise Invalid(f"interface: {interface!r} should be HOSTNAME:IFNAME")
        interface = get_interface(session, host, ifname)
    if isinstance(link, str):
        link = get_link(session, link)
    if link is not None:
        link_id = link.id
    elif link_id is not None and session.get(m.Link, link_id) is None:
        raise NotFound(f"link id {link_id} not found")
    return {"status": status, "role": role,
            "agency_id": ag.id if ag is not None else None,
            "site_id": site.id if site is not None else None,
            "device_id": dev.id if dev is not None else None,
            "interface_id": interface.id if interface is not None else None,
            "link_id": link_id,
            "description": clean_text(description, "description", 255, required=False)}


def _check_owner(chain: list[m.Prefix], agency_id: int | None, cidr: str) -> None:
    """A prefix may not be given to one agency inside space that belongs to another."""
    if agency_id is None:
        return
    for anc in chain:
        if anc.agency_id is not None:
            if anc.agency_id != agency_id:
                owner = anc.agency.code if anc.agency else anc.agency_id
                raise Conflict(f"prefix {cidr}: lies inside {anc.cidr}, which belongs to "
                               f"agency {owner}")
            return


def _new_prefix(family: int, network: int, prefixlen: int, parent_id: int | None,
                values: dict[str, Any]) -> m.Prefix:
    net = make_network(family, network, prefixlen)
    return m.Prefix(cidr=str(net), family=family, prefixlen=prefixlen, network=hx(network),
                    last=hx(network + size(family, prefixlen) - 1), parent_id=parent_id,
                    **values)


# --- the buddy system -------------------------------------------------------------------------


def _pick(session: Session, parent_id: int, prefixlen: int) -> tuple[int, int, int] | None:
    """Best fit: the lowest free block among the longest lengths <= ``prefixlen``.

    One statement, two index seeks: the longest usable length (backwards on
    ``ix_free_block_pick``), then the lowest block of that length (forwards).
    """
    row = session.connection().execute(_PICK, {"pid": parent_id, "plen": prefixlen}).first()
    if row is None:
        return None
    return int(row[0]), int(row[1]), int(row[2], 16)


def _split(session: Session, parent_id: int, block_id: int | None, block_len: int,
           target: int, target_len: int, bits: int) -> None:
    """Take the /target_len at ``target`` out of a free block; its buddies fall free."""
    conn = session.connection()
    if block_id is not None:
        conn.execute(_DELETE_BLOCK, {"bid": block_id})
    rows = []
    for length in range(block_len + 1, target_len + 1):
        shift = bits - length
        buddy = ((target >> shift) ^ 1) << shift
        rows.append({"parent_id": parent_id, "prefixlen": length, "network": hx(buddy)})
    if rows:
        conn.execute(_INSERT_BLOCK, rows)


def _give_back(session: Session, parent: m.Prefix, network: int, prefixlen: int) -> None:
    """Return a block to the parent's free space, merging buddies upwards."""
    bits = BITS[parent.family]
    conn = session.connection()
    while prefixlen > parent.prefixlen:
        buddy = network ^ (1 << (bits - prefixlen))
        gone = conn.execute(_DELETE_BUDDY, {"pid": parent.id, "plen": prefixlen,
                                            "net": hx(buddy)})
        if not gone.rowcount:
            break
        network = min(network, buddy)
        prefixlen -= 1
    conn.execute(_INSERT_BLOCK, [{"parent_id": parent.id, "prefixlen": prefixlen,
                                  "network": hx(network)}])


def _covering_block(session: Session, parent: m.Prefix, net: Network
                    ) -> tuple[int | None, int] | None:
    """The free block of ``parent`` that contains ``net``: (block id or None if lazy, len).

    Free blocks are disjoint, so the only candidate is the block with the highest start
    at or below ``net``: one backwards seek on the (parent_id, network) unique index.
    """
    n = int(net.network_address)
    row = session.execute(select(FB.c.id, FB.c.prefixlen, FB.c.network)
                          .where(FB.c.parent_id == parent.id, FB.c.network <= hx(n))
                          .order_by(FB.c.network.desc()).limit(1)).first()
    if row is not None:
        block_id, block_len, start = int(row[0]), int(row[1]), int(row[2], 16)
        if block_len <= net.prefixlen and n < start + size(net.version, block_len):
            return block_id, block_len
        return None
    if not _has_children(session, parent.id) and not _has_free(session, parent.id):
        return None, parent.prefixlen  # lazy: the whole parent is free
    return None


# --- mutations --------------------------------------------------------------------------------


def add_prefix(session: Session, cidr: str | Network, **attrs: Any) -> m.Prefix:
    """Record a specific prefix (``status``, ``role``, ``agency``, ``site``, ``device``,
    ``interface``, ``link``/``link_id``, ``description``).

    Its parent is the smallest existing prefix containing it.  It is carved out of the
    parent's free space; if it contains existing prefixes (a container added around them)
    they move beneath it and its free space is built around them.  Refused with
    :class:`Conflict`, changing nothing, when the prefix exists already or when it would
    put one agency's prefix inside or around another agency's.
    """
    net = parse_network(cidr) if isinstance(cidr, str) else cidr
    values = _attrs(session, **attrs)
    family, n, plen, bits = net.version, int(net.network_address), net.prefixlen, BITS[net.version]
    _lock(session, family)
    chain = containing(session, net)
    if chain and chain[0].prefixlen == plen:
        raise Conflict(f"prefix {net} already exists ({chain[0].status}, {chain[0].role})")
    _check_owner(chain, values["agency_id"], str(net))
    parent = chain[0] if chain else None
    if parent is not None:
        block = _covering_block(session, parent, net)
        if block is not None:  # the usual case: carve it out of one free block
            _split(session, parent.id, block[0], block[1], n, plen, bits)
            prefix = _new_prefix(family, n, plen, parent.id, values)
            session.add(prefix)
            session.flush()
            return prefix
    inner = _inner_prefixes(session, net, parent)
    if values["agency_id"] is not None:
        for child in inner:
            if child.agency_id is not None and child.agency_id != values["agency_id"]:
                raise Conflict(f"prefix {net}: would contain {child.cidr}, which belongs to "
                               f"agency {child.agency.code if child.agency else child.agency_id}")
    prefix = _new_prefix(family, n, plen, parent.id if parent else None, values)
    session.add(prefix)
    session.flush()
    _adopt(session, prefix, inner, parent)
    return prefix


def _inner_prefixes(session: Session, net: Network, parent: m.Prefix | None) -> list[m.Prefix]:
    """Prefixes directly below ``parent`` (or roots) that lie inside ``net``."""
    lo, hi = int(net.network_address), int(net.broadcast_address)
    parent_term = (m.Prefix.parent_id == parent.id) if parent else m.Prefix.parent_id.is_(None)
    stmt = (select(m.Prefix).where(m.Prefix.family == net.version, m.Prefix.network >= hx(lo),
                                   m.Prefix.network <= hx(hi), parent_term)
            .order_by(m.Prefix.network))
    return list(session.scalars(stmt).unique())


def _adopt(session: Session, prefix: m.Prefix, inner: list[m.Prefix],
           parent: m.Prefix | None) -> None:
    """Move ``inner`` prefixes and the parent's free space inside ``prefix`` beneath it."""
    lo, hi = int(prefix.network, 16), int(prefix.last, 16)
    if inner:
        session.execute(update(m.Prefix).where(m.Prefix.id.in_([p.id for p in inner]))
                        .values(parent_id=prefix.id)
                        .execution_options(synchronize_session="evaluate"))
    if parent is not None:
        session.execute(update(FB).where(FB.c.parent_id == parent.id, FB.c.network >= hx(lo),
                                         FB.c.network <= hx(hi))
                        .values(parent_id=prefix.id))
        return
    # a new root: its free space is whatever its new children leave
    cursor = lo
    rows = []
    for child in inner:
        rows += _blocks_between(prefix.family, cursor, int(child.network, 16) - 1)
        cursor = int(child.last, 16) + 1
    rows += _blocks_between(prefix.family, cursor, hi)
    if inner and rows:
        session.execute(insert(FB), [{"parent_id": prefix.id, "prefixlen": pl,
                                      "network": hx(n)} for n, pl in rows])


def _blocks_between(family: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The maximal aligned blocks covering [lo, hi]: O(bits) blocks, no enumeration."""
    bits = BITS[family]
    out = []
    while lo <= hi:
        span = (lo & -lo).bit_length() - 1 if lo else bits
        while span > 0 and lo + (1 << span) - 1 > hi:
            span -= 1
        out.append((lo, bits - span))
        lo += 1 << span
    return out


def allocate_many(session: Session, parent: m.Prefix | str | Network, prefixlen: int,
                  count: int, **attrs: Any) -> list[m.Prefix]:
    """Allocate ``count`` next-free prefixes of length ``prefixlen`` under ``parent``.

    All or nothing: when the parent lacks room for ``count`` the call raises
    :class:`Exhausted` before changing anything.
    """
    pfx = resolve(session, parent)
    family, bits = pfx.family, BITS[pfx.family]
    if not isinstance(prefixlen, int) or not pfx.prefixlen < prefixlen <= bits:
        raise Invalid(f"length: /{prefixlen} does not fit under {pfx.cidr} "
                      f"(use {pfx.prefixlen + 1}..{bits})")
    if not 1 <= count <= MAX_BULK:
        raise Invalid(f"count: {count} is outside 1..{MAX_BULK}")
    values = _attrs(session, **attrs)
    if values["agency_id"] is not None:
        _check_owner([pfx, *ancestors(session, pfx)], values["agency_id"], f"a /{prefixlen}")
    _lock(session, family)
    if count > 1:
        room = _room(session, pfx, prefixlen)
        if room < count:
            raise Exhausted(f"no room for {count} × /{prefixlen} in {pfx.cidr} (room for {room})")
    made = []
    for _ in range(count):
        block = _pick(session, pfx.id, prefixlen)
        if block is None:
            if made or _has_children(session, pfx.id) or _has_free(session, pfx.id):
                raise Exhausted(f"no free /{prefixlen} left in {pfx.cidr}")
            block = (None, pfx.prefixlen, int(pfx.network, 16))  # lazy: wholly free
        block_id, block_len, network = block
        _split(session, pfx.id, block_id, block_len, network, prefixlen, bits)
        made.append(_new_prefix(family, network, prefixlen, pfx.id, values))
    session.add_all(made)
    session.flush()
    return made


def _room(session: Session, parent: m.Prefix, prefixlen: int) -> int:
    """How many /prefixlen still fit in the parent (sum over free blocks per length)."""
    stmt = (select(FB.c.prefixlen, func.count())
            .where(FB.c.parent_id == parent.id, FB.c.prefixlen <= prefixlen)
            .group_by(FB.c.prefixlen))
    counts = {int(pl): int(c) for pl, c in session.execute(stmt)}
    if not counts and not _has_children(session, parent.id) and not _has_free(session, parent.id):
        counts = {parent.prefixlen: 1}
    return sum(c << (prefixlen - pl) for pl, c in counts.items())


def allocate(session: Session, parent: m.Prefix | str | Network, prefixlen: int,
             **attrs: Any) -> m.Prefix:
    """The next free /prefixlen under ``parent`` (best fit, lowest address; see module doc)."""
    return allocate_many(session, parent, prefixlen, 1, **attrs)[0]


def reserve(session: Session, cidr: str | Network, **attrs: Any) -> m.Prefix:
    """Record a specific prefix as reserved (idempotent if it is reserved already)."""
    net = parse_network(cidr) if isinstance(cidr, str) else cidr
    try:
        existing = resolve(session, net)
    except NotFound:
        return add_prefix(session, net, **{**attrs, "status": "reserved"})
    if existing.status != "reserved":
        raise Conflict(f"prefix {existing.cidr} already exists with status {existing.status}")
    return existing


def _resolve_locked(session: Session, prefix: m.Prefix | str | Network) -> m.Prefix:
    """Take the family's lock first, then read the prefix as it is now.

    Another process may have released or changed it between our read and the lock.
    """
    if isinstance(prefix, m.Prefix):
        lock(session, prefix.family)
        fresh = session.get(m.Prefix, prefix.id, populate_existing=True)
        if fresh is None:
            raise NotFound(f"prefix {prefix.cidr} not found")
        return fresh
    net = parse_network(prefix) if isinstance(prefix, str) else prefix
    lock(session, net.version)
    return resolve(session, net)


def release(session: Session, prefix: m.Prefix | str | Network) -> None:
    """Give a prefix's space back to its parent (the row is deleted; the change log keeps it).

    Refused while prefixes remain beneath it: release those first, or :func:`remove` the
    record and keep them.
    """
    pfx = _resolve_locked(session, prefix)
    first = session.scalar(select(PT.c.cidr).where(PT.c.parent_id == pfx.id).limit(1))
    if first is not None:
        raise Conflict(f"prefix {pfx.cidr} still holds prefixes (e.g. {first}): release them "
                       "first, or use `prefix rm` to delete the record and keep them")
    _delete(session, pfx)


def remove(session: Session, prefix: m.Prefix | str | Network) -> None:
    """Delete a prefix record; what lies inside it moves up to its parent (NetBox-like)."""
    pfx = _resolve_locked(session, prefix)
    if not _has_children(session, pfx.id):
        _delete(session, pfx)
        return
    parent_id = pfx.parent_id
    session.execute(update(m.Prefix).where(m.Prefix.parent_id == pfx.id)
                    .values(parent_id=parent_id)
                    .execution_options(synchronize_session="evaluate"))
    if parent_id is None:
        session.execute(delete(FB).where(FB.c.parent_id == pfx.id))
    else:
        session.execute(update(FB).where(FB.c.parent_id == pfx.id).values(parent_id=parent_id))
    session.delete(pfx)
    session.flush()


def _delete(session: Session, pfx: m.Prefix) -> None:
    parent = session.get(m.Prefix, pfx.parent_id) if pfx.parent_id is not None else None
    network, prefixlen = int(pfx.network, 16), pfx.prefixlen
    session.execute(delete(FB).where(FB.c.parent_id == pfx.id))
    session.delete(pfx)
    session.flush()
    if parent is not None:
        _give_back(session, parent, network, prefixlen)


# --- the addressing plan's helpers ------------------------------------------------------------


def _plan_root(session: Session, plan: Plan, name: str) -> tuple[m.Prefix, int]:
    pool = plan.pool(name)
    try:
        return resolve(session, pool.network), pool.child_length
    except NotFound:
        raise NotFound(f"{pool.field} {pool.network} is not in the directory: run "
                       "`gin directory plan apply`") from None


def agency_prefix(session: Session, agency_code: str, plan: Plan) -> m.Prefix:
    """The agency's IPv6 /48 (plan's agency length) from the supernet, allocated if missing."""
    ag = get_agency(session, agency_code)
    root, length = _plan_root(session, plan, "supernet6")
    stmt = (select(m.Prefix).where(m.Prefix.parent_id == root.id, m.Prefix.agency_id == ag.id,
                                   m.Prefix.role == "agency", m.Prefix.prefixlen == length)
            .order_by(m.Prefix.network).limit(1))
    found = session.scalars(stmt).unique().first()
    if found is not None:
        return found
    return allocate(session, root, length, role="agency", agency=ag,
                    description=f"{ag.code} agency prefix")


def site_prefix(session: Session, agency_code: str, site_code: str, plan: Plan) -> m.Prefix:
    """The site's IPv6 /56 inside its agency's /48, allocated (with the /48) if missing."""
    site = get_site(session, agency_code, site_code)
    parent = agency_prefix(session, agency_code, plan)
    length = plan.ipv6.site_length
    stmt = (select(m.Prefix).where(m.Prefix.parent_id == parent.id, m.Prefix.site_id == site.id,
                                   m.Prefix.role == "site", m.Prefix.prefixlen == length)
            .order_by(m.Prefix.network).limit(1))
    found = session.scalars(stmt).unique().first()
    if found is not None:
        return found
    return allocate(session, parent, length, role="site", site=site,
                    description=f"{site.agency.code}/{site.code} site prefix")


def allocate_from_pool(session: Session, plan: Plan, pool: str, **attrs: Any) -> m.Prefix:
    """Next free prefix of the pool's child length: ``p2p6`` /127, ``transit4`` /31,
    ``loopback6`` /128, ``loopback4`` /32, ``agency4`` blocks (see :mod:`directory.plan`)."""
    root, length = _plan_root(session, plan, pool)
    attrs.setdefault("role", plan.pool(pool).child_role)
    return allocate(session, root, length, **attrs)


# --- repair -----------------------------------------------------------------------------------


def rebuild_free_space(session: Session, prefix: m.Prefix | str | Network) -> int:
    """Recompute a prefix's free blocks from its children; returns the number of blocks.

    For repairs after rows were written without the allocator.  Cost is proportional to
    the number of children (the gaps between them become maximal aligned blocks).
    """
    pfx = resolve(session, prefix)
    lock(session, pfx.family)
    session.execute(delete(FB).where(FB.c.parent_id == pfx.id))
    kids = session.execute(select(PT.c.network, PT.c.last).where(PT.c.parent_id == pfx.id)
                           .order_by(PT.c.network)).all()
    if not kids:
        return 0  # wholly free: the lazy state needs no rows
    cursor, hi, rows = int(pfx.network, 16), int(pfx.last, 16), []
    for lo_hex, last_hex in kids:
        lo = int(lo_hex, 16)
        if lo < cursor:
            raise Conflict(f"prefix {pfx.cidr}: children overlap at {hx(lo)}")
        rows += _blocks_between(pfx.family, cursor, lo - 1)
        cursor = int(last_hex, 16) + 1
    rows += _blocks_between(pfx.family, cursor, hi)
    if rows:
        session.execute(insert(FB), [{"parent_id": pfx.id, "prefixlen": pl, "network": hx(n)}
                                     for n, pl in rows])
    return len(rows)

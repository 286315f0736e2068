"""GSI cut-offs (13.2.1) as the directory's change log records them.

A block is an action, not a directory object: ``gin monitor respond`` writes a
``sensor_block`` record when the SOC blocks a source (``create``: source, reason, expiry,
ttl) and when it lifts it (``delete``), and one ``sensor_block_push`` record per edge router
it changed (``after.present``: the blocks the router carries from then on).  The audit reads
those records straight from the change log (``audit`` does not import ``monitor``): who
blocked what, when, why, which routers carried it, and who lifted it -- the SOC's answer to
a threat, as evidence.  A block belongs to the agency whose prefix (role ``agency``) holds
its source: the agency the threat came from.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import models as m

#: The change-log object types ``gin monitor respond`` writes.
BLOCK_TYPE = "sensor_block"
PUSH_TYPE = "sensor_block_push"
#: Where a block whose source lies in no agency's prefix is filed.
OUTSIDE = ""


@dataclass(frozen=True)
class BlockRecord:
    """One GSI block: added, carried by the edge routers, lifted (or still in force)."""

    source: str
    added: dt.datetime
    added_by: str
    reason: str
    expires: dt.datetime | None
    lifted: dt.datetime | None = None
    lifted_by: str | None = None
    #: Edge routers that carried it / took it off again (their push records).
    carried_by: tuple[str, ...] = ()
    removed_from: tuple[str, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """The block as evidence lines: added, lifted (or in force / expired)."""
        ttl = (f", until {_iso(self.expires)}" if self.expires else "")
        out = [f"GSI block {self.source} added {_iso(self.added)} by {self.added_by}"
               f" ({self.reason or 'no reason given'}{ttl})"
               + (f"; on {', '.join(self.carried_by)}" if self.carried_by else
                  "; on no edge router")]
        if self.lifted:
            out.append(f"GSI block {self.source} lifted {_iso(self.lifted)} by "
                       f"{self.lifted_by or '?'}"
                       + (f"; off {', '.join(self.removed_from)}" if self.removed_from else ""))
        else:
            out.append(f"GSI block {self.source} not lifted (expires {_iso(self.expires)})")
        return tuple(out)


def _iso(t: dt.datetime | None) -> str:
    if t is None:
        return "?"
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _when(text: object) -> dt.datetime | None:
    try:
        return _utc(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        return None


def blocks(session: Session, since: dt.datetime) -> list[BlockRecord]:
    """Every block added, or still in force, after ``since``, oldest first, with its lift
    and the edge routers' pushes."""
    rows = session.scalars(select(m.Change).where(
        m.Change.object_type.in_((BLOCK_TYPE, PUSH_TYPE))).order_by(m.Change.id)).all()
    found: list[dict] = []
    open_: dict[str, dict] = {}
    carried: dict[str, set[str]] = defaultdict(set)  # router -> sources it carries now
    for ch in rows:
        if ch.object_type == BLOCK_TYPE:
            if ch.action == "create" and ch.after:
                entry = {"source": ch.object_key, "added": _utc(ch.time), "by": ch.actor,
                         "reason": str(ch.after.get("reason") or ""),
                         "expires": _when(ch.after.get("expires")), "on": [], "off": [],
                         "lifted": None, "lifted_by": None}
                found.append(entry)
                open_[ch.object_key] = entry
            elif ch.action == "delete" and ch.object_key in open_:
                entry = open_.pop(ch.object_key)
                entry["lifted"], entry["lifted_by"] = _utc(ch.time), ch.actor
            continue
        after = ch.after or {}
        if after.get("status") != "changed":
            continue
        present = {str(p) for p in after.get("present") or ()}
        router = ch.object_key
        for entry in found:
            here = entry["source"] in present
            if here and router not in entry["on"] and (entry["lifted"] is None):
                entry["on"].append(router)
            elif (not here and entry["source"] in carried[router]
                  and router not in entry["off"]):
                entry["off"].append(router)
        carried[router] = present
    out = []
    for e in found:
        live = e["lifted"] or e["expires"] or e["added"]
        if live < since:
            continue
        out.append(BlockRecord(e["source"], e["added"], e["by"], e["reason"], e["expires"],
                               e["lifted"], e["lifted_by"], tuple(sorted(e["on"])),
                               tuple(sorted(e["off"]))))
    return out


def by_agency(session: Session, records: list[BlockRecord]) -> dict[str, list[BlockRecord]]:
    """The blocks filed under the agency whose prefix (role ``agency``) holds the source;
    :data:`OUTSIDE` for a source in no agency's prefix."""
    prefixes = []
    for cidr, code in session.execute(
            select(m.Prefix.cidr, m.Agency.code).join(m.Agency, m.Prefix.agency_id == m.Agency.id)
            .where(m.Prefix.role == "agency", m.Prefix.status != "released")):
        try:
            prefixes.append((ipaddress.ip_network(cidr, strict=False), code))
        except ValueError:
            continue
    out: dict[str, list[BlockRecord]] = defaultdict(list)
    for record in records:
        try:
            net = ipaddress.ip_network(record.source, strict=False)
        except ValueError:
            out[OUTSIDE].append(record)
            continue
        owners = sorted(((p.prefixlen, code) for p, code in prefixes
                         if p.version == net.version and net.subnet_of(p)),  # type: ignore[arg-type]
                        reverse=True)
        out[owners[0][1] if owners else OUTSIDE].append(record)
    return dict(out)

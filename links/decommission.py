"""Decommission a link: remove exactly the configuration it owns, then free its addresses.

What a link owns on a router is its rendered link configuration minus the baseline and
minus whatever other live links on that router also need (a shared prefix list, the PE's
``router bgp`` line).  That difference is negated, re-read, and negated again until
nothing of it is left (one :func:`devices.converge.converge` over both routers: when a
router keeps some of it, both are put back exactly and nothing is released); then the
link's /127 and /31 go back to their pools.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from devices import platforms
from devices.converge import DeviceChange, Observer, converge
from devices.errors import TransportError
from devices.sessions import Sessions
from devices.targets import target_of
from devices.transport import DeviceTransport
from directory import allocator, store
from directory import models as m
from directory.changelog import log_event
from directory.errors import Invalid
from directory.store import Directory
from links.build import build_intent
from links.plan import link_prefixes
from links.render import render_parts

LIVE = ("provisioned", "active")


def owned_config(session: object, link: m.Link, hostname: str) -> tuple[str, list[str]]:
    """(what ``link`` renders on ``hostname``, what the baseline and other links need there)."""
    intent = build_intent(session, link)  # type: ignore[arg-type]
    side = "pe" if intent.pe.hostname == hostname else "ce"
    baseline, mine = render_parts(intent, side)
    shared = [baseline]
    if side == "pe" and platforms.get(intent.pe.platform).syntax == "hierarchical":
        # The PE's BGP process is GIN infrastructure: never removed with one agency's link.
        shared.append(f"router bgp {intent.pe.asn}\n address-family ipv6 unicast\n"
                      " address-family ipv4 unicast\n")
    device = store.get_device(session, hostname)  # type: ignore[arg-type]
    ifaces = [i.id for i in device.interfaces]
    others = session.scalars(select(m.Link).where(  # type: ignore[attr-defined]
        m.Link.id != link.id, m.Link.status.in_(LIVE),
        or_(m.Link.a_interface_id.in_(ifaces), m.Link.b_interface_id.in_(ifaces)))).unique()
    for other in others:
        try:
            oi = build_intent(session, other)  # type: ignore[arg-type]
        except Invalid:
            continue  # not a gin-planned link (e.g. a core link): it renders nothing here
        shared.append(render_parts(oi, "pe" if oi.pe.hostname == hostname else "ce")[1])
    return mine, shared


def decommission(directory: Directory, name: str, transport: DeviceTransport,
                 passes: int = 3, observer: Observer | None = None) -> dict[str, list[str]]:
    """Remove the link's configuration from both routers, release its addresses."""
    with directory.transaction() as s:
        link = store.get_link(s, name)
        devices = sorted([link.a_interface.device, link.b_interface.device],
                         key=lambda d: d.hostname)
        changes = [DeviceChange.removing(target_of(d), *owned_config(s, link, d.hostname),
                                         passes=passes) for d in devices]
    with Sessions(transport, db=directory.engine) as sessions:
        done = converge(sessions, changes, observer=observer)
        if not done.ok:
            raise TransportError(f"could not remove the config of link {name}: "
                                 f"{done.message}")
        removed = done.diff
        with directory.transaction() as s:
            sessions.journal.finish(s)  # the removal and its record commit together
            _record(s, name, removed)
    return removed


def _record(s: Session, name: str, removed: dict[str, list[str]]) -> None:
    """The link's addresses released, the link decommissioned, the removal logged."""
    link = store.get_link(s, name)
    for prefix in link_prefixes(s, link).values():
        allocator.release(s, prefix)
    link.status = "decommissioned"
    log_event(s, "decommission", link, {"removed": removed})

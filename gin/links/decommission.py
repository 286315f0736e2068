"""Decommission a link: remove exactly the configuration it owns, then free its addresses.

What a link owns on a router is its rendered link configuration minus the baseline and
minus whatever other live links on that router also need (a shared prefix list, the PE's
``router bgp`` line).  That difference is negated, re-read, and negated again until
nothing of it is left; then the link's /127 and /31 go back to their pools.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from directory import allocator, store
from directory import models as m
from directory.changelog import log_event
from directory.errors import Invalid
from directory.store import Directory
from gin import platforms
from gin.errors import TransportError
from gin.links import configtree
from gin.links.build import build_intent
from gin.links.plan import link_prefixes
from gin.links.provision import target_of
from gin.links.render import render_parts
from gin.transport import Transport

LIVE = ("provisioned", "active")


def owned_config(session: object, link: m.Link, hostname: str) -> str:
    """The configuration only ``link`` needs on ``hostname``."""
    intent = build_intent(session, link)  # type: ignore[arg-type]
    side = "pe" if intent.pe.hostname == hostname else "ce"
    baseline, mine = render_parts(intent, side)
    platform = platforms.get(getattr(intent, side).platform)
    shared = [baseline]
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
    own = configtree.tree(platform, mine).difference(configtree.tree(platform, "".join(shared)))
    return "\n".join(configtree.lines_of(platform, own)) + "\n"


def decommission(directory: Directory, name: str, transport: Transport,
                 passes: int = 3) -> dict[str, list[str]]:
    """Remove the link's configuration from both routers, release its addresses."""
    with directory.transaction() as s:
        link = store.get_link(s, name)
        devices = [link.a_interface.device, link.b_interface.device]
        owned = {d.hostname: owned_config(s, link, d.hostname) for d in devices}
        targets = {d.hostname: target_of(d) for d in devices}
    removed: dict[str, list[str]] = {}
    for host, target in targets.items():
        platform = platforms.get(target.platform)
        conn = transport.connect(target)
        try:
            removed[host] = []
            for _ in range(passes):
                lines = configtree.removal(platform, conn.show(platform.show_running),
                                           owned[host])
                if not lines:
                    break
                removed[host].extend(lines)
                conn.configure(lines, tolerate_errors=True)
            else:
                left = configtree.removal(platform, conn.show(platform.show_running),
                                          owned[host])
                if left:
                    raise TransportError(f"{host}: could not remove {len(left)} line(s) of "
                                         f"link {name}: {left[0].strip()}")
            conn.save()
        finally:
            conn.close()
    with directory.transaction() as s:
        link = store.get_link(s, name)
        for prefix in link_prefixes(s, link).values():
            allocator.release(s, prefix)
        link.status = "decommissioned"
        log_event(s, "decommission", link, {"removed": removed})
    return removed

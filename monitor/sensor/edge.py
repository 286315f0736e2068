"""GSI cut-off on the edge routers: every PE carries the active blocks.

Which routers: the directory's devices with role ``pe``.  The PEs are the GIN's edge
toward every agency and the outside, and the GIN operator runs them; every packet
between agencies, or between an agency and the outside, crosses one, so a block there
cuts the source off from the whole GIN without touching agency-run CEs.  Traffic inside
one agency's LAN never crosses a PE: that is the agency gateway's nftables block
(:class:`~monitor.sensor.respond.NftGateway`).

What a router carries is rendered from its platform's ``gsi_block.j2`` (the platform
table, ``devices/platforms/``): FRR a blackhole route per source (RFC 5635 remote-triggered
black-holing: traffic to the source is discarded; see the template for what happens to
traffic from it), IOS/IOS-XE and Junos ACLs / firewall filters dropping both directions.

Every change converges each router to the active set: lines of blocks no longer active
(lifted, or expired: ``gin monitor respond --expire``) are removed, missing ones added.
A router is changed as every router is (:func:`devices.converge.converge`): under its
change lock, running config read, only the difference pushed, read back, saved; when the
device refuses or does not take a line, its exact previous running config is put back
and the failure reported, while the other routers go on.  What gin put on a
router is known from the change log (``sensor_block_push`` records, one per router and
change), so a lift never removes a blackhole route an operator configured by hand.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import jinja2
from sqlalchemy import select

from devices import configtree, platforms
from devices.converge import DeviceChange, Observer, converge
from devices.errors import ConfigError, GinError
from devices.journal import Journal
from devices.render import environment
from devices.sessions import Sessions
from devices.targets import DeviceTarget, target_of
from devices.transport import DeviceTransport
from directory import models as m
from directory.store import Directory

from .addresses import Net

EDGE_ROLES = ("pe",)
ACL_NAME = "GIN-GSI-BLOCK"
PUSH_TYPE = "sensor_block_push"
TEMPLATE = "gsi_block.j2"


def render(platform_name: str, nets: Iterable[Net | str], interfaces: Iterable[str] = ()
           ) -> str:
    """The block configuration of one router: what it carries for ``nets``."""
    nets = sorted({ipaddress.ip_network(n) for n in nets}, key=lambda n: (n.version, n))
    platform = platforms.get(platform_name)
    try:
        template = environment(platform.name).get_template(TEMPLATE)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"platform {platform.name!r} has no {TEMPLATE} in "
                          f"{platform.template_dir}: it cannot carry GSI blocks") from None
    return template.render(name=ACL_NAME, interfaces=sorted(interfaces),
                           blocks4=[n for n in nets if n.version == 4],
                           blocks6=[n for n in nets if n.version == 6])


def plan(platform: platforms.Platform, running: str, active: str, owned: str) -> list[str]:
    """Lines that turn ``running`` into one carrying exactly the ``active`` block config.

    ``owned`` is everything gin may have put there (so only those lines are ever
    removed).  Ordered sections (an ACL ending in a permit) that changed are rewritten
    whole: appended entries would land after the permit.
    """
    run, want = configtree.tree(platform, running), configtree.tree(platform, active)
    rewrite = []
    for section in want.children:
        if platform.gsi_ordered and section.text.startswith(platform.gsi_ordered):
            have = run.get_child(equals=section.text)
            if have is not None and ([c.text for c in have.children]
                                     != [c.text for c in section.children]):
                rewrite.append(section)
    lines = configtree.removal(platform, running, owned, [active]) if owned.strip() else []
    for section in rewrite:
        lines += [platform.negate(section.text), section.text,
                  *(" " + c.text for c in section.children), "exit"]
    diff = want.difference(run)
    for section in rewrite:
        diff.children.delete(section.text)
    return lines + configtree.lines_of(platform, diff)


@dataclass
class RouterResult:
    """What one router did: ``changed``, ``no change`` or ``failed`` (then rolled back)."""

    router: str
    status: str = "failed"
    message: str = ""
    lines: list[str] = field(default_factory=list)
    restored: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {"router": self.router, "status": self.status, "message": self.message,
                "lines": self.lines, "restored": self.restored}


@dataclass(frozen=True)
class EdgeRouter:
    target: DeviceTarget
    #: Interfaces the directory links (where ACL platforms bind their filter).
    interfaces: tuple[str, ...]
    #: Blocks gin put there and has not removed (from the change log).
    owned: tuple[str, ...]


class EdgeRouters:
    """The directory's edge routers, reached through one provisioning transport."""

    def __init__(self, directory: Directory, transport: DeviceTransport,
                 roles: Iterable[str] = EDGE_ROLES, workers: int = 8,
                 observer: Observer | None = None) -> None:
        self.directory = directory
        self.transport = transport
        self.roles = tuple(roles)
        self.workers = workers
        self.observer = observer

    def routers(self) -> list[EdgeRouter]:
        """Edge routers with their linked interfaces and what gin last left on them."""
        out = []
        with self.directory.transaction() as s:
            owned: dict[str, tuple[str, ...]] = {}
            stmt = (select(m.Change).where(m.Change.object_type == PUSH_TYPE)
                    .order_by(m.Change.id))
            for ch in s.scalars(stmt):
                if ch.after and ch.after.get("status") == "changed":
                    owned[ch.object_key] = tuple(ch.after.get("present", ()))
            linked: dict[int, set[str]] = {}
            for link in s.scalars(select(m.Link)):
                for end in (link.a_interface, link.b_interface):
                    linked.setdefault(end.device_id, set()).add(end.name)
            devices = s.scalars(select(m.Device).where(m.Device.role.in_(self.roles))
                                .order_by(m.Device.hostname))
            for dev in devices:
                out.append(EdgeRouter(target_of(dev), tuple(sorted(linked.get(dev.id, ()))),
                                      owned.get(dev.hostname, ())))
        return out

    def converge(self, active: Iterable[str], action: str) -> list[RouterResult]:
        """Make every edge router carry exactly the ``active`` blocks; one result each."""
        active = sorted(set(active))
        routers = self.routers()
        if not routers:
            return []
        with Sessions(self.transport, db=self.directory.engine) as sessions, ThreadPoolExecutor(
                max_workers=max(1, min(self.workers, len(routers)))) as pool:
            results = list(pool.map(
                lambda r: _converge_one(r, active, sessions, self.observer), routers))
            self._record(results, active, action, sessions.journal)
        return results

    def _record(self, results: list[RouterResult], active: list[str], action: str,
                journal: Journal) -> None:
        """One change-log record per router that was changed or failed; the routers'
        journal entries end in the same transaction (a crash leaves both or neither)."""
        with self.directory.transaction() as s:
            journal.finish(s)
            for res in results:
                if res.status == "no change":
                    continue
                after = {"action": action, "status": res.status, "present": active,
                         "lines": res.lines, "message": res.message,
                         "restored": res.restored}
                s.add(m.Change(time=m.utcnow(), actor=self.directory.actor,
                               action="push" if res.status == "changed" else "rollback",
                               object_type=PUSH_TYPE, object_id=None, object_key=res.router,
                               before=None, after=after))


def _converge_one(router: EdgeRouter, active: list[str], sessions: Sessions,
                  observer: Observer | None) -> RouterResult:
    target = router.target
    result = RouterResult(target.hostname)
    try:
        platform = platforms.get(target.platform)
        want = render(platform.name, active, router.interfaces)
        mine = render(platform.name, {*active, *router.owned}, router.interfaces)
    except GinError as exc:  # unknown platform, or one that cannot carry blocks
        result.message = str(exc)
        return result
    change = DeviceChange(target, lambda running: plan(platform, running, want, mine))
    done = converge(sessions, [change], observer=observer)
    result.lines = done.diff.get(target.hostname, [])
    result.restored = done.restored
    result.status = "failed" if done.status == "rolled back" else done.status
    result.message = done.message
    return result

"""Plan a GIN link: pure directory work that an engineer can review before any push.

``plan_link`` allocates, in one transaction, everything the link needs and records it as
``planned``: the agency's /48 and the site's /56 (if missing), a LAN /64 for the CE, a /127
from the point-to-point pool (RFC 6164) and a /31 from the IPv4 transit pool, and a private
32-bit AS number for the agency (RFC 6996).  Two engineers planning at once are serialised
by the directory's allocator lock, so they never receive the same prefix or ASN.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory import allocator, store
from directory import models as m
from directory.errors import Conflict, Exhausted, Invalid, NotFound
from directory.plan import Plan

PRIVATE_ASN = (4_200_000_000, 4_294_967_294)  # RFC 6996 32-bit private use


@dataclass(frozen=True)
class Endpoint:
    """``HOST:IFNAME`` as typed on the command line."""

    hostname: str
    ifname: str

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        host, sep, ifname = text.partition(":")
        if not sep or not host or not ifname:
            raise Invalid(f"{text!r}: expected DEVICE:INTERFACE")
        return cls(host, ifname)


def agency_asn(session: Session, agency: m.Agency) -> int:
    """The agency's AS number, assigning the next free private 32-bit ASN if it has none."""
    if agency.asn is not None:
        return agency.asn
    lo, hi = PRIVATE_ASN
    allocator.lock(session, 6)  # same lock as prefix allocation: one planner at a time
    top = session.scalar(select(func.max(m.Agency.asn)).where(m.Agency.asn.between(lo, hi)))
    asn = lo if top is None else top + 1
    if asn > hi:
        raise Exhausted("no private 32-bit AS number left (RFC 6996 range is full)")
    agency.asn = asn
    session.flush()
    return asn


def _check_device(session: Session, endpoint: Endpoint, role: str) -> m.Device:
    dev = store.get_device(session, endpoint.hostname)
    if dev.role != role:
        raise Invalid(f"{dev.hostname} is a {dev.role}, expected a {role} for this end")
    return dev


def plan_link(session: Session, plan: Plan, agency: str, site: str, pe: Endpoint, ce: Endpoint,
              lan: str | None = None, name: str | None = None, ipv4: bool = True,
              bandwidth_mbps: int | None = None, description: str | None = None) -> m.Link:
    """Allocate and record a planned PE <-> CE link for AGENCY at SITE (see module doc)."""
    ag = store.get_agency(session, agency)
    st = store.get_site(session, agency, site)
    pe_dev = _check_device(session, pe, "pe")
    ce_dev = _check_device(session, ce, "ce")
    if pe_dev.asn is None:
        raise Invalid(f"PE {pe_dev.hostname} has no AS number: "
                      f"gin directory device set {pe_dev.hostname} --asn N")
    if ce_dev.site_id != st.id:
        raise Conflict(f"CE {ce_dev.hostname} is at {ce_dev.site.agency.code}/"
                       f"{ce_dev.site.code}, not at {ag.code}/{st.code}")
    asn = agency_asn(session, ag)
    if ce_dev.asn is None:
        ce_dev.asn = asn
    link = store.add_link(session, name or f"{ag.code.lower()}-{ce_dev.hostname}",
                          (pe.hostname, pe.ifname), (ce.hostname, ce.ifname), agency=ag.code,
                          site=st.code, bandwidth_mbps=bandwidth_mbps, description=description)
    allocator.agency_prefix(session, ag.code, plan)
    site_net = allocator.site_prefix(session, ag.code, st.code, plan)
    allocator.allocate_from_pool(session, plan, "p2p6", status="planned", link=link,
                                 agency=ag, description=f"link {link.name}")
    if ipv4:
        try:
            allocator.allocate_from_pool(session, plan, "transit4", status="planned", link=link,
                                         agency=ag, description=f"link {link.name}")
        except NotFound:
            raise Invalid("the addressing plan has no IPv4 transit pool: plan with --no-ipv4 "
                          "or add ipv4.transit_pool to the plan") from None
    if lan:
        lan_if = store.ensure_interface(session, ce.hostname, lan)
        if lan_prefix(session, lan_if) is None:
            allocator.allocate(session, site_net, plan.ipv6.lan_length, role="lan",
                               status="planned", site=st, interface=f"{ce.hostname}:{lan}",
                               description=f"{ag.code}/{st.code} LAN")
    session.flush()
    return link


def lan_prefix(session: Session, iface: m.Interface) -> m.Prefix | None:
    stmt = select(m.Prefix).where(m.Prefix.interface_id == iface.id, m.Prefix.role == "lan",
                                  m.Prefix.family == 6)
    return session.scalars(stmt).unique().first()


def link_prefixes(session: Session, link: m.Link) -> dict[int, m.Prefix]:
    """The link's point-to-point prefixes by address family."""
    rows = session.scalars(select(m.Prefix).where(m.Prefix.link_id == link.id)).unique()
    return {p.family: p for p in rows}

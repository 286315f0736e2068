"""Build a :class:`~gin.links.intent.LinkIntent` from what the directory records."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import models as m
from directory.errors import Invalid
from gin.links.intent import Baseline, End, LinkIntent
from gin.links.plan import end_addresses, lan_prefix, link_prefixes

ROUTER_ID_BASE = int(ipaddress.IPv4Address("198.18.0.0"))  # identifiers only, never routed


def router_id(device: m.Device, v4: str | None) -> str:
    """A BGP identifier: the device's IPv4 link address, else one derived from its id."""
    if v4:
        return v4.split("/")[0]
    return str(ipaddress.IPv4Address(ROUTER_ID_BASE + device.id))


def _agency_prefixes(session: Session, link: m.Link, family: int) -> tuple:
    role = "agency" if family == 6 else "agency-block"
    stmt = (select(m.Prefix).where(m.Prefix.agency_id == link.agency_id, m.Prefix.role == role,
                                   m.Prefix.family == family).order_by(m.Prefix.network))
    return tuple(ipaddress.ip_network(p.cidr) for p in session.scalars(stmt).unique())


def build_intent(session: Session, link: m.Link, baseline: Baseline | None = None) -> LinkIntent:
    """Everything the templates need for ``link``; refuses a link that was never planned."""
    if link.agency is None:
        raise Invalid(f"link {link.name} has no agency: plan it with `gin link plan`")
    nets = link_prefixes(session, link)
    if 6 not in nets:
        raise Invalid(f"link {link.name} has no IPv6 /127: plan it with `gin link plan`")
    pe_if, ce_if = link.a_interface, link.b_interface
    pe_dev, ce_dev = pe_if.device, ce_if.device
    pe6, ce6 = end_addresses(nets[6])
    pe4 = ce4 = None
    if 4 in nets:
        pe4, ce4 = end_addresses(nets[4])
    lan_if, lan = None, None
    for iface in ce_dev.interfaces:
        found = lan_prefix(session, iface)
        if found is not None:
            lan_if = iface.name
            net = ipaddress.ip_network(found.cidr)
            lan = ipaddress.IPv6Interface(f"{net.network_address + 1}/{net.prefixlen}")
            break
    agency_asn = ce_dev.asn or link.agency.asn
    if pe_dev.asn is None or agency_asn is None:
        raise Invalid(f"link {link.name}: PE or agency has no AS number")
    return LinkIntent(
        name=link.name,
        agency_code=link.agency.code,
        agency_name=link.agency.name_en,
        pe=End(pe_dev.hostname, pe_dev.platform, pe_if.name, ipaddress.IPv6Interface(pe6),
               pe_dev.asn, ipaddress.IPv4Interface(pe4) if pe4 else None),
        ce=End(ce_dev.hostname, ce_dev.platform, ce_if.name, ipaddress.IPv6Interface(ce6),
               agency_asn, ipaddress.IPv4Interface(ce4) if ce4 else None,
               router_id(ce_dev, ce4)),
        agency_prefixes6=_agency_prefixes(session, link, 6),
        agency_prefixes4=_agency_prefixes(session, link, 4),
        lan_ifname=lan_if,
        lan6=lan,
        bandwidth_mbps=link.bandwidth_mbps,
        baseline=baseline or Baseline(),
    )

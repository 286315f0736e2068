"""Build :class:`~links.intent.LinkIntent` objects from what the directory records.

:class:`Facts` loads the prefixes an intent needs (the link's /127 and /31, the agency's
/48s and IPv4 blocks, the CE's LAN) with a few column queries: for one link when an
engineer renders it, or for the whole directory at once when thousands of links are
rendered, so the cost per link does not include a round of SQL.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.baseline import Baseline
from directory import models as m
from directory.errors import Invalid
from links.intent import End, LinkIntent

ROUTER_ID_BASE = int(ipaddress.IPv4Address("198.18.0.0"))  # identifiers only, never routed
P = m.Prefix


def router_id(device: m.Device, v4: str | None) -> str:
    """A BGP identifier: the device's IPv4 link address, else one derived from its id."""
    if v4:
        return v4.split("/")[0]
    return str(ipaddress.IPv4Address(ROUTER_ID_BASE + device.id))


def end_addresses(cidr: str) -> tuple[str, str]:
    """(PE, CE) interface addresses: the first and second address of the /127 or /31."""
    net = ipaddress.ip_network(cidr)
    first = net.network_address
    return f"{first}/{net.prefixlen}", f"{first + 1}/{net.prefixlen}"


@dataclass
class Facts:
    """Prefixes by what owns them: link (per family), agency (per family), CE device (LAN)."""

    p2p: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    agency: dict[tuple[int, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    lan: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, links: Iterable[m.Link] | None = None) -> Facts:
        """Facts for ``links`` (or for every link when None)."""
        facts = cls()
        p2p = select(P.link_id, P.family, P.cidr).where(P.link_id.is_not(None))
        agency = (select(P.agency_id, P.family, P.cidr, P.role)
                  .where(P.role.in_(("agency", "agency-block"))).order_by(P.network))
        lan = (select(m.Interface.device_id, m.Interface.name, P.cidr)
               .join(m.Interface, m.Interface.id == P.interface_id)
               .where(P.role == "lan", P.family == 6).order_by(P.network))
        if links is not None:
            chosen = list(links)
            p2p = p2p.where(P.link_id.in_([lk.id for lk in chosen]))
            agency = agency.where(P.agency_id.in_({lk.agency_id for lk in chosen}))
            lan = lan.where(m.Interface.device_id.in_(
                {lk.b_interface.device_id for lk in chosen}))
        for link_id, family, cidr in session.execute(p2p):
            facts.p2p[link_id][family] = cidr
        for agency_id, family, cidr, role in session.execute(agency):
            if (family, role) in ((6, "agency"), (4, "agency-block")):
                facts.agency[(agency_id, family)].append(cidr)
        for device_id, ifname, cidr in session.execute(lan):
            facts.lan.setdefault(device_id, (ifname, cidr))
        return facts

    def intent(self, link: m.Link, baseline: Baseline | None = None) -> LinkIntent:
        """Everything the templates need for ``link``; refuses a link never planned."""
        if link.agency is None:
            raise Invalid(f"link {link.name} has no agency: plan it with `gin link plan`")
        nets = self.p2p.get(link.id, {})
        if 6 not in nets:
            raise Invalid(f"link {link.name} has no IPv6 /127: plan it with `gin link plan`")
        pe_if, ce_if = link.a_interface, link.b_interface
        pe_dev, ce_dev = pe_if.device, ce_if.device
        pe6, ce6 = end_addresses(nets[6])
        pe4, ce4 = end_addresses(nets[4]) if 4 in nets else (None, None)
        lan_if, lan = None, None
        if ce_dev.id in self.lan:
            lan_if, cidr = self.lan[ce_dev.id]
            net = ipaddress.IPv6Network(cidr)
            lan = ipaddress.IPv6Interface(f"{net.network_address + 1}/{net.prefixlen}")
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
            agency_prefixes6=tuple(ipaddress.IPv6Network(c)
                                   for c in self.agency.get((link.agency_id, 6), ())),
            agency_prefixes4=tuple(ipaddress.IPv4Network(c)
                                   for c in self.agency.get((link.agency_id, 4), ())),
            lan_ifname=lan_if,
            lan6=lan,
            bandwidth_mbps=link.bandwidth_mbps,
            baseline=baseline or Baseline(),
        )


def build_intent(session: Session, link: m.Link, baseline: Baseline | None = None) -> LinkIntent:
    """The intent of one link (targeted queries)."""
    return Facts.load(session, [link]).intent(link, baseline)


def all_intents(session: Session, baseline: Baseline | None = None) -> Iterable[LinkIntent]:
    """Intents of every gin-planned link, loaded in bulk; links never planned are skipped."""
    facts = Facts.load(session)
    for link in session.scalars(select(m.Link).order_by(m.Link.name)).unique():
        if link.id in facts.p2p and link.agency_id is not None:
            yield facts.intent(link, baseline)

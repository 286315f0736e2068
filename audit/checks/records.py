"""Directory facts as evidence: what the directory itself says about the GIN.

Three checks judge the directory's records, not a device's config text:

- ``inv.complete`` (7.1.1), per device: the inventory entry has what the people who run the
  device need: a platform gin knows, a management address, a credential reference, an SNMP
  profile, and a site with its province.  A device missing any is an asset gin cannot back
  up, poll or find on a map.
- ``org.contacts`` (6.1.3, 13.1.1), per agency that has devices (an agency without one
  has no network on the GIN and gets no finding): a security contact and a NOC
  (operations) contact, each with a channel that can be used (an e-mail address or a phone
  number).  The finding's device column is the agency code, as the web findings use the
  service.
- ``vpn.link_protected`` (10.6.1, 11.4.5, 12.3.1), per agency link: whether the agency's
  traffic over that link is carried in a VPN tunnel (see :func:`link_protected`).

The facts are read once per audit with one query per table (:func:`read`): the cost is
O(rows), whatever the number of devices.  ``audit`` does not import ``vpn``: tunnels are
read from their table.  :func:`directory_subjects` gives every subject the directory has
evidence about (these records and the VPN gateways of :mod:`audit.checks.vpn`), scoped to a
set of agencies; the runner judges them.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checks import vpn
from audit.checks.base import Check, Context, Result, Status, Subject
from audit.checks.registry import register
from audit.parse import ParsedConfig
from devices import platforms
from directory import models as m

SHOWN = 10
#: Link statuses under which the link carries (or is about to carry) agency traffic.
LIVE_LINKS = ("active", "provisioned")
#: Tunnel statuses that protect traffic; "down" and "planned" tunnels protect nothing.
IN_FORCE = ("up", "deployed")
#: Contact roles are free text (``gin directory contact add --role``): these words make a
#: contact the agency's security contact or its NOC, whatever the spelling around them.
SECURITY_ROLE = re.compile(r"secur|ciso|\bsoc\b|csirt|\bcert\b|incident", re.I)
NOC_ROLE = re.compile(r"\bnoc\b|operation|\bops\b|network", re.I)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # as the store validates it
MIN_PHONE_DIGITS = 6
NO_FACTS = "no directory facts: the directory's tables were not consulted"


@dataclass(frozen=True)
class DeviceRecord:
    """One device's inventory entry (what ``inv.complete`` judges)."""

    hostname: str
    agency: str | None
    platform: str
    site: str | None
    province: str | None
    mgmt_address: str | None
    credential_ref: str | None
    snmp_profile: str | None
    role: str = ""
    site_id: int | None = None


@dataclass(frozen=True)
class ContactRecord:
    name: str
    role: str
    email: str
    phone: str


@dataclass(frozen=True)
class AgencyRecord:
    """One agency, how many devices it has, and its contacts."""

    code: str
    kind: str
    devices: int = 0
    contacts: tuple[ContactRecord, ...] = ()


@dataclass(frozen=True)
class TunnelEnd:
    """A tunnel seen from one of its ends (the end that belongs to the agency)."""

    name: str
    status: str
    weak: tuple[str, ...]
    device: str
    peer: str
    site_id: int | None
    #: The subnets this end protects, as recorded at creation; None: not recorded.
    subnets: tuple[str, ...] | None


@dataclass(frozen=True)
class LinkRecord:
    """One link with what its protection depends on."""

    name: str
    status: str
    agency: str | None
    agency_kind: str | None
    site: str | None
    site_id: int | None
    #: The prefixes recorded for the link's site (LANs), not released.
    site_prefixes: tuple[str, ...] = ()
    #: Every tunnel that ends on a device of the link's agency.
    tunnels: tuple[TunnelEnd, ...] = ()
    #: The agency's gateway (role vpn-gateway, else its device at the site): the remedy's.
    gateway: str | None = None


@dataclass(frozen=True)
class DirectoryFacts:
    devices: tuple[DeviceRecord, ...] = ()
    agencies: tuple[AgencyRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()


@dataclass(frozen=True)
class RecordContext(Context):
    """A check context that carries the one directory record the check judges."""

    record: DeviceRecord | AgencyRecord | LinkRecord | None = None


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _devices(session: Session) -> dict[int, DeviceRecord]:
    rows = session.execute(
        select(m.Device.id, m.Device.hostname, m.Device.platform, m.Device.role,
               m.Device.mgmt_address, m.Device.credential_ref, m.Device.snmp_profile,
               m.Device.site_id, m.Site.code.label("site"), m.Site.province,
               m.Agency.code.label("agency"))
        .outerjoin(m.Site, m.Device.site_id == m.Site.id)
        .outerjoin(m.Agency, m.Site.agency_id == m.Agency.id)
        .order_by(m.Device.hostname))
    return {r.id: DeviceRecord(r.hostname, r.agency, _text(r.platform), r.site, r.province,
                               r.mgmt_address, r.credential_ref, r.snmp_profile,
                               _text(r.role), r.site_id) for r in rows}


def _tunnel_ends(session: Session, devices: dict[int, DeviceRecord]
                 ) -> dict[str, list[TunnelEnd]]:
    """Each tunnel twice, once from each end, under the agency that end belongs to."""
    ends: dict[str, list[TunnelEnd]] = defaultdict(list)
    for t in session.execute(select(m.Tunnel.name, m.Tunnel.status, m.Tunnel.policy,
                                    m.Tunnel.a_device_id, m.Tunnel.b_device_id)
                             .order_by(m.Tunnel.name)):
        data = t.policy if isinstance(t.policy, dict) else {}
        weak = tuple(str(w) for w in ((data.get("crypto") or {}).get("weak") or ()))
        for key, me, other in (("a", t.a_device_id, t.b_device_id),
                               ("b", t.b_device_id, t.a_device_id)):
            dev, peer = devices.get(me), devices.get(other)
            if dev is None or dev.agency is None:
                continue
            side = data.get(key) if isinstance(data.get(key), dict) else {}
            subnets = side.get("subnets")
            ends[dev.agency].append(TunnelEnd(
                t.name, _text(t.status), weak, dev.hostname, peer.hostname if peer else "?",
                dev.site_id, tuple(str(n) for n in subnets) if subnets else None))
    return ends


def read(session: Session) -> DirectoryFacts:
    """Every record the three checks need: one query per table (devices with their site
    and agency, agencies, contacts, tunnels, site prefixes, links), joined in memory."""
    devices = _devices(session)
    per_agency: dict[str | None, list[DeviceRecord]] = defaultdict(list)
    for d in devices.values():
        per_agency[d.agency].append(d)
    contacts: dict[int, list[ContactRecord]] = defaultdict(list)
    for c in session.execute(select(m.Contact.agency_id, m.Contact.name, m.Contact.role,
                                    m.Contact.email, m.Contact.phone).order_by(m.Contact.id)):
        contacts[c.agency_id].append(ContactRecord(_text(c.name), _text(c.role),
                                                   _text(c.email), _text(c.phone)))
    agency_rows = session.execute(select(m.Agency.id, m.Agency.code, m.Agency.kind)
                                  .order_by(m.Agency.code)).all()
    agencies = tuple(AgencyRecord(a.code, a.kind, len(per_agency.get(a.code, ())),
                                  tuple(contacts.get(a.id, ()))) for a in agency_rows)
    codes = {a.id: a.code for a in agency_rows}
    kinds = {a.code: a.kind for a in agency_rows}
    ends = _tunnel_ends(session, devices)
    site_prefixes: dict[int, list[str]] = defaultdict(list)
    for p in session.execute(select(m.Prefix.site_id, m.Prefix.cidr)
                             .where(m.Prefix.site_id.is_not(None),
                                    m.Prefix.status != "released")
                             .order_by(m.Prefix.cidr)):
        site_prefixes[p.site_id].append(p.cidr)

    links = []
    for ln in session.execute(
            select(m.Link.name, m.Link.status, m.Link.site_id, m.Agency.code.label("agency"),
                   m.Site.code.label("site"), m.Site.agency_id.label("site_agency"))
            .outerjoin(m.Agency, m.Link.agency_id == m.Agency.id)
            .outerjoin(m.Site, m.Link.site_id == m.Site.id)
            .order_by(m.Link.name)):
        code = ln.agency or codes.get(ln.site_agency)  # the link's agency, else its site's
        mine = per_agency.get(code, []) if code else []
        gateway = next((d.hostname for d in mine if d.role == "vpn-gateway"),
                       next((d.hostname for d in mine if d.site_id == ln.site_id), None))
        links.append(LinkRecord(
            ln.name, _text(ln.status), code, kinds.get(code) if code else None, ln.site,
            ln.site_id, tuple(site_prefixes.get(ln.site_id, ())) if ln.site_id else (),
            tuple(ends.get(code, ())) if code else (), gateway))
    return DirectoryFacts(tuple(devices.values()), agencies, tuple(links))


def _record(ctx: Context) -> Any:
    return getattr(ctx, "record", None)


# --- inventory completeness (7.1.1) --------------------------------------------------------


def _missing(d: DeviceRecord) -> list[str]:
    out = []
    if d.platform not in platforms.names():
        out.append("platform" if not d.platform else f"platform ({d.platform!r} is not one "
                                                        "gin knows)")
    for label, value in (("management address", d.mgmt_address),
                         ("credential reference", d.credential_ref),
                         ("SNMP profile", d.snmp_profile)):
        if not _text(value):
            out.append(label)
    if not _text(d.province):  # every device has a site (the column is NOT NULL)
        out.append("site province")
    return out


def inventory_complete(config: ParsedConfig | None, ctx: Context) -> Result:
    """7.1.1: the device's directory entry says what it is (platform), how to reach it
    (management address, credential reference, SNMP profile) and where it is (a site with
    its province): an entry without them is an asset nobody can back up, poll or visit."""
    d = _record(ctx)
    if not isinstance(d, DeviceRecord):
        return Result(Status.UNKNOWN, NO_FACTS)
    facts = (f"platform={d.platform or '-'} mgmt_address={d.mgmt_address or '-'} "
             f"credential_ref={'set' if d.credential_ref else '-'} "
             f"snmp_profile={d.snmp_profile or '-'}",
             f"site={d.agency or '-'}/{d.site or '-'} province={d.province or '-'}")
    evidence = tuple((None, line) for line in facts)
    missing = _missing(d)
    if missing:
        return Result(Status.FAIL, "inventory entry incomplete: no " + ", no ".join(missing),
                      evidence)
    return Result(Status.PASS, "inventory entry complete", evidence)


def _inventory_fix(d: DeviceRecord) -> list[str]:
    options = {"platform": "--platform <frr|cisco_ios|...>",
               "management address": "--mgmt-address <ip>",
               "credential reference": "--credential-ref <vault:...|file:...>",
               "SNMP profile": "--snmp-profile <profile>"}
    missing = _missing(d)
    wanted = [opt for label, opt in options.items()
              if any(x.startswith(label) for x in missing)]
    out = []
    if wanted:
        out.append(f"gin directory device set {d.hostname} " + " ".join(wanted))
    if "site province" in missing:
        out.append(f"gin directory site set {d.agency} {d.site} --province <province>")
    return out


# --- contacts (6.1.3, 13.1.1) ---------------------------------------------------------------


def _reachable(c: ContactRecord) -> list[str]:
    digits = sum(ch.isdigit() for ch in c.phone)
    out = []
    if EMAIL.fullmatch(c.email):
        out.append(f"e-mail {c.email}")
    if digits >= MIN_PHONE_DIGITS:
        out.append(f"phone {c.phone}")
    return out


def contacts(config: ParsedConfig | None, ctx: Context) -> Result:
    """6.1.3 / 13.1.1: someone is responsible for the agency's security and someone runs
    its network, and the GIN can reach both when an incident needs reporting: a security
    contact and a NOC contact (by role), each with a usable e-mail address or phone number.
    An agency with no device has no network on the GIN to answer for: not applicable."""
    a = _record(ctx)
    if not isinstance(a, AgencyRecord):
        return Result(Status.UNKNOWN, NO_FACTS)
    if not a.devices:
        return Result(Status.NOT_APPLICABLE, f"agency {a.code} has no device in the directory")
    evidence = tuple((None, f"contact {c.name} ({c.role or 'no role'}): "
                            + (", ".join(_reachable(c)) or "no usable e-mail or phone"))
                     for c in a.contacts[:SHOWN])
    lacking = []
    for label, pattern in (("security", SECURITY_ROLE), ("NOC", NOC_ROLE)):
        holders = [c for c in a.contacts if pattern.search(c.role)]
        if not holders:
            lacking.append(f"no {label} contact")
        elif not any(_reachable(c) for c in holders):
            lacking.append(f"the {label} contact has no usable e-mail or phone")
    if lacking:
        return Result(Status.FAIL, f"agency {a.code} ({a.devices} device(s)): "
                                   + "; ".join(lacking),
                      evidence or ((None, "no contact recorded"),))
    return Result(Status.PASS, "security and NOC contacts recorded and reachable", evidence)


def _contacts_fix(a: AgencyRecord) -> list[str]:
    return [f'gin directory contact add {a.code} "<name>" --role {role} '
            "--email <address> --phone <number>" for role in ("security", "noc")]


# --- VPN protection of agency links (10.6.1, 11.4.5, 12.3.1) ----------------------------------


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _covers(subnets: Sequence[str], prefixes: Sequence[str]) -> bool:
    nets = [n for n in map(_net, subnets) if n is not None]
    for p in map(_net, prefixes):
        if p is None or not any(p.version == n.version and p.subnet_of(n)  # type: ignore[arg-type]
                                for n in nets):
            return False
    return True


def link_protected(config: ParsedConfig | None, ctx: Context) -> Result:
    """10.6.1 / 11.4.5 / 12.3.1: the agency's data does not cross the GIN in clear.

    A GIN link carries an agency's traffic over the shared backbone; it is *protected* when
    a tunnel in force (status up or deployed, no weak algorithm recorded) ends on a gateway
    of the link's agency and covers the link's site: the tunnel ends at that site, or every
    prefix recorded for the site lies inside the subnets the tunnel protects on the agency's
    side.  Down, planned and weak tunnels protect nothing.  A link that carries no traffic
    (planned, failed, decommissioned) and the operator's own backbone links are not
    applicable; an agency whose tunnels are in force but whose site's coverage cannot be
    told (no site prefix recorded, tunnel subnets not recorded) is unknown."""
    link = _record(ctx)
    if not isinstance(link, LinkRecord):
        return Result(Status.UNKNOWN, NO_FACTS)
    if link.status not in LIVE_LINKS:
        return Result(Status.NOT_APPLICABLE, f"link is {link.status}: it carries no traffic")
    if link.agency is None:
        return Result(Status.UNKNOWN, "the directory does not say which agency the link "
                                      "serves (no agency or site on the link)")
    if link.agency_kind == "gin":
        return Result(Status.NOT_APPLICABLE, "a backbone link of the GIN operator")
    where = f"{link.agency}/{link.site}" if link.site else link.agency
    evidence: list[tuple[int | None, str]] = [
        (None, f"link {link.name} ({link.status}) serves {where}")]
    if link.site_prefixes:
        evidence.append((None, "site prefixes: " + ", ".join(link.site_prefixes[:SHOWN])))
    good, refused = [], []
    for t in link.tunnels:
        if t.status not in IN_FORCE:
            refused.append(f"tunnel {t.name} ({t.device} -> {t.peer}) is {t.status or '?'}")
        elif t.weak:
            refused.append(f"tunnel {t.name} ({t.device} -> {t.peer}) uses weak "
                           + ", ".join(t.weak))
        else:
            good.append(t)
    evidence += [(None, line) for line in refused[:SHOWN]]
    if not good:
        why = ("no tunnel of the agency is in force" if refused
               else f"agency {link.agency} has no VPN tunnel")
        return Result(Status.FAIL, f"{why}: its data crosses the GIN in clear",
                      tuple(evidence))
    undecided = []
    for t in good:
        line = (f"tunnel {t.name} ({t.device} -> {t.peer}, {t.status}) protects "
                + (", ".join(t.subnets) if t.subnets else "subnets not recorded"))
        if link.site_id is None or t.site_id == link.site_id or (
                link.site_prefixes and t.subnets and _covers(t.subnets, link.site_prefixes)):
            return Result(Status.PASS, f"carried in VPN tunnel {t.name}",
                          (*evidence, (None, line)))
        if not link.site_prefixes or not t.subnets:
            undecided.append(line)
        else:
            evidence.append((None, line + ": not the site's prefixes"))
    if undecided:
        return Result(Status.UNKNOWN, "the agency has tunnels in force, but whether they "
                                      "carry this site's traffic is not recorded (no site "
                                      "prefix or no tunnel subnets in the directory)",
                      (*evidence, *((None, u) for u in undecided[:SHOWN])))
    return Result(Status.FAIL, "the agency's tunnels in force do not cover this site's "
                               "prefixes: its data crosses the GIN in clear", tuple(evidence))


def _link_fix(link: LinkRecord) -> list[str]:
    gateway = link.gateway or "<agency-gateway>"
    return [f"gin vpn create {gateway} <peer-gateway> --type ikev2 --name <tunnel> "
            "&& gin vpn deploy <tunnel>",
            "gin vpn status <tunnel>  # up: the directory records it"]


def _check(id_: str, title: str, severity: str, rule: Any, fix: Sequence[str],
           subject: str, remedy: Callable[[Any], list[str]]) -> Check:
    return Check(id=id_, title=title, severity=severity, rules={"*": rule},
                 remediation={"*": list(fix)}, context_only=True, subject=subject,
                 remedy=lambda ctx: remedy(_record(ctx)))


INVENTORY = _check("inv.complete", "Device inventory entry complete", "low",
                   inventory_complete,
                   ["gin directory device set <hostname> --mgmt-address <ip> "
                    "--credential-ref <ref> --snmp-profile <profile>",
                    "gin directory site set <agency> <site> --province <province>"],
                   "device-record", _inventory_fix)
CONTACTS = _check("org.contacts", "Agency security and NOC contacts recorded and reachable",
                  "medium", contacts,
                  ['gin directory contact add <agency> "<name>" --role security '
                   "--email <address>",
                   'gin directory contact add <agency> "<name>" --role noc --phone <number>'],
                  "agency-record", _contacts_fix)
LINK_VPN = _check("vpn.link_protected", "Agency link traffic protected by a VPN tunnel",
                  "medium", link_protected,
                  ["gin vpn create <agency-gateway> <peer-gateway> --type ikev2 "
                   "&& gin vpn deploy <tunnel>"],
                  "link-record", _link_fix)
CHECKS: tuple[Check, ...] = register(INVENTORY, CONTACTS, LINK_VPN)


def subjects(facts: DirectoryFacts, agencies: set[str] | None = None) -> list[Subject]:
    """One subject per device entry, per agency with devices (an agency with no device has
    nothing on the GIN: no row of n/a) and per agency link, in scope (``agencies``:
    upper-case codes, None: the whole GIN)."""
    out = [Subject(d.hostname, "device-record", d.platform or "-",
                   RecordContext(device=d.hostname, agency=d.agency, record=d), d.agency,
                   "directory") for d in facts.devices]
    out += [Subject(a.code, "agency-record", "agency",
                    RecordContext(device=a.code, agency=a.code, record=a), a.code, "directory")
            for a in facts.agencies if a.devices]
    out += [Subject(k.name, "link-record", "link",
                    RecordContext(device=k.name, agency=k.agency, record=k), k.agency,
                    "directory") for k in facts.links]
    return [s for s in out if agencies is None or (s.agency or "").upper() in agencies]


def unconsulted_subjects(devices: Sequence[tuple[str, str | None, str]]) -> list[Subject]:
    """With no directory consulted, the records it would hold are missing evidence, not
    absent duties: each audited device (``(name, agency, platform)``) still has an inventory
    entry to judge and each of their agencies its contacts, both "unknown" (no record), so
    an audit without the directory never scores above one with it for these."""
    out = [Subject(name, "device-record", platform or "-",
                   RecordContext(device=name, agency=agency), agency, "no directory")
           for name, agency, platform in devices]
    for code in sorted({agency for _, agency, _ in devices if agency}):
        out.append(Subject(code, "agency-record", "agency",
                           RecordContext(device=code, agency=code), code, "no directory"))
    return out


def directory_subjects(session: Session, agencies: set[str] | None = None) -> list[Subject]:
    """Everything the directory gives evidence for, in scope: inventory entries, agencies'
    contacts, link protection, then the VPN gateways' tunnels and certificates."""
    gateways = vpn.subjects(vpn.vpn_facts(session))
    return subjects(read(session), agencies) + [
        g for g in gateways if agencies is None or (g.agency or "").upper() in agencies]

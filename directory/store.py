"""The directory's public API: open it, look things up, add, change and remove them.

Every function takes an open :class:`~sqlalchemy.orm.Session` (one transaction, from
:meth:`Directory.transaction`) so callers can compose several steps atomically: a failed
import or a failed provisioning step rolls back as a whole.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from . import chain, changelog
from . import models as m
from .db import open_engine
from .errors import Conflict, Invalid, NotFound
from .names import clean_code, clean_hostname, clean_ifname, clean_text, search_key
from .platform_names import registered as registered_platforms

T = TypeVar("T", bound=m.Base)


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return f"uid{os.getuid()}"


def local_actor(claim: str | None = None) -> str:
    """Who the change log records for a process using the database directly.

    Always ``cli:<OS user>``: whoever can open the database file or URL acts as themselves.
    A name claimed with ``--actor`` / ``GIN_ACTOR`` (a script, the lab, a ticket) is kept
    beside it (``cli:root as deploy-bot``) and never replaces it, so nobody can write history
    in another's name.  Authenticated names come only from the service (``api:<user>``).
    """
    claim = claim if claim is not None else os.environ.get("GIN_ACTOR")
    actor = f"cli:{os_user()}"
    text = clean_text(claim, "actor", 96, required=False)
    return (f"{actor} as {text}" if text and text != os_user() else actor)[:128]


def default_actor() -> str:
    """The actor of a direct (non-service) use: see :func:`local_actor`."""
    return local_actor()


class Directory:
    """An open directory: engine, session factory and the actor for the change log.

    ``actor`` is a claim recorded beside the OS user (see :func:`local_actor`); the service
    passes the authenticated principal per transaction instead.
    """

    def __init__(self, db: str | None = None, actor: str | None = None,
                 engine: Engine | None = None) -> None:
        self.engine = engine or open_engine(db)
        self.actor = local_actor(actor)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        changelog.install(self._factory)

    @contextmanager
    def transaction(self, actor: str | None = None) -> Iterator[Session]:
        """One atomic unit of work; any exception rolls everything back.  ``actor`` is for
        the service only: the authenticated principal it has already checked."""
        with self._factory() as session:
            session.info["actor"] = actor or self.actor
            try:
                with session.begin():
                    yield session
            except IntegrityError as exc:
                raise Conflict(_integrity_message(exc)) from exc
            except DataError as exc:  # a value the database cannot hold
                raise Invalid(_integrity_message(exc)) from exc

    def close(self) -> None:
        self.engine.dispose()


def _integrity_message(exc: IntegrityError | DataError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    return f"the change conflicts with the directory: {text}"


def _one(session: Session, stmt: Any, what: str) -> Any:
    obj = session.scalars(stmt).unique().first()
    if obj is None:
        raise NotFound(f"{what} not found")
    return obj


# --- look-ups -------------------------------------------------------------------------------


def get_agency(session: Session, code: str) -> m.Agency:
    code = clean_code(code, "agency")
    return _one(session, select(m.Agency).where(m.Agency.code == code), f"agency {code!r}")


def get_site(session: Session, agency: str, code: str) -> m.Site:
    ag = get_agency(session, agency)
    code = clean_code(code, "site")
    stmt = select(m.Site).where(m.Site.agency_id == ag.id, m.Site.code == code)
    return _one(session, stmt, f"site {ag.code}/{code}")


def get_device(session: Session, hostname: str) -> m.Device:
    name = clean_hostname(hostname)
    return _one(session, select(m.Device).where(m.Device.hostname == name), f"device {name!r}")


def get_interface(session: Session, hostname: str, ifname: str) -> m.Interface:
    dev = get_device(session, hostname)
    name = clean_ifname(ifname)
    stmt = select(m.Interface).where(m.Interface.device_id == dev.id, m.Interface.name == name)
    return _one(session, stmt, f"interface {dev.hostname}:{name}")


def get_link(session: Session, name: str) -> m.Link:
    return _one(session, select(m.Link).where(m.Link.name == name), f"link {name!r}")


def get_prefix(session: Session, cidr: str) -> m.Prefix:
    net = parse_network(cidr)
    stmt = select(m.Prefix).where(
        m.Prefix.family == net.version,
        m.Prefix.network == to_hex(int(net.network_address)),
        m.Prefix.prefixlen == net.prefixlen,
    )
    return _one(session, stmt, f"prefix {net}")


def find_agencies(session: Session, query: str = "", limit: int | None = None) -> list[m.Agency]:
    """Search by code, English or Thai name (NFC, case-insensitive substring)."""
    stmt = select(m.Agency).order_by(m.Agency.code)
    agencies = list(session.scalars(stmt).unique())
    if query:
        key = search_key(query)
        agencies = [
            a for a in agencies
            if key in search_key(a.code) or key in search_key(a.name_en)
            or (a.name_th and key in search_key(a.name_th))
        ]
    return agencies[:limit] if limit else agencies


def lineage_ids(session: Session, code: str) -> list[int]:
    """The agency's id, then its parent's, up to the top (a ministry and its departments)."""
    agency = get_agency(session, code)
    ids, parent = [agency.id], agency.parent_id
    while parent is not None and parent not in ids:
        ids.append(parent)
        parent = session.scalar(select(m.Agency.parent_id).where(m.Agency.id == parent))
    return ids


def subtree_ids(session: Session, roots: list[int]) -> set[int]:
    """The given agencies and every agency under them, at any depth."""
    if not roots:
        return set()
    children: dict[int | None, list[int]] = {}
    for agency_id, parent_id in session.execute(select(m.Agency.id, m.Agency.parent_id)):
        children.setdefault(parent_id, []).append(agency_id)
    out, todo = set(), list(roots)
    while todo:
        node = todo.pop()
        if node not in out:
            out.add(node)
            todo.extend(children.get(node, ()))
    return out


MAX_PAGE = 1000


def agency_page(session: Session, query: str = "", kind: str | None = None,
                parent: str | None = None, after: str | None = None, limit: int = 100,
                within: set[int] | None = None) -> tuple[list[m.Agency], str | None]:
    """One page of agencies in code order, and the cursor of the next page (None at the end).

    ``after`` is the last code of the previous page: pages stay stable while agencies are
    added or removed elsewhere (no offsets that shift); ``within`` limits to those agency ids.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit: {limit} is outside 1..{MAX_PAGE}")
    # The parents of a page in one query: the mapping's joined load does not reach through
    # a self-reference, which cost one query per agency shown.
    stmt = select(m.Agency).order_by(m.Agency.code).options(selectinload(m.Agency.parent))
    if kind:
        stmt = stmt.where(m.Agency.kind == _choice(kind, m.AGENCY_KINDS, "kind"))
    if parent:
        stmt = stmt.where(m.Agency.parent_id == get_agency(session, parent).id)
    if after:
        stmt = stmt.where(m.Agency.code > clean_code(after, "after"))
    if within is not None:
        stmt = stmt.where(m.Agency.id.in_(within) if within else m.Agency.id.is_(None))
    key = search_key(query) if query else ""
    # One more row tells whether a next page exists; a search reads on in batches (a
    # server-side cursor: round trips a plain page does not need).
    stmt = stmt.limit(limit + 1) if not key else stmt.execution_options(yield_per=500)
    page: list[m.Agency] = []
    for agency in session.scalars(stmt):
        if key and not (key in search_key(agency.code) or key in search_key(agency.name_en)
                        or (agency.name_th and key in search_key(agency.name_th))):
            continue
        if len(page) == limit:
            return page, page[-1].code
        page.append(agency)
    return page, None


def list_all(session: Session, model: type[T], *order: Any) -> list[T]:
    return list(session.scalars(select(model).order_by(*(order or (model.id,)))).unique())


# --- addresses --------------------------------------------------------------------------------


def to_hex(value: int) -> str:
    """Fixed-width hex, so string order equals numeric order in any database."""
    return f"{value:032x}"


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A prefix in CIDR notation with no host bits set; a bare address is a /32 or /128."""
    raw = clean_text(text, "prefix", 64)
    assert raw is not None
    try:
        return ipaddress.ip_network(raw, strict=True)
    except ValueError as exc:
        raise Invalid(f"prefix: {raw!r} is not a valid IPv4/IPv6 prefix ({exc})") from None


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = clean_text(text, "address", 64)
    assert raw is not None
    try:
        return ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        raise Invalid(f"address: {raw!r} is not a valid IPv4/IPv6 address") from None


# --- create / update / delete -----------------------------------------------------------------

AGENCY_FIELDS = {"code", "name_en", "name_th", "kind", "parent", "asn", "description"}
SITE_FIELDS = {"code", "name", "province", "address", "latitude", "longitude"}
DEVICE_FIELDS = {"hostname", "role", "platform", "mgmt_address", "mgmt_port", "snmp_profile",
                 "snmp_address", "credential_ref", "asn"}


def _check_fields(given: dict[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(given) - allowed
    if unknown:
        raise Invalid(f"{what}: unknown field(s) {', '.join(sorted(unknown))}")


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:
    text = clean_text(value, field, 32)
    assert text is not None
    if text.lower() not in allowed:
        raise Invalid(f"{field}: {text!r} is not one of {', '.join(allowed)}")
    return text.lower()


def clean_platform(value: Any, field: str = "platform") -> str:
    """A registered platform's name (``gin.platforms`` entry points: gin's and plug-ins')."""
    known = registered_platforms()
    text = clean_text(value, field, 32)
    assert text is not None
    if text.lower() not in known:
        raise Invalid(f"{field}: {text!r} is not a registered platform (known: "
                      f"{', '.join(known) or 'none: is gin installed?'})")
    return text.lower()


def _int(value: Any, field: str, lo: int, hi: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field}: {value!r} is not a whole number") from None
    if not lo <= number <= hi:
        raise Invalid(f"{field}: {number} is outside {lo}..{hi}")
    return number


def _float(value: Any, field: str, lo: float, hi: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field}: {value!r} is not a number") from None
    if not lo <= number <= hi:
        raise Invalid(f"{field}: {number} is outside {lo}..{hi}")
    return number


def agency_values(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate agency fields; ``parent`` is a parent agency code."""
    _check_fields(fields, AGENCY_FIELDS, "agency")
    out: dict[str, Any] = {}
    if "code" in fields:
        out["code"] = clean_code(fields["code"])
    if "name_en" in fields:
        out["name_en"] = clean_text(fields["name_en"], "name_en")
    if "name_th" in fields:
        out["name_th"] = clean_text(fields["name_th"], "name_th", required=False)
    if "kind" in fields:
        out["kind"] = _choice(fields["kind"] or "department", m.AGENCY_KINDS, "kind")
    if "parent" in fields:
        parent = fields["parent"]
        out["parent_id"] = get_agency(session, parent).id if parent else None
    if "asn" in fields:
        out["asn"] = _int(fields["asn"], "asn", 1, 4294967294)
    if "description" in fields:
        out["description"] = clean_text(fields["description"], "description", 1000, False)
    return out


def add_agency(session: Session, **fields: Any) -> m.Agency:
    values = agency_values(session, fields)
    if "code" not in values or "name_en" not in values:
        raise Invalid("agency: code and name_en are required")
    if session.scalar(select(m.Agency.id).where(m.Agency.code == values["code"])):
        raise Conflict(f"agency {values['code']!r} already exists")
    agency = m.Agency(**values)
    session.add(agency)
    session.flush()
    return agency


def site_values(fields: dict[str, Any]) -> dict[str, Any]:
    _check_fields(fields, SITE_FIELDS, "site")
    out: dict[str, Any] = {}
    if "code" in fields:
        out["code"] = clean_code(fields["code"], "site")
    for key, size in (("name", 255), ("province", 64), ("address", 1000)):
        if key in fields:
            out[key] = clean_text(fields[key], key, size, required=False)
    if "latitude" in fields:
        out["latitude"] = _float(fields["latitude"], "latitude", -90, 90)
    if "longitude" in fields:
        out["longitude"] = _float(fields["longitude"], "longitude", -180, 180)
    return out


def add_site(session: Session, agency: str, **fields: Any) -> m.Site:
    ag = get_agency(session, agency)
    values = site_values(fields)
    if "code" not in values:
        raise Invalid("site: code is required")
    exists = select(m.Site.id).where(m.Site.agency_id == ag.id, m.Site.code == values["code"])
    if session.scalar(exists):
        raise Conflict(f"site {ag.code}/{values['code']} already exists")
    site = m.Site(agency=ag, **values)
    session.add(site)
    session.flush()
    return site


def device_values(fields: dict[str, Any]) -> dict[str, Any]:
    _check_fields(fields, DEVICE_FIELDS, "device")
    out: dict[str, Any] = {}
    if "hostname" in fields:
        out["hostname"] = clean_hostname(fields["hostname"])
    if "role" in fields:
        out["role"] = _choice(fields["role"], m.DEVICE_ROLES, "role")
    if "platform" in fields:
        out["platform"] = clean_platform(fields["platform"])
    for key in ("mgmt_address", "snmp_address"):
        if key in fields:
            value = fields[key]
            out[key] = str(parse_address(value)) if value else None
    if "mgmt_port" in fields:
        out["mgmt_port"] = _int(fields["mgmt_port"], "mgmt_port", 1, 65535)
    if "snmp_profile" in fields:
        out["snmp_profile"] = clean_text(fields["snmp_profile"], "snmp_profile", 64, False)
    if "credential_ref" in fields:
        out["credential_ref"] = clean_text(fields["credential_ref"], "credential_ref", 255, False)
    if "asn" in fields:
        out["asn"] = _int(fields["asn"], "asn", 1, 4294967294)
    return out


def add_device(session: Session, agency: str, site: str, **fields: Any) -> m.Device:
    st = get_site(session, agency, site)
    values = device_values(fields)
    missing = {"hostname", "role", "platform"} - set(values)
    if missing:
        raise Invalid(f"device: {', '.join(sorted(missing))} required")
    if session.scalar(select(m.Device.id).where(m.Device.hostname == values["hostname"])):
        raise Conflict(f"device {values['hostname']!r} already exists")
    device = m.Device(site=st, **values)
    session.add(device)
    session.flush()
    return device


def add_interface(session: Session, hostname: str, name: str, description: str | None = None,
                  speed_mbps: int | None = None, enabled: bool = True) -> m.Interface:
    dev = get_device(session, hostname)
    ifname = clean_ifname(name)
    exists = select(m.Interface.id).where(m.Interface.device_id == dev.id,
                                          m.Interface.name == ifname)
    if session.scalar(exists):
        raise Conflict(f"interface {dev.hostname}:{ifname} already exists")
    iface = m.Interface(device=dev, name=ifname,
                        description=clean_text(description, "description", 255, False),
                        speed_mbps=_int(speed_mbps, "speed_mbps", 1, 10**7), enabled=enabled)
    session.add(iface)
    session.flush()
    return iface


def ensure_interface(session: Session, hostname: str, name: str) -> m.Interface:
    """The interface, created if the directory does not know it yet."""
    try:
        return get_interface(session, hostname, name)
    except NotFound:
        return add_interface(session, hostname, name)


CONTACT_FIELDS = {"name", "role", "email", "phone"}


def contact_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate contact fields (what :func:`add_contact` and :func:`update` store)."""
    _check_fields(fields, CONTACT_FIELDS, "contact")
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = clean_text(fields["name"], "name")
    for key, size in (("role", 64), ("email", 255), ("phone", 64)):
        if key in fields:
            out[key] = clean_text(fields[key], key, size, required=False)
    email = out.get("email")
    if email and ("@" not in email or " " in email):
        raise Invalid(f"email: {email!r} is not an e-mail address")
    return out


def add_contact(session: Session, agency: str, name: str, role: str | None = None,
                email: str | None = None, phone: str | None = None) -> m.Contact:
    ag = get_agency(session, agency)
    values = contact_values({"name": name, "role": role, "email": email, "phone": phone})
    contact = m.Contact(agency=ag, **values)
    session.add(contact)
    session.flush()
    return contact


def get_contact(session: Session, agency: str, contact_id: int) -> m.Contact:
    """A contact by its id, only as one of ``agency``'s (ids are shown by the lists)."""
    ag = get_agency(session, agency)
    found = session.get(m.Contact, contact_id)
    if found is None or found.agency_id != ag.id:
        raise NotFound(f"contact {contact_id} of {ag.code} not found")
    return found


def add_link(session: Session, name: str, a: tuple[str, str], b: tuple[str, str],
             agency: str | None = None, site: str | None = None,
             bandwidth_mbps: int | None = None, description: str | None = None,
             status: str = "planned") -> m.Link:
    """Record a link between two interfaces (created if the directory lacks them).

    An interface carries at most one live link: a second one on the same port is refused
    (a decommissioned link's port is free again).
    """
    link_name = clean_text(name, "link", 128)
    if session.scalar(select(m.Link.id).where(m.Link.name == link_name)):
        raise Conflict(f"link {link_name!r} already exists")
    a_if, b_if = ensure_interface(session, *a), ensure_interface(session, *b)
    if a_if.device_id == b_if.device_id:
        raise Invalid(f"link {link_name}: both ends are on device {a_if.device.hostname}")
    for iface in (a_if, b_if):
        used = select(m.Link.name).where(or_(m.Link.a_interface_id == iface.id,
                                             m.Link.b_interface_id == iface.id),
                                         m.Link.status != "decommissioned")
        other = session.scalar(used)
        if other:
            raise Conflict(f"interface {iface.device.hostname}:{iface.name} already carries "
                           f"link {other!r}")
    ag = get_agency(session, agency) if agency else None
    st = get_site(session, agency, site) if agency and site else None
    lk = m.Link(name=link_name, a_interface=a_if, b_interface=b_if, agency=ag,
                site_id=st.id if st else None,
                status=_choice(status, m.LINK_STATUSES, "status"),
                bandwidth_mbps=_int(bandwidth_mbps, "bandwidth_mbps", 1, 10**7),
                description=clean_text(description, "description", 255, False))
    session.add(lk)
    session.flush()
    return lk


def update(session: Session, obj: m.Base, **fields: Any) -> m.Base:
    """Change fields of an agency, site, device, service or contact after validating them
    with the function its ``add_*`` uses; every field is checked before any is set, so a
    refused change leaves the object as it was."""
    match obj:
        case m.Agency():
            values = agency_values(session, fields)
            if values.get("parent_id") == obj.id:
                raise Conflict(f"agency {obj.code} cannot be its own parent")
        case m.Site():
            values = site_values(fields)
        case m.Device():
            values = device_values(fields)
        case m.Service():
            values = service_values(fields, obj)
            name = values.get("name", obj.name)
            clash = select(m.Service.id).where(m.Service.agency_id == obj.agency_id,
                                               m.Service.name == name, m.Service.id != obj.id)
            if session.scalar(clash):
                raise Conflict(f"service {obj.agency.code}/{name} already exists: "
                               "choose another name or remove that service first")
        case m.Contact():
            values = contact_values(fields)
        case _:
            raise Invalid(f"{type(obj).__name__.lower()}: cannot be edited this way")
    for key, value in values.items():
        setattr(obj, key, value)
    session.flush()
    return obj


def remove(session: Session, obj: m.Base) -> None:
    """Delete an object; refuses (Conflict) while something still refers to it."""
    what = f"{type(obj).__tablename__} {changelog.object_key(obj)}"
    blockers = _references(session, obj)
    if blockers:
        raise Conflict(f"cannot remove {what}: still used by {blockers}")
    session.delete(obj)
    session.flush()


def _references(session: Session, obj: m.Base) -> str:
    checks: list[tuple[str, Any]] = []
    match obj:
        case m.Agency():
            checks = [("sub-agencies", select(m.Agency.id).where(m.Agency.parent_id == obj.id)),
                      ("sites", select(m.Site.id).where(m.Site.agency_id == obj.id)),
                      ("prefixes", select(m.Prefix.id).where(m.Prefix.agency_id == obj.id)),
                      ("services", select(m.Service.id).where(m.Service.agency_id == obj.id))]
        case m.Site():
            checks = [("devices", select(m.Device.id).where(m.Device.site_id == obj.id))]
        case m.Device():
            ifaces = select(m.Interface.id).where(m.Interface.device_id == obj.id)
            checks = [
                ("links", select(m.Link.id).where(or_(m.Link.a_interface_id.in_(ifaces),
                                                      m.Link.b_interface_id.in_(ifaces)))),
                ("tunnels", select(m.Tunnel.id).where(or_(m.Tunnel.a_device_id == obj.id,
                                                          m.Tunnel.b_device_id == obj.id))),
                ("certificates", select(m.Certificate.id).where(
                    m.Certificate.device_id == obj.id)),
            ]
        case m.Prefix():
            checks = [("child prefixes", select(m.Prefix.id).where(m.Prefix.parent_id == obj.id))]
    used = [name for name, stmt in checks if session.scalar(stmt.limit(1)) is not None]
    return ", ".join(used)


def history(session: Session, object_type: str | None = None, key: str | None = None,
            limit: int = 100, before: int | None = None) -> list[m.Change]:
    """The newest entries first; ``before`` (an entry id) pages back from there."""
    stmt = select(m.Change).order_by(m.Change.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(m.Change.id < before)
    if object_type:
        stmt = stmt.where(m.Change.object_type == object_type)
    if key:
        stmt = stmt.where(m.Change.object_key == key)
    return list(session.scalars(stmt))


def verify_history(session: Session) -> chain.Verdict:
    """Walk the change log's hash chain: was any entry altered, removed or slipped in?"""
    return chain.verify(session.connection())


# --- public services (websites, e-service portals) ---------------------------------------------

FQDN_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
SERVICE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_SERVICE_HOSTS = 32


def clean_fqdn(value: object, field: str = "host") -> str:
    """A DNS name (``www.example.go.th``), lower case; Thai names are stored as IDNA (xn--)."""
    text = clean_text(value, field, 253)
    assert text is not None
    name = text.lower().rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise Invalid(f"{field}: {text!r} is not a valid DNS name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(FQDN_LABEL_RE.fullmatch(label) for label in labels):
        raise Invalid(f"{field}: {text!r} is not a valid DNS name")
    return ascii_name


def clean_url(value: object) -> tuple[str, str]:
    """An ``http(s)://host[:port]/path`` URL without credentials; returns (url, host).

    Credentials in a URL would end up in reports and logs, so they are refused outright.
    """
    text = clean_text(value, "url", 2048)
    assert text is not None
    if any(ch.isspace() for ch in text):
        raise Invalid("url: must not contain spaces")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"url: {text!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid(f"url: {text!r} must start with http:// or https://")
    if "@" in parts.netloc:
        raise Invalid("url: must not contain a user name or password")
    host = clean_fqdn(parts.hostname or "", "url host")
    netloc = host if port is None else f"{host}:{port}"
    if port == 0:
        raise Invalid("url: port 0 is not a valid port")
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    return url, host


def get_service(session: Session, agency: str, name: str) -> m.Service:
    ag = get_agency(session, agency)
    key = _service_name(name)
    stmt = select(m.Service).where(m.Service.agency_id == ag.id, m.Service.name == key)
    return _one(session, stmt, f"service {ag.code}/{key}")


def _service_name(value: object) -> str:
    text = clean_text(value, "service", 64)
    assert text is not None
    if not SERVICE_NAME_RE.fullmatch(text.lower()):
        raise Invalid(f"service: {text!r} is not a valid name (a-z, 0-9, _ . -, max 64)")
    return text.lower()


SERVICE_FIELDS = {"name", "url", "hosts", "description"}


def _service_hosts(url_host: str, hosts: object) -> list[str]:
    """The URL's host first, then the other names (cleaned, each once)."""
    if not isinstance(hosts, list | tuple):
        raise Invalid("hosts: expected a list of host names")
    if len(hosts) > MAX_SERVICE_HOSTS:
        raise Invalid(f"hosts: more than {MAX_SERVICE_HOSTS} host names")
    names = [url_host]
    for host in hosts:
        fqdn = clean_fqdn(host)
        if fqdn not in names:
            names.append(fqdn)
    return names


def service_values(fields: dict[str, Any], current: m.Service | None = None) -> dict[str, Any]:
    """Validate service fields (what :func:`add_service` and :func:`update` store).

    ``hosts`` are the names besides the URL's host, which is always first.  When a change
    gives a new ``url`` without ``hosts``, ``current``'s other names are kept; its old URL
    host goes unless it is listed again.
    """
    _check_fields(fields, SERVICE_FIELDS, "service")
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = _service_name(fields["name"])
    url_host = current.hosts[0] if current is not None and current.hosts else None
    if "url" in fields:
        out["url"], url_host = clean_url(fields["url"])
    if url_host is not None and ("url" in fields or "hosts" in fields):
        others = fields["hosts"] if "hosts" in fields else (current.hosts[1:] if current else [])
        out["hosts"] = _service_hosts(url_host, others)
    if "description" in fields:
        out["description"] = clean_text(fields["description"], "description", 255, False)
    return out


def add_service(session: Session, agency: str, name: str, url: str,
                hosts: list[str] | tuple[str, ...] = (),
                description: str | None = None) -> m.Service:
    """Record a public service; its URL's host is always the first of its host names."""
    ag = get_agency(session, agency)
    values = service_values({"name": name, "url": url, "hosts": hosts,
                             "description": description})
    exists = select(m.Service.id).where(m.Service.agency_id == ag.id,
                                        m.Service.name == values["name"])
    if session.scalar(exists):
        raise Conflict(f"service {ag.code}/{values['name']} already exists")
    service = m.Service(agency=ag, **values)
    session.add(service)
    session.flush()
    return service


def list_services(session: Session, agency: str | None = None) -> list[m.Service]:
    """Every service (or one agency's), ordered by agency code then name."""
    stmt = select(m.Service).join(m.Service.agency).order_by(m.Agency.code, m.Service.name)
    if agency:
        stmt = stmt.where(m.Service.agency_id == get_agency(session, agency).id)
    return list(session.scalars(stmt).unique())


def remove_service(session: Session, agency: str, name: str) -> None:
    remove(session, get_service(session, agency, name))

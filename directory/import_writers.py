"""One writer per kind for the importer's careful path: create, update or leave one row.

Each writer goes through :mod:`directory.store` (and :mod:`directory.allocator` for
prefixes), so an imported row obeys exactly the rules a hand-typed ``gin directory ... add``
does.  The importer runs it inside a savepoint per row; :mod:`directory.bulkload` is the fast
path for plain creations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from . import store
from .errors import DirectoryError, Invalid, NotFound
from .import_rules import KEYS, LABEL, key_label, service_hosts
from .readers import KINDS


def _existing(session: Session, kind: str, v: dict[str, Any]) -> Any:
    try:
        match kind:
            case "agencies":
                return store.get_agency(session, v["code"])
            case "sites":
                return store.get_site(session, v["agency"], v["code"])
            case "devices":
                return store.get_device(session, v["hostname"])
            case "interfaces":
                return store.get_interface(session, v["device"], v["name"])
            case "links":
                return session.scalars(select(m.Link).where(m.Link.name == v["name"])).first()
            case "prefixes":  # cheap existence test first: most imported prefixes are new
                net = store.parse_network(v["prefix"])
                pid = session.scalar(select(m.Prefix.id).where(
                    m.Prefix.family == net.version, m.Prefix.prefixlen == net.prefixlen,
                    m.Prefix.network == store.to_hex(int(net.network_address))))
                return session.get(m.Prefix, pid) if pid is not None else None
            case "contacts":
                ag = store.get_agency(session, v["agency"])
                stmt = select(m.Contact).where(m.Contact.agency_id == ag.id,
                                               m.Contact.name == v["name"])
                return session.scalars(stmt).first()
            case "services":
                return store.get_service(session, v["agency"], v["name"])
    except NotFound:
        return None
    return None


def _write(kind: str) -> Callable[[Session, dict[str, Any], str], str]:
    def writer(session: Session, v: dict[str, Any], mode: str) -> str:
        obj = _existing(session, kind, v)
        if obj is None:
            CREATE[kind](session, v)
            return "created"
        if mode == "create":
            label = key_label(kind, tuple(v[k] for k in KEYS[kind]))
            raise DirectoryError(f"{KEYS[kind][-1]}: {LABEL[kind]} {label!r} already exists in "
                                 "the directory (use --mode upsert to update it, or --mode skip)")
        if mode == "skip":
            return "unchanged"
        return "updated" if UPDATE[kind](session, obj, v) else "unchanged"
    return writer


def _create_agency(s: Session, v: dict[str, Any]) -> None:
    store.add_agency(s, **v)


def _create_site(s: Session, v: dict[str, Any]) -> None:
    fields = {k: x for k, x in v.items() if k != "agency"}
    store.add_site(s, v["agency"], **fields)


def _create_device(s: Session, v: dict[str, Any]) -> None:
    fields = {k: x for k, x in v.items() if k not in ("agency", "site")}
    store.add_device(s, v["agency"], v["site"], **fields)


def _create_interface(s: Session, v: dict[str, Any]) -> None:
    enabled = v.get("enabled")
    store.add_interface(s, v["device"], v["name"], v.get("description"), v.get("speed_mbps"),
                        True if enabled is None else enabled)


def _create_link(s: Session, v: dict[str, Any]) -> None:
    store.add_link(s, v["name"], (v["a_device"], v["a_interface"]),
                   (v["b_device"], v["b_interface"]), agency=v.get("agency"), site=v.get("site"),
                   bandwidth_mbps=v.get("bandwidth_mbps"), description=v.get("description"),
                   status=v.get("status") or "planned")


def _prefix_owner(s: Session, v: dict[str, Any]) -> dict[str, Any]:
    """Owner objects of a prefix row (agency, site, device, interface, link), by key."""
    out: dict[str, Any] = {}
    if "agency" in v:
        out["agency"] = (_known(s, "agencies", (v["agency"],))
                         or store.get_agency(s, v["agency"])) if v["agency"] else None
    if "site" in v:
        out["site"] = (_known(s, "sites", (v["agency"], v["site"]))
                       or store.get_site(s, v["agency"], v["site"])) if v["site"] else None
    if "device" in v:
        out["device"] = (_known(s, "devices", (v["device"],))
                         or store.get_device(s, v["device"])) if v["device"] else None
    if "interface" in v:
        out["interface"] = _interface(s, v["interface"]) if v["interface"] else None
    if "link" in v:
        out["link"] = (_known(s, "links", (v["link"],))
                       or store.get_link(s, v["link"])) if v["link"] else None
    return out


KNOWN_IDS = "gin.import.ids"
_MODELS: dict[str, type[m.Base]] = {"agencies": m.Agency, "sites": m.Site, "devices": m.Device,
                                    "interfaces": m.Interface, "links": m.Link}


def _known(s: Session, kind: str, key: tuple[Any, ...]) -> Any:
    """The object for ``key`` from the running import's key map (no query), or None.

    :mod:`directory.bulkload` keeps natural key -> id maps for the run in
    ``session.info[KNOWN_IDS]``; prefixes, written one by one through the allocator, use
    them instead of a joined look-up per owner.
    """
    ref = s.info.get(KNOWN_IDS, {}).get(kind, {}).get(key)
    if ref is None:
        return None
    if not isinstance(ref, int):
        ref = ref.id
    return s.get(_MODELS[kind], ref) if ref is not None else None


def _interface(s: Session, text: str) -> m.Interface:
    host, _, ifname = text.partition(":")
    if not ifname:
        raise Invalid(f"interface: {text!r} should be HOSTNAME:IFNAME")
    return _known(s, "interfaces", (host, ifname)) or store.get_interface(s, host, ifname)


def _create_prefix(s: Session, v: dict[str, Any]) -> None:
    from .allocator import add_prefix  # the allocator keeps parents and free space right

    owners = {k: x for k, x in _prefix_owner(s, v).items() if x is not None}
    add_prefix(s, v["prefix"], status=v.get("status") or "active", role=v.get("role") or "other",
               description=v.get("description"), **owners)


def _create_contact(s: Session, v: dict[str, Any]) -> None:
    store.add_contact(s, v["agency"], v["name"], v.get("role"), v.get("email"), v.get("phone"))


def _create_service(s: Session, v: dict[str, Any]) -> None:
    others = (v.get("hosts") or [])[1:]  # [0] is the URL's host: add_service puts it first
    store.add_service(s, v["agency"], v["name"], v["url"], others, v.get("description"))


def _set(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _update_agency(s: Session, obj: m.Agency, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k != "code"}
    values = store.agency_values(s, fields)
    parent_id = values.get("parent_id")
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen:  # walk up: no cycles via the DB
        if parent_id == obj.id:
            raise Invalid(f"parent: agency {obj.code} would be its own ancestor "
                          f"(parent {v.get('parent')})")
        seen.add(parent_id)
        parent_id = s.scalar(select(m.Agency.parent_id).where(m.Agency.id == parent_id))
    changed = _set(obj, values)
    s.flush()
    return changed


def _update_site(s: Session, obj: m.Site, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k not in ("agency", "code")}
    changed = _set(obj, store.site_values(fields))
    s.flush()
    return changed


def _update_device(s: Session, obj: m.Device, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k not in ("agency", "site", "hostname")}
    changed = _set(obj, store.device_values(fields))
    site = store.get_site(s, v["agency"], v["site"])
    if obj.site_id != site.id:
        obj.site = site
        changed = True
    s.flush()
    return changed


def _update_interface(s: Session, obj: m.Interface, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k in ("description", "speed_mbps", "enabled")}
    if fields.get("enabled", True) is None:
        fields["enabled"] = True
    changed = _set(obj, fields)
    s.flush()
    return changed


def _update_link(s: Session, obj: m.Link, v: dict[str, Any]) -> bool:
    a = (obj.a_interface.device.hostname, obj.a_interface.name)
    b = (obj.b_interface.device.hostname, obj.b_interface.name)
    if (v["a_device"], v["a_interface"]) != a or (v["b_device"], v["b_interface"]) != b:
        raise Invalid(f"a_interface: link {obj.name!r} joins {a[0]}:{a[1]} and {b[0]}:{b[1]}; "
                      "an import cannot move its ends (remove the link first)")
    fields: dict[str, Any] = {k: x for k, x in v.items()
                              if k in ("status", "bandwidth_mbps", "description")}
    if "status" in fields and fields["status"] is None:
        fields["status"] = "planned"
    if "agency" in v:
        fields["agency_id"] = store.get_agency(s, v["agency"]).id if v["agency"] else None
    if "site" in v:
        site = store.get_site(s, v["agency"], v["site"]) if v["site"] else None
        fields["site_id"] = site.id if site else None
    changed = _set(obj, fields)
    s.flush()
    return changed


def _update_prefix(s: Session, obj: m.Prefix, v: dict[str, Any]) -> bool:
    fields: dict[str, Any] = {k: x for k, x in v.items() if k in ("status", "role", "description")}
    fields = {k: (x if x is not None or k == "description" else ("active" if k == "status"
                                                                   else "other"))
              for k, x in fields.items()}
    for name, obj_ in _prefix_owner(s, v).items():
        fields[f"{name}_id"] = obj_.id if obj_ is not None else None
    changed = _set(obj, fields)
    s.flush()
    return changed


def _update_contact(s: Session, obj: m.Contact, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k in ("role", "email", "phone")}
    changed = _set(obj, fields)
    s.flush()
    return changed


def _update_service(s: Session, obj: m.Service, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k in ("url", "hosts", "description")}
    if "hosts" not in fields:  # the other names stay; a new URL's host goes first
        fields["hosts"] = service_hosts(v["url"], list(obj.hosts[1:]))
    changed = _set(obj, fields)
    s.flush()
    return changed


CREATE: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "agencies": _create_agency, "sites": _create_site, "devices": _create_device,
    "interfaces": _create_interface, "links": _create_link, "prefixes": _create_prefix,
    "contacts": _create_contact, "services": _create_service,
}
UPDATE: dict[str, Callable[[Session, Any, dict[str, Any]], bool]] = {
    "agencies": _update_agency, "sites": _update_site, "devices": _update_device,
    "interfaces": _update_interface, "links": _update_link, "prefixes": _update_prefix,
    "contacts": _update_contact, "services": _update_service,
}
WRITERS = {kind: _write(kind) for kind in KINDS}

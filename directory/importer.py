"""Import a whole directory (or part of one) from CSV, JSON or YAML files.

All-or-nothing by default: every row of every file is read, checked and tried inside one
transaction, each row in its own savepoint so that one bad row does not hide the next
one's problem.  If anything is wrong the transaction is rolled back and
:class:`~directory.errors.ImportFailed` lists every error as ``file:line: field: what``.
With ``partial=True`` the good rows are committed and the bad ones reported.

Modes, for importing into a directory that already holds data (objects are matched by
their natural key: agency code, agency+site code, hostname, hostname+interface, link
name, prefix, agency+contact name):

``create`` (default)
    an object that already exists is an error: the safe choice for a first load;
``upsert``
    existing objects take the values in the file; a column or key absent from the file is
    left alone, an empty cell clears the field;
``skip``
    existing objects are left as they are, new ones are created (idempotent re-runs).

Rows are written in dependency order whatever the order of files and rows: agencies
(parents before children), sites, devices, interfaces, links, prefixes, contacts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from . import models as m
from . import store
from .errors import DirectoryError, ImportFailed, Invalid, NotFound
from .names import clean_code, clean_hostname, clean_ifname, clean_text
from .readers import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    KINDS,
    Parsed,
    Row,
    decode,
    guess_format,
    read_limited,
    read_text,
    shown,
)

MODES = ("create", "upsert", "skip")
Check = Callable[[Any, str], Any]


# --- field checks -------------------------------------------------------------------------------


def _text(size: int, required: bool = False) -> Check:
    return lambda v, f: clean_text(v, f, size, required)


def _code(required: bool = False) -> Check:
    def check(v: Any, f: str) -> Any:
        if v is None or v == "":
            if required:
                raise Invalid(f"{f}: must not be empty")
            return None
        return clean_code(v, f)
    return check


def _host(required: bool = False) -> Check:
    def check(v: Any, f: str) -> Any:
        if v is None or v == "":
            if required:
                raise Invalid(f"{f}: must not be empty")
            return None
        return clean_hostname(v, f)
    return check


def _ifname(v: Any, f: str) -> str:
    return clean_ifname(v, f)


def _int(lo: int, hi: int) -> Check:
    def check(v: Any, f: str) -> int | None:
        if v is None or v == "":
            return None
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise Invalid(f"{f}: expected a whole number, got {type(v).__name__}")
        try:
            number = int(v.strip()) if isinstance(v, str) else v
        except ValueError:
            raise Invalid(f"{f}: {v!r} is not a whole number") from None
        if not lo <= number <= hi:
            raise Invalid(f"{f}: {number} is outside {lo}..{hi}")
        return number
    return check


def _float(lo: float, hi: float) -> Check:
    def check(v: Any, f: str) -> float | None:
        if v is None or v == "":
            return None
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise Invalid(f"{f}: expected a number, got {type(v).__name__}")
        try:
            number = float(v)
        except ValueError:
            raise Invalid(f"{f}: {v!r} is not a number") from None
        if not lo <= number <= hi:  # also refuses NaN
            raise Invalid(f"{f}: {v!r} is outside {lo}..{hi}")
        return number
    return check


def _choice(allowed: tuple[str, ...], required: bool = False) -> Check:
    def check(v: Any, f: str) -> str | None:
        text = clean_text(v, f, 32, required)
        if text is None:
            return None
        if text.lower() not in allowed:
            raise Invalid(f"{f}: {text!r} is not one of {', '.join(allowed)}")
        return text.lower()
    return check


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _bool(v: Any, f: str) -> bool | None:
    if v is None or v == "" or isinstance(v, bool):
        return v if isinstance(v, bool) else None
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise Invalid(f"{f}: {v!r} is not true or false")


def _address(v: Any, f: str) -> str | None:
    text = clean_text(v, f, 64, False)
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise Invalid(f"{f}: {text!r} is not an IPv4/IPv6 address") from None


def _prefix(v: Any, f: str) -> str:
    text = clean_text(v, f, 64)
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise Invalid(f"{f}: {text!r} is not a valid prefix ({exc})") from None


def _email(v: Any, f: str) -> str | None:
    text = clean_text(v, f, 255, False)
    if text and ("@" not in text or " " in text):
        raise Invalid(f"{f}: {text!r} is not an e-mail address")
    return text


ASN = _int(1, 4294967294)
BANDWIDTH = _int(1, 10**7)

#: Per kind: every field a file may give, in export column order, with its check.
FIELDS: dict[str, dict[str, Check]] = {
    "agencies": {"code": _code(True), "name_en": _text(255, True), "name_th": _text(255),
                 "kind": _choice(m.AGENCY_KINDS), "parent": _code(), "asn": ASN,
                 "description": _text(1000)},
    "sites": {"agency": _code(True), "code": _code(True), "name": _text(255),
              "province": _text(64), "address": _text(1000),
              "latitude": _float(-90, 90), "longitude": _float(-180, 180)},
    "devices": {"hostname": _host(True), "agency": _code(True), "site": _code(True),
                "role": _choice(m.DEVICE_ROLES, True), "platform": _choice(m.PLATFORMS, True),
                "mgmt_address": _address, "mgmt_port": _int(1, 65535),
                "snmp_address": _address, "snmp_profile": _text(64),
                "credential_ref": _text(255), "asn": ASN},
    "interfaces": {"device": _host(True), "name": _ifname, "description": _text(255),
                   "enabled": _bool, "speed_mbps": BANDWIDTH},
    "links": {"name": _text(128, True), "a_device": _host(True), "a_interface": _ifname,
              "b_device": _host(True), "b_interface": _ifname, "agency": _code(),
              "site": _code(), "status": _choice(m.LINK_STATUSES), "bandwidth_mbps": BANDWIDTH,
              "description": _text(255)},
    "prefixes": {"prefix": _prefix, "status": _choice(m.PREFIX_STATUSES),
                 "role": _choice(m.PREFIX_ROLES), "agency": _code(), "site": _code(),
                 "device": _host(), "interface": _text(128), "link": _text(128),
                 "description": _text(255)},
    "contacts": {"agency": _code(True), "name": _text(255, True), "role": _text(64),
                 "email": _email, "phone": _text(64)},
}
#: The natural key of each kind: how a row finds "the same object" in the directory.
KEYS: dict[str, tuple[str, ...]] = {
    "agencies": ("code",), "sites": ("agency", "code"), "devices": ("hostname",),
    "interfaces": ("device", "name"), "links": ("name",), "prefixes": ("prefix",),
    "contacts": ("agency", "name"),
}
#: What each kind refers to: (kind, fields making that kind's key).
REFS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "agencies": (("agencies", ("parent",)),),
    "sites": (("agencies", ("agency",)),),
    "devices": (("agencies", ("agency",)), ("sites", ("agency", "site"))),
    "interfaces": (("devices", ("device",)),),
    "links": (("devices", ("a_device",)), ("devices", ("b_device",)),
              ("agencies", ("agency",)), ("sites", ("agency", "site"))),
    "prefixes": (("agencies", ("agency",)), ("sites", ("agency", "site")),
                 ("devices", ("device",)), ("links", ("link",))),
    "contacts": (("agencies", ("agency",)),),
}
_LABEL = {"agencies": "agency", "sites": "site", "devices": "device", "interfaces": "interface",
          "links": "link", "prefixes": "prefix", "contacts": "contact"}


@dataclass
class Checked:
    """A row whose fields passed their checks: cleaned values and its natural key."""

    row: Row
    values: dict[str, Any]
    key: tuple[Any, ...]

    @property
    def kind(self) -> str:
        return self.row.kind


@dataclass
class ImportReport:
    """What an import did: counts per kind and action, and the rejected rows' errors."""

    rows: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": dict(self.created), "updated": dict(self.updated),
                "unchanged": dict(self.unchanged), "rejected": len(self.errors),
                "errors": self.errors}


def check_row(row: Row) -> tuple[Checked | None, list[str]]:
    """Check every field of one row without touching the database."""
    spec = FIELDS[row.kind]
    errors = [f"{row.where}: {shown(name)}: unknown field (expected one of {', '.join(spec)})"
              for name in row.data if name not in spec]
    values: dict[str, Any] = {}
    for name, check in spec.items():
        if name not in row.data and not _required(row.kind, name):
            continue
        raw = row.data.get(name)
        if isinstance(raw, str) and _SURROGATE.search(raw):  # JSON "\ud800": not storable
            errors.append(f"{row.where}: {name}: not valid Unicode (a lone surrogate)")
            continue
        try:
            values[name] = check(raw, name)
        except Invalid as exc:
            errors.append(f"{row.where}: {exc}")
    if row.kind != "sites" and values.get("site") is not None and values.get("agency") is None:
        errors.append(f"{row.where}: site: needs the agency column too (site codes are per "
                      "agency)")
    if errors:
        return None, errors
    return Checked(row, values, tuple(values[k] for k in KEYS[row.kind])), []


def _key_of(row: Row) -> tuple[Any, ...] | None:
    """The natural key of a row that failed its checks, if its key fields are fine."""
    try:
        return tuple(FIELDS[row.kind][k](row.data.get(k), k) for k in KEYS[row.kind])
    except Invalid:
        return None


def _required(kind: str, name: str) -> bool:
    return name in KEYS[kind] or (kind, name) in {
        ("agencies", "name_en"), ("devices", "agency"), ("devices", "site"),
        ("devices", "role"), ("devices", "platform"), ("links", "a_device"),
        ("links", "a_interface"), ("links", "b_device"), ("links", "b_interface"),
    }


# --- reading ------------------------------------------------------------------------------------


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files as given; a directory stands for the import files inside it (an export)."""
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(str(p) for p in Path(path).iterdir()
                           if p.is_file() and guess_format(str(p)))
            out.extend(found)
        else:
            out.append(path)
    return out


def read_files(paths: Sequence[str], fmt: str | None = None, kind: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Parsed:
    """Read and shape every file; every problem is collected, none is raised."""
    result = Parsed()
    if fmt is not None and fmt not in FORMATS:
        raise Invalid(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if kind is not None and kind not in KINDS:
        raise Invalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    files = expand_paths(paths)
    if not files:
        raise Invalid("import: no files to read (a directory holds no .csv/.json/.yaml files)")
    for path in files:
        source = "<stdin>" if path == "-" else path
        file_fmt = fmt or guess_format(path)
        if file_fmt is None:
            result.errors.append(f"{source}:1: format: cannot tell the format from the name; "
                                 "use .csv, .json, .yaml or pass --format")
            continue
        try:
            text = decode(read_limited(path, max_bytes))
        except OSError as exc:
            result.errors.append(f"{source}:1: file: cannot read it ({exc.strerror or exc})")
            continue
        except ValueError as exc:
            msg = str(exc)
            result.errors.append(f"{source}:{msg}" if msg[:1].isdigit() else f"{source}:1: "
                                 f"file: {msg}")
            continue
        parsed = read_text(text, file_fmt, source, kind)
        result.rows.extend(parsed.rows)
        result.errors.extend(parsed.errors)
    return result


# --- writing ------------------------------------------------------------------------------------


class _Run:
    """State of one import: the rows by kind, rejected keys, the report."""

    def __init__(self, session: Session, mode: str, report: ImportReport,
                 tick: Callable[[int], None]) -> None:
        self.session = session
        self.mode = mode
        self.report = report
        self.tick = tick
        self.rejected: dict[tuple[str, tuple[Any, ...]], str] = {}

    def reject(self, item: Checked, message: str) -> None:
        self.report.errors.append(f"{item.row.where}: {message}")
        self.rejected.setdefault((item.kind, item.key), item.row.where)

    def blocked_by(self, item: Checked) -> str | None:
        """If the row refers to a rejected row, say which: clearer than 'not found'."""
        for kind, names in REFS[item.kind]:
            key = tuple(item.values.get(n) for n in names)
            if None in key:
                continue
            where = self.rejected.get((kind, key))
            if where:
                label = "/".join(str(k) for k in key)
                return f"{names[-1]}: {_LABEL[kind]} {label!r} was rejected ({where})"
        return None

    def apply(self, item: Checked) -> None:
        try:
            with self.session.begin_nested():
                action = WRITERS[item.kind](self.session, item.values, self.mode)
        except NotFound as exc:
            self.reject(item, self.blocked_by(item) or _field_first(item.kind, str(exc)))
            return
        except DirectoryError as exc:
            self.reject(item, _field_form(str(exc)))
            return
        except IntegrityError as exc:
            text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            self.reject(item, f"{_LABEL[item.kind]}: conflicts with the directory ({text})")
            return
        except SQLAlchemyError as exc:  # a value the database cannot hold
            self.reject(item, f"{_LABEL[item.kind]}: the database refused it "
                              f"({type(exc).__name__})")
            return
        getattr(self.report, action)[item.kind] += 1


_SURROGATE = re.compile("[\ud800-\udfff]")
_OBJECT_MESSAGE = re.compile(r"^([a-z_]+) (\S+): (.*)$", re.S)


def _field_form(message: str) -> str:
    """``prefix 10.0.0.0/8: lies inside ...`` -> ``prefix: 10.0.0.0/8 lies inside ...``."""
    match = _OBJECT_MESSAGE.match(message)
    if match and match.group(1) in _LABEL.values():
        return f"{match.group(1)}: {match.group(2)} {match.group(3)}"
    return message


def _field_first(kind: str, message: str) -> str:
    """``agency 'X' not found`` -> ``agency: 'X' not found in the file or the directory``."""
    head, _, rest = message.partition(" ")
    if rest.endswith("not found"):
        return f"{head}: {rest} in the file or the directory"
    return f"{_LABEL[kind]}: {message}"


def import_rows(session: Session, rows: Sequence[Row], mode: str = "create",
                errors: Sequence[str] = (), progress: Callable[[int], None] | None = None
                ) -> ImportReport:
    """Check and write ``rows`` in ``session``; return the report (errors included).

    Nothing is committed here: the caller's transaction decides (see :func:`import_files`).
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    report = ImportReport(rows=len(rows), errors=list(errors))
    tick = progress or (lambda n: None)
    checked: dict[str, list[Checked]] = {k: [] for k in KINDS}
    seen: dict[tuple[str, tuple[Any, ...]], str] = {}
    run = _Run(session, mode, report, tick)
    for row in rows:
        item, problems = check_row(row)
        if item is None:
            report.errors.extend(problems)
            key = _key_of(row)
            if key is not None:
                run.rejected.setdefault((row.kind, key), row.where)
            tick(1)
            continue
        first = seen.setdefault((row.kind, item.key), row.where)
        if first != row.where:
            label = "/".join(str(k) for k in item.key)
            report.errors.append(f"{row.where}: {KEYS[row.kind][-1]}: duplicate "
                                 f"{_LABEL[row.kind]} {label!r}, first given at {first}")
            tick(1)
            continue
        checked[row.kind].append(item)
    for kind in KINDS:
        items = _parents_first(checked[kind], run) if kind == "agencies" else checked[kind]
        for item in items:
            run.apply(item)
            tick(1)
    return report


def _parents_first(items: list[Checked], run: _Run) -> list[Checked]:
    """Agencies ordered so that a parent in the file is written before its children."""
    by_code = {it.values["code"]: it for it in items}
    order: list[Checked] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(item: Checked, chain: list[str]) -> None:
        code = item.values["code"]
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            cycle = " -> ".join([*chain[chain.index(code):], code])
            raise _Cycle(cycle)
        state[code] = 1
        parent = item.values.get("parent")
        if parent in by_code:
            visit(by_code[parent], [*chain, code])
        state[code] = 2
        order.append(item)

    for item in items:
        try:
            visit(item, [])
        except _Cycle as cyc:
            for code in str(cyc).split(" -> ")[:-1]:
                if state.get(code) != 2:
                    state[code] = 2
                    run.reject(by_code[code], f"parent: agencies form a cycle ({cyc})")
    rejected = {k for (kind, k) in run.rejected if kind == "agencies"}
    return [it for it in order if it.key not in rejected]


class _Cycle(Exception):
    pass


def import_files(directory: store.Directory, paths: Sequence[str], fmt: str | None = None, *,
                 kind: str | None = None, mode: str = "create", partial: bool = False,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> ImportReport:
    """Import files into the directory in one transaction.

    Raises :class:`ImportFailed` (and writes nothing) if any row is bad, unless ``partial``:
    then the good rows are committed and the report lists the bad ones.  ``on_total`` is told
    the number of rows once the files are read (to size a progress bar); ``progress`` is
    called as rows are done.
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    parsed = read_files(paths, fmt, kind, max_bytes)
    if on_total:
        on_total(len(parsed.rows))
    with directory.transaction() as session:
        report = import_rows(session, parsed.rows, mode, parsed.errors, progress)
        if report.errors and not partial:
            raise ImportFailed(report.errors)
    return report


# --- one writer per kind: create, update or leave; returns the report counter name -------------


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
            case "prefixes":
                return store.get_prefix(session, v["prefix"])
            case "contacts":
                ag = store.get_agency(session, v["agency"])
                stmt = select(m.Contact).where(m.Contact.agency_id == ag.id,
                                               m.Contact.name == v["name"])
                return session.scalars(stmt).first()
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
            label = "/".join(str(v[k]) for k in KEYS[kind])
            raise DirectoryError(f"{KEYS[kind][-1]}: {_LABEL[kind]} {label!r} already exists in "
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
        out["agency"] = store.get_agency(s, v["agency"]) if v["agency"] else None
    if "site" in v:
        out["site"] = store.get_site(s, v["agency"], v["site"]) if v["site"] else None
    if "device" in v:
        out["device"] = store.get_device(s, v["device"]) if v["device"] else None
    if "interface" in v:
        out["interface"] = _interface(s, v["interface"]) if v["interface"] else None
    if "link" in v:
        out["link"] = store.get_link(s, v["link"]) if v["link"] else None
    return out


def _interface(s: Session, text: str) -> m.Interface:
    host, _, ifname = text.partition(":")
    if not ifname:
        raise Invalid(f"interface: {text!r} should be HOSTNAME:IFNAME")
    return store.get_interface(s, host, ifname)


def _create_prefix(s: Session, v: dict[str, Any]) -> None:
    from .allocator import add_prefix  # the allocator keeps parents and free space right

    owners = {k: x for k, x in _prefix_owner(s, v).items() if x is not None}
    add_prefix(s, v["prefix"], status=v.get("status") or "active", role=v.get("role") or "other",
               description=v.get("description"), **owners)


def _create_contact(s: Session, v: dict[str, Any]) -> None:
    store.add_contact(s, v["agency"], v["name"], v.get("role"), v.get("email"), v.get("phone"))


def _set(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _update_agency(s: Session, obj: m.Agency, v: dict[str, Any]) -> bool:
    fields = {k: x for k, x in v.items() if k != "code"}
    before = store.agency_values(s, fields)
    if before.get("parent_id") == obj.id:
        raise Invalid(f"parent: agency {obj.code} cannot be its own parent")
    changed = _set(obj, before)
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


CREATE: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "agencies": _create_agency, "sites": _create_site, "devices": _create_device,
    "interfaces": _create_interface, "links": _create_link, "prefixes": _create_prefix,
    "contacts": _create_contact,
}
UPDATE: dict[str, Callable[[Session, Any, dict[str, Any]], bool]] = {
    "agencies": _update_agency, "sites": _update_site, "devices": _update_device,
    "interfaces": _update_interface, "links": _update_link, "prefixes": _update_prefix,
    "contacts": _update_contact,
}
WRITERS = {kind: _write(kind) for kind in KINDS}

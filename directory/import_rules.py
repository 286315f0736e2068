"""What an import row may contain: the fields per kind, their checks, keys and references.

Kept apart from the importer so the exporter (which writes the same columns) and the
writers share one definition: a field added here is exported, imported and checked alike.
Checks are pure (no database): they clean a value the way the store does (NFC names,
codes upper-cased, control characters refused) or raise :class:`Invalid` naming the field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import models as m
from .errors import Invalid
from .names import clean_code, clean_hostname, clean_ifname, clean_text
from .readers import Row, shown
from .store import MAX_SERVICE_HOSTS, SERVICE_NAME_RE, clean_fqdn, clean_platform, clean_url

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


def _service_name(v: Any, f: str) -> str:
    text = clean_text(v, f, 64)
    assert text is not None
    if not SERVICE_NAME_RE.fullmatch(text.lower()):
        raise Invalid(f"{f}: {text!r} is not a valid service name (a-z, 0-9, _ . -, max 64)")
    return text.lower()


def _url(v: Any, f: str) -> str:
    """``store.clean_url``: http(s) only, no user:password, host in IDNA form.

    Its messages about the host say ``url host:``; the column is ``url``, so the line reads
    ``file:line: url: host ...`` like every other field's.
    """
    try:
        return clean_url(v)[0]
    except Invalid as exc:
        text = str(exc)
        raise Invalid(f"{f}: host{text[len('url host:'):]}" if text.startswith("url host:")
                      else text) from None


def _hosts(v: Any, f: str) -> list[str] | None:
    """Host names in IDNA (xn--) form, each once; the URL's host is put first by
    :func:`service_hosts` once the row's URL is known."""
    if v is None:
        return None
    if not isinstance(v, list):
        raise Invalid(f"{f}: expected a list of host names, got {type(v).__name__}")
    if len(v) > MAX_SERVICE_HOSTS + 1:  # + 1: an export lists the URL's host too
        raise Invalid(f"{f}: more than {MAX_SERVICE_HOSTS} host names besides the URL's")
    names: list[str] = []
    for item in v:
        name = clean_fqdn(item, f)
        if name not in names:
            names.append(name)
    return names


def service_hosts(url: str, hosts: list[str]) -> list[str]:
    """The host list the store keeps for ``url``: its host first, then ``hosts`` once each.

    Counted like :func:`directory.store.add_service` counts the names it is given besides
    the URL's, so every list the store can hold (and so every export) imports again.
    """
    first = urlsplit(url).hostname or ""
    others = [h for h in dict.fromkeys(hosts) if h != first]
    if len(others) > MAX_SERVICE_HOSTS:
        raise Invalid(f"hosts: more than {MAX_SERVICE_HOSTS} host names besides the URL's")
    return [first, *others]


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
                "role": _choice(m.DEVICE_ROLES, True), "platform": clean_platform,
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
    "services": {"agency": _code(True), "name": _service_name, "url": _url, "hosts": _hosts,
                 "description": _text(255)},
}
#: The natural key of each kind: how a row finds "the same object" in the directory.
KEYS: dict[str, tuple[str, ...]] = {
    "agencies": ("code",), "sites": ("agency", "code"), "devices": ("hostname",),
    "interfaces": ("device", "name"), "links": ("name",), "prefixes": ("prefix",),
    "contacts": ("agency", "name"), "services": ("agency", "name"),
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
    "services": (("agencies", ("agency",)),),
}
LABEL = {"agencies": "agency", "sites": "site", "devices": "device", "interfaces": "interface",
          "links": "link", "prefixes": "prefix", "contacts": "contact", "services": "service"}


@dataclass
class Checked:
    """A row whose fields passed their checks: cleaned values and its natural key."""

    row: Row
    values: dict[str, Any]
    key: tuple[Any, ...]

    @property
    def kind(self) -> str:
        return self.row.kind


def check_row(row: Row) -> tuple[Checked | None, list[str]]:
    """Check every field of one row without touching the database.

    The errors are ``field: what`` (the caller knows the row's place).
    """
    spec = FIELDS[row.kind]
    errors = [f"{shown(name)}: unknown field (expected one of {', '.join(spec)})"
              for name in row.data if name not in spec]
    values: dict[str, Any] = {}
    for name, check in spec.items():
        if name not in row.data and not required(row.kind, name):
            continue
        raw = row.data.get(name)
        if isinstance(raw, str) and _SURROGATE.search(raw):  # JSON "\ud800": not storable
            errors.append(f"{name}: not valid Unicode (a lone surrogate)")
            continue
        try:
            values[name] = check(raw, name)
        except Invalid as exc:
            errors.append(str(exc))
    if row.kind != "sites" and values.get("site") is not None and values.get("agency") is None:
        errors.append("site: needs the agency column too (site codes are per "
                      "agency)")
    if row.kind == "services" and "hosts" in values and not errors:
        try:
            values["hosts"] = service_hosts(values["url"], values["hosts"] or [])
        except Invalid as exc:
            errors.append(str(exc))
    if errors:
        return None, errors
    return Checked(row, values, tuple(values[k] for k in KEYS[row.kind])), []


def key_of(row: Row) -> tuple[Any, ...] | None:
    """The natural key of a row that failed its checks, if its key fields are fine."""
    try:
        return tuple(FIELDS[row.kind][k](row.data.get(k), k) for k in KEYS[row.kind])
    except Invalid:
        return None


def required(kind: str, name: str) -> bool:
    """Must a row of ``kind`` give ``name``?"""
    return name in KEYS[kind] or (kind, name) in {
        ("agencies", "name_en"), ("devices", "agency"), ("devices", "site"),
        ("devices", "role"), ("devices", "platform"), ("links", "a_device"),
        ("links", "a_interface"), ("links", "b_device"), ("links", "b_interface"),
        ("services", "url"),
    }


_SURROGATE = re.compile("[\ud800-\udfff]")


def key_label(kind: str, key: tuple[Any, ...]) -> str:
    """How a person writes the key: ``DOPA/TH-50``, ``ce1:eth0``, ``2001:db8::/48``."""
    return (":" if kind == "interfaces" else "/").join(str(k) for k in key)


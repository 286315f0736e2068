"""The addressing plan: a small YAML file saying where each kind of prefix comes from.

Why a file and not code: the plan is policy that network engineers own and review (the
supernet, one /48 per agency, /56 per site, /64 per LAN, /127 links per RFC 6164, /128
loopbacks, an IPv4 transit pool with /31 links).  It is validated as a whole and every
problem is reported as ``file: field: what is wrong``, so a bad plan never reaches the
directory.  :func:`apply_plan` then records its pools as Prefix rows, idempotently; the
allocator hands out prefixes from those rows.
"""

from __future__ import annotations

import ipaddress
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from .allocator import add_prefix, resolve
from .errors import Invalid, NotFound
from .plan_model import IPv4Plan, IPv6Plan, Plan

ENV = "GIN_PLAN"

IPV6_KEYS = {"supernet", "agency_length", "site_length", "lan_length", "p2p_length",
             "loopback_length", "loopback_pool", "p2p_pool"}
IPV4_KEYS = {"transit_pool", "p2p_length", "loopback_pool", "loopback_length", "agency_pool",
             "agency_block_length"}


class PlanError(Invalid):
    """A plan file was rejected; ``errors`` lists every problem as ``file: field: what``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("addressing plan rejected:\n" + "\n".join(errors)
                         if len(errors) > 1 else errors[0])


def default_path() -> Path:
    """``GIN_PLAN`` if set, else the plan shipped with the package."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return Path(str(resources.files("directory") / "data" / "addressing-plan.yaml"))


def load_plan(path: str | os.PathLike[str] | None = None) -> Plan:
    """Read and validate a plan file (default: ``GIN_PLAN`` or the shipped example)."""
    source = Path(path) if path is not None else default_path()
    name = str(source)
    try:
        raw = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError([f"{name}: cannot read the plan: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        raise PlanError([f"{name}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"]
                        ) from None
    return parse_plan(data, name)


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, where: str, what: str) -> None:
        self.errors.append(f"{self.source}: {where}: {what}")

    def network(self, section: dict[str, Any], key: str, version: int, where: str,
                required: bool = False) -> Any:
        value = section.get(key)
        if value is None:
            if required:
                self.error(where, "is required")
            return None
        try:
            net = ipaddress.ip_network(str(value), strict=True)
        except ValueError as exc:
            self.error(where, f"{value!r} is not a valid prefix ({exc})")
            return None
        if net.version != version:
            self.error(where, f"{value} is not an IPv{version} prefix")
            return None
        return net

    def length(self, section: dict[str, Any], key: str, default: int, bits: int,
               where: str) -> int:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= bits:
            self.error(where, f"{value!r} is not a prefix length 1..{bits}")
            return default
        return value

    def section(self, data: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            self.error(key, "must be a mapping of settings")
            return {}
        for unknown in sorted(set(value) - allowed):
            self.error(f"{key}.{unknown}", f"unknown setting (known: {', '.join(sorted(allowed))})")
        return value


def parse_plan(data: Any, source: str = "<plan>") -> Plan:
    """Validate plan data (as loaded from YAML); raise :class:`PlanError` listing every problem."""
    c = _Checker(source)
    if not isinstance(data, dict):
        raise PlanError([f"{source}: top level: expected a mapping with ipv6 and ipv4 sections"])
    for unknown in sorted(set(data) - {"ipv6", "ipv4"}):
        c.error(str(unknown), "unknown section (known: ipv4, ipv6)")
    s6 = c.section(data, "ipv6", IPV6_KEYS)
    s4 = c.section(data, "ipv4", IPV4_KEYS)
    v6 = IPv6Plan(
        supernet=c.network(s6, "supernet", 6, "ipv6.supernet", required=True),
        agency_length=c.length(s6, "agency_length", 48, 128, "ipv6.agency_length"),
        site_length=c.length(s6, "site_length", 56, 128, "ipv6.site_length"),
        lan_length=c.length(s6, "lan_length", 64, 128, "ipv6.lan_length"),
        p2p_length=c.length(s6, "p2p_length", 127, 128, "ipv6.p2p_length"),
        loopback_length=c.length(s6, "loopback_length", 128, 128, "ipv6.loopback_length"),
        loopback_pool=c.network(s6, "loopback_pool", 6, "ipv6.loopback_pool"),
        p2p_pool=c.network(s6, "p2p_pool", 6, "ipv6.p2p_pool"),
    )
    v4 = IPv4Plan(
        transit_pool=c.network(s4, "transit_pool", 4, "ipv4.transit_pool"),
        p2p_length=c.length(s4, "p2p_length", 31, 32, "ipv4.p2p_length"),
        loopback_pool=c.network(s4, "loopback_pool", 4, "ipv4.loopback_pool"),
        loopback_length=c.length(s4, "loopback_length", 32, 32, "ipv4.loopback_length"),
        agency_pool=c.network(s4, "agency_pool", 4, "ipv4.agency_pool"),
        agency_block_length=c.length(s4, "agency_block_length", 28, 32,
                                     "ipv4.agency_block_length"),
    )
    if c.errors:
        raise PlanError(c.errors)
    plan = Plan(source, v6, v4)
    _check_shape(c, plan)
    if c.errors:
        raise PlanError(c.errors)
    return plan


def _check_shape(c: _Checker, plan: Plan) -> None:
    """Lengths in order, pools inside the supernet, no two pools overlapping."""
    v6 = plan.ipv6
    order = [("ipv6.supernet", v6.supernet.prefixlen), ("ipv6.agency_length", v6.agency_length),
             ("ipv6.site_length", v6.site_length), ("ipv6.lan_length", v6.lan_length)]
    for (a_name, a), (b_name, b) in zip(order, order[1:], strict=False):
        if not a < b:
            c.error(b_name, f"/{b} must be longer than {a_name} (/{a})")
    if v6.p2p_length < v6.lan_length:
        c.error("ipv6.p2p_length", f"/{v6.p2p_length} must not be shorter than lan_length "
                                   f"(/{v6.lan_length}); RFC 6164 recommends /127")
    if v6.loopback_length < v6.p2p_length:
        c.error("ipv6.loopback_length", f"/{v6.loopback_length} must not be shorter than "
                                        f"p2p_length (/{v6.p2p_length})")
    pools = plan.pools
    for pool in pools[1:]:
        if pool.network.version == 6 and not pool.network.subnet_of(v6.supernet):
            c.error(pool.field, f"{pool.network} is not inside the supernet {v6.supernet}")
        if pool.network.version == 6 and pool.network == v6.supernet:
            c.error(pool.field, f"{pool.network} is the whole supernet; a pool must be a part")
    for pool in pools:
        if pool.child_length <= pool.network.prefixlen:
            c.error(pool.field, f"{pool.network} cannot hold /{pool.child_length} prefixes")
    for i, a in enumerate(pools[1:], 1):
        for b in pools[i + 1:]:
            if a.network.version == b.network.version and a.network.overlaps(b.network):
                c.error(b.field, f"{b.network} overlaps {a.field} ({a.network})")


def apply_plan(session: Session, plan: Plan) -> list[dict[str, str]]:
    """Record the plan's pools as Prefix rows; running it again changes nothing.

    Returns one row per pool: ``pool``, ``prefix``, ``role`` and ``action`` (created/exists).
    """
    out = []
    for pool in plan.pools:
        try:
            existing = resolve(session, pool.network)
        except NotFound:
            existing = None
        if existing is None:
            add_prefix(session, pool.network, role=pool.role, status="active",
                       description=pool.description)
            action = "created"
        else:
            action = "exists" if existing.role == pool.role else f"exists (role {existing.role})"
        out.append({"pool": pool.name, "prefix": str(pool.network), "role": pool.role,
                    "allocates": f"/{pool.child_length} {pool.child_role}", "action": action})
    return out

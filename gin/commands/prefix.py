"""``gin directory prefix|whois|plan``: prefixes, the allocator and the addressing plan.

Thin on purpose: every verb opens one transaction, calls :mod:`directory.allocator`,
:mod:`directory.whois` or :mod:`directory.plan`, and prints (a rich table, or ``--json``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory import allocator as al
from directory import models as m
from directory.store import get_agency, get_prefix, get_site
from directory.whois import whois as whois_lookup
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows, note_page, print_json

if TYPE_CHECKING:  # the plan reader pulls in YAML, which whois does not need
    from directory.plan import Plan

COLUMNS = ["prefix", "status", "role", "agency", "site", "description"]


def prefix_row(p: m.Prefix, parents: dict[int, str] | None = None) -> dict[str, Any]:
    parent = None
    if p.parent_id is not None:
        parent = (parents or {}).get(p.parent_id)
    return {"prefix": p.cidr, "family": p.family, "length": p.prefixlen, "status": p.status,
            "role": p.role, "agency": p.agency.code if p.agency else None,
            "site": f"{p.site.agency.code}/{p.site.code}" if p.site else None,
            "device": p.device.hostname if p.device else None, "link_id": p.link_id,
            "interface_id": p.interface_id, "parent": parent, "description": p.description}


def _rows(s: Session, prefixes: list[m.Prefix]) -> list[dict[str, Any]]:
    ids = {p.parent_id for p in prefixes if p.parent_id is not None}
    parents = dict(s.execute(select(m.Prefix.id, m.Prefix.cidr).where(m.Prefix.id.in_(ids)))
                   .all()) if ids else {}
    return [prefix_row(p, parents) for p in prefixes]


def _owner_options(f: Any) -> Any:
    for option in reversed([
        click.option("--status", type=click.Choice(["active", "planned", "reserved"]),
                     default="active", show_default=True),
        click.option("--role", type=click.Choice(m.PREFIX_ROLES), default=None,
                     help="What the prefix is for."),
        click.option("--agency", metavar="CODE", help="Owning agency."),
        click.option("--site", metavar="CODE", help="Owning site (of --agency)."),
        click.option("--device", metavar="HOSTNAME", help="Device the prefix is on."),
        click.option("--description", help="Free text."),
    ]):
        f = option(f)
    return f


def _attrs(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


@click.group()
def prefix() -> None:
    """IPv4/IPv6 prefixes: add, list, allocate the next free one, reserve, release."""


@prefix.command("add")
@click.argument("cidr")
@_owner_options
@json_option
@pass_ctx
def prefix_add(ctx: Context, cidr: str, as_json: bool, **owner: Any) -> None:
    """Record a specific prefix (carved from its parent; refused if it exists already)."""
    owner["role"] = owner["role"] or "other"
    with ctx.directory.transaction() as s:
        row = _rows(s, [al.add_prefix(s, cidr, **_attrs(**owner))])[0]
    emit_object(row, as_json)


@prefix.command("list")
@click.option("--agency", metavar="CODE", help="Only this agency's prefixes.")
@click.option("--family", type=click.Choice(["4", "6"]), help="Only IPv4 or IPv6.")
@click.option("--status", type=click.Choice(m.PREFIX_STATUSES))
@click.option("--role", type=click.Choice(m.PREFIX_ROLES))
@click.option("--parent", metavar="CIDR", help="Only the direct children of this prefix.")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=1000, show_default=True,
              help="Rows per page; when more follow, stderr says how many.")
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True,
              help="Rows to skip (the next page starts at offset + limit).")
@json_option
@pass_ctx
def prefix_list(ctx: Context, agency: str | None, family: str | None, status: str | None,
                role: str | None, parent: str | None, limit: int, offset: int,
                as_json: bool) -> None:
    """List prefixes in address order, a page at a time (--limit, --offset)."""
    with ctx.directory.transaction() as s:
        # (family, network, last DESC) is index order: containers first, no sort of the table
        stmt = select(m.Prefix).order_by(m.Prefix.family, m.Prefix.network, m.Prefix.last.desc())
        if agency:
            stmt = stmt.where(m.Prefix.agency_id == get_agency(s, agency).id)
        if family:
            stmt = stmt.where(m.Prefix.family == int(family))
        if status:
            stmt = stmt.where(m.Prefix.status == status)
        if role:
            stmt = stmt.where(m.Prefix.role == role)
        if parent:
            stmt = stmt.where(m.Prefix.parent_id == get_prefix(s, parent).id)
        page = list(s.scalars(stmt.offset(offset).limit(limit + 1)).unique())
        more = 0
        if len(page) > limit:
            page = page[:limit]
            total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            more = (total or 0) - offset - limit
        rows = _rows(s, page)
    emit_rows(rows, COLUMNS, as_json, "Prefixes")
    note_page("prefixes", len(rows), more, f"next page: --offset {offset + len(rows)}")


@prefix.command("show")
@click.argument("cidr")
@click.option("--children", "max_children", type=click.IntRange(0, 100_000), default=50,
              show_default=True, help="How many children to list.")
@json_option
@pass_ctx
def prefix_show(ctx: Context, cidr: str, max_children: int, as_json: bool) -> None:
    """One prefix with its children and a summary of its free space."""
    with ctx.directory.transaction() as s:
        p = get_prefix(s, cidr)
        row = _rows(s, [p])[0]
        kids = _rows(s, al.children(s, p, limit=max_children)) if max_children else []
        n_kids = _count_children(s, p.id)
        free = al.free_summary(s, p)
        largest = [str(b) for b in al.free_blocks(s, p, limit=10)]
    data = {**row, "children_count": n_kids, "children": [c["prefix"] for c in kids],
            "free": {**free, "largest_blocks": largest}}
    note_page("children", len(kids), n_kids - len(kids), "all of them: --children "
              f"{min(n_kids, 100_000)}")
    if as_json:
        print_json(data)
        return
    emit_object({**row, "children": f"{n_kids}",
                 "free": f"{free['free_percent']}% "
                         f"({', '.join(f'{n}×{k}' for k, n in free['blocks'].items()) or 'none'})",
                 "largest free": ", ".join(largest) or "none"}, False)
    if kids:
        emit_rows(kids, COLUMNS, False, f"Children of {row['prefix']}")


def _count_children(s: Session, pid: int) -> int:
    return int(s.scalar(select(func.count()).select_from(m.Prefix)
                        .where(m.Prefix.parent_id == pid)) or 0)


@prefix.command("rm")
@click.argument("cidr")
@pass_ctx
def prefix_rm(ctx: Context, cidr: str) -> None:
    """Delete a prefix record; prefixes inside it move up to its parent."""
    with ctx.directory.transaction() as s:
        p = get_prefix(s, cidr)
        name = p.cidr
        al.remove(s, p)
    console.print(f"removed {name}")


@prefix.command("allocate")
@click.option("--parent", metavar="CIDR", help="Allocate from this prefix.")
@click.option("--agency", metavar="CODE",
              help="Allocate for this agency: from its /48 (allocated from the plan's "
                   "supernet if missing), or the /48 itself when --length is the agency length.")
@click.option("--site", metavar="CODE", help="With --agency: from the site's /56.")
@click.option("--length", "length", type=click.IntRange(1, 128), required=True,
              help="Prefix length to allocate, e.g. 64.")
@click.option("--count", type=click.IntRange(1, al.MAX_BULK), default=1, show_default=True)
@click.option("--role", type=click.Choice(m.PREFIX_ROLES), help="What the prefixes are for.")
@click.option("--status", type=click.Choice(["active", "planned", "reserved"]),
              default="active", show_default=True)
@click.option("--device", metavar="HOSTNAME")
@click.option("--description")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False),
              help="Addressing plan file (default: GIN_PLAN or the shipped plan).")
@json_option
@pass_ctx
def prefix_allocate(ctx: Context, parent: str | None, agency: str | None, site: str | None,
                    length: int, count: int, role: str | None, status: str,
                    device: str | None, description: str | None, plan_file: str | None,
                    as_json: bool) -> None:
    """Allocate the next free prefix(es): best fit, lowest address first."""
    if bool(parent) == bool(agency):
        raise click.UsageError("give exactly one of --parent CIDR or --agency CODE")
    if site and not agency:
        raise click.UsageError("--site needs --agency")
    attrs = _attrs(status=status, device=device, description=description, role=role)
    with ctx.directory.transaction() as s:
        if parent:
            made = al.allocate_many(s, parent, length, count,
                                    **{**attrs, "role": role or "other"})
        else:
            assert agency is not None
            from directory.plan import load_plan

            made = _allocate_for_agency(s, load_plan(plan_file), agency, site, length, count,
                                        attrs)
        rows = _rows(s, made)
    emit_rows(rows, COLUMNS, as_json, "Allocated")


def _allocate_for_agency(s: Session, plan: Plan, agency: str, site: str | None, length: int,
                         count: int, attrs: dict[str, Any]) -> list[m.Prefix]:
    v6 = plan.ipv6
    if site:
        get_site(s, agency, site)
        if length == v6.site_length and count == 1:
            return [al.site_prefix(s, agency, site, plan)]
        parent = al.site_prefix(s, agency, site, plan)
        role = attrs.pop("role", None) or ("lan" if length == v6.lan_length else "other")
        return al.allocate_many(s, parent, length, count, role=role, agency=agency, site=site,
                                **attrs)
    if length == v6.agency_length and count == 1:
        return [al.agency_prefix(s, agency, plan)]
    parent = al.agency_prefix(s, agency, plan)
    default = {v6.site_length: "site", v6.lan_length: "lan"}.get(length, "other")
    role = attrs.pop("role", None) or default
    return al.allocate_many(s, parent, length, count, role=role, agency=agency, **attrs)


@prefix.command("reserve")
@click.argument("cidr")
@click.option("--agency", metavar="CODE")
@click.option("--description")
@json_option
@pass_ctx
def prefix_reserve(ctx: Context, cidr: str, agency: str | None, description: str | None,
                   as_json: bool) -> None:
    """Record a prefix as reserved so the allocator never hands it out."""
    with ctx.directory.transaction() as s:
        row = _rows(s, [al.reserve(s, cidr, **_attrs(agency=agency,
                                                     description=description))])[0]
    emit_object(row, as_json)


@prefix.command("release")
@click.argument("cidr")
@pass_ctx
def prefix_release(ctx: Context, cidr: str) -> None:
    """Give a prefix's space back to its parent (the change log keeps the record)."""
    with ctx.directory.transaction() as s:
        p = get_prefix(s, cidr)
        name = p.cidr
        al.release(s, p)
    console.print(f"released {name}")


@click.command("whois")
@click.argument("address")
@json_option
@pass_ctx
def whois(ctx: Context, address: str, as_json: bool) -> None:
    """Which agency, site, device or link owns an address or prefix (longest match)."""
    with ctx.directory.transaction() as s:
        result = whois_lookup(s, address)
    if as_json:
        print_json(result)
        return
    agency = result["agency"]
    shown = {
        "query": result["query"], "prefix": result["prefix"], "role": result["role"],
        "status": result["status"],
        "agency": (f"{agency['code']} — {agency['name_en']}"
                   + (f" ({agency['name_th']})" if agency.get("name_th") else "")
                   + (f"  [from {result['agency_from']}]"
                      if result["agency_from"] != result["prefix"] else "")) if agency else None,
        "site": result["site"], "device": result["device"], "interface": result["interface"],
        "link": result["link"], "description": result["description"],
        "covering": ", ".join(result["covering"]) or None,
    }
    emit_object({k: v for k, v in shown.items() if v is not None}, False)


@click.group()
def plan() -> None:
    """The addressing plan (a YAML file): show it, or record its pools in the directory."""


def _plan_file_argument(f: Any) -> Any:
    return click.argument("file", required=False, type=click.Path(dir_okay=False))(f)


@plan.command("show")
@_plan_file_argument
@json_option
@pass_ctx
def plan_show(ctx: Context, file: str | None, as_json: bool) -> None:
    """Print the plan (default: GIN_PLAN or the shipped plan) and which pools are recorded."""
    from directory.plan import load_plan

    p = load_plan(file)
    with ctx.directory.transaction() as s:
        rows = []
        for pool in p.pools:
            recorded = s.scalar(select(m.Prefix.id).where(
                m.Prefix.family == pool.network.version,
                m.Prefix.prefixlen == pool.network.prefixlen,
                m.Prefix.network == al.hx(int(pool.network.network_address))))
            rows.append({"pool": pool.name, "field": pool.field, "prefix": str(pool.network),
                         "role": pool.role, "allocates": f"/{pool.child_length} {pool.child_role}",
                         "in_directory": recorded is not None})
    if as_json:
        print_json({"source": p.source, "ipv6": _plain(vars(p.ipv6)),
                    "ipv4": _plain(vars(p.ipv4)), "pools": rows})
        return
    v6 = p.ipv6
    console.print(f"plan: {p.source}")
    console.print(f"IPv6: agency /{v6.agency_length}, site /{v6.site_length}, "
                  f"LAN /{v6.lan_length}, link /{v6.p2p_length}, loopback /{v6.loopback_length}")
    emit_rows(rows, ["pool", "prefix", "role", "allocates", "in_directory"], False, "Pools")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, ipaddress.IPv4Network | ipaddress.IPv6Network) else v
            for k, v in values.items()}


@plan.command("apply")
@_plan_file_argument
@json_option
@pass_ctx
def plan_apply(ctx: Context, file: str | None, as_json: bool) -> None:
    """Record the plan's pools as prefixes (idempotent: running it again changes nothing)."""
    from directory.plan import apply_plan, load_plan

    p = load_plan(file)
    with ctx.directory.transaction() as s:
        rows = apply_plan(s, p)
    emit_rows(rows, ["pool", "prefix", "role", "allocates", "action"], as_json,
              f"Plan {p.source}")

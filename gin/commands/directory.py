"""``gin directory``: the agency network directory from the command line.

Each verb opens one transaction, calls :mod:`directory.store` and prints; nothing here
decides anything the API does not.
"""

from __future__ import annotations

from typing import Any

import click

from directory import models as m
from directory import store
from directory.errors import DirectoryError
from gin.choices import platform_choice
from gin.context import Context, json_option, pass_ctx
from gin.lazy_group import LazyCommand, LazyGroup
from gin.output import console, emit_object, emit_rows, note_page, print_json

#: Sub-commands that live in their own modules, imported when they run (``whois`` then loads
#: neither the importers nor the exporters).  The help is each command's first docstring line.
SUBCOMMANDS: dict[str, LazyCommand] = {
    "export": LazyCommand(
        "gin.commands.transfer:export",
        "Export the whole directory in the layout `gin directory import` reads."),
    "import": LazyCommand(
        "gin.commands.transfer:import_",
        "Import agencies, sites, devices, interfaces, links, prefixes, contacts and services."),
    "inventory": LazyCommand(
        "gin.commands.transfer:inventory",
        "Inventories for other tools, generated from the directory."),
    "plan": LazyCommand(
        "gin.commands.prefix:plan",
        "The addressing plan (a YAML file): show it, or record its pools in the directory."),
    "prefix": LazyCommand(
        "gin.commands.prefix:prefix",
        "IPv4/IPv6 prefixes: add, list, allocate the next free one, reserve, release."),
    "samples": LazyCommand(
        "gin.commands.transfer:samples",
        "Sample data: Thai ministries, e-Government agencies and the 77 provincial halls."),
    "service": LazyCommand(
        "gin.commands.service:service",
        "Agencies' public services (URL and host names) that `gin audit web` scans."),
    "synth": LazyCommand(
        "gin.commands.transfer:synth",
        "Make a synthetic GIN directory of any size (agencies, sites, PE/CE, links, prefixes)."),
    "whois": LazyCommand(
        "gin.commands.prefix:whois",
        "Which agency, site, device or link owns an address or prefix (longest match)."),
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
def directory() -> None:
    """The agency network directory: agencies, sites, devices, prefixes, history.

    Links are kept with `gin link` (plan, add, list, show, rm).
    """


# --- rows -------------------------------------------------------------------------------------


def agency_row(a: m.Agency) -> dict[str, Any]:
    return {"code": a.code, "name_en": a.name_en, "name_th": a.name_th, "kind": a.kind,
            "parent": a.parent.code if a.parent else None, "asn": a.asn,
            "description": a.description}


def site_row(s: m.Site) -> dict[str, Any]:
    return {"agency": s.agency.code, "code": s.code, "name": s.name, "province": s.province,
            "address": s.address, "latitude": s.latitude, "longitude": s.longitude}


def device_row(d: m.Device) -> dict[str, Any]:
    return {"hostname": d.hostname, "agency": d.site.agency.code, "site": d.site.code,
            "role": d.role, "platform": d.platform, "mgmt_address": d.mgmt_address,
            "mgmt_port": d.mgmt_port, "snmp_profile": d.snmp_profile,
            "snmp_address": d.snmp_address, "credential_ref": d.credential_ref, "asn": d.asn}


def contact_row(c: m.Contact) -> dict[str, Any]:
    return {"id": c.id, "agency": c.agency.code, "name": c.name, "role": c.role,
            "email": c.email, "phone": c.phone}


def _fields(**given: Any) -> dict[str, Any]:
    """Only the options the user actually gave, so ``set`` leaves the rest alone."""
    return {k: v for k, v in given.items() if v is not None}


# --- agency -------------------------------------------------------------------------------------


@directory.group()
def agency() -> None:
    """Agencies: ministries, departments, state enterprises."""


@agency.command("add")
@click.argument("code")
@click.option("--name-en", required=True, help="English name.")
@click.option("--name-th", help="Thai name.")
@click.option("--kind", type=click.Choice(m.AGENCY_KINDS), default="department", show_default=True)
@click.option("--parent", help="Parent agency code (e.g. the ministry).")
@click.option("--asn", type=int, help="Agency BGP AS number.")
@click.option("--description")
@json_option
@pass_ctx
def agency_add(ctx: Context, code: str, as_json: bool, **opts: Any) -> None:
    """Add an agency."""
    with ctx.directory.transaction() as s:
        row = agency_row(store.add_agency(s, code=code, **_fields(**opts)))
    emit_object(row, as_json)


@agency.command("set")
@click.argument("code")
@click.option("--name-en")
@click.option("--name-th")
@click.option("--kind", type=click.Choice(m.AGENCY_KINDS))
@click.option("--parent")
@click.option("--asn", type=int)
@click.option("--description")
@json_option
@pass_ctx
def agency_set(ctx: Context, code: str, as_json: bool, **opts: Any) -> None:
    """Change an agency's fields."""
    with ctx.directory.transaction() as s:
        row = agency_row(store.update(s, store.get_agency(s, code), **_fields(**opts)))
    emit_object(row, as_json)


@agency.command("list")
@click.argument("query", required=False, default="")
@json_option
@pass_ctx
def agency_list(ctx: Context, query: str, as_json: bool) -> None:
    """List agencies; QUERY matches code, English or Thai name."""
    with ctx.directory.transaction() as s:
        rows = [agency_row(a) for a in store.find_agencies(s, query)]
    emit_rows(rows, ["code", "name_en", "name_th", "kind", "parent"], as_json, "Agencies")


@agency.command("show")
@click.argument("code")
@json_option
@pass_ctx
def agency_show(ctx: Context, code: str, as_json: bool) -> None:
    """Show one agency with its sites and contacts."""
    with ctx.directory.transaction() as s:
        a = store.get_agency(s, code)
        row = agency_row(a)
        row["sites"] = [st.code for st in a.sites]
        row["contacts"] = [contact_row(c) for c in store.list_all(s, m.Contact)
                           if c.agency_id == a.id]
    emit_object(row, as_json)


@agency.command("rm")
@click.argument("code")
@pass_ctx
def agency_rm(ctx: Context, code: str) -> None:
    """Remove an agency (refused while sites, sub-agencies or prefixes refer to it)."""
    with ctx.directory.transaction() as s:
        store.remove(s, store.get_agency(s, code))
    console.print(f"removed agency {code.upper()}")


# --- site ---------------------------------------------------------------------------------------


@directory.group()
def site() -> None:
    """Sites: head offices, provincial halls, branches."""


def _site_options(fn: Any) -> Any:
    for opt in reversed([
        click.option("--name"), click.option("--province"), click.option("--address"),
        click.option("--latitude", type=float), click.option("--longitude", type=float),
    ]):
        fn = opt(fn)
    return fn


@site.command("add")
@click.argument("agency")
@click.argument("code")
@_site_options
@json_option
@pass_ctx
def site_add(ctx: Context, agency: str, code: str, as_json: bool, **opts: Any) -> None:
    """Add a site to AGENCY."""
    with ctx.directory.transaction() as s:
        row = site_row(store.add_site(s, agency, code=code, **_fields(**opts)))
    emit_object(row, as_json)


@site.command("set")
@click.argument("agency")
@click.argument("code")
@_site_options
@json_option
@pass_ctx
def site_set(ctx: Context, agency: str, code: str, as_json: bool, **opts: Any) -> None:
    """Change a site's fields."""
    with ctx.directory.transaction() as s:
        row = site_row(store.update(s, store.get_site(s, agency, code), **_fields(**opts)))
    emit_object(row, as_json)


@site.command("list")
@click.option("--agency", help="Only this agency's sites.")
@json_option
@pass_ctx
def site_list(ctx: Context, agency: str | None, as_json: bool) -> None:
    """List sites."""
    with ctx.directory.transaction() as s:
        sites = store.list_all(s, m.Site, m.Site.agency_id, m.Site.code)
        if agency:
            ag = store.get_agency(s, agency)
            sites = [st for st in sites if st.agency_id == ag.id]
        rows = [site_row(st) for st in sites]
    emit_rows(rows, ["agency", "code", "name", "province"], as_json, "Sites")


@site.command("show")
@click.argument("agency")
@click.argument("code")
@json_option
@pass_ctx
def site_show(ctx: Context, agency: str, code: str, as_json: bool) -> None:
    """Show one site."""
    with ctx.directory.transaction() as s:
        row = site_row(store.get_site(s, agency, code))
    emit_object(row, as_json)


@site.command("rm")
@click.argument("agency")
@click.argument("code")
@pass_ctx
def site_rm(ctx: Context, agency: str, code: str) -> None:
    """Remove a site (refused while devices are there)."""
    with ctx.directory.transaction() as s:
        store.remove(s, store.get_site(s, agency, code))
    console.print(f"removed site {agency.upper()}/{code.upper()}")


# --- device -------------------------------------------------------------------------------------


@directory.group()
def device() -> None:
    """Devices: PE/CE routers, firewalls, VPN gateways, sensors."""


def _device_options(required: bool) -> Any:
    def wrap(fn: Any) -> Any:
        for opt in reversed([
            click.option("--role", type=click.Choice(m.DEVICE_ROLES), required=required),
            click.option("--platform", type=platform_choice(), required=required),
            click.option("--mgmt-address", help="Management (SSH) address."),
            click.option("--mgmt-port", type=int, help="SSH port (default 22)."),
            click.option("--snmp-profile", help="SNMP profile name (holds the credentials)."),
            click.option("--snmp-address", help="Address SNMP is polled on, if not mgmt."),
            click.option("--credential-ref",
                         help="Where the login secret lives (env:NAME, file:PATH)."),
            click.option("--asn", type=int),
        ]):
            fn = opt(fn)
        return fn
    return wrap


@device.command("add")
@click.argument("hostname")
@click.option("--agency", required=True)
@click.option("--site", "site_code", required=True)
@_device_options(required=True)
@json_option
@pass_ctx
def device_add(ctx: Context, hostname: str, agency: str, site_code: str, as_json: bool,
               **opts: Any) -> None:
    """Add a device at AGENCY/SITE."""
    with ctx.directory.transaction() as s:
        dev = store.add_device(s, agency, site_code, hostname=hostname, **_fields(**opts))
        row = device_row(dev)
    emit_object(row, as_json)


@device.command("set")
@click.argument("hostname")
@_device_options(required=False)
@json_option
@pass_ctx
def device_set(ctx: Context, hostname: str, as_json: bool, **opts: Any) -> None:
    """Change a device's fields."""
    with ctx.directory.transaction() as s:
        row = device_row(store.update(s, store.get_device(s, hostname), **_fields(**opts)))
    emit_object(row, as_json)


@device.command("list")
@click.option("--agency")
@click.option("--role", type=click.Choice(m.DEVICE_ROLES))
@json_option
@pass_ctx
def device_list(ctx: Context, agency: str | None, role: str | None, as_json: bool) -> None:
    """List devices."""
    with ctx.directory.transaction() as s:
        rows = [device_row(d) for d in store.list_all(s, m.Device, m.Device.hostname)]
    rows = [r for r in rows if (not agency or r["agency"] == agency.upper())
            and (not role or r["role"] == role)]
    emit_rows(rows, ["hostname", "agency", "site", "role", "platform", "mgmt_address"],
              as_json, "Devices")


@device.command("show")
@click.argument("hostname")
@json_option
@pass_ctx
def device_show(ctx: Context, hostname: str, as_json: bool) -> None:
    """Show one device and its interfaces."""
    with ctx.directory.transaction() as s:
        dev = store.get_device(s, hostname)
        row = device_row(dev)
        row["interfaces"] = [i.name for i in sorted(dev.interfaces, key=lambda i: i.name)]
    emit_object(row, as_json)


@device.command("rm")
@click.argument("hostname")
@pass_ctx
def device_rm(ctx: Context, hostname: str) -> None:
    """Remove a device (refused while links or tunnels use it)."""
    with ctx.directory.transaction() as s:
        store.remove(s, store.get_device(s, hostname))
    console.print(f"removed device {hostname.lower()}")


@device.command("interface-add")
@click.argument("hostname")
@click.argument("ifname")
@click.option("--description")
@click.option("--speed-mbps", type=int)
@pass_ctx
def interface_add(ctx: Context, hostname: str, ifname: str, description: str | None,
                  speed_mbps: int | None) -> None:
    """Add interface IFNAME to a device."""
    with ctx.directory.transaction() as s:
        store.add_interface(s, hostname, ifname, description, speed_mbps)
    console.print(f"added interface {hostname.lower()}:{ifname}")


# --- contact, history ---------------------------------------------------------------------------


@directory.group()
def contact() -> None:
    """People to call about an agency's network."""


@contact.command("add")
@click.argument("agency")
@click.argument("name")
@click.option("--role")
@click.option("--email")
@click.option("--phone")
@pass_ctx
def contact_add(ctx: Context, agency: str, name: str, **opts: Any) -> None:
    """Add a contact to AGENCY."""
    with ctx.directory.transaction() as s:
        store.add_contact(s, agency, name, **opts)
    console.print(f"added contact {name} to {agency.upper()}")


@contact.command("set")
@click.argument("agency")
@click.argument("contact_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@click.option("--name")
@click.option("--role")
@click.option("--email")
@click.option("--phone")
@json_option
@pass_ctx
def contact_set(ctx: Context, agency: str, contact_id: int, as_json: bool, **opts: Any) -> None:
    """Change AGENCY's contact ID (from `contact list`); "" clears a field."""
    with ctx.directory.transaction() as s:
        found = store.get_contact(s, agency, contact_id)
        row = contact_row(store.update(s, found, **_fields(**opts)))
    emit_object(row, as_json)


@contact.command("list")
@click.option("--agency")
@json_option
@pass_ctx
def contact_list(ctx: Context, agency: str | None, as_json: bool) -> None:
    """List contacts."""
    with ctx.directory.transaction() as s:
        rows = [contact_row(c) for c in store.list_all(s, m.Contact)]
    rows = [r for r in rows if not agency or r["agency"] == agency.upper()]
    emit_rows(rows, ["id", "agency", "name", "role", "email", "phone"], as_json, "Contacts")


@directory.command("history")
@click.option("--type", "object_type",
              type=click.Choice(["agency", "site", "device", "interface", "prefix", "link",
                                 "tunnel", "tunnel_rotation", "certificate", "contact",
                                 "service", "gin_user", "gin_grant", "gin_token"]))
@click.option("--key", help="Object key: agency code, AGENCY/SITE, hostname, prefix, link name.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True,
              help="Entries per page; when older ones follow, stderr says so.")
@click.option("--offset", type=click.IntRange(0, 10_000_000), default=0, show_default=True,
              help="Newest entries to skip (the next page starts at offset + limit).")
@click.option("--full", is_flag=True, help="Show before/after values.")
@click.option("--verify", is_flag=True,
              help="Check the hash chain: exit 1 naming the first altered or removed entry.")
@json_option
@pass_ctx
def history(ctx: Context, object_type: str | None, key: str | None, limit: int, offset: int,
            full: bool, verify: bool, as_json: bool) -> None:
    """The change log: who changed what, when (newest first), a page at a time."""
    if verify:
        with ctx.directory.transaction() as s:
            verdict = store.verify_history(s)
        if as_json:
            print_json(verdict.as_dict())
        if not verdict.ok:
            raise DirectoryError(f"change log verification failed: {verdict.problem}")
        if not as_json:
            console.print(f"change log intact: {verdict.entries} entries, head "
                          f"#{verdict.head_seq} {verdict.head_hash} (note it to detect removal "
                          "of the newest entries next time)", markup=False)
        return
    with ctx.directory.transaction() as s:
        changes = store.history(s, object_type, key, offset + limit + 1)[offset:]
        more = len(changes) > limit
        changes = changes[:limit]
        rows = [{"id": c.id, "time": c.time, "actor": c.actor, "action": c.action,
                 "type": c.object_type, "key": c.object_key, "before": c.before,
                 "after": c.after} for c in changes]
    cols = ["id", "time", "actor", "action", "type", "key"] + (["before", "after"] if full else [])
    emit_rows(rows, cols, as_json, "Change log")
    note_page("older changes", len(rows), None if more else 0,
              f"next page: --offset {offset + len(rows)}")


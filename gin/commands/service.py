"""``gin directory service``: each agency's public services (websites, e-service portals).

The list is what ``gin audit web`` scans; every change goes through :mod:`directory.store`
and so into the change log.
"""

from __future__ import annotations

from typing import Any

import click

from directory import models as m
from directory import store
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows


@click.group()
def service() -> None:
    """Agencies' public services (URL and host names) that `gin audit web` scans."""


def service_row(sv: m.Service) -> dict[str, Any]:
    return {"agency": sv.agency.code, "name": sv.name, "url": sv.url, "hosts": sv.hosts,
            "description": sv.description}


@service.command("add")
@click.argument("agency")
@click.argument("name")
@click.argument("url")
@click.option("--host", "hosts", multiple=True, metavar="NAME",
              help="Another host name the service answers to (repeatable); the URL's host "
                   "is always included.")
@click.option("--description")
@json_option
@pass_ctx
def service_add(ctx: Context, agency: str, name: str, url: str, hosts: tuple[str, ...],
                description: str | None, as_json: bool) -> None:
    """Record AGENCY's public service NAME at URL (http:// or https://)."""
    with ctx.directory.transaction() as s:
        row = service_row(store.add_service(s, agency, name, url, list(hosts), description))
    emit_object(row, as_json)


@service.command("set")
@click.argument("agency")
@click.argument("name")
@click.option("--url", help="A new URL (http:// or https://); its host becomes the first name.")
@click.option("--host", "hosts", multiple=True, metavar="NAME",
              help="The other host names (repeatable): replaces those recorded.")
@click.option("--rename", metavar="NEW", help="A new name for the service.")
@click.option("--description", help='A new description ("" clears it).')
@json_option
@pass_ctx
def service_set(ctx: Context, agency: str, name: str, url: str | None, hosts: tuple[str, ...],
                rename: str | None, description: str | None, as_json: bool) -> None:
    """Change AGENCY's service NAME; only the options given change."""
    given = {"url": url, "name": rename, "description": description}
    fields: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if hosts:
        fields["hosts"] = list(hosts)
    with ctx.directory.transaction() as s:
        row = service_row(store.update(s, store.get_service(s, agency, name), **fields))
    emit_object(row, as_json)


@service.command("list")
@click.option("--agency", help="Only this agency's services.")
@json_option
@pass_ctx
def service_list(ctx: Context, agency: str | None, as_json: bool) -> None:
    """List public services."""
    with ctx.directory.transaction() as s:
        rows = [service_row(sv) for sv in store.list_services(s, agency)]
    if not as_json:
        rows = [dict(r, hosts=" ".join(r["hosts"])) for r in rows]
    emit_rows(rows, ["agency", "name", "url", "hosts"], as_json, "Services")


@service.command("rm")
@click.argument("agency")
@click.argument("name")
@pass_ctx
def service_rm(ctx: Context, agency: str, name: str) -> None:
    """Remove AGENCY's service NAME."""
    with ctx.directory.transaction() as s:
        store.remove_service(s, agency, name)
    console.print(f"removed service {agency.upper()}/{name.lower()}")

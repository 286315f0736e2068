"""``gin link``: plan, render, provision and inspect GIN links (PE <-> agency CE)."""

from __future__ import annotations

import sys
from typing import Any

import click

from devices import transport as transports
from devices.errors import GinError
from directory import models as m
from directory import store
from directory.errors import Invalid
from directory.plan import load_plan
from gin.choices import transport_choice
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows, print_json, progress
from links import provision as prov
from links.build import build_intent
from links.plan import Endpoint, link_prefixes, plan_link
from links.render import render


@click.group()
def link() -> None:
    """GIN links: plan -> render -> provision (push, verify, roll back) -> record."""


def link_row(session: Any, lk: m.Link) -> dict[str, Any]:
    nets = link_prefixes(session, lk)
    a, b = lk.a_interface, lk.b_interface
    return {"name": lk.name, "agency": lk.agency.code if lk.agency else None,
            "pe": f"{a.device.hostname}:{a.name}", "ce": f"{b.device.hostname}:{b.name}",
            "status": lk.status, "ipv6": nets[6].cidr if 6 in nets else None,
            "ipv4": nets[4].cidr if 4 in nets else None, "bandwidth_mbps": lk.bandwidth_mbps}


@link.command("plan")
@click.argument("agency")
@click.option("--site", required=True, help="The agency's site the CE is at.")
@click.option("--pe", required=True, metavar="PE:IFACE", help="GIN provider-edge end.")
@click.option("--ce", required=True, metavar="CE:IFACE", help="Agency customer-edge end.")
@click.option("--lan", metavar="IFACE", help="CE interface facing the agency LAN (gets a /64).")
@click.option("--name", help="Link name (default: agency-ce).")
@click.option("--no-ipv4", is_flag=True, help="IPv6 only: no /31 from the transit pool.")
@click.option("--bandwidth", "bandwidth_mbps", type=click.IntRange(1, 10**7), metavar="MBPS")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False), help="Addressing plan.")
@json_option
@pass_ctx
def plan_cmd(ctx: Context, agency: str, site: str, pe: str, ce: str, lan: str | None,
             name: str | None, no_ipv4: bool, bandwidth_mbps: int | None,
             plan_file: str | None, as_json: bool) -> None:
    """Allocate addresses and an ASN and record the link as planned (no device is touched)."""
    plan = load_plan(plan_file)
    with ctx.directory.transaction() as s:
        lk = plan_link(s, plan, agency, site, Endpoint.parse(pe), Endpoint.parse(ce), lan=lan,
                       name=name, ipv4=not no_ipv4, bandwidth_mbps=bandwidth_mbps)
        row = link_row(s, lk)
    emit_object(row, as_json)


@link.command("add")
@click.argument("name")
@click.option("--pe", required=True, metavar="PE:IFACE", help="GIN provider-edge end.")
@click.option("--ce", required=True, metavar="CE:IFACE", help="Agency customer-edge end.")
@click.option("--agency")
@click.option("--bandwidth", "bandwidth_mbps", type=click.IntRange(1, 10**7), metavar="MBPS")
@click.option("--description")
@click.option("--status", type=click.Choice(m.LINK_STATUSES), default="active",
              show_default=True, help="State of the existing link.")
@json_option
@pass_ctx
def add_cmd(ctx: Context, name: str, pe: str, ce: str, agency: str | None,
            bandwidth_mbps: int | None, description: str | None, status: str,
            as_json: bool) -> None:
    """Record a link that already exists in the network (no allocation, no device touched).

    For brown-field links the directory must know about; `plan` is the way to make a new one.
    """
    pe_end, ce_end = Endpoint.parse(pe), Endpoint.parse(ce)
    with ctx.directory.transaction() as s:
        lk = store.add_link(s, name, (pe_end.hostname, pe_end.ifname),
                            (ce_end.hostname, ce_end.ifname), agency=agency,
                            bandwidth_mbps=bandwidth_mbps, description=description,
                            status=status)
        row = link_row(s, lk)
    emit_object(row, as_json)


@link.command("rm")
@click.argument("name")
@click.option("--force", is_flag=True,
              help="Forget a provisioned/active link without touching its routers.")
@pass_ctx
def rm_cmd(ctx: Context, name: str, force: bool) -> None:
    """Remove a link's record only; refused while it is configured (use `decommission`)."""
    with ctx.directory.transaction() as s:
        lk = store.get_link(s, name)
        if lk.status in ("provisioned", "active") and not force:
            raise GinError(f"link {name} is {lk.status} on its routers: "
                           f"`gin link decommission {name}` removes it from them first")
        store.remove(s, lk)
    console.print(f"removed link {name}")


@link.command("list")
@click.option("--agency")
@click.option("--status", type=click.Choice(m.LINK_STATUSES))
@json_option
@pass_ctx
def list_cmd(ctx: Context, agency: str | None, status: str | None, as_json: bool) -> None:
    """List links with their addresses and state."""
    with ctx.directory.transaction() as s:
        rows = [link_row(s, lk) for lk in store.list_all(s, m.Link, m.Link.name)]
    rows = [r for r in rows if (not agency or r["agency"] == agency.upper())
            and (not status or r["status"] == status)]
    emit_rows(rows, ["name", "agency", "pe", "ce", "status", "ipv6", "ipv4"], as_json, "Links")


@link.command("show")
@click.argument("name")
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    """Show one link and, once planned, its intent (addresses, ASNs, prefixes)."""
    with ctx.directory.transaction() as s:
        lk = store.get_link(s, name)
        row = link_row(s, lk)
        try:
            intent = build_intent(s, lk)
        except Invalid as exc:  # a recorded (brown-field) link has no intent: say why
            row["intent"] = str(exc)
            emit_object(row, as_json)
            return
    row.update({"pe_address": str(intent.pe.address6), "ce_address": str(intent.ce.address6),
                "pe_asn": intent.pe.asn, "ce_asn": intent.ce.asn,
                "agency_prefixes": [str(p) for p in intent.agency_prefixes6
                                    + intent.agency_prefixes4],
                "lan": str(intent.lan6) if intent.lan6 else None})
    emit_object(row, as_json)


@link.command("render")
@click.argument("name")
@click.option("--device", help="Only this end's config.")
@json_option
@pass_ctx
def render_cmd(ctx: Context, name: str, device: str | None, as_json: bool) -> None:
    """Print the intended configuration of both ends (from the platform templates)."""
    with ctx.directory.transaction() as s:
        configs = render(build_intent(s, store.get_link(s, name)))
    if device:
        configs = {k: v for k, v in configs.items() if k == device.lower()}
    if as_json:
        print_json(configs)
        return
    for host, text in configs.items():
        console.print(f"[bold]! {host}[/bold]")
        sys.stdout.write(text)
        sys.stdout.flush()


@link.command("provision")
@click.argument("names", nargs=-1, required=True)
@click.option("--via", type=transport_choice(), default="netmiko",
              show_default=True, help="Transport.")
@click.option("--dry-run", is_flag=True, help="Show what would be pushed; push nothing.")
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--verify-timeout", type=click.FloatRange(1, 600), default=45, show_default=True)
@click.option("--no-ping", is_flag=True, help="Skip the ping6 checks.")
@click.option("--session-logs", type=click.Path(file_okay=False),
              help="Write Netmiko session logs here (passwords scrubbed).")
@json_option
@pass_ctx
def provision_cmd(ctx: Context, names: tuple[str, ...], via: str, dry_run: bool, workers: int,
                  verify_timeout: float, no_ping: bool, session_logs: str | None,
                  as_json: bool) -> None:
    """Push the links' configuration, verify, and roll back what fails (exit 4)."""
    options: dict[str, object] = {}
    if via == "netmiko" and session_logs:
        options["session_log_dir"] = session_logs
    transport = transports.get(via, **options)
    with progress(len(names), "provisioning", quiet=as_json) as advance:
        results = prov.provision(ctx.directory, list(names), transport, dry_run=dry_run,
                                 workers=workers, verify_timeout=verify_timeout,
                                 with_ping=not no_ping, on_done=lambda _r: advance())
    if as_json:
        print_json([r.as_dict() for r in results])
    else:
        if dry_run:
            for r in results:
                for host, lines in r.diff.items():
                    console.print(f"[bold]! {r.link} {host}: {len(lines)} lines to push[/bold]")
                    sys.stdout.write("".join(f"+ {ln}\n" for ln in lines))
        rows = [{"link": r.link, "status": r.status,
                 "pushed": sum(len(v) for v in r.diff.values()) if r.status != "no change" else 0,
                 "message": r.message} for r in results]
        emit_rows(rows, ["link", "status", "pushed", "message"], False, "Provisioning")
    code = max((prov.EXIT[r.status] for r in results), default=0)
    if code:
        raise click.exceptions.Exit(code)


@link.command("decommission")
@click.argument("name")
@click.option("--via", type=transport_choice(), default="netmiko",
              show_default=True, help="Transport.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_ctx
def decommission_cmd(ctx: Context, name: str, via: str, yes: bool, as_json: bool) -> None:
    """Remove the link's configuration from both routers and release its addresses."""
    from links.decommission import decommission

    if not yes and sys.stdin.isatty():
        click.confirm(f"Remove link {name} from its routers and release its addresses?",
                      abort=True)
    removed = decommission(ctx.directory, name, transports.get(via))
    if as_json:
        print_json({"link": name, "removed": removed})
        return
    for host, lines in removed.items():
        console.print(f"[bold]! {host}: {len(lines)} lines removed[/bold]")
    console.print(f"link {name} decommissioned; its addresses are free again")

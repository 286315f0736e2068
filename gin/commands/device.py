"""``gin device``: what gin is doing to routers and VPN gateways -- recover interrupted
changes, show locks."""

from __future__ import annotations

import click

from devices import transport as transports
from devices.journal import Journal
from devices.recovery import recover
from devices.sessions import Sessions
from devices.targets import target_of
from directory import store
from directory.errors import NotFound
from gin.choices import transport_choice
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_rows, print_json


@click.group()
def device() -> None:
    """Routers and VPN gateways: recover changes a killed gin left half done, show locks."""


@device.command("recover")
@click.argument("devices", nargs=-1)
@click.option("--via", type=transport_choice(), default="netmiko",
              show_default=True, help="Transport.")
@json_option
@pass_ctx
def recover_cmd(ctx: Context, devices: tuple[str, ...], via: str, as_json: bool) -> None:
    """Put back every router and VPN gateway a gin process died while changing (default:
    all of them).

    Each unfinished change whose process is gone is undone: the router gets its exact
    config from before the change, read back byte for byte; a gateway its files and loaded
    connections (or a tunnel deploy that had verified on both gateways is recorded); the
    change log says so.  Exit 3 when a device could not be put back."""
    from vpn.deploy import recover_gateways

    directory = ctx.directory
    journal = Journal(directory.engine)
    gateways = {e.device for e in journal.unfinished(devices, gateways=True)}
    names = [n for n in (list(devices) or sorted({e.device for e in journal.orphans()}))
             if n not in gateways]
    targets = []
    with directory.transaction() as s:
        for name in names:
            try:
                targets.append(target_of(store.get_device(s, name)))
            except NotFound as exc:
                raise NotFound(f"device {name!r} is not in the directory: add it, or "
                               f"name only directory devices") from exc
    with Sessions(transports.get(via), db=directory.engine) as sessions:
        done = recover(sessions, targets) if targets else []
    done += recover_gateways(directory, devices)
    rows = [{"device": r.device, "entry": r.entry, "found": r.state,
             "result": "restored" if r.ok else "FAILED", "action": r.action} for r in done]
    if as_json:
        print_json(rows)
    elif rows:
        emit_rows(rows, ["device", "entry", "found", "result", "action"], False, "Recovery")
    else:
        console.print("nothing to recover: no unfinished change of a gone process")
    if any(not r.ok for r in done):
        raise click.exceptions.Exit(3)


@device.command("locks")
@json_option
@pass_ctx
def locks_cmd(ctx: Context, as_json: bool) -> None:
    """Who holds which router's change lock, for how long, and whether they still run."""
    with Sessions(transports.get("netmiko"), db=ctx.directory.engine) as sessions:
        rows = [{"device": h.device, "owner": h.owner, "age_s": round(h.age, 1),
                 "owner_alive": h.alive} for h in sessions.locks.holders()]
    emit_rows(rows, ["device", "owner", "age_s", "owner_alive"], as_json, "Device locks")

"""``gin vpn deploy|status|withdraw``: tunnels on the gateways (the ``vpn`` group adds them)."""

from __future__ import annotations

import click

from gin.choices import transport_choice
from gin.context import Context, json_option, pass_ctx
from gin.output import emit_rows, print_json
from vpn import deploy as deploying
from vpn import status as live


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@click.command("deploy")
@click.argument("names", nargs=-1, required=True, metavar="TUNNEL...")
@click.option("--no-verify", is_flag=True,
              help="Load only: do not initiate / wait for the handshake (state: deployed).")
@click.option("--transport", type=transport_choice(), default="netmiko",
              show_default=True, help="How router sides (Cisco, Juniper) are pushed.")
@json_option
@pass_ctx
def deploy_cmd(ctx: Context, names: tuple[str, ...], no_verify: bool, transport: str,
               as_json: bool) -> None:
    """Write and load tunnels on both gateways, bring them up, record the result.

    strongSwan gateways are loaded over VICI, WireGuard with wg syncconf. A tunnel already
    deployed as rendered is left alone ("no change"). When a side fails or the tunnel does
    not come up, what the gateways had before is restored (exit 3, or 4 after a failed
    verification).
    """
    results = deploying.deploy(ctx.directory, names, verify=not no_verify, via=transport)
    rows = [r.as_dict() for r in results]
    if as_json:
        print_json(rows)
    else:
        for row in rows:
            row["sides"] = ", ".join(f"{h}: {s}" for h, s in row["sides"].items())
        emit_rows(rows, ["tunnel", "result", "message", "sides"], False, title="VPN deploy")
    code = max((deploying.EXIT[r.result] for r in results), default=0)
    if code:
        raise click.exceptions.Exit(code)


@click.command("status")
@click.argument("names", nargs=-1, metavar="[TUNNEL...]")
@json_option
@pass_ctx
def status_cmd(ctx: Context, names: tuple[str, ...], as_json: bool) -> None:
    """Live state from the gateways (all deployed tunnels when none is named).

    IKEv2: up only when the CHILD_SA is INSTALLED; bytes/packets and rekey times from VICI.
    WireGuard: latest handshake age and transfer. Down tunnels say why, in words.
    """
    results = live.status(ctx.directory, names)
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    rows = []
    for r in results:
        age = r.handshake_age_seconds
        rows.append({"tunnel": r.tunnel, "type": r.type, "state": "up" if r.up else "down",
                     "in": _size(r.bytes_in), "out": _size(r.bytes_out),
                     "handshake / rekey": f"{age} s ago" if age is not None else (
                         f"IKE in {r.ike_rekey_seconds} s" if r.ike_rekey_seconds else ""),
                     "reason": r.reason or ""})
    emit_rows(rows, ["tunnel", "type", "state", "in", "out", "handshake / rekey", "reason"],
              False, title="VPN tunnel status")


@click.command("withdraw")
@click.argument("names", nargs=-1, required=True, metavar="TUNNEL...")
@click.option("--transport", type=transport_choice(), default="netmiko",
              show_default=True, help="How router sides (Cisco, Juniper) are changed.")
@pass_ctx
def withdraw_cmd(ctx: Context, names: tuple[str, ...], transport: str) -> None:
    """Remove tunnels from both ends (Linux gateways: conn, keys, files, interface; routers:
    the lines only the tunnel needs); their records go back to planned."""
    for name in deploying.withdraw(ctx.directory, names, via=transport):
        click.echo(f"withdrew tunnel {name}")

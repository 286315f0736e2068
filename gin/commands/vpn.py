"""``gin vpn``: plan and inspect site-to-site tunnels between agencies (IKEv2/IPsec, WireGuard)."""

from __future__ import annotations

import sys
from typing import Any

import click

from gin.context import Context, json_option, pass_ctx
from gin.output import emit_object, emit_rows, print_json
from vpn import tunnels
from vpn.policy import shipped_policy_names
from vpn.render import render


def _for_people(row: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """Lists (subnets, weaknesses) as one comma-separated cell in tables; JSON keeps lists."""
    if as_json:
        return row
    return {k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()}


@click.group()
def vpn() -> None:
    """VPN tunnels between agencies: create, list, show, render, rm."""


@vpn.command("create")
@click.argument("a")
@click.argument("b")
@click.option("--type", "type_", type=click.Choice(["ikev2", "wireguard"]), required=True,
              help="IKEv2/IPsec (strongSwan) or WireGuard.")
@click.option("--auth", type=click.Choice(["cert", "psk"]),
              help="IKEv2 authentication (default cert). WireGuard uses its keys.")
@click.option("--policy", "policy_name", default="default", show_default=True,
              help=f"Crypto policy: {', '.join(shipped_policy_names())}, or one defined in "
              "the YAML file named by GIN_VPN_POLICY_FILE.")
@click.option("--allow-weak", is_flag=True,
              help="Accept a weak policy; the tunnel is recorded as weak for the audit.")
@click.option("--name", help="Tunnel name (default: A-B).")
@click.option("--a-address", metavar="IP", help="Outer address of A (default: its mgmt_address).")
@click.option("--b-address", metavar="IP", help="Outer address of B (default: its mgmt_address).")
@json_option
@pass_ctx
def create_cmd(ctx: Context, a: str, b: str, type_: str, auth: str | None, policy_name: str,
               allow_weak: bool, name: str | None, a_address: str | None,
               b_address: str | None, as_json: bool) -> None:
    """Record a tunnel from gateway A to gateway B (of another agency); touches no device.

    Protected subnets are the two agencies' prefixes (IPv6 first). Secrets are generated and
    stored sealed with the key in GIN_VPN_KEY_FILE.
    """
    with ctx.directory.transaction() as s:
        t = tunnels.create_tunnel(s, a, b, type_, auth, policy_name, name=name,
                                  allow_weak=allow_weak, a_address=a_address,
                                  b_address=b_address)
        data = tunnels.row(t)
    emit_object(_for_people(data, as_json), as_json)


@vpn.command("list")
@json_option
@pass_ctx
def list_cmd(ctx: Context, as_json: bool) -> None:
    """Every tunnel with its gateways, type and state."""
    with ctx.directory.transaction() as s:
        rows = [tunnels.row(t) for t in tunnels.list_tunnels(s)]
    emit_rows(rows, ["name", "type", "auth", "status", "a", "b", "policy"], as_json,
              title="VPN tunnels")


@vpn.command("show")
@click.argument("name")
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, as_json: bool) -> None:
    """One tunnel: endpoints, protected subnets, proposals, public keys (never a secret)."""
    with ctx.directory.transaction() as s:
        data = tunnels.row(tunnels.get_tunnel(s, name))
    emit_object(_for_people(data, as_json), as_json)


@vpn.command("render")
@click.argument("name")
@json_option
@pass_ctx
def render_cmd(ctx: Context, name: str, as_json: bool) -> None:
    """Both gateways' configuration; secrets appear as <sealed:...> placeholders."""
    with ctx.directory.transaction() as s:
        configs = render(tunnels.spec(tunnels.get_tunnel(s, name)))
    if as_json:
        print_json(configs)
        return
    for host, text in configs.items():
        sys.stdout.write(f"### {host}\n{text}\n")


@vpn.command("rm")
@click.argument("name")
@pass_ctx
def rm_cmd(ctx: Context, name: str) -> None:
    """Delete a tunnel's record and its sealed secrets (deployed configs are not touched)."""
    with ctx.directory.transaction() as s:
        tunnels.remove_tunnel(s, name)
    click.echo(f"removed tunnel {name}")

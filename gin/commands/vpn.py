"""``gin vpn``: plan and inspect site-to-site tunnels between agencies (IKEv2/IPsec, WireGuard),
the GIN VPN CA and its certificates, and key rotation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from devices.errors import GinError
from directory.changelog import log_event
from gin.commands import vpn_live
from gin.context import Context, json_option, pass_ctx
from gin.output import emit_object, emit_rows, print_json
from vpn import pki, tunnels
from vpn.policy import shipped_policy_names
from vpn.render import render


def _for_people(row: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """Lists (subnets, weaknesses) as one comma-separated cell in tables; JSON keeps lists."""
    if as_json:
        return row
    return {k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()}


@click.group()
def vpn() -> None:
    """VPN tunnels between agencies: create, list, show, render, rotate, rm; the CA and
    gateway certificates (ca, cert, crl)."""


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
@click.option("--a-interface", metavar="IFNAME",
              help="Outer interface of A (Junos external-interface, e.g. ge-0/0/0.0).")
@click.option("--b-interface", metavar="IFNAME", help="Outer interface of B.")
@json_option
@pass_ctx
def create_cmd(ctx: Context, a: str, b: str, type_: str, auth: str | None, policy_name: str,
               allow_weak: bool, name: str | None, a_address: str | None,
               b_address: str | None, a_interface: str | None, b_interface: str | None,
               as_json: bool) -> None:
    """Record a tunnel from gateway A to gateway B (of another agency); touches no device.

    Protected subnets are the two agencies' prefixes (IPv6 first). Secrets are generated and
    stored sealed with the key in GIN_VPN_KEY_FILE.
    """
    with ctx.directory.transaction() as s:
        t = tunnels.create_tunnel(s, a, b, type_, auth, policy_name, name=name,
                                  allow_weak=allow_weak, a_address=a_address,
                                  b_address=b_address, a_interface=a_interface,
                                  b_interface=b_interface)
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


def _stdout_is_terminal() -> bool:
    """Secrets go to a person's terminal only, never into a pipe, file or log."""
    return sys.stdout.isatty()


@vpn.command("show")
@click.argument("name")
@click.option("--show-secret", is_flag=True,
              help="Also print the tunnel's secrets (PSK, WireGuard private keys); only on a "
                   "terminal, and the viewing is recorded in the change log.")
@json_option
@pass_ctx
def show_cmd(ctx: Context, name: str, show_secret: bool, as_json: bool) -> None:
    """One tunnel: endpoints, protected subnets, proposals, public keys (secrets only with
    --show-secret on a terminal)."""
    if show_secret and not _stdout_is_terminal():
        raise GinError("refusing to print secrets: standard output is not a terminal "
                       "(run `gin vpn show NAME --show-secret` in an interactive shell)")
    with ctx.directory.transaction() as s:
        tunnel = tunnels.get_tunnel(s, name)
        data = tunnels.row(tunnel)
        if show_secret:
            opened = tunnels.tunnel_secrets(s, tunnel)
            if tunnels.pending_rotation(s, tunnel) is not None:
                opened.update({f"pending_{k}": v for k, v in
                               tunnels.tunnel_secrets(s, tunnel, pending=True).items()})
            log_event(s, "show-secret", tunnel, {"shown": sorted(opened)})
            data.update({f"secret_{k}": v.reveal() for k, v in sorted(opened.items())})
            if not opened:
                data["secret"] = "none: certificate authentication (see gin vpn cert list)"
    emit_object(_for_people(data, as_json), as_json)


@vpn.command("rotate")
@click.argument("name")
@click.option("--abort", is_flag=True, help="Discard the pending new secrets instead.")
@json_option
@pass_ctx
def rotate_cmd(ctx: Context, name: str, abort: bool, as_json: bool) -> None:
    """New PSK, WireGuard keys or certificates for a tunnel; the current ones stay in force
    until a deploy of the new ones succeeds (gin vpn deploy NAME completes the rotation; a
    deploy that fails is rolled back and the rotation stays pending)."""
    with ctx.directory.transaction() as s:
        if abort:
            tunnels.abort_rotation(s, name)
            data = {"tunnel": name, "rotation": "discarded"}
        else:
            rotation = tunnels.rotate(s, name)
            data = {"tunnel": name, "rotation": "pending",
                    **{k: v for k, v in (rotation.details or {}).items()}}
    emit_object(data, as_json)


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


# --- sealing key, PKI --------------------------------------------------------------------------

@vpn.group("key")
def key() -> None:
    """The sealing key that encrypts PSKs and private keys in the directory."""


@key.command("init")
@click.option("--file", "path", type=click.Path(dir_okay=False),
              help="Where to create it (default: GIN_VPN_KEY_FILE, else "
                   "~/.local/share/gin/vpn.key).")
def key_init_cmd(path: str | None) -> None:
    """Create the sealing key (32 random bytes, mode 0600); never overwrites one.

    Back it up apart from the directory: without it no sealed secret can be read.
    """
    from vpn.keys import init_key_file

    click.echo(f"VPN sealing key created: {init_key_file(path)} (mode 0600; back it up)")



@vpn.group("ca")
def ca() -> None:
    """The GIN VPN CA (ECDSA P-384) that signs gateway certificates."""


@ca.command("init")
@click.option("--days", type=click.IntRange(1, pki.MAX_DAYS), default=pki.CA_DAYS,
              show_default=True, help="Validity of the CA certificate.")
@json_option
@pass_ctx
def ca_init_cmd(ctx: Context, days: int, as_json: bool) -> None:
    """Create the CA; its key is stored sealed with the key in GIN_VPN_KEY_FILE."""
    with ctx.directory.transaction() as s:
        data = pki.row(pki.init_ca(s, days=days))
    emit_object(data, as_json)


@ca.command("show")
@click.option("--pem", is_flag=True, help="Print the CA certificate (PEM) only.")
@json_option
@pass_ctx
def ca_show_cmd(ctx: Context, pem: bool, as_json: bool) -> None:
    """The CA certificate: subject, validity, serial (the key is never shown)."""
    with ctx.directory.transaction() as s:
        cert = pki.get_ca(s)
        data, text = pki.row(cert), cert.pem
    if pem:
        sys.stdout.write(text)
        return
    emit_object(data, as_json)


@vpn.group("cert")
def cert() -> None:
    """Gateway certificates: issue, list, revoke, renew, verify."""


CERT_COLUMNS = ["serial", "device", "expires", "days_left", "status", "deployed"]


def _cert_for_people(row: dict[str, Any]) -> dict[str, Any]:
    """A narrow row for the table: dates without times, the CA named as such."""
    status = row["status"] + (f" ({row['reason']})" if row["reason"] else "")
    return {"serial": row["serial"], "device": row["device"] or "(CA)",
            "expires": f"{row['not_after']:%Y-%m-%d}", "days_left": row["days_left"],
            "status": status, "deployed": "yes" if row["deployed_at"] else ""}


@cert.command("issue")
@click.argument("device")
@click.option("--days", type=click.IntRange(1, pki.MAX_DAYS), default=pki.CERT_DAYS,
              show_default=True, help="Validity.")
@click.option("--address", "addresses", multiple=True, metavar="IP",
              help="Outer address for the IP SANs (default: the device's tunnel endpoints).")
@json_option
@pass_ctx
def cert_issue_cmd(ctx: Context, device: str, days: int, addresses: tuple[str, ...],
                   as_json: bool) -> None:
    """Issue DEVICE's certificate: its host name (the IKE id) as DNS SAN, outer addresses
    as IP SANs."""
    with ctx.directory.transaction() as s:
        data = pki.row(pki.issue(s, device, days=days,
                                 addresses=list(addresses) if addresses else None))
    emit_object(data, as_json)


@cert.command("renew")
@click.argument("device", required=False)
@click.option("--expiring-within", "within", type=click.IntRange(1, 3650), metavar="DAYS",
              help="Instead of one DEVICE: every gateway whose current certificate expires "
                   "within DAYS days.")
@click.option("--days", type=click.IntRange(1, pki.MAX_DAYS), default=pki.CERT_DAYS,
              show_default=True, help="Validity.")
@json_option
@pass_ctx
def cert_renew_cmd(ctx: Context, device: str | None, within: int | None, days: int,
                   as_json: bool) -> None:
    """A new certificate for DEVICE (or every expiring one); the old one stays valid until
    the new one is deployed (gin vpn deploy)."""
    if (device is None) == (within is None):
        raise click.UsageError("give either DEVICE or --expiring-within DAYS")
    with ctx.directory.transaction() as s:
        hosts = [device] if device is not None else pki.expiring_devices(s, within or 0)
        rows = [pki.row(pki.renew(s, host, days=days)) for host in hosts]
    if device is not None:
        emit_object(rows[0], as_json)
    else:
        emit_rows(rows if as_json else [_cert_for_people(r) for r in rows], CERT_COLUMNS,
                  as_json, title="Renewed certificates")


@cert.command("list")
@click.option("--device", help="Only this device's certificates.")
@json_option
@pass_ctx
def cert_list_cmd(ctx: Context, device: str | None, as_json: bool) -> None:
    """Every certificate with its expiry, days left and status (valid, expiring, expired,
    revoked)."""
    with ctx.directory.transaction() as s:
        rows = [pki.row(c) for c in pki.list_certificates(s, device)]
    emit_rows(rows if as_json else [_cert_for_people(r) for r in rows], CERT_COLUMNS, as_json,
              title="GIN VPN certificates")


@cert.command("revoke")
@click.argument("serial")
@click.option("--reason", type=click.Choice(list(pki.REASONS)), required=True,
              help="RFC 5280 reason, shown on the CRL.")
@json_option
@pass_ctx
def cert_revoke_cmd(ctx: Context, serial: str, reason: str, as_json: bool) -> None:
    """Revoke a certificate; publish it with `gin vpn crl` (a deploy loads the new CRL)."""
    with ctx.directory.transaction() as s:
        data = pki.row(pki.revoke(s, serial, reason))
    emit_object(data, as_json)


@cert.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@json_option
@pass_ctx
def cert_verify_cmd(ctx: Context, file: str, as_json: bool) -> None:
    """Check a certificate file against the GIN VPN CA: signature, validity, revocation."""
    data = pki.read_pem_file(Path(file))
    with ctx.directory.transaction() as s:
        verdict = pki.verify(s, data)
    emit_object(verdict, as_json)
    if verdict["status"] != "valid":
        raise click.exceptions.Exit(1)


@vpn.command("crl")
@click.option("--format", "fmt", type=click.Choice(["pem", "der"]), default="pem",
              show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=pki.CRL_DAYS, show_default=True,
              help="Until nextUpdate.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
@pass_ctx
def crl_cmd(ctx: Context, fmt: str, days: int, output: str | None) -> None:
    """The CA's signed certificate revocation list (every revoked certificate)."""
    if fmt == "der" and output is None and _stdout_is_terminal():
        raise GinError("a DER CRL is binary: pass -o FILE or redirect standard output")
    with ctx.directory.transaction() as s:
        data = pki.crl_bytes(s, fmt, days=days)
    if output is None:
        if fmt == "der":
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data.decode("ascii"))
        return
    Path(output).write_bytes(data)
    click.echo(f"CRL ({fmt}) written to {output}")


for _command in (vpn_live.deploy_cmd, vpn_live.status_cmd, vpn_live.withdraw_cmd):
    vpn.add_command(_command)

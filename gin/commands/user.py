"""``gin user``: accounts, roles over scopes, and API tokens of the shared service.

Whoever can open the directory database administers it directly (recorded as
``cli:<OS user>``): this is how the first admin is made.  Passwords are read without echo
(or one line from stdin with ``--password-stdin``); a token's secret is printed once.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from directory import identity
from directory import models as m
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_rows, err_console


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask the password on: use --password-stdin")
    return click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)


def _scope(ministry: str | None, agency: str | None) -> tuple[str, str | None]:
    if ministry and agency:
        raise click.UsageError("give --ministry or --agency, not both")
    if ministry:
        return "ministry", ministry
    return ("agency", agency) if agency else ("gin", None)


_scope_options = [
    click.option("--ministry", metavar="CODE",
                 help="Scope: this ministry (any agency) and every agency under it."),
    click.option("--agency", metavar="CODE", help="Scope: this one agency."),
]


def scope_options(fn: Any) -> Any:
    for option in reversed(_scope_options):
        fn = option(fn)
    return fn


def user_row(u: m.User) -> dict[str, Any]:
    grants = [identity.describe_grant(g) for g in u.grants]
    return {"name": u.name, "full_name": u.full_name, "disabled": u.disabled,
            "password": identity.has_password(u), "totp": identity.has_totp(u),
            "source": "ldap" if identity.is_ldap(u) else "local",
            "grants": ", ".join(f"{g['role']}@{g['scope']}"
                                + (f":{g['agency']}" if g["agency"] else "") for g in grants)}


@click.group()
def user() -> None:
    """Users, their roles over scopes, and API tokens of `gin serve`."""


@user.command("add")
@click.argument("name")
@click.option("--full-name")
@click.option("--role", help="Grant this role (admin, engineer, soc, auditor, viewer).")
@scope_options
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--no-password", is_flag=True, help="A token-only account (scripts, agents).")
@pass_ctx
def user_add(ctx: Context, name: str, full_name: str | None, role: str | None,
             ministry: str | None, agency: str | None, password_stdin: bool,
             no_password: bool) -> None:
    """Add a user (with a role over the whole GIN, a ministry, or one agency)."""
    scope, where = _scope(ministry, agency)
    password = None if no_password else _password(password_stdin)
    with ctx.directory.transaction() as s:
        u = identity.add_user(s, name, password, full_name)
        if role:
            identity.grant(s, u.name, role, scope, where)
    granted = f" with role {role} over {scope} {where or ''}".rstrip() if role else ""
    console.print(f"added user {name}{granted}", markup=False)


@user.command("list")
@json_option
@pass_ctx
def user_list(ctx: Context, as_json: bool) -> None:
    """Every user with their grants (a review of access rights)."""
    with ctx.directory.transaction() as s:
        rows = [user_row(u) for u in identity.list_users(s)]
    emit_rows(rows, ["name", "full_name", "source", "disabled", "password", "totp", "grants"],
              as_json, "Users")


@user.command("grant")
@click.argument("name")
@click.argument("role")
@scope_options
@pass_ctx
def user_grant(ctx: Context, name: str, role: str, ministry: str | None,
               agency: str | None) -> None:
    """Give NAME the ROLE over the whole GIN, a ministry, or one agency."""
    scope, where = _scope(ministry, agency)
    with ctx.directory.transaction() as s:
        identity.grant(s, name, role, scope, where)
    console.print(f"granted {role} over {scope} {where or ''}".rstrip() + f" to {name}",
                  markup=False)


@user.command("revoke")
@click.argument("name")
@click.argument("role")
@scope_options
@pass_ctx
def user_revoke(ctx: Context, name: str, role: str, ministry: str | None,
                agency: str | None) -> None:
    """Take a role over a scope away from NAME."""
    scope, where = _scope(ministry, agency)
    with ctx.directory.transaction() as s:
        identity.revoke_grant(s, name, role, scope, where)
    console.print(f"revoked {role} over {scope} {where or ''}".rstrip() + f" from {name}",
                  markup=False)


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@pass_ctx
def user_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set NAME's password."""
    password = _password(password_stdin)
    with ctx.directory.transaction() as s:
        identity.set_password(s, name, password)
    console.print(f"password of {name} changed", markup=False)


@user.command("disable")
@click.argument("name")
@pass_ctx
def user_disable(ctx: Context, name: str) -> None:
    """Stop NAME from acting: logins refused, every token revoked."""
    with ctx.directory.transaction() as s:
        identity.set_disabled(s, name, True)
    console.print(f"disabled {name} (tokens revoked)", markup=False)


@user.command("enable")
@click.argument("name")
@pass_ctx
def user_enable(ctx: Context, name: str) -> None:
    """Let a disabled user log in again (revoked tokens stay revoked)."""
    with ctx.directory.transaction() as s:
        identity.set_disabled(s, name, False)
    console.print(f"enabled {name}", markup=False)


@user.group("token")
def token() -> None:
    """API tokens: named, expiring, revocable, optionally read-only."""


@token.command("create")
@click.argument("name")
@click.argument("token_name")
@click.option("--days", type=click.IntRange(1, identity.MAX_TOKEN_DAYS),
              default=identity.DEFAULT_TOKEN_DAYS, show_default=True, help="Valid for days.")
@click.option("--read-only", is_flag=True, help="Only the read permissions of NAME's roles.")
@pass_ctx
def token_create(ctx: Context, name: str, token_name: str, days: int, read_only: bool) -> None:
    """Issue a token for NAME; the secret is printed once, on stdout, and never stored."""
    with ctx.directory.transaction() as s:
        tok, secret = identity.create_token(s, name, token_name, days, read_only)
        expires = tok.expires_at
    err_console.print(f"token {token_name} of {name}, valid until "
                      f"{expires:%Y-%m-%d %H:%M} UTC; keep it secret, it is not shown again:",
                      markup=False)
    click.echo(secret)


@token.command("list")
@click.argument("name", required=False)
@json_option
@pass_ctx
def token_list(ctx: Context, name: str | None, as_json: bool) -> None:
    """Tokens (never their secrets): owner, name, state, expiry, last use."""
    with ctx.directory.transaction() as s:
        rows = [{"user": t.user.name, "name": t.name, "state": identity.token_state(t),
                 "read_only": t.read_only, "expires_at": t.expires_at,
                 "last_used_at": t.last_used_at} for t in identity.list_tokens(s, name)]
    emit_rows(rows, ["user", "name", "state", "read_only", "expires_at", "last_used_at"],
              as_json, "Tokens")


@token.command("revoke")
@click.argument("name")
@click.argument("token_name")
@pass_ctx
def token_revoke(ctx: Context, name: str, token_name: str) -> None:
    """Revoke NAME's token TOKEN_NAME at once."""
    with ctx.directory.transaction() as s:
        identity.revoke_token(s, name, token_name)
    console.print(f"revoked token {token_name} of {name}", markup=False)


@user.group("totp")
def totp() -> None:
    """A second factor at login: one-time codes from an authenticator app (API tokens are
    not affected).  The secret is sealed with the service's key (GIN_VPN_KEY_FILE)."""


@totp.command("enable")
@click.argument("name")
@pass_ctx
def totp_enable(ctx: Context, name: str) -> None:
    """Give NAME a one-time-code secret; its otpauth:// URI is printed once, on stdout (load
    it into the authenticator app, e.g. as a QR code), and from then on logging in as NAME
    needs the current code as well as the password."""
    from gin.server import totp as second_factor

    with ctx.directory.transaction() as s:
        uri = second_factor.enable(s, name)
    err_console.print(f"one-time codes enabled for {name}; load this URI into the "
                      "authenticator app now, it is not shown again:", markup=False)
    click.echo(uri)


@totp.command("disable")
@click.argument("name")
@pass_ctx
def totp_disable(ctx: Context, name: str) -> None:
    """Take NAME's one-time codes away (a lost phone: enable again for a new secret)."""
    from gin.server import totp as second_factor

    with ctx.directory.transaction() as s:
        second_factor.disable(s, name)
    console.print(f"one-time codes disabled for {name}", markup=False)

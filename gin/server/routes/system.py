"""Health, who am I, logging in, and the OpenAPI document."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from devices.errors import GinError
from directory import identity
from directory.errors import Invalid

from .. import ldap, totp
from ..auth import LOGIN_TOKEN_DAYS, source, unauthenticated
from ..ldap import LdapConfig
from ..metrics import LOGINS, exposition
from ..permissions import Principal, authenticated, public, requires

log = logging.getLogger("gin.server.auth")

router = APIRouter(tags=["system"])


@router.get("/health")
def health(_: None = public()) -> dict[str, str]:
    """Liveness: the process answers (no database access, no details)."""
    return {"status": "ok"}


@router.get("/me")
def me(who: Principal = authenticated()) -> dict[str, Any]:
    """The caller: user, token, and the grants in force."""
    ident = who.identity
    return {"user": ident.user, "token": ident.token, "read_only": ident.read_only,
            "actor": ident.actor,
            "grants": [{"scope": scope, "agency_id": agency, "permissions": sorted(perms)}
                       for scope, perms, agency in ident.grants]}


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(max_length=64)
    password: str = Field(max_length=identity.MAX_PASSWORD)
    totp: str | None = Field(None, max_length=16,
                             description="the one-time code, for accounts with a second factor")


@router.post("/auth/login")
def login(body: Login, request: Request, _: None = public()) -> dict[str, Any]:
    """Exchange a user name and password for a token valid for one day (revocable like any).

    Repeated failures for one account or from one address are answered 429 with Retry-After,
    the wait doubling with each further failure (counted in the database, so every server
    process agrees); while it lasts even the right password is refused."""
    directory = request.app.state.directory
    where = source(request)
    with directory.transaction("api:login") as s:
        wait = identity.login_delay(s, body.user, where)
    if wait:
        LOGINS.labels("throttled").inc()
        log.warning("login throttled for %r from %s (%d s)", body.user[:64], where, wait)
        raise HTTPException(429, f"too many failed logins for this account or address: "
                                 f"try again in {wait} s", headers={"Retry-After": str(wait)})
    with directory.transaction("api:login") as s:
        who = identity.authenticate_password(s, body.user, body.password)
        ldap_ok = who is None and ldap_config(request) is not None and _ldap_name(s, body.user)
    if ldap_ok:
        who = _ldap_login(request, body.user, body.password)
    second_factor = ""
    if who is not None:
        with directory.transaction("api:login") as s:
            account = identity.get_user(s, who.user)
            if identity.has_totp(account) and not _code_ok(s, account, body.totp):
                second_factor = "one-time code missing" if not body.totp else "wrong one-time code"
                who = None
            else:
                s.info["actor"] = who.actor  # from here on the change log knows who it is
                identity.clear_login_failures(s, who.user)
                token, secret = identity.create_token(s, who.user,
                                                      f"login-{secrets.token_hex(4)}",
                                                      days=LOGIN_TOKEN_DAYS)
                expires = token.expires_at
    if who is None:
        with directory.transaction("api:login") as s:
            identity.record_login_failure(s, body.user, where)
        LOGINS.labels("failure").inc()
        log.warning("failed login for %r from %s%s", body.user[:64], where,
                    f" ({second_factor})" if second_factor else "")
        if second_factor:
            raise unauthenticated(f"{second_factor}: this account needs the current code "
                                  "from its authenticator app in \"totp\"")
        raise unauthenticated("wrong user name or password")
    LOGINS.labels("success").inc()
    log.info("login of %s from %s", who.user, where)
    return {"token": secret, "expires_at": expires, "user": who.user}


def _code_ok(s: Any, account: Any, code: str | None) -> bool:
    """The second factor; 503 when the service cannot open the sealed secret (its sealing
    key is missing or wrong: an operator's problem, not a failed login)."""
    try:
        return totp.check(s, account, code)
    except GinError as exc:
        log.error("one-time code of %s cannot be checked: %s", account.name, exc)
        raise HTTPException(503, "the second factor cannot be checked (the service's sealing "
                                 "key is missing or wrong): tell the administrator") from None


def ldap_config(request: Request) -> LdapConfig | None:
    """The LDAP configuration ``gin serve --ldap-config`` gave the app (None: local only)."""
    return getattr(request.app.state, "ldap", None)


def _ldap_name(s: Any, user: str) -> bool:
    """Whether ``user`` may be tried against LDAP: a valid name not held by a local account."""
    try:
        return identity.ldap_login_allowed(s, user)
    except Invalid:
        return False


def _ldap_login(request: Request, user: str, password: str) -> identity.Identity | None:
    """Bind to LDAP as the user; on success create or update the LDAP-backed account with the
    roles its groups map to.  503 when the LDAP server cannot be reached (not a failed login)."""
    config = ldap_config(request)
    assert config is not None
    try:
        found = ldap.authenticate(config, identity.clean_user(user), password)
    except ldap.LdapUnavailable as exc:
        raise HTTPException(503, f"{exc}: try again later") from None
    if found is None:
        return None
    unmapped = [g for g in found.groups if g not in config.group_roles]
    log.info("LDAP login of %s (groups: %d mapped, %d unmapped)", user,
             len(found.groups) - len(unmapped), len(unmapped))
    with request.app.state.directory.transaction(f"ldap:{user}") as s:
        return identity.sync_ldap_user(s, user, found.full_name, found.grants)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(who: Principal = requires("monitor.read", gin_wide=True)) -> PlainTextResponse:
    """Prometheus metrics of this process (logins, refusals, token use) and of the
    directory's jobs (how many in each state, how long they took)."""
    return PlainTextResponse(exposition(who.directory), media_type=CONTENT_TYPE_LATEST)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: None = public()) -> dict[str, Any]:
    """The API's OpenAPI document."""
    return request.app.openapi()

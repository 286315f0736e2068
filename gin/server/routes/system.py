"""Health, who am I, logging in, and the OpenAPI document."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from directory import identity

from ..auth import LOGIN_TOKEN_DAYS, source, unauthenticated
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
        if who is not None:
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
        log.warning("failed login for %r from %s", body.user[:64], where)
        raise unauthenticated("wrong user name or password")
    LOGINS.labels("success").inc()
    log.info("login of %s from %s", who.user, where)
    return {"token": secret, "expires_at": expires, "user": who.user}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(_: Principal = requires("monitor.read", gin_wide=True)) -> PlainTextResponse:
    """Prometheus metrics of this process (logins, refusals, token use)."""
    return PlainTextResponse(exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: None = public()) -> dict[str, Any]:
    """The API's OpenAPI document."""
    return request.app.openapi()

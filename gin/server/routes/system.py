"""Health, who am I, logging in, and the OpenAPI document."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from directory import identity

from ..auth import LOGIN_TOKEN_DAYS, unauthenticated
from ..permissions import Principal, authenticated, public

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
    """Exchange a user name and password for a token valid for one day (revocable like any)."""
    directory = request.app.state.directory
    with directory.transaction("api:login") as s:
        who = identity.authenticate_password(s, body.user, body.password)
        if who is None:
            raise unauthenticated("wrong user name or password")
        s.info["actor"] = who.actor  # from here on the change log knows who it is
        token, secret = identity.create_token(s, who.user, f"login-{secrets.token_hex(4)}",
                                              days=LOGIN_TOKEN_DAYS)
        expires = token.expires_at
    return {"token": secret, "expires_at": expires, "user": who.user}


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: None = public()) -> dict[str, Any]:
    """The API's OpenAPI document."""
    return request.app.openapi()

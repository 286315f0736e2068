"""Who is calling: a bearer token (``Authorization: Bearer gin_...``) checked against the
directory's hashed tokens.  Passwords are exchanged for a short-lived token at
``POST /api/v1/auth/login`` (see :mod:`gin.server.routes.system`), so every request after a
login is a token request and the password crosses the wire once."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request

from directory import identity

from .metrics import REFUSALS, TOKENS
from .principal import Principal

log = logging.getLogger("gin.server.auth")
LOGIN_TOKEN_DAYS = 1


def unauthenticated(detail: str) -> HTTPException:
    REFUSALS.labels("401").inc()
    return HTTPException(status_code=401, detail=detail,
                         headers={"WWW-Authenticate": 'Bearer realm="gin"'})


def authenticate(request: Request) -> Principal:
    """The caller's principal, or 401 (no credentials, or a token that is wrong, expired,
    revoked, or whose user is disabled: the caller is not told which)."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise unauthenticated("authentication required: send Authorization: Bearer <token> "
                              "(gin user token create, or POST /api/v1/auth/login)")
    directory = request.app.state.directory
    with directory.transaction("api:auth") as s:
        who = identity.authenticate_token(s, presented.strip())
    if who is None:
        TOKENS.labels("rejected").inc()
        log.warning("token refused from %s", source(request))
        raise unauthenticated("the token is not valid (unknown, expired or revoked)")
    TOKENS.labels("accepted").inc()
    return Principal(who, directory)


def source(request: Request) -> str:
    """The caller's address (the connection's peer: no proxy header is trusted)."""
    return request.client.host if request.client else "unknown"

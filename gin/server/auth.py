"""Who is calling: a bearer token (``Authorization: Bearer gin_...``) checked against the
directory's hashed tokens.  Passwords are exchanged for a short-lived token at
``POST /api/v1/auth/login`` (see :mod:`gin.server.routes.system`), so every request after a
login is a token request and the password crosses the wire once.

A verified token is remembered for a few seconds (:class:`TokenCache`): without it every
request opened a database transaction (token, user, grants, roles) before doing its own work,
which made the check cost more than a whois look-up.  The cache is keyed by the SHA-256 of the
presented token (the secret itself is not kept), never outlives the token's own expiry, and
is emptied in this process the moment a token is revoked, a user disabled or a grant changed;
another server process (``--workers``, or ``gin user`` on the database) is noticed within
:data:`CACHE_SECONDS`, and so is a check that was already under way when the change was made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import threading
import time
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import event
from starlette.concurrency import run_in_threadpool

from directory import identity
from directory import models as m
from directory.identity import Identity

from .metrics import REFUSALS, TOKENS
from .principal import Principal

log = logging.getLogger("gin.server.auth")
LOGIN_TOKEN_DAYS = 1
#: How long a verified token is believed without asking the database again.
CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000


class TokenCache:
    """Verified tokens (by SHA-256 of the presented text) -> identity, for a few seconds."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = CACHE_SIZE) -> None:
        self.seconds, self.size = seconds, size
        self._entries: dict[bytes, tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(presented: str) -> bytes:
        return hashlib.sha256(presented.encode()).digest()

    def get(self, presented: str) -> Identity | None:
        key = self.key(presented)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, presented: str, who: Identity) -> None:
        until = time.monotonic() + self.seconds
        if who.expires_at is not None:  # never believe a token past its own expiry
            left = (who.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            until = min(until, time.monotonic() + left)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()  # a flood of distinct tokens: start over, stay bounded
            self._entries[self.key(presented)] = (until, who)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: One per process: every app in the process shares what the database said.
TOKENS_SEEN = TokenCache()


def _forget(*_args: Any) -> None:
    TOKENS_SEEN.clear()


# Revoking a token (or a logout), disabling a user and changing grants empty the cache at
# once, whoever does it in this process (a route, the console, a test).
event.listen(m.ApiToken.revoked_at, "set", _forget)
event.listen(m.User.disabled, "set", _forget)
for _kind in ("after_insert", "after_update", "after_delete"):
    event.listen(m.Grant, _kind, _forget)
    event.listen(m.Role, _kind, _forget)


def unauthenticated(detail: str) -> HTTPException:
    REFUSALS.labels("401").inc()
    return HTTPException(status_code=401, detail=detail,
                         headers={"WWW-Authenticate": 'Bearer realm="gin"'})


def bearer_token(request: Request) -> str:
    """The presented bearer token, or 401 when the request carries none."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise unauthenticated("authentication required: send Authorization: Bearer <token> "
                              "(gin user token create, or POST /api/v1/auth/login)")
    return presented.strip()


def cached(request: Request) -> Principal | None:
    """The caller's principal if its token was verified moments ago (no database access:
    safe on the event loop); None means :func:`authenticate` must ask the database."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    who = TOKENS_SEEN.get(presented.strip())
    if who is None:
        return None
    TOKENS.labels("accepted").inc()
    return Principal(who, request.app.state.directory)


def authenticate(request: Request) -> Principal:
    """The caller's principal, or 401 (no credentials, or a token that is wrong, expired,
    revoked, or whose user is disabled: the caller is not told which)."""
    presented = bearer_token(request)
    directory = request.app.state.directory
    with directory.transaction("api:auth") as s:
        who = identity.authenticate_token(s, presented)
    if who is None:
        TOKENS.labels("rejected").inc()
        log.warning("token refused from %s", source(request))
        raise unauthenticated("the token is not valid (unknown, expired or revoked)")
    TOKENS_SEEN.put(presented, who)
    TOKENS.labels("accepted").inc()
    return Principal(who, directory)


#: Database checks under way, by the SHA-256 of the presented token.
_CHECKING: dict[bytes, asyncio.Future[Principal]] = {}


async def authenticate_shared(request: Request) -> Principal:
    """:func:`authenticate` in the thread pool, one check shared by the requests that present
    the same token while it runs.  When a busy client's cached token expires, its requests
    all miss at once: one check each queued them on the connection pool and stalled every
    connection of the process for a few hundred milliseconds; now they wait for one check
    (which started after they arrived, so it is as fresh as their own)."""
    presented = bearer_token(request)
    key = TokenCache.key(presented)
    check = _CHECKING.get(key)
    if check is None:
        check = asyncio.ensure_future(run_in_threadpool(authenticate, request))
        _CHECKING[key] = check
        check.add_done_callback(lambda _done: _CHECKING.pop(key, None))
        return await asyncio.shield(check)  # a caller that goes away must not cancel others
    try:  # the check counts its own request; each sharer is counted here
        who = await asyncio.shield(check)
    except HTTPException:
        TOKENS.labels("rejected").inc()
        raise
    TOKENS.labels("accepted").inc()
    return who


def source(request: Request) -> str:
    """The caller's address (the connection's peer: no proxy header is trusted)."""
    return request.client.host if request.client else "unknown"

"""Browser sessions for the console, built on the API's own tokens.

A login through the form is the API's login (same argon2id check, same throttling per account
and address) and yields a one-day API token; the token travels in an HttpOnly, SameSite=Strict
cookie (Secure over TLS).  So a browser session is listed, expires and is revoked exactly like
any token (``gin user token list/revoke``), and a review of access rights sees it: no second
kind of credential, no new table.  Logging out revokes the token.

Every POST made with the cookie carries a CSRF token in a hidden field: an HMAC of the session's
own token, so it differs per session, needs no storage, and a page on another site cannot know
it.  Callers with an ``Authorization: Bearer`` header (scripts, the route-walk test) send no
ambient credential, so they need none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from directory import identity

from ..auth import authenticate_shared, unauthenticated
from ..permissions import Guard, Need
from ..principal import Principal

COOKIE = "gin_session"
LOGIN_COOKIE = "gin_login"  # the login form's own CSRF value, before any session exists
LANG_COOKIE = "gin_lang"
PATH = "/ui"


class PageGuard(Guard):
    """A route declaration for pages: the session cookie, else a bearer token."""

    async def authenticate(self, request: Request) -> Principal:
        presented = request.cookies.get(COOKIE)
        if not presented or request.headers.get("authorization"):
            return await authenticate_shared(request)
        return await run_in_threadpool(self._session, request, presented)

    @staticmethod
    def _session(request: Request, presented: str) -> Principal:
        directory = request.app.state.directory
        with directory.transaction("web:auth") as s:
            who = identity.authenticate_token(s, presented)
        if who is None:
            raise unauthenticated("the session has ended: log in again")
        request.state.session = presented
        return Principal(who, directory)


def page_requires(permission: str, *, agency: str | None = None,
                  gin_wide: bool = False) -> Any:
    """Declare and enforce ``permission`` for a page (as :func:`permissions.requires`)."""
    return Depends(PageGuard(Need(permission, gin_wide=gin_wide, agency_param=agency)))


def page_authenticated() -> Any:
    """Declare that any logged-in caller may use the page."""
    return Depends(PageGuard(Need(None)))


def csrf_token(session: str) -> str:
    return hmac.new(session.encode(), b"gin-console-csrf", hashlib.sha256).hexdigest()


def session_of(request: Request) -> str | None:
    """The cookie's token when the caller came through it (None for bearer callers)."""
    return getattr(request.state, "session", None)


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """403 unless a cookie-borne POST carries its session's CSRF token."""
    session = session_of(request)
    if session is None:
        return
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(session)):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page "
                                 "and submit again")


def check_login_csrf(request: Request, form: dict[str, str]) -> None:
    """The login form's double-submit check (its cookie and its hidden field agree)."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(form.get("csrf", ""), cookie):
        raise HTTPException(403, "the login form's CSRF token is missing or wrong: reload "
                                 "the login page")


def new_login_value() -> str:
    return secrets.token_urlsafe(24)


def cookie_options(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "path": PATH,
            "secure": request.url.scheme == "https"}

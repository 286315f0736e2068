"""Each person's console language, kept with their account (``gin_user.language``) so it
follows them to any browser: chosen with the header's switch, applied at login.  The cookie
stays what a page reads (a request needs no extra query); the account is where it lives."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select

from directory import identity
from directory import models as m
from directory.store import Directory

from . import session as web


def stored(directory: Directory, user: str) -> str | None:
    """The language ``user`` chose last (None: never chose one)."""
    with directory.transaction("web:language") as s:
        return s.scalar(select(m.User.language).where(m.User.name == user))


def remember(request: Request, lang: str) -> None:
    """Keep ``lang`` for the person whose session cookie came with ``request`` (a browser
    without a session keeps the cookie only)."""
    presented = request.cookies.get(web.COOKIE)
    if not presented:
        return
    directory: Directory = request.app.state.directory
    with directory.transaction("web:language") as s:
        who = identity.authenticate_token(s, presented)
        if who is None:
            return
        s.info["actor"] = who.actor
        user = s.scalars(select(m.User).where(m.User.name == who.user)).first()
        if user is not None and user.language != lang:
            user.language = lang

"""Access control at the service's edge: every route declares what it needs.

A route takes ``who: Principal = requires("directory.write", agency="code")``: the caller must
be authenticated (:mod:`gin.server.auth`) and hold the permission through a grant whose scope
covers the agency named by the path parameter ``code`` (the whole GIN, that agency's ministry,
or the agency itself).  ``gin_wide=True`` asks for a grant over the whole GIN (the change log
and identity are not per agency).  Routes without an agency in the path (lists, whois,
allocation) check the agency they act on with :meth:`Principal.require` and filter lists with
:meth:`Principal.visible`.  ``public()`` and ``authenticated()`` are declarations too, so a
route with no declaration at all is a bug the route-walk test finds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from directory import store
from directory.identity import PERMISSIONS

from .principal import Principal, Refused

log = logging.getLogger("gin.server.access")


@dataclass(frozen=True)
class Need:
    """What a route declared: a permission (or none: public / any authenticated caller)."""

    permission: str | None
    public: bool = False
    gin_wide: bool = False
    agency_param: str | None = None


class Guard:
    """The FastAPI dependency behind a declaration; it is also the declaration itself."""

    def __init__(self, need: Need) -> None:
        if need.permission is not None and need.permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {need.permission!r}")
        self.need = need

    async def __call__(self, request: Request) -> Principal | None:
        """Asynchronous so that a caller whose token was verified moments ago (the cache in
        :mod:`gin.server.auth`) is let through on the event loop; anything that needs the
        database runs in the thread pool, as a synchronous dependency would."""
        need = self.need
        if need.public:
            return None
        from .auth import cached

        who = cached(request)
        if who is None:
            who = await self.authenticate(request)
        if need.permission is None:
            return who
        if not who.holds(need.permission, need.gin_wide):
            where = " over the whole GIN" if need.gin_wide else ""
            raise Refused(who.identity, f"{need.permission} is not granted{where}")
        if need.agency_param:
            await run_in_threadpool(self.require_agency, who,
                                    request.path_params[need.agency_param])
        return who

    def require_agency(self, who: Principal, code: str) -> None:
        with who.directory.transaction(who.actor) as s:
            store.get_agency(s, code)  # 404 for an unknown agency, before the scope
            who.require(s, self.need.permission or "", code)

    async def authenticate(self, request: Request) -> Principal:
        """Who is calling, asked of the database (the console's pages also accept their
        session cookie)."""
        from .auth import authenticate_shared

        return await authenticate_shared(request)


def requires(permission: str, *, agency: str | None = None, gin_wide: bool = False) -> Any:
    """Declare and enforce ``permission`` (over the agency in path parameter ``agency``)."""
    return Depends(Guard(Need(permission, gin_wide=gin_wide, agency_param=agency)))


def authenticated() -> Any:
    """Declare that any authenticated caller may use the route (e.g. ``/me``)."""
    return Depends(Guard(Need(None)))


def public() -> Any:
    """Declare that the route needs no authentication (health, login, the OpenAPI document)."""
    return Depends(Guard(Need(None, public=True)))


def declared(route: APIRoute) -> list[Need]:
    """Every declaration in a route's dependency tree (a route should have exactly one)."""
    found: list[Need] = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Guard):
            found.append(dep.call.need)
        stack.extend(dep.dependencies)
    return found


def walk(app: Any) -> list[tuple[str, str, Any]]:
    """(method, full path, route) of everything the app serves, in FastAPI's own order."""
    from fastapi.routing import iter_route_contexts

    out = []
    for ctx in iter_route_contexts(app.routes):
        for method in sorted(ctx.methods or {"*"}):
            out.append((method, ctx.path, ctx.route))
    return out

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

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from directory import store
from directory.identity import PERMISSIONS, Identity
from directory.store import Directory

from .metrics import REFUSALS

log = logging.getLogger("gin.server.access")


@dataclass(frozen=True)
class Need:
    """What a route declared: a permission (or none: public / any authenticated caller)."""

    permission: str | None
    public: bool = False
    gin_wide: bool = False
    agency_param: str | None = None


class Refused(HTTPException):
    """403 with one line saying what was missing (never what exists beyond the caller)."""

    def __init__(self, who: Identity, detail: str) -> None:
        super().__init__(status_code=403, detail=detail)
        log.warning("refused %s: %s", who.actor, detail)
        REFUSALS.labels("403").inc()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and what their grants allow."""

    identity: Identity
    directory: Directory

    @property
    def actor(self) -> str:
        return self.identity.actor

    def _grants(self, permission: str) -> list[tuple[str, int | None]]:
        return [(scope, agency) for scope, perms, agency in self.identity.grants
                if permission in perms]

    def holds(self, permission: str, gin_wide: bool = False) -> bool:
        grants = self._grants(permission)
        return any(scope == "gin" for scope, _ in grants) if gin_wide else bool(grants)

    def allows(self, session: Session, permission: str, agency: str) -> bool:
        """Whether a grant with ``permission`` covers ``agency`` (its code)."""
        grants = self._grants(permission)
        if any(scope == "gin" for scope, _ in grants):
            return True
        if not grants:
            return False
        lineage = store.lineage_ids(session, agency)  # the agency, its parent, ... up
        return any((scope == "agency" and lineage[:1] == [root])
                   or (scope == "ministry" and root in lineage) for scope, root in grants)

    def require(self, session: Session, permission: str, agency: str) -> None:
        """Refuse (403) unless ``permission`` is held over ``agency``."""
        if not self.allows(session, permission, agency):
            raise Refused(self.identity, f"{permission} is not granted over agency "
                                         f"{str(agency).upper()}")

    def require_gin(self, permission: str, what: str) -> None:
        """Refuse (403) unless ``permission`` is held over the whole GIN."""
        if not self.holds(permission, gin_wide=True):
            raise Refused(self.identity, f"{permission} over the whole GIN is needed for {what}")

    def visible(self, session: Session, permission: str) -> set[int] | None:
        """The agency ids the caller may see with ``permission``; None means every one."""
        grants = self._grants(permission)
        if any(scope == "gin" for scope, _ in grants):
            return None
        agencies = {root for scope, root in grants if scope == "agency" and root is not None}
        trees = [root for scope, root in grants if scope == "ministry" and root is not None]
        return agencies | store.subtree_ids(session, trees)


class Guard:
    """The FastAPI dependency behind a declaration; it is also the declaration itself."""

    def __init__(self, need: Need) -> None:
        if need.permission is not None and need.permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {need.permission!r}")
        self.need = need

    def __call__(self, request: Request) -> Principal | None:
        from .auth import authenticate

        need = self.need
        if need.public:
            return None
        who = authenticate(request)
        if need.permission is None:
            return who
        if not who.holds(need.permission, need.gin_wide):
            where = " over the whole GIN" if need.gin_wide else ""
            raise Refused(who.identity, f"{need.permission} is not granted{where}")
        if need.agency_param:
            code = request.path_params[need.agency_param]
            with who.directory.transaction(who.actor) as s:
                store.get_agency(s, code)  # 404 for an unknown agency, before the scope
                who.require(s, need.permission, code)
        return who


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

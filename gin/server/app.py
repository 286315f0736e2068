"""The ASGI application: routers, error mapping, and headers every answer carries."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from directory.errors import Conflict, DirectoryError, Exhausted, Invalid, NotFound
from directory.store import Directory
from gin import __version__

from . import web
from .headers import SecurityHeaders
from .limits import BodyLimit
from .routes import (  # noqa: I001 (long operations as jobs)
    addresses,
    agencies,
    audit_runs,
    changes,
    gsi,
    interfaces,
    inventory,
    jobs,
    links,
    monitoring,
    people,
    provisioning,
    services,
    system,
    tunnel_live,
    tunnels,
)

API = "/api/v1"
log = logging.getLogger("gin.server")

#: How the directory's one-line errors become HTTP answers (the line is the detail).
STATUS = ((NotFound, 404), (Conflict, 409), (Exhausted, 409), (Invalid, 422))


def create_app(directory: Directory) -> FastAPI:
    """The service over an open directory (one per process; sessions are per request)."""
    app = FastAPI(title="gin", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None,
                  description="The GIN directory as a shared service: every route needs a "
                              "bearer token (gin user token create, or POST /api/v1/auth/login) "
                              "carrying the permission the route declares.")
    app.state.directory = directory
    for module in (system, agencies, addresses, changes, people, inventory, gsi, links, tunnels):
        app.include_router(module.router, prefix=API)
    for module in (interfaces, services, monitoring, tunnel_live):
        app.include_router(module.router, prefix=API)
    for module in (provisioning, jobs, audit_runs):
        app.include_router(module.router, prefix=API)

    @app.exception_handler(DirectoryError)
    def directory_error(_request: Request, exc: DirectoryError) -> JSONResponse:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    web.mount(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)  # outermost: the 413 above carries them too
    return app

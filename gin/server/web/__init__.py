"""The console: server-rendered pages (Jinja2, no JavaScript build, every asset served by gin
itself) over the same directory calls and the same declared permissions as the API."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the console's pages and its error pages to the service (one line in app.py)."""
    from . import audit_pages, engineer, jobs_page, live, map, soc
    from .pages import install

    install(app)
    # the SOC board, the map, the agency page's live state; the auditor's and engineer's
    # pages; a job's page
    for module in (soc, map, live, audit_pages, engineer, jobs_page):
        app.include_router(module.router, prefix="/ui")

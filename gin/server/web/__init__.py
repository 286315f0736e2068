"""The console: server-rendered pages (Jinja2, no JavaScript build, every asset served by gin
itself) over the same directory calls and the same declared permissions as the API."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the console's pages and its error pages to the service (one line in app.py)."""
    from .audit_pages import router as audit_pages
    from .engineer import router as engineer
    from .pages import install

    install(app)
    for pages in (audit_pages, engineer):
        app.include_router(pages, prefix="/ui")

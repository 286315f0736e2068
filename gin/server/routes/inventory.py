"""Sites and devices: list (filters, stable cursor pagination, only what the caller's grants
cover) and show.  Rows are the CLI's own (``gin directory site|device show --json``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from directory import models as m
from directory import store
from directory.errors import Invalid
from gin.commands.directory import device_row, site_row

from ..permissions import Principal, requires

router = APIRouter(tags=["inventory"])
CODE = Path(max_length=32, description="agency code", examples=["DOPA"])


@router.get("/sites")
def list_sites(agency: str | None = Query(None, max_length=32),
               after: str | None = Query(None, max_length=70,
                                         description="cursor: AGENCY/SITE of the last row"),
               limit: int = Query(100, ge=1, le=store.MAX_PAGE),
               who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Sites in (agency, code) order; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Site).join(m.Site.agency).order_by(m.Agency.code, m.Site.code)
        visible = who.visible(s, "directory.read")
        if visible is not None:
            stmt = stmt.where(m.Site.agency_id.in_(visible) if visible else m.Site.id.is_(None))
        if agency:
            stmt = stmt.where(m.Site.agency_id == store.get_agency(s, agency).id)
        if after:
            ag, _, code = after.upper().partition("/")
            stmt = stmt.where((m.Agency.code > ag) | ((m.Agency.code == ag) & (m.Site.code > code)))
        rows = list(s.scalars(stmt.limit(limit + 1)))
        items = [site_row(st) for st in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    return {"items": items, "next": f"{last['agency']}/{last['code']}" if last else None}


@router.get("/agencies/{code}/sites/{site}")
def show_site(code: str = CODE, site: str = Path(max_length=32, examples=["HQ"]),
              who: Principal = requires("directory.read", agency="code")) -> dict[str, Any]:
    """One site of an agency."""
    with who.directory.transaction(who.actor) as s:
        return site_row(store.get_site(s, code, site))


@router.get("/devices")
def list_devices(agency: str | None = Query(None, max_length=32),
                 site: str | None = Query(None, max_length=32, description="with agency"),
                 role: str | None = Query(None, max_length=16,
                                          description=", ".join(m.DEVICE_ROLES)),
                 platform: str | None = Query(None, max_length=32),
                 after: str | None = Query(None, max_length=63,
                                           description="cursor: the last hostname"),
                 limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                 who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Devices in hostname order, filtered; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Device).join(m.Device.site).order_by(m.Device.hostname)
        visible = who.visible(s, "directory.read")
        if visible is not None:
            stmt = stmt.where(m.Site.agency_id.in_(visible) if visible else m.Device.id.is_(None))
        if site and not agency:
            raise Invalid("site: give agency too (site codes are per agency)")
        if agency and site:
            stmt = stmt.where(m.Device.site_id == store.get_site(s, agency, site).id)
        elif agency:
            stmt = stmt.where(m.Site.agency_id == store.get_agency(s, agency).id)
        if role:
            if role not in m.DEVICE_ROLES:
                raise Invalid(f"role: {role!r} is not one of {', '.join(m.DEVICE_ROLES)}")
            stmt = stmt.where(m.Device.role == role)
        if platform:
            stmt = stmt.where(m.Device.platform == store.clean_platform(platform))
        if after:
            stmt = stmt.where(m.Device.hostname > after.lower())
        rows = list(s.scalars(stmt.limit(limit + 1)))
        items = [device_row(d) for d in rows[:limit]]
    return {"items": items, "next": items[-1]["hostname"] if len(rows) > limit else None}


@router.get("/devices/{hostname}")
def show_device(hostname: str = Path(max_length=63, examples=["dopa-pe1"]),
                who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One device and its interfaces (refused when its agency is outside the caller's grants)."""
    with who.directory.transaction(who.actor) as s:
        dev = store.get_device(s, hostname)
        who.require(s, "directory.read", dev.site.agency.code)
        row = device_row(dev)
        row["interfaces"] = [i.name for i in sorted(dev.interfaces, key=lambda i: i.name)]
    return row

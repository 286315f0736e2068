"""Device interfaces: list (filters, stable cursor pages, only what the caller's grants cover)
and show one (``gin directory device interface-add`` records them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from directory import models as m
from directory import store

from ..permissions import Principal, requires

router = APIRouter(tags=["inventory"])


def interface_row(i: m.Interface) -> dict[str, Any]:
    return {"device": i.device.hostname, "agency": i.device.site.agency.code,
            "name": i.name, "description": i.description, "enabled": i.enabled,
            "speed_mbps": i.speed_mbps}


@router.get("/interfaces")
def list_interfaces(agency: str | None = Query(None, max_length=32),
                    device: str | None = Query(None, max_length=63),
                    after: str | None = Query(None, max_length=130,
                                              description="cursor: HOSTNAME:IFNAME of the "
                                                          "last row"),
                    limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                    who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Interfaces in (hostname, name) order; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = (select(m.Interface).join(m.Interface.device).join(m.Device.site)
                .order_by(m.Device.hostname, m.Interface.name))
        stmt = who.confine(s, stmt, "directory.read", m.Site.agency_id)
        if agency:
            stmt = stmt.where(m.Site.agency_id == store.get_agency(s, agency).id)
        if device:
            stmt = stmt.where(m.Interface.device_id == store.get_device(s, device).id)
        if after:
            host, _, name = after.partition(":")
            host = host.lower()
            stmt = stmt.where((m.Device.hostname > host)
                              | ((m.Device.hostname == host) & (m.Interface.name > name)))
        rows = list(s.scalars(stmt.limit(limit + 1)).unique())
        items = [interface_row(i) for i in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    return {"items": items, "next": f"{last['device']}:{last['name']}" if last else None}


@router.get("/devices/{hostname}/interfaces/{ifname:path}")
def show_interface(hostname: str = Path(max_length=63, examples=["dopa-pe1"]),
                   ifname: str = Path(max_length=64, examples=["eth1"]),
                   who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One interface (refused when its device's agency is outside the caller's grants)."""
    with who.directory.transaction(who.actor) as s:
        dev = store.get_device(s, hostname)
        who.require(s, "directory.read", dev.site.agency.code)
        return interface_row(store.get_interface(s, hostname, ifname))

"""The map: the GIN's sites and links over Thailand's 77 provinces, each link coloured by its
live state (down links red), drawn as one inline SVG on the server.

The geometry ships with gin (geo/thailand.json, Natural Earth, public domain: geo/SOURCE.md),
so the page works on a closed network.  A site is placed at its directory coordinates, or at
its province's provincial hall (directory.samples) when it has none.  A link is 'down' when
Prometheus sees either end's interface operationally down while administratively up (what
the GinLinkDown alert watches), 'up' when an end is seen up, else 'unknown' (not monitored).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import aliased

from directory import models as m
from directory.samples import provinces

from ..permissions import Principal
from . import session as web
from . import telemetry
from .pages import render
from .soc import telemetry_of

router = APIRouter(tags=["console"], include_in_schema=False)
GEO = Path(__file__).parent / "geo" / "thailand.json"
DOWN_ROWS = 200


@cache
def geometry() -> dict[str, Any]:
    return json.loads(GEO.read_text(encoding="utf-8"))


@cache
def province_points() -> dict[str, tuple[float, float]]:
    """Province (ISO code, English or Thai name, lower-cased) -> its hall's lat/lon."""
    out: dict[str, tuple[float, float]] = {}
    for p in provinces():
        for key in (p.iso, p.name_en, p.name_th):
            out[key.lower()] = (p.latitude, p.longitude)
    return out


def project(lat: float, lon: float) -> tuple[float, float]:
    """Latitude/longitude to the shipped geometry's SVG units (scripts/thailand_map.py)."""
    g = geometry()
    west, _, _, north = g["box"]
    return (round((lon - west) * g["scale"] * g["cos"], 1), round((north - lat) * g["scale"], 1))


def place(lat: float | None, lon: float | None, province: str | None,
          code: str) -> tuple[float, float] | None:
    if lat is not None and lon is not None:
        return project(lat, lon)
    for key in (province, code):
        if key and key.lower() in province_points():
            return project(*province_points()[key.lower()])
    return None


def map_view(s: Any, visible: set[int] | None, state: telemetry.LinkState) -> dict[str, Any]:
    """Sites, links (with state) and the down links' list, within the agencies visible.

    Thousands of sites and links become a handful of SVG paths: one for the sites (a dot per
    distinct map unit, about 2 km), one per link state (a segment per distinct pair of ends);
    only what is down is drawn one by one (named, so it can be found and styled).  On the
    2,154-agency directory that keeps the page near 100 KB instead of 800."""
    stmt = (select(m.Site.id, m.Site.code, m.Site.province, m.Site.latitude, m.Site.longitude,
                   m.Agency.code).join(m.Agency, m.Site.agency_id == m.Agency.id))
    if visible is not None:
        stmt = stmt.where(m.Agency.id.in_(visible) if visible else m.Agency.id.is_(None))
    sites: dict[int, tuple[float, float, str]] = {}
    unplaced = 0
    for sid, code, province, lat, lon, agency in s.execute(stmt):
        xy = place(lat, lon, province, code)
        if xy is None:
            unplaced += 1
            continue
        sites[sid] = (xy[0], xy[1], agency)
    ia, ib = aliased(m.Interface), aliased(m.Interface)
    da, db = aliased(m.Device), aliased(m.Device)
    lstmt = (select(m.Link.name, da.site_id, da.hostname, ia.name, db.site_id, db.hostname,
                    ib.name)
             .join(ia, m.Link.a_interface_id == ia.id).join(da, ia.device_id == da.id)
             .join(ib, m.Link.b_interface_id == ib.id).join(db, ib.device_id == db.id)
             .order_by(m.Link.name))
    segments: dict[str, set[tuple[int, int, int, int]]] = {"up": set(), "unknown": set()}
    counts = {"up": 0, "down": 0, "unknown": 0}
    down, down_lines, down_sites = [], [], set()
    for name, sa, ha, na, sb, hb, nb in s.execute(lstmt):
        a, b = sites.get(sa), sites.get(sb)
        if a is None or b is None:
            continue
        live = state.link((ha, na), (hb, nb))
        counts[live] += 1
        if live != "down":
            ends = sorted([(round(a[0]), round(a[1])), (round(b[0]), round(b[1]))])
            if ends[0] != ends[1]:
                segments[live].add((*ends[0], *ends[1]))
            continue
        down_sites.update({a[:2], b[:2]})
        down_lines.append({"name": name, "x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1]})
        if len(down) < DOWN_ROWS:
            down.append({"name": name, "a": f"{ha} {na}", "b": f"{hb} {nb}",
                         "agency": b[2] if a[2] == "GIN" else a[2]})
    dots = {(round(x), round(y)) for x, y, _ in sites.values()}
    return {"geo": geometry(), "down": down, "down_lines": down_lines,
            "down_sites": sorted(down_sites), "counts": counts,
            "site_count": len(sites), "link_count": sum(counts.values()),
            "unplaced": unplaced,
            "site_path": "".join(f"M{x} {y}h0" for x, y in sorted(dots)),
            "link_paths": {k: "".join(f"M{x1} {y1}L{x2} {y2}" for x1, y1, x2, y2 in sorted(v))
                           for k, v in segments.items()}}


@router.get("/map")
def gin_map(request: Request,
            who: Principal = web.page_requires("directory.read")) -> HTMLResponse:
    """The map page (the sites and links of the agencies the caller may see)."""
    state = telemetry.link_state(telemetry_of(request))
    with who.directory.transaction(who.actor) as s:
        view = map_view(s, who.visible(s, "directory.read"), state)
    return render(request, "map.html", who=who, problem=state.problem, **view)

"""Live state of an agency's links and tunnels (from Prometheus) for its page: rendered into
the page, then refreshed by static/live.js polling ``/ui/agency/{code}/live`` with back-off
(every 5 s while things change, slowing to once a minute while they do not, paused while the
tab is hidden), so one open browser asks far less than once a second."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from sqlalchemy import or_, select

from directory import models as m
from directory import store

from ..permissions import Principal
from . import session as web
from . import telemetry

router = APIRouter(tags=["console"], include_in_schema=False)
#: The agency page runs one script of gin's own (static/live.js) and fetches from gin only.
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
       "font-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def agency_state(request: Request, links: list[m.Link], tunnels: list[m.Tunnel]
                 ) -> dict[str, Any]:
    """{'links': {name: up|down|unknown}, 'tunnels': {...}, 'problem': line or None}."""
    t = getattr(request.app.state, "telemetry", None) or telemetry.Telemetry()
    ends = {(link.name, (link.a_interface.device.hostname, link.a_interface.name),
             (link.b_interface.device.hostname, link.b_interface.name)) for link in links}
    devices = {host for _, a, b in ends for host in (a[0], b[0])}
    state = telemetry.link_state(t, devices)
    return {"links": {name: state.link(a, b) for name, a, b in ends},
            "tunnels": {tn.name: state.tunnel(tn.name) for tn in tunnels},
            "problem": state.problem}


@router.get("/agency/{code}/live")
def agency_live(request: Request, code: str = PathParam(max_length=32),
                who: Principal = web.page_requires("directory.read", agency="code")
                ) -> dict[str, Any]:
    """The agency's links and tunnels, up or down (what live.js polls)."""
    with who.directory.transaction(who.actor) as s:
        a = store.get_agency(s, code)
        links = s.scalars(select(m.Link).where(m.Link.agency_id == a.id)).unique().all()
        device_ids = [d for (d,) in s.execute(select(m.Device.id).join(m.Site).where(
            m.Site.agency_id == a.id))]
        tunnels = s.scalars(select(m.Tunnel).where(or_(
            m.Tunnel.a_device_id.in_(device_ids), m.Tunnel.b_device_id.in_(device_ids)))
        ).unique().all() if device_ids else []
        return agency_state(request, list(links), list(tunnels))

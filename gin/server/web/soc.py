"""The SOC board: firing alerts (Alertmanager), threat events of the last hour by agency
(Prometheus, the sensor's attribution) and the active GSI blocks with their expiry.

Whoever holds ``gsi.block`` over the whole GIN (the soc role) also gets the forms to block a
source and to lift a block, each with a reason; both go through the API's own
:func:`gin.server.routes.gsi.act`, so the change log records the user exactly as for
``POST/DELETE /api/v1/gsi/blocks``.  Others see no form, and their POST is refused by the
route's declared permission.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from devices.errors import GinError
from monitor.sensor.respond import active_blocks

from ..permissions import Principal
from ..routes import gsi
from . import session as web
from . import telemetry
from .pages import done, form_of, render

router = APIRouter(tags=["console"], include_in_schema=False)
#: The block lengths offered (seconds, and the words' key for each).
TTLS = ((3600, "ttl_1h"), (86400, "ttl_1d"), (7 * 86400, "ttl_7d"))
THREAT_ROWS = 100


def telemetry_of(request: Request) -> telemetry.Telemetry:
    return getattr(request.app.state, "telemetry", None) or telemetry.Telemetry()


def board(request: Request, who: Principal) -> dict[str, Any]:
    """Everything the board shows, each source's failure as its own line."""
    t = telemetry_of(request)
    view: dict[str, Any] = {"alerts": [], "alerts_problem": None, "threats": [],
                            "threats_problem": None, "blocks": [], "blocks_problem": None}
    try:
        view["alerts"] = telemetry.firing_alerts(t)
    except telemetry.Unavailable as exc:
        view["alerts_problem"] = str(exc)
    try:
        view["threats"] = telemetry.threat_events(t)[:THREAT_ROWS]
    except telemetry.Unavailable as exc:
        view["threats_problem"] = str(exc)
    settings = gsi.settings(request)
    try:
        view["blocks"] = active_blocks(gsi.Acting(who.directory, who.actor),  # type: ignore[arg-type]
                                       netns=settings.netns, gateway=settings.gateway)
    except GinError as exc:
        view["blocks_problem"] = str(exc)
    return view


@router.get("/soc")
def soc_board(request: Request,
              who: Principal = web.page_requires("monitor.read", gin_wide=True)
              ) -> HTMLResponse:
    """The SOC's one page (read through Prometheus, Alertmanager and the change log)."""
    view = board(request, who)
    return render(request, "soc.html", who=who, can_block=who.holds("gsi.block", gin_wide=True),
                  ttls=TTLS, **view)


def _reason(form: dict[str, str]) -> str:
    reason = form.get("reason", "").strip()[:200]
    if not reason:
        raise HTTPException(422, "reason: say why (it goes into the change log)")
    return reason


@router.post("/soc/block")
async def block(request: Request,
                who: Principal = web.page_requires("gsi.block", gin_wide=True)) -> Response:
    """Block a source (form: source, ttl, reason) where the server enforces blocks."""
    form = await form_of(request)
    web.check_csrf(request, form)
    try:
        ttl = int(form.get("ttl", "3600"))
    except ValueError:
        raise HTTPException(422, "ttl: a number of seconds, e.g. 3600") from None
    if not 1 <= ttl <= 366 * 86400:
        raise HTTPException(422, "ttl: 1 s to 366 days")
    await run_in_threadpool(gsi.act, who, request, block=form.get("source", "")[:64],
                            ttl=ttl, reason=_reason(form))
    return done(request, "/ui/soc")


@router.post("/soc/lift")
async def lift(request: Request,
               who: Principal = web.page_requires("gsi.block", gin_wide=True)) -> Response:
    """Lift an active block (form: source, reason)."""
    form = await form_of(request)
    web.check_csrf(request, form)
    await run_in_threadpool(gsi.act, who, request, lift=form.get("source", "")[:64],
                            reason=_reason(form))
    return done(request, "/ui/soc")

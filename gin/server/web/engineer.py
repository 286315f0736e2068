"""The engineer's pages: plan a GIN link for an agency (the function ``gin link plan``
calls), then see each router's rendered configuration and, against the device's last
backup, the lines a provisioning would push, with the command that provisions it.

Provisioning itself pushes to routers and takes minutes: it belongs to a job, not to a
request.  The page's Provision button submits the very job ``POST /links/{name}/provision``
submits (the same function) and sends the browser to the job's page to watch it.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from audit.evidence import BackupStore
from devices import configtree, platforms
from devices.errors import GinError
from directory import models as m
from directory import store
from directory.errors import DirectoryError, Invalid
from directory.plan import load_plan
from gin.commands.link import link_row
from links.build import build_intent
from links.plan import Endpoint, plan_link
from links.render import render as render_link

from ..principal import Principal
from ..routes import provisioning
from . import session as web
from .pages import done, form_of, render

router = APIRouter(tags=["console"], include_in_schema=False)
FIELD = 64


@router.get("/engineer")
def engineer_home(request: Request, agency: str = Query("", max_length=32),
                  who: Principal = web.page_requires("network.provision")) -> Response:
    """Where an engineer starts: the agency to plan a link for."""
    code = agency.strip().upper()
    if code:
        return RedirectResponse(f"/ui/engineer/{urllib.parse.quote(code)}", status_code=303)
    return render(request, "engineer.html", who=who)


def _plan_view(s: Any, code: str) -> dict[str, Any]:
    a = store.get_agency(s, code)
    sites = sorted(a.sites, key=lambda site: site.code)
    site_ids = [site.id for site in sites]
    devices = s.scalars(select(m.Device).where(m.Device.site_id.in_(site_ids))
                        .order_by(m.Device.hostname)).unique().all() if site_ids else []
    pes = s.scalars(select(m.Device.hostname).where(m.Device.role == "pe")
                    .order_by(m.Device.hostname).limit(200)).all()
    links = s.scalars(select(m.Link).where(m.Link.agency_id == a.id)
                      .order_by(m.Link.name)).unique().all()
    return {"agency": {"code": a.code, "name_th": a.name_th, "name_en": a.name_en},
            "sites": [site.code for site in sites],
            "ces": [d.hostname for d in devices if d.role == "ce"], "pes": list(pes),
            "links": [link_row(s, lk) for lk in links]}


@router.get("/engineer/{code}")
def plan_form(request: Request, code: str = PathParam(max_length=32),
              who: Principal = web.page_requires("network.provision", agency="code")
              ) -> HTMLResponse:
    """The plan form for one agency and the links it has."""
    with who.directory.transaction(who.actor) as s:
        view = _plan_view(s, code)
    return render(request, "engineer_plan.html", who=who, problem=None, form={}, **view)


@router.post("/engineer/{code}/plan")
async def plan_submit(request: Request, code: str = PathParam(max_length=32),
                      who: Principal = web.page_requires("network.provision", agency="code")
                      ) -> Response:
    """Plan the link as ``gin link plan`` does (addresses and an ASN allocated, the link
    recorded as planned, no router touched), then show its configuration."""
    form = {k: v[:FIELD] for k, v in (await form_of(request)).items()}
    web.check_csrf(request, form)
    try:
        with who.directory.transaction(who.actor) as s:
            lk = plan_link(s, load_plan(), code, form.get("site", ""),
                           Endpoint.parse(form.get("pe", "").strip()),
                           Endpoint.parse(form.get("ce", "").strip()),
                           lan=form.get("lan", "").strip() or None,
                           name=form.get("name", "").strip() or None,
                           ipv4=not form.get("ipv6_only"))
            name = lk.name
    except (DirectoryError, GinError) as exc:  # one line, the form kept, nothing planned
        if web.session_of(request) is None:
            raise
        with who.directory.transaction(who.actor) as s:
            view = _plan_view(s, code)
        return render(request, "engineer_plan.html", who=who, problem=str(exc), form=form,
                      **view)
    quoted = urllib.parse.quote
    return done(request, f"/ui/engineer/{quoted(code.upper())}/link/{quoted(name)}")


def _end(host: str, text: str, platform: str, backups: BackupStore) -> dict[str, Any]:
    """One router's intended config and what a push would add to its last backup."""
    try:
        last = backups.latest(host)
    except GinError:
        last = None
    push = (configtree.missing(platforms.get(platform), last[1], text) if last is not None
            else None)
    return {"host": host, "platform": platform, "config": text, "push": push,
            "backup": f"{last[0].time:%Y-%m-%d %H:%M} UTC" if last is not None else None}


def _agency_link(s: Any, code: str, name: str) -> m.Link:
    """The link, if it is this agency's (another agency's link is not found here)."""
    lk = store.get_link(s, name)
    if lk.agency is None or lk.agency.code != code.upper():
        raise HTTPException(404, f"agency {code.upper()} has no link {name!r}")
    return lk


@router.get("/engineer/{code}/link/{name}")
def link_page(request: Request, code: str = PathParam(max_length=32),
              name: str = PathParam(max_length=64),
              who: Principal = web.page_requires("network.provision", agency="code")
              ) -> HTMLResponse:
    """A link's configuration on both routers, what provisioning would push against each
    router's last backup, and the command that provisions it."""
    with who.directory.transaction(who.actor) as s:
        lk = _agency_link(s, code, name)
        row = link_row(s, lk)
        try:
            intent = build_intent(s, lk)
        except Invalid as exc:  # a recorded brown-field link: nothing to render
            intent, why = None, str(exc)
        else:
            why = None
            configs = render_link(intent)
            kinds = {intent.pe.hostname: intent.pe.platform,
                     intent.ce.hostname: intent.ce.platform}
    ends = []
    if intent is not None:
        backups = BackupStore()
        ends = [_end(host, text, kinds[host], backups) for host, text in configs.items()]
    return render(request, "engineer_link.html", who=who, link=row, ends=ends, why=why,
                  code=code.upper())


def _start_provision(request: Request, code: str, name: str, who: Principal) -> dict[str, Any]:
    with who.directory.transaction(who.actor) as s:
        name = _agency_link(s, code, name).name
    return provisioning.provision(request, Response(), provisioning.Provision(), name, who)


@router.post("/engineer/{code}/link/{name}/provision")
async def provision_submit(request: Request, code: str = PathParam(max_length=32),
                           name: str = PathParam(max_length=64),
                           who: Principal = web.page_requires("network.provision",
                                                              agency="code")) -> Response:
    """Start the link's provision job (the API route's own function: same checks, same
    job), then watch it on its page."""
    web.check_csrf(request, await form_of(request))
    job = await run_in_threadpool(_start_provision, request, code, name, who)
    return done(request, f"/ui/jobs/{job['id']}")

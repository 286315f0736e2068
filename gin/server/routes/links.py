"""GIN links (PE <-> agency CE): list (filters, cursor pages, scoped), show with the intent,
and the intended configuration of both ends as text (``gin link render``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from directory import models as m
from directory import store
from directory.errors import Invalid
from gin.commands.link import link_row
from links.build import build_intent
from links.render import render

from ..permissions import Principal, requires

router = APIRouter(tags=["links"])
NAME = Path(max_length=64, description="link name", examples=["dopa-hq"])


def _scoped_link(who: Principal, s: Any, name: str) -> m.Link:
    lk = store.get_link(s, name)
    if lk.agency is not None:
        who.require(s, "directory.read", lk.agency.code)
    else:
        who.require_gin("directory.read", f"link {lk.name}, which no agency owns")
    return lk


@router.get("/links")
def list_links(agency: str | None = Query(None, max_length=32),
               status: str | None = Query(None, max_length=16,
                                          description=", ".join(m.LINK_STATUSES)),
               after: str | None = Query(None, max_length=64, description="cursor: last name"),
               limit: int = Query(100, ge=1, le=store.MAX_PAGE),
               who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Links in name order with their addresses and state; ``next`` pages on."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Link).order_by(m.Link.name)
        stmt = who.confine(s, stmt, "directory.read", m.Link.agency_id)
        if agency:
            stmt = stmt.where(m.Link.agency_id == store.get_agency(s, agency).id)
        if status:
            if status not in m.LINK_STATUSES:
                raise Invalid(f"status: {status!r} is not one of {', '.join(m.LINK_STATUSES)}")
            stmt = stmt.where(m.Link.status == status)
        if after:
            stmt = stmt.where(m.Link.name > after)
        rows = list(s.scalars(stmt.limit(limit + 1)))
        items = [link_row(s, lk) for lk in rows[:limit]]
    return {"items": items, "next": items[-1]["name"] if len(rows) > limit else None}


@router.get("/links/{name}")
def show_link(name: str = NAME, who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One link and, once planned, its intent (addresses, ASNs, prefixes)."""
    with who.directory.transaction(who.actor) as s:
        lk = _scoped_link(who, s, name)
        row = link_row(s, lk)
        try:
            intent = build_intent(s, lk)
        except Invalid as exc:  # a recorded (brown-field) link has no intent: say why
            return {**row, "intent": str(exc)}
    return {**row, "pe_address": str(intent.pe.address6), "ce_address": str(intent.ce.address6),
            "pe_asn": intent.pe.asn, "ce_asn": intent.ce.asn,
            "agency_prefixes": [str(p) for p in intent.agency_prefixes6
                                + intent.agency_prefixes4],
            "lan": str(intent.lan6) if intent.lan6 else None}


@router.get("/links/{name}/config", response_class=PlainTextResponse)
def render_link(name: str = NAME, device: str | None = Query(None, max_length=63),
                who: Principal = requires("directory.read")) -> PlainTextResponse:
    """The intended configuration of both ends (or of ``device``), as ``gin link render``
    prints it: ``! hostname`` before each."""
    with who.directory.transaction(who.actor) as s:
        configs = render(build_intent(s, _scoped_link(who, s, name)))
    if device:
        configs = {k: v for k, v in configs.items() if k == device.lower()}
    return PlainTextResponse("".join(f"! {host}\n{text}" for host, text in configs.items()))

"""Addresses: whois, and allocating and releasing prefixes (the allocator's own rules)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from directory import allocator as al
from directory import models as m
from directory.assign import allocate
from directory.store import get_prefix
from gin.commands.prefix import prefix_row

from ..permissions import Principal, requires
from ..snapshots import WhoisCache

router = APIRouter(tags=["addresses"])


@router.get("/whois/{query:path}", response_model=None)
async def whois_lookup(request: Request,
                       query: str = Path(max_length=64, description="an address or a prefix",
                                         examples=["2001:db8::1"]),
                       who: Principal = requires("directory.read")) -> Response:
    """The most specific prefix holding an address or prefix, and who owns it.  Refused when
    the owning agency is outside the caller's grants.

    Asynchronous: answered from the in-memory snapshot when it is current (see
    :mod:`gin.server.snapshots`); anything needing a database session runs in the thread
    pool.  The answer is plain JSON types already, so it is serialised directly (orjson)
    rather than walked by FastAPI's encoder."""
    result = await whois_cache(request).answer(who.directory, who.actor, query)
    owner = result["agency"]["code"] if result["agency"] else None
    if owner is None:
        who.require_gin("directory.read", "space no agency owns")
    elif not who.holds("directory.read", gin_wide=True):  # else no database needed
        await run_in_threadpool(_require_read, who, owner)
    return Response(orjson.dumps(result), media_type="application/json")


def _require_read(who: Principal, agency: str) -> None:
    with who.directory.transaction(who.actor) as s:
        who.require(s, "directory.read", agency)


def whois_cache(request: Request) -> WhoisCache:
    """The app's whois snapshot (``gin serve`` builds it at start-up; else on first use)."""
    cache = getattr(request.app.state, "whois", None)
    if cache is None:
        cache = request.app.state.whois = WhoisCache()
    return cache


class Allocation(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"agency": "DOPA", "length": 64, "count": 2}]})
    length: int = Field(ge=1, le=128, description="prefix length, e.g. 64")
    count: int = Field(1, ge=1, le=al.MAX_BULK)
    agency: str | None = Field(None, max_length=32, description="allocate for this agency")
    site: str | None = Field(None, max_length=32, description="with agency: from its site")
    parent: str | None = Field(None, max_length=64, description="or: under this prefix")
    role: str | None = Field(None, max_length=32)
    status: str = Field("active", pattern="^(active|planned|reserved)$")
    description: str | None = Field(None, max_length=255)


def _rows(s: Any, prefixes: list[m.Prefix]) -> list[dict[str, Any]]:
    ids = {p.parent_id for p in prefixes if p.parent_id is not None}
    parents = dict(s.execute(select(m.Prefix.id, m.Prefix.cidr)
                             .where(m.Prefix.id.in_(ids))).all()) if ids else {}
    return [prefix_row(p, parents) for p in prefixes]


@router.post("/prefixes/allocate", status_code=201)
def allocate_prefixes(body: Allocation,
                      who: Principal = requires("prefix.allocate")) -> dict[str, Any]:
    """Allocate the next free prefix(es): for an agency (its scope suffices), or under a
    parent prefix (that needs the grant over the whole GIN, or the parent's owner)."""
    attrs = {k: v for k, v in (("role", body.role), ("status", body.status),
                               ("description", body.description)) if v is not None}
    with who.directory.transaction(who.actor) as s:
        if body.agency:
            who.require(s, "prefix.allocate", body.agency)
        elif body.parent:
            _require_prefix(who, s, get_prefix(s, body.parent))
        made = allocate(s, None, body.length, body.count, parent=body.parent,
                        agency=body.agency, site=body.site, **attrs)
        return {"items": _rows(s, made)}


def _require_prefix(who: Principal, s: Any, prefix: m.Prefix) -> None:
    if prefix.agency is not None:
        who.require(s, "prefix.allocate", prefix.agency.code)
    else:
        who.require_gin("prefix.allocate", f"{prefix.cidr}, which no agency owns")


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str = Field(max_length=64)


@router.post("/prefixes/release")
def release_prefix(body: Release, who: Principal = requires("prefix.allocate")) -> dict[str, Any]:
    """Give a prefix's space back to its parent (the change log keeps the record)."""
    with who.directory.transaction(who.actor) as s:
        prefix = get_prefix(s, body.prefix)
        _require_prefix(who, s, prefix)
        cidr = prefix.cidr
        al.release(s, prefix)
    return {"released": cidr}

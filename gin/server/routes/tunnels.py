"""VPN tunnels between agencies' gateways: list and show (``gin vpn list|show``), and every
visible tunnel's live state in one call (``gin vpn status``).  Never a secret: the rows say
only whether one is sealed; opening a secret is a terminal-only CLI act."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import or_, select

from directory import models as m
from vpn import status as live
from vpn import tunnels

from ..permissions import Principal, requires

router = APIRouter(tags=["tunnels"])


def _sees(who: Principal, s: Any, row: dict[str, Any]) -> bool:
    """A tunnel is visible to a caller whose grant covers either end's agency."""
    return any(row[end] and who.allows(s, "directory.read", row[end])
               for end in ("a_agency", "b_agency"))


@router.get("/tunnels")
def list_tunnels(who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Every tunnel the caller's grants cover (either end), with gateways, type and state."""
    with who.directory.transaction(who.actor) as s:
        rows = [tunnels.row(t) for t in tunnels.list_tunnels(s)]
        return {"items": [r for r in rows if _sees(who, s, r)]}


#: Most tunnels whose gateways one page reads (each is a live read of two gateways).
MAX_STATUS_PAGE = 200


@router.get("/tunnels/status")
def tunnels_status(after: str | None = Query(None, max_length=64,
                                             description="cursor: last name"),
                   limit: int = Query(50, ge=1, le=MAX_STATUS_PAGE),
                   who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """Every tunnel the caller's grants cover (either end), in name order, each as
    ``/tunnels/{name}/status`` gives it: its recorded state (``recorded``) and its live
    state read from the gateways (a read: nothing recorded); ``next`` pages on."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Tunnel.name).order_by(m.Tunnel.name)
        visible = who.visible(s, "monitor.read")
        if visible is not None:
            ours = (select(m.Device.id).join(m.Site, m.Device.site_id == m.Site.id)
                    .where(m.Site.agency_id.in_(visible or {-1})))
            stmt = stmt.where(or_(m.Tunnel.a_device_id.in_(ours),
                                  m.Tunnel.b_device_id.in_(ours)))
        if after:
            stmt = stmt.where(m.Tunnel.name > after)
        names = list(s.scalars(stmt.limit(limit + 1)))
    page = names[:limit]
    items = [r.as_dict() for r in live.status(who.directory, page, record=False)] if page else []
    return {"items": items, "next": page[-1] if len(names) > limit else None}


@router.get("/tunnels/{name}")
def show_tunnel(name: str = Path(max_length=64, examples=["dopa-moph"]),
                who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One tunnel: endpoints, protected subnets, proposals, public keys, never a secret."""
    with who.directory.transaction(who.actor) as s:
        row = tunnels.row(tunnels.get_tunnel(s, name))
        if not _sees(who, s, row):
            who.require(s, "directory.read", row["a_agency"] or row["b_agency"] or "GIN")
        return row

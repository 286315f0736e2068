"""VPN tunnels between agencies' gateways: list and show (``gin vpn list|show``).  Never a
secret: the rows say only whether one is sealed; opening a secret is a terminal-only CLI act."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

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


@router.get("/tunnels/{name}")
def show_tunnel(name: str = Path(max_length=64, examples=["dopa-moph"]),
                who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One tunnel: endpoints, protected subnets, proposals, public keys, never a secret."""
    with who.directory.transaction(who.actor) as s:
        row = tunnels.row(tunnels.get_tunnel(s, name))
        if not _sees(who, s, row):
            who.require(s, "directory.read", row["a_agency"] or row["b_agency"] or "GIN")
        return row

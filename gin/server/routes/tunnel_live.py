"""A tunnel's rendered configuration (``gin vpn render``: secrets only as ``<sealed:NAME>``
placeholders, the unsealed values reach only a deploy) and its live state read from the
gateways (``gin vpn status``; a read, so the recorded state is not changed from here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from vpn import status as live
from vpn import tunnels
from vpn.render import render

from ..permissions import Principal, requires

router = APIRouter(tags=["tunnels"])
NAME = Path(max_length=64, examples=["dopa-moph"])


def _scoped(who: Principal, s: Any, name: str, permission: str) -> Any:
    """The tunnel, when the caller's grant covers either end's agency."""
    t = tunnels.get_tunnel(s, name)
    row = tunnels.row(t)
    ends = [row[end] for end in ("a_agency", "b_agency") if row[end]]
    if not any(who.allows(s, permission, code) for code in ends):
        who.require(s, permission, ends[0] if ends else "GIN")
    return t


@router.get("/tunnels/{name}/render")
def render_tunnel(name: str = NAME,
                  who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Both gateways' configuration text, by hostname; never a secret."""
    with who.directory.transaction(who.actor) as s:
        configs = render(tunnels.spec(_scoped(who, s, name, "directory.read")))
    return {"tunnel": name.lower(), "configs": configs}


@router.get("/tunnels/{name}/status")
def tunnel_status(name: str = NAME,
                  who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """Live state as the gateways report it; down tunnels say why."""
    with who.directory.transaction(who.actor) as s:
        t = _scoped(who, s, name, "monitor.read")
        name = t.name
    return live.status(who.directory, [name], record=False)[0].as_dict()

"""GSI blocks: list the active ones, add one, lift one (the SOC's cut-off), through the same
``monitor.sensor.respond`` calls as ``gin monitor respond``.

Where a block is enforced is the server's setting, not the caller's (``gin serve
--gsi-netns / --no-gsi-gateway / --gsi-routers-via``): an analyst asks for a block, the
service applies it where the team configured.  The change log records the analyst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from devices.errors import GinError
from directory.store import Directory
from monitor.sensor.respond import DEFAULT_TTL, active_blocks, respond

from ..permissions import Principal, requires

router = APIRouter(tags=["gsi"])


@dataclass(frozen=True)
class GsiSettings:
    """Where blocks are enforced: nft on this host (or in ``netns``), and the edge routers
    through ``routers_via`` (None: not the routers)."""

    gateway: bool = False
    netns: str | None = None
    routers_via: str | None = None


class Acting:
    """The service's directory as seen by one caller: the change log records the principal
    (the responder writes with ``directory.actor``), everything else is the shared one."""

    def __init__(self, directory: Directory, actor: str) -> None:
        self._directory, self.actor = directory, actor

    def transaction(self, actor: str | None = None):  # type: ignore[no-untyped-def]
        return self._directory.transaction(actor or self.actor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)


def settings(request: Request) -> GsiSettings:
    return getattr(request.app.state, "gsi", None) or GsiSettings()


def act(who: Principal, request: Request, **what: Any) -> dict[str, Any]:
    """Block or lift as ``who`` where the server enforces blocks (the API's routes and the
    console's SOC board both come here)."""
    gsi = settings(request)
    try:
        done = respond(Acting(who.directory, who.actor), netns=gsi.netns,  # type: ignore[arg-type]
                       gateway=gsi.gateway, routers_via=gsi.routers_via, **what)
    except GinError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**done.done, "gateway": gsi.gateway,
            "routers": [r.as_dict() for r in done.routers]}


@router.get("/gsi/blocks")
def list_blocks(request: Request,
                who: Principal = requires("monitor.read", gin_wide=True)) -> dict[str, Any]:
    """The active blocks (source, expiry, reason, who) and whether the gateway enforces each
    (null when the service runs without a gateway)."""
    gsi = settings(request)
    try:
        items = active_blocks(Acting(who.directory, who.actor),  # type: ignore[arg-type]
                              netns=gsi.netns, gateway=gsi.gateway)
    except GinError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"items": items}


class NewBlock(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"source": "198.51.100.7", "ttl": 3600, "reason": "port scan"}]})
    source: str = Field(max_length=64, description="an IPv4/IPv6 address or prefix")
    ttl: int = Field(DEFAULT_TTL, ge=1, le=366 * 86400, description="seconds")
    reason: str = Field("manual", max_length=200)


@router.post("/gsi/blocks", status_code=201)
def add_block(body: NewBlock, request: Request,
              who: Principal = requires("gsi.block", gin_wide=True)) -> dict[str, Any]:
    """Block a source on the gateway and the edge routers until ``ttl`` runs out; the
    management network and the directory's devices are refused (422)."""
    return act(who, request, block=body.source, ttl=body.ttl, reason=body.reason)


@router.delete("/gsi/blocks/{source:path}")
def lift_block(request: Request,
               source: str = Path(max_length=64, examples=["198.51.100.7/32"]),
               reason: str | None = Query(None, max_length=200,
                                          description="why it is lifted (change log)"),
               who: Principal = requires("gsi.block", gin_wide=True)) -> dict[str, Any]:
    """Lift an active block (422 when that source is not blocked)."""
    return act(who, request, lift=source, reason=reason)

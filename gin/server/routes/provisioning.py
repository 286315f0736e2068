"""Plan and provision links, create, deploy and withdraw tunnels: ``gin link
plan|provision`` and ``gin vpn create|deploy|withdraw`` as routes.  Planning and creating
only record intent (answered at once); provisioning, deploying and withdrawing change
routers and gateways, so they are jobs (202 and the job: follow it at ``/jobs/{id}``).

A tunnel joins two agencies and changes both gateways: creating, deploying or withdrawing
it needs the permission over both ends' agencies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from devices.errors import GinError
from directory import store
from directory.errors import Invalid
from directory.plan import load_plan
from gin.commands.link import link_row
from links.plan import Endpoint, plan_link
from vpn import tunnels

from ..permissions import Principal, requires
from .jobs import check_via, start_job

router = APIRouter(tags=["provisioning"])


class NewLink(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"agency": "DOPA", "site": "HQ", "pe": "dopa-pe1:eth1", "ce": "dopa-cpe:eth0",
         "lan": "eth1"}]})
    agency: str = Field(max_length=32)
    site: str = Field(max_length=32)
    pe: str = Field(max_length=128, description="PE:IFACE, the GIN provider-edge end")
    ce: str = Field(max_length=128, description="CE:IFACE, the agency's customer-edge end")
    lan: str | None = Field(None, max_length=64, description="CE interface facing the LAN")
    name: str | None = Field(None, max_length=64)
    ipv4: bool = True
    bandwidth_mbps: int | None = Field(None, ge=1, le=10**7)


@router.post("/links", status_code=201)
def plan(body: NewLink, who: Principal = requires("directory.write")) -> dict[str, Any]:
    """Allocate addresses and an ASN and record the link as planned (no device touched)."""
    with who.directory.transaction(who.actor) as s:
        who.require(s, "directory.write", body.agency)
        lk = plan_link(s, load_plan(), body.agency, body.site, Endpoint.parse(body.pe),
                       Endpoint.parse(body.ce), lan=body.lan, name=body.name, ipv4=body.ipv4,
                       bandwidth_mbps=body.bandwidth_mbps)
        return link_row(s, lk)


class Provision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"via": "netmiko", "ping": True}]})
    via: str = Field("netmiko", max_length=32, description="transport")
    verify_timeout: float = Field(45, ge=1, le=600)
    ping: bool = Field(True, description="ping6 across the link when verifying")


LINK = Path(max_length=64, description="link name", examples=["dopa-hq"])


@router.post("/links/{name}/provision", status_code=202)
def provision(request: Request, response: Response, body: Provision | None = None,
              name: str = LINK,
              who: Principal = requires("network.provision")) -> dict[str, Any]:
    """Push the link's configuration to both routers, verify, roll back what fails: a job
    whose progress follows each router's steps and whose log says what was done."""
    body = body or Provision()
    check_via(body.via)
    with who.directory.transaction(who.actor) as s:
        lk = store.get_link(s, name)
        if lk.agency is None:
            who.require_gin("network.provision", f"link {lk.name}, which no agency owns")
        else:
            who.require(s, "network.provision", lk.agency.code)
        agency = lk.agency.code if lk.agency else None
        name = lk.name
    return start_job(request, response, who, "provision",
                     {"links": [name], "via": body.via, "verify_timeout": body.verify_timeout,
                      "ping": body.ping}, agency)


def _require_both_ends(who: Principal, s: Any, permission: str, row: dict[str, Any]) -> str:
    """Refuse unless ``permission`` is held over both ends' agencies; returns end A's."""
    ends = [row[end] for end in ("a_agency", "b_agency")]
    for code in ends:
        if code is None:
            who.require_gin(permission, f"tunnel {row['name']}, one end of which no agency owns")
        else:
            who.require(s, permission, code)
    return str(ends[0])


#: tunnel names the API serves other resources under (``GET /tunnels/status``)
RESERVED_TUNNEL_NAMES = ("status",)


class NewTunnel(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"a": "dopa-gw", "b": "moph-gw", "type": "ikev2", "auth": "psk"}]})
    a: str = Field(max_length=255, description="gateway A (host name)")
    b: str = Field(max_length=255, description="gateway B, of another agency")
    type: str = Field(max_length=16, description="ikev2 or wireguard")
    auth: str | None = Field(None, max_length=8, description="ikev2: cert (default) or psk")
    policy: str = Field("default", max_length=64)
    allow_weak: bool = False
    name: str | None = Field(None, max_length=63)
    a_address: str | None = Field(None, max_length=64)
    b_address: str | None = Field(None, max_length=64)
    a_interface: str | None = Field(None, max_length=64)
    b_interface: str | None = Field(None, max_length=64)


@router.post("/tunnels", status_code=201)
def create(body: NewTunnel, who: Principal = requires("directory.write")) -> dict[str, Any]:
    """Record a tunnel between two agencies' gateways (no device touched); its secrets are
    generated and sealed with the service's key, and never shown."""
    if body.name is not None and body.name.lower() in RESERVED_TUNNEL_NAMES:
        raise Invalid(f"name: {body.name!r} is a path of the API (GET /tunnels/{body.name}); "
                      "choose another name")
    with who.directory.transaction(who.actor) as s:
        for host in (body.a, body.b):
            who.require(s, "directory.write", store.get_device(s, host).site.agency.code)
        try:
            t = tunnels.create_tunnel(s, body.a, body.b, body.type, body.auth, body.policy,
                                      name=body.name, allow_weak=body.allow_weak,
                                      a_address=body.a_address, b_address=body.b_address,
                                      a_interface=body.a_interface,
                                      b_interface=body.b_interface)
        except GinError as exc:  # a weak policy, no sealing key, a gateway it cannot build
            raise HTTPException(422, str(exc)) from None
        return tunnels.row(t)


class Deploy(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"verify": True}]})
    verify: bool = Field(True, description="initiate and wait for the tunnel to come up")
    via: str = Field("netmiko", max_length=32, description="transport of router sides")


@router.post("/tunnels/{name}/deploy", status_code=202)
def deploy(request: Request, response: Response, body: Deploy | None = None,
           name: str = Path(max_length=64, examples=["dopa-moph"]),
           who: Principal = requires("network.provision")) -> dict[str, Any]:
    """Write and load the tunnel on both gateways, bring it up, or put back what they had:
    a job."""
    body = body or Deploy()
    return _tunnel_job(request, response, who, name, "deploy",
                       {"verify": body.verify, "via": body.via})


class Withdraw(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"via": "netmiko"}]})
    via: str = Field("netmiko", max_length=32, description="transport of router sides")


@router.post("/tunnels/{name}/withdraw", status_code=202)
def withdraw(request: Request, response: Response, body: Withdraw | None = None,
             name: str = Path(max_length=64, examples=["dopa-moph"]),
             who: Principal = requires("network.provision")) -> dict[str, Any]:
    """Remove the tunnel from both gateways (Linux: conn, keys, files, interface; routers:
    the lines only this tunnel needs), or put back what they had; its record goes back to
    planned: a job."""
    body = body or Withdraw()
    return _tunnel_job(request, response, who, name, "withdraw", {"via": body.via})


def _tunnel_job(request: Request, response: Response, who: Principal, name: str, kind: str,
                params: dict[str, Any]) -> dict[str, Any]:
    """A ``kind`` job on tunnel ``name``, for callers holding network.provision over both
    ends' agencies."""
    check_via(params["via"])
    with who.directory.transaction(who.actor) as s:
        row = tunnels.row(tunnels.get_tunnel(s, name))
        agency = _require_both_ends(who, s, "network.provision", row)
    return start_job(request, response, who, kind, {"tunnels": [row["name"]], **params}, agency)

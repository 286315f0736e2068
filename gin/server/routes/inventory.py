"""Sites and devices: list (filters, stable cursor pagination, only what the caller's grants
cover), show with an ETag and change with If-Match (:mod:`gin.server.etags`).  Rows are the
CLI's own (``gin directory site|device show --json``), changes go through ``store.update`` as
``gin directory site|device set`` does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from directory import models as m
from directory import store
from directory.errors import Invalid
from gin.commands.directory import device_row, site_row

from ..etags import IF_MATCH, etag, patched, require_if_match
from ..permissions import Principal, requires

router = APIRouter(tags=["inventory"])
CODE = Path(max_length=32, description="agency code", examples=["DOPA"])
SITE = Path(max_length=32, description="site code", examples=["HQ"])
HOSTNAME = Path(max_length=63, description="device host name", examples=["dopa-pe1"])


@router.get("/sites")
def list_sites(agency: str | None = Query(None, max_length=32),
               after: str | None = Query(None, max_length=70,
                                         description="cursor: AGENCY/SITE of the last row"),
               limit: int = Query(100, ge=1, le=store.MAX_PAGE),
               who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Sites in (agency, code) order; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Site).join(m.Site.agency).order_by(m.Agency.code, m.Site.code)
        stmt = who.confine(s, stmt, "directory.read", m.Site.agency_id)
        if agency:
            stmt = stmt.where(m.Site.agency_id == store.get_agency(s, agency).id)
        if after:
            ag, _, code = after.upper().partition("/")
            stmt = stmt.where((m.Agency.code > ag) | ((m.Agency.code == ag) & (m.Site.code > code)))
        rows = list(s.scalars(stmt.limit(limit + 1)))
        items = [site_row(st) for st in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    return {"items": items, "next": f"{last['agency']}/{last['code']}" if last else None}


@router.get("/agencies/{code}/sites/{site}")
def show_site(response: Response, code: str = CODE, site: str = SITE,
              who: Principal = requires("directory.read", agency="code")) -> dict[str, Any]:
    """One site of an agency; its ETag goes back in If-Match when changing it."""
    with who.directory.transaction(who.actor) as s:
        row = site_row(store.get_site(s, code, site))
    response.headers["ETag"] = etag(row)
    return row


class SiteChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "ศาลาว่าการ <b>HQ</b>", "latitude": 13.75, "longitude": 100.5}]})
    name: str | None = Field(None, max_length=255)
    province: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=1000)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


@router.patch("/agencies/{code}/sites/{site}")
def change_site(body: SiteChange, response: Response, code: str = CODE, site: str = SITE,
                if_match: str | None = IF_MATCH,
                who: Principal = requires("directory.write", agency="code")) -> dict[str, Any]:
    """Change fields of a site (``gin directory site set``); ``If-Match`` as for agencies."""
    require_if_match(if_match, "site")
    with who.directory.transaction(who.actor) as s:
        found = store.get_site(s, code, site)
        return patched(s, response, found, if_match, site_row,
                       f"site {found.agency.code}/{found.code}",
                       body.model_dump(exclude_unset=True))


@router.get("/devices")
def list_devices(agency: str | None = Query(None, max_length=32),
                 site: str | None = Query(None, max_length=32, description="with agency"),
                 role: str | None = Query(None, max_length=16,
                                          description=", ".join(m.DEVICE_ROLES)),
                 platform: str | None = Query(None, max_length=32),
                 after: str | None = Query(None, max_length=63,
                                           description="cursor: the last hostname"),
                 limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                 who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Devices in hostname order, filtered; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Device).join(m.Device.site).order_by(m.Device.hostname)
        stmt = who.confine(s, stmt, "directory.read", m.Site.agency_id)
        if site and not agency:
            raise Invalid("site: give agency too (site codes are per agency)")
        if agency and site:
            stmt = stmt.where(m.Device.site_id == store.get_site(s, agency, site).id)
        elif agency:
            stmt = stmt.where(m.Site.agency_id == store.get_agency(s, agency).id)
        if role:
            if role not in m.DEVICE_ROLES:
                raise Invalid(f"role: {role!r} is not one of {', '.join(m.DEVICE_ROLES)}")
            stmt = stmt.where(m.Device.role == role)
        if platform:
            stmt = stmt.where(m.Device.platform == store.clean_platform(platform))
        if after:
            stmt = stmt.where(m.Device.hostname > after.lower())
        rows = list(s.scalars(stmt.limit(limit + 1)))
        items = [device_row(d) for d in rows[:limit]]
    return {"items": items, "next": items[-1]["hostname"] if len(rows) > limit else None}


def _device(dev: m.Device) -> dict[str, Any]:
    row = device_row(dev)
    row["interfaces"] = [i.name for i in sorted(dev.interfaces, key=lambda i: i.name)]
    return row


@router.get("/devices/{hostname}")
def show_device(response: Response, hostname: str = HOSTNAME,
                who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One device and its interfaces (refused when its agency is outside the caller's grants);
    its ETag goes back in If-Match when changing it."""
    with who.directory.transaction(who.actor) as s:
        dev = store.get_device(s, hostname)
        who.require(s, "directory.read", dev.site.agency.code)
        row = _device(dev)
    response.headers["ETag"] = etag(row)
    return row


class DeviceChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"mgmt_address": "2001:db8:ffff::12", "mgmt_port": 2222}]})
    role: str | None = Field(None, max_length=16, description=", ".join(m.DEVICE_ROLES))
    platform: str | None = Field(None, max_length=32)
    mgmt_address: str | None = Field(None, max_length=64)
    mgmt_port: int | None = Field(None, ge=1, le=65535)
    snmp_profile: str | None = Field(None, max_length=64)
    snmp_address: str | None = Field(None, max_length=64)
    credential_ref: str | None = Field(None, max_length=255,
                                       description="where the login secret lives, never the "
                                                   "secret: env:NAME, file:PATH, vault:NAME")
    asn: int | None = Field(None, ge=1, le=4294967294)


@router.patch("/devices/{hostname}")
def change_device(body: DeviceChange, response: Response, hostname: str = HOSTNAME,
                  if_match: str | None = IF_MATCH,
                  who: Principal = requires("directory.write")) -> dict[str, Any]:
    """Change fields of a device (``gin directory device set``), for engineers over its
    agency; ``If-Match`` as for agencies (asked for once the caller's scope is known)."""
    with who.directory.transaction(who.actor) as s:
        dev = store.get_device(s, hostname)
        who.require(s, "directory.write", dev.site.agency.code)
        require_if_match(if_match, "device")
        return patched(s, response, dev, if_match, _device, f"device {dev.hostname}",
                       body.model_dump(exclude_unset=True))

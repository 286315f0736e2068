"""Agencies' public services (what ``gin audit web`` scans) and the people to call about an
agency's network: list (filters, stable cursor pages, scoped), show with an ETag, add, change
with If-Match (:mod:`gin.server.etags`) and remove, through the same :mod:`directory.store`
calls as ``gin directory service`` and ``gin directory contact``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from directory import models as m
from directory import store
from gin.commands.directory import contact_row
from gin.commands.service import service_row

from ..etags import IF_MATCH, etag, patched, require_if_match
from ..permissions import Principal, requires

router = APIRouter(tags=["services and contacts"])
CODE = Path(max_length=32, description="agency code", examples=["DOPA"])
SERVICE = Path(max_length=64, description="service name", examples=["www"])
CONTACT = Path(ge=1, le=2**31 - 1, description="contact id", examples=[1])


def _scoped(who: Principal, s: Any, stmt: Any, column: Any, agency: str | None) -> Any:
    stmt = who.confine(s, stmt, "directory.read", column)
    if agency:
        stmt = stmt.where(column == store.get_agency(s, agency).id)
    return stmt


@router.get("/services")
def list_services(agency: str | None = Query(None, max_length=32),
                  after: str | None = Query(None, max_length=100,
                                            description="cursor: AGENCY/NAME of the last row"),
                  limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                  who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Services in (agency, name) order; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Service).join(m.Service.agency).order_by(m.Agency.code, m.Service.name)
        stmt = _scoped(who, s, stmt, m.Service.agency_id, agency)
        if after:
            ag, _, name = after.partition("/")
            ag, name = ag.upper(), name.lower()
            stmt = stmt.where((m.Agency.code > ag)
                              | ((m.Agency.code == ag) & (m.Service.name > name)))
        rows = list(s.scalars(stmt.limit(limit + 1)).unique())
        items = [service_row(sv) for sv in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    return {"items": items, "next": f"{last['agency']}/{last['name']}" if last else None}


@router.get("/agencies/{code}/services/{name}")
def show_service(response: Response, code: str = CODE, name: str = SERVICE,
                 who: Principal = requires("directory.read", agency="code")) -> dict[str, Any]:
    """One public service of an agency; its ETag goes back in If-Match when changing it."""
    with who.directory.transaction(who.actor) as s:
        row = service_row(store.get_service(s, code, name))
    response.headers["ETag"] = etag(row)
    return row


class NewService(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "www", "url": "https://www.dopa.go.th/",
                      "hosts": ["dopa.go.th"], "description": "กรมการปกครอง"}]})
    name: str = Field(max_length=64)
    url: str = Field(max_length=2048)
    hosts: list[str] = Field(default_factory=list, max_length=store.MAX_SERVICE_HOSTS)
    description: str | None = Field(None, max_length=255)


@router.post("/agencies/{code}/services", status_code=201)
def add_service(body: NewService, code: str = CODE,
                who: Principal = requires("directory.write", agency="code")) -> dict[str, Any]:
    """Record a public service of the agency (``gin directory service add``)."""
    with who.directory.transaction(who.actor) as s:
        return service_row(store.add_service(s, code, body.name, body.url, body.hosts,
                                             body.description))


HOST = Annotated[str, Field(max_length=253)]


class ServiceChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"url": "https://e-service.dopa.go.th/th", "hosts": ["dopa.go.th"],
                      "description": "บริการ <b>ออนไลน์</b>"}]})
    name: str | None = Field(None, max_length=64, description="a new name (renames it)")
    url: str | None = Field(None, max_length=2048)
    hosts: list[HOST] | None = Field(None, max_length=store.MAX_SERVICE_HOSTS,
                                     description="the names besides the URL's host: replaces "
                                                 "those recorded")
    description: str | None = Field(None, max_length=255)


@router.patch("/agencies/{code}/services/{name}")
def change_service(body: ServiceChange, response: Response, code: str = CODE,
                   name: str = SERVICE, if_match: str | None = IF_MATCH,
                   who: Principal = requires("directory.write", agency="code")
                   ) -> dict[str, Any]:
    """Change a public service (``gin directory service set``): a new URL puts its host
    first; ``If-Match`` as for agencies; a new name already taken in the agency is a 409."""
    require_if_match(if_match, "service")
    with who.directory.transaction(who.actor) as s:
        found = store.get_service(s, code, name)
        return patched(s, response, found, if_match, service_row,
                       f"service {found.agency.code}/{found.name}",
                       body.model_dump(exclude_unset=True))


@router.delete("/agencies/{code}/services/{name}", status_code=204)
def remove_service(code: str = CODE, name: str = SERVICE,
                   who: Principal = requires("directory.write", agency="code")) -> Response:
    """Remove a public service of the agency (``gin directory service rm``)."""
    with who.directory.transaction(who.actor) as s:
        store.remove_service(s, code, name)
    return Response(status_code=204)


@router.get("/contacts")
def list_contacts(agency: str | None = Query(None, max_length=32),
                  after: int | None = Query(None, ge=0, le=2**31 - 1,
                                            description="cursor: the last id"),
                  limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                  who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Contacts in id order; ``next`` is the cursor of the following page."""
    with who.directory.transaction(who.actor) as s:
        stmt = select(m.Contact).order_by(m.Contact.id)
        stmt = _scoped(who, s, stmt, m.Contact.agency_id, agency)
        if after is not None:
            stmt = stmt.where(m.Contact.id > after)
        rows = list(s.scalars(stmt.limit(limit + 1)).unique())
        items = [contact_row(c) for c in rows[:limit]]
    return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}


@router.get("/agencies/{code}/contacts/{contact_id}")
def show_contact(response: Response, code: str = CODE, contact_id: int = CONTACT,
                 who: Principal = requires("directory.read", agency="code")) -> dict[str, Any]:
    """One contact of an agency; its ETag goes back in If-Match when changing it."""
    with who.directory.transaction(who.actor) as s:
        row = contact_row(store.get_contact(s, code, contact_id))
    response.headers["ETag"] = etag(row)
    return row


class NewContact(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "สมชาย ใจดี", "role": "NOC", "email": "noc@dopa.go.th",
                      "phone": "+66 2 000 0000"}]})
    name: str = Field(max_length=255)
    role: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=64)


@router.post("/agencies/{code}/contacts", status_code=201)
def add_contact(body: NewContact, code: str = CODE,
                who: Principal = requires("directory.write", agency="code")) -> dict[str, Any]:
    """Add a contact to the agency (``gin directory contact add``)."""
    with who.directory.transaction(who.actor) as s:
        return contact_row(store.add_contact(s, code, body.name, body.role, body.email,
                                             body.phone))


class ContactChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"role": "CISO", "phone": "+66 2 000 0001"}]})
    name: str | None = Field(None, max_length=255)
    role: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=64)


@router.patch("/agencies/{code}/contacts/{contact_id}")
def change_contact(body: ContactChange, response: Response, code: str = CODE,
                   contact_id: int = CONTACT, if_match: str | None = IF_MATCH,
                   who: Principal = requires("directory.write", agency="code")
                   ) -> dict[str, Any]:
    """Change a contact (``gin directory contact set``); ``If-Match`` as for agencies."""
    require_if_match(if_match, "contact")
    with who.directory.transaction(who.actor) as s:
        found = store.get_contact(s, code, contact_id)
        return patched(s, response, found, if_match, contact_row,
                       f"contact {found.id} of {found.agency.code}",
                       body.model_dump(exclude_unset=True))


@router.delete("/agencies/{code}/contacts/{contact_id}", status_code=204)
def remove_contact(code: str = CODE, contact_id: int = CONTACT,
                   who: Principal = requires("directory.write", agency="code")) -> Response:
    """Remove a contact of the agency (the store's one way to remove an object)."""
    with who.directory.transaction(who.actor) as s:
        store.remove(s, store.get_contact(s, code, contact_id))
    return Response(status_code=204)

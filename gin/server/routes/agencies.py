"""Agencies: list (filter, stable cursor pagination), show with an ETag, change with If-Match."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from directory import store
from gin.commands.directory import agency_row

from ..etags import IF_MATCH, etag, patched, require_if_match
from ..permissions import Principal, requires

router = APIRouter(tags=["agencies"])


class AgencyPage(BaseModel):
    items: list[dict[str, Any]]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


@router.get("/agencies", response_model=AgencyPage)
def list_agencies(q: str = Query("", max_length=255, description="code, English or Thai name"),
                  kind: str | None = Query(None, max_length=32),
                  parent: str | None = Query(None, max_length=32),
                  after: str | None = Query(None, max_length=32, description="cursor"),
                  limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                  who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Agencies in code order, only those the caller's grants cover."""
    with who.directory.transaction(who.actor) as s:
        visible = who.visible(s, "directory.read")
        page, cursor = store.agency_page(s, q, kind, parent, after, limit, visible)
        return {"items": [agency_row(a) for a in page], "next": cursor}


CODE = Path(max_length=32, description="agency code", examples=["DOPA"])


@router.get("/agencies/{code}")
def show_agency(response: Response, code: str = CODE,
                who: Principal = requires("directory.read", agency="code")) -> dict[str, Any]:
    """One agency; its ETag goes back in If-Match when changing it."""
    with who.directory.transaction(who.actor) as s:
        row = agency_row(store.get_agency(s, code))
    response.headers["ETag"] = etag(row)
    return row


class AgencyChange(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"description": "แก้ไข <b>ทดสอบ</b>"}]})
    name_en: str | None = Field(None, max_length=255)
    name_th: str | None = Field(None, max_length=255)
    kind: str | None = Field(None, max_length=32)
    parent: str | None = Field(None, max_length=32)
    asn: int | None = Field(None, ge=1, le=4294967294)
    description: str | None = Field(None, max_length=1000)


@router.patch("/agencies/{code}")
def change_agency(body: AgencyChange, response: Response, code: str = CODE,
                  if_match: str | None = IF_MATCH,
                  who: Principal = requires("directory.write", agency="code")) -> dict[str, Any]:
    """Change fields of an agency.  ``If-Match`` must carry the ETag last read: when another
    change came in between, the answer is 412 and nothing is written."""
    require_if_match(if_match, "agency")
    fields = body.model_dump(exclude_unset=True)
    with who.directory.transaction(who.actor) as s:
        agency = store.get_agency(s, code)
        if fields.get("parent"):
            who.require(s, "directory.write", fields["parent"])
        return patched(s, response, agency, if_match, agency_row, f"agency {agency.code}",
                       fields)


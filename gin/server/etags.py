"""Strong ETags over an object as the API shows it, and the one ``If-Match`` check every
PATCH makes, so that two engineers editing the same object get a refusal, not a lost update.

A GET sends ``ETag``; the PATCH must send it back in ``If-Match`` (428 without it).  Every
PATCH route ends in :func:`patched`: it locks the row (:func:`lock`), rebuilds the row as a
GET would show it now and checks it (:func:`check_if_match`): when anything changed since the
caller read it, the answer is 412 and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Header, HTTPException, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import models as m
from directory import store

#: The ``If-Match`` request header as a PATCH route declares it.
IF_MATCH = Header(None, max_length=200,
                  description="the ETag of the last GET: a change made since then answers 412")


def etag(row: dict[str, Any]) -> str:
    """A strong ETag over the object as the API shows it: any change makes a new one."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def require_if_match(if_match: str | None, what: str) -> str:
    """The ``If-Match`` value; 428 when the caller sent none (blind writes are refused)."""
    if not if_match or not if_match.strip():
        raise HTTPException(428, f"If-Match is required: GET the {what} and send its ETag")
    return if_match.strip()


def lock(session: Session, obj: m.Base) -> None:
    """Hold the object's row until the transaction ends and re-read it, so no other change
    comes in between the check and the write (SQLite: every write transaction is already
    ``BEGIN IMMEDIATE``)."""
    model = type(obj)
    session.execute(select(model.id).where(model.id == obj.id).with_for_update())
    session.refresh(obj)


def check_if_match(if_match: str | None, row: dict[str, Any], what: str) -> None:
    """412 unless ``If-Match`` names the ETag of ``row`` as it is now (``"a", "b"`` lists are
    compared strongly, entry by entry; ``*`` matches nothing: the caller must have read it)."""
    sent = require_if_match(if_match, what)
    current = etag(row)
    if current not in (tag.strip() for tag in sent.split(",")):
        raise HTTPException(412, f"{what} changed since it was read: GET it again and "
                                 "re-apply the change")


def patched(session: Session, response: Response, obj: m.Base, if_match: str | None,
            row_of: Callable[[Any], dict[str, Any]], what: str,
            fields: dict[str, Any]) -> dict[str, Any]:
    """Change ``obj`` by ``fields`` (through :func:`directory.store.update`, its validation)
    if ``If-Match`` names it as it is now; the row as a GET now shows it, its ETag set on
    ``response``."""
    lock(session, obj)
    check_if_match(if_match, row_of(obj), what)
    store.update(session, obj, **fields)
    row = row_of(obj)
    response.headers["ETag"] = etag(row)
    return row

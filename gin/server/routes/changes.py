"""The change log: read it (newest first, paged by id) and verify its hash chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from directory import store

from ..permissions import Principal, requires

router = APIRouter(tags=["changes"])


@router.get("/changes")
def list_changes(type: str | None = Query(None, max_length=32, description="object type"),
                 key: str | None = Query(None, max_length=255, description="object key"),
                 before: int | None = Query(None, ge=1, description="cursor: an entry id"),
                 limit: int = Query(100, ge=1, le=store.MAX_PAGE),
                 who: Principal = requires("changelog.read", gin_wide=True)) -> dict[str, Any]:
    """Who changed what and when, newest first; ``next`` pages back."""
    with who.directory.transaction(who.actor) as s:
        rows = store.history(s, type, key, limit + 1, before)
        items = [{"id": c.id, "seq": c.seq, "time": c.time, "actor": c.actor,
                  "action": c.action, "type": c.object_type, "key": c.object_key,
                  "before": c.before, "after": c.after, "hash": c.hash} for c in rows[:limit]]
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None}


@router.get("/changes/verify")
def verify_changes(who: Principal = requires("changelog.read", gin_wide=True)) -> dict[str, Any]:
    """Whether any entry was altered, removed or slipped in; the head to note for next time."""
    with who.directory.transaction(who.actor) as s:
        return store.verify_history(s).as_dict()

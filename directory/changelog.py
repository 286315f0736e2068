"""The change log: every insert, update and delete is written as it is flushed.

Recording happens in a session hook rather than in each API function, so no code path
(CLI, importer, allocator, lab, provisioning) can change the directory without leaving
a trace.  The actor comes from ``session.info["actor"]``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from . import models as m

SECRET_FIELD = re.compile(r"secret|password|passwd|psk|private|token", re.I)
REDACTED = "***"
UNLOGGED = (m.Change, m.FreeBlock)
NOISE = {"created_at", "updated_at"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def redact(key: str, value: Any) -> Any:
    """The value as the log may keep it: secrets become ``***``, references stay."""
    if value is not None and SECRET_FIELD.search(key) and not key.endswith("_ref"):
        return REDACTED
    if isinstance(value, str) and value.startswith("sealed:"):
        return REDACTED  # an encrypted secret stays out of the log too (keys get rotated)
    return _jsonable(value)


def snapshot(obj: Any, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column values of ``obj`` as JSON, secrets replaced by ``***``."""
    mapper = inspect(obj).mapper
    out = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in NOISE:
            continue
        value = values[key] if values is not None and key in values else getattr(obj, key)
        out[key] = redact(key, value)
    return out


def object_key(obj: Any) -> str:
    """The natural key a person would search the history by."""
    match obj:
        case m.Agency():
            return obj.code
        case m.Site():
            agency = obj.agency.code if obj.agency is not None else obj.agency_id
            return f"{agency}/{obj.code}"
        case m.Device():
            return obj.hostname
        case m.Interface():
            host = obj.device.hostname if obj.device is not None else obj.device_id
            return f"{host}:{obj.name}"
        case m.Prefix():
            return obj.cidr
        case m.Link() | m.Tunnel() | m.Contact():
            return obj.name
        case m.Service():
            agency = obj.agency.code if obj.agency is not None else obj.agency_id
            return f"{agency}/{obj.name}"
        case m.Certificate():
            return obj.serial
        case m.TunnelRotation():
            return obj.tunnel.name if obj.tunnel is not None else str(obj.tunnel_id)
    return str(getattr(obj, "id", "?"))


def _before_values(obj: Any) -> tuple[dict[str, Any], bool]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    changed = False
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            if attr.key not in NOISE:
                changed = True
            before[attr.key] = hist.deleted[0] if hist.deleted else None
    return before, changed


def _after_flush(session: Session, _ctx: Any) -> None:
    actor = session.info.get("actor") or "unknown"
    now = m.utcnow()
    rows = []
    for obj in session.new:
        if not isinstance(obj, UNLOGGED):
            rows.append(("create", obj, None, snapshot(obj)))
    for obj in session.dirty:
        if isinstance(obj, UNLOGGED) or not session.is_modified(obj):
            continue
        before, changed = _before_values(obj)
        if changed:
            rows.append(("update", obj, snapshot(obj, before), snapshot(obj)))
    for obj in session.deleted:
        if not isinstance(obj, UNLOGGED):
            rows.append(("delete", obj, snapshot(obj), None))
    if rows:
        session.connection().execute(
            insert(m.Change.__table__),
            [
                {
                    "time": now,
                    "actor": actor,
                    "action": action,
                    "object_type": type(obj).__tablename__,
                    "object_id": obj.id,
                    "object_key": object_key(obj)[:255],
                    "before": before,
                    "after": after,
                }
                for action, obj, before, after in rows
            ],
        )


def install(session_factory: Any) -> None:
    """Attach the change-log hook to a session factory."""
    event.listen(session_factory, "after_flush", _after_flush)


def log_event(session: Session, action: str, obj: Any, details: dict[str, Any]) -> None:
    """Record something done *to the network* about ``obj`` (a push, a verification, a
    rollback), with its details (e.g. the diff) as the entry's ``after``."""
    actor = session.info.get("actor") or "unknown"
    session.connection().execute(insert(m.Change.__table__), [{
        "time": m.utcnow(), "actor": actor, "action": action[:16],
        "object_type": type(obj).__tablename__, "object_id": obj.id,
        "object_key": object_key(obj)[:255], "before": None,
        "after": {k: redact(k, v) for k, v in details.items()},
    }])

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

from . import chain
from . import models as m

SECRET_FIELD = re.compile(r"secret|password|passwd|psk|private|token", re.I)
REDACTED = "***"
UNLOGGED = (m.Change, m.FreeBlock, m.LoginFailure)
NOISE = {"created_at", "updated_at", "last_used_at"}


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
        case m.User() | m.Role():
            return obj.name
        case m.ApiToken():
            user = obj.user.name if obj.user is not None else obj.user_id
            return f"{user}/{obj.name}"
        case m.Grant():
            user = obj.user.name if obj.user is not None else obj.user_id
            role = obj.role.name if obj.role is not None else obj.role_id
            where = obj.agency.code if obj.agency is not None else obj.agency_id
            return f"{user}:{role}@{obj.scope}" + (f":{where}" if where is not None else "")
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
        write(session, [
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
            ])


def _chain_state(session: Session) -> dict[str, Any]:
    """The chain's head as this transaction knows it (read from the database once)."""
    txn = session.get_transaction()
    held = session.info.get("chain")
    if held is None or held[0] is not txn:
        held = session.info["chain"] = (txn, {})
    return held[1]


def write(session: Session, entries: list[dict[str, Any]]) -> None:
    """Seal entries into the hash chain and insert them: the one way rows reach the log
    (the flush hook's, and the importer's Core inserts, which the hook does not see)."""
    conn = session.connection()
    chain.seal(conn, entries, _chain_state(session))
    conn.execute(insert(m.Change.__table__), entries)


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    """Change rows added as objects (``session.add(m.Change(...))``) are sealed too."""
    added = [obj for obj in session.new if isinstance(obj, m.Change) and obj.seq is None]
    if not added:
        return
    added.sort(key=lambda obj: inspect(obj).insert_order)
    entries = [{f: getattr(obj, f) for f in chain.FIELDS} for obj in added]
    chain.seal(session.connection(), entries, _chain_state(session))
    for obj, entry in zip(added, entries, strict=True):
        obj.time, obj.seq, obj.hash = entry["time"], entry["seq"], entry["hash"]


def install(session_factory: Any) -> None:
    """Attach the change-log hooks to a session factory."""
    event.listen(session_factory, "before_flush", _before_flush)
    event.listen(session_factory, "after_flush", _after_flush)


def log_event(session: Session, action: str, obj: Any, details: dict[str, Any]) -> None:
    """Record something done *to the network* about ``obj`` (a push, a verification, a
    rollback), with its details (e.g. the diff) as the entry's ``after``."""
    actor = session.info.get("actor") or "unknown"
    write(session, [{
        "time": m.utcnow(), "actor": actor, "action": action[:16],
        "object_type": type(obj).__tablename__, "object_id": obj.id,
        "object_key": object_key(obj)[:255], "before": None,
        "after": {k: redact(k, v) for k, v in details.items()},
    }])

"""The change log's hash chain: tamper evidence for the history auditors rely on.

Every change-log entry gets the next number (``seq`` 1, 2, 3... without gaps) and
``hash = sha256(previous hash + the entry's canonical JSON)``.  Altering an entry breaks its
own hash; removing one leaves a gap in the numbers; either is found by :func:`verify`, which
names the first broken entry.  What a chain alone cannot show is the removal of the newest
entries: :func:`verify` reports the head (number and hash) so an auditor can note it and
compare it next time.

Writers must not fork the chain: on PostgreSQL each sealing transaction takes an advisory
lock held to its commit; SQLite's write transactions (``BEGIN IMMEDIATE``) are serial anyway.
The ``seq`` column is unique as a last line of defence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

GENESIS = "0" * 64
CHAIN_LOCK = 6777959  # PostgreSQL advisory lock key (the migrator uses 6777958)
FIELDS = ("seq", "time", "actor", "action", "object_type", "object_id", "object_key",
          "before", "after")


def _time(value: Any) -> str:
    """The same text whether the database hands back an aware (PostgreSQL) or a naive UTC
    (SQLite) datetime, to the microsecond both keep."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    """The hash of one entry given the previous entry's hash."""
    body = {key: entry.get(key) for key in FIELDS}
    body["time"] = _time(body["time"])
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256((previous + text).encode()).hexdigest()


def _head(conn: Connection) -> tuple[int, str]:
    from .models import Change

    row = conn.execute(select(Change.seq, Change.hash).where(Change.seq.is_not(None))
                       .order_by(Change.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def seal(conn: Connection, entries: list[dict[str, Any]], state: dict[str, Any]) -> None:
    """Number and hash ``entries`` (dicts of the change-log columns) in order, in place.

    ``state`` remembers the head within one transaction (several flushes, several rows per
    flush) so the head is read from the database once; the caller keys it by transaction.
    """
    if "head" not in state:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
        state["head"] = _head(conn)
    seq, previous = state["head"]
    for entry in entries:
        if entry.get("time") is None:
            from .models import utcnow

            entry["time"] = utcnow()
        seq += 1
        entry["seq"] = seq
        entry["hash"] = previous = entry_hash(previous, entry)
    state["head"] = (seq, previous)


@dataclass
class Verdict:
    """What :func:`verify` found: ``ok``, how many entries, the head, the first problem."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    entry_id: int | None = None
    entry_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq,
                "head_hash": self.head_hash, "problem": self.problem,
                "entry_id": self.entry_id, "entry_seq": self.entry_seq}


def _rows(conn: Connection) -> Iterator[Any]:
    from .models import Change

    cols = [Change.id, Change.hash, *(getattr(Change, f) for f in FIELDS)]
    result = conn.execution_options(yield_per=2000).execute(
        select(*cols).order_by(Change.seq.is_(None), Change.seq, Change.id))
    yield from result


def verify(conn: Connection) -> Verdict:
    """Walk the whole chain; stop at the first entry that was altered, removed or slipped in."""
    previous, expected, count = GENESIS, 1, 0
    for row in _rows(conn):
        entry = row._asdict()
        if entry["seq"] is None:
            return Verdict(False, count, expected - 1, previous,
                           f"change-log entry id {entry['id']} is not sealed in the chain "
                           "(written past gin, e.g. by hand in SQL)", entry["id"], None)
        if entry["seq"] != expected:
            return Verdict(False, count, expected - 1, previous,
                           f"change-log entries #{expected}..#{entry['seq'] - 1} are missing "
                           f"(removed before entry id {entry['id']})", entry["id"], entry["seq"])
        digest = entry_hash(previous, entry)
        if digest != entry["hash"]:
            return Verdict(False, count, expected - 1, previous,
                           f"change-log entry #{entry['seq']} (id {entry['id']}, "
                           f"{entry['action']} {entry['object_type']} {entry['object_key']}) "
                           "was altered: its hash does not match its content",
                           entry["id"], entry["seq"])
        previous, expected, count = digest, expected + 1, count + 1
    return Verdict(True, count, expected - 1, previous)

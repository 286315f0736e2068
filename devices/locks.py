"""Device change locks that hold across processes and machines, kept in the directory's
database (the one place every gin process shares).

- PostgreSQL: a session advisory lock per device (``pg_advisory_lock``) on a connection
  held for the change; the server frees it when the holder's connection dies, so a killed
  process never blocks the device.  A ``device_lock`` row says who holds it and since when.
- SQLite: the ``device_lock`` row *is* the lock, taken under ``BEGIN IMMEDIATE`` (one writer
  at a time decides).  A row whose owner is gone (see :mod:`devices.owner`) is taken over.

Either way whoever takes a device's lock then resolves the device's orphaned journal entries
before changing it (converge does): a dead owner's lock is taken over only by recovery.
Within a process a thread lock per device comes first, so threads queue there.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select, text

from devices.errors import GinError
from devices.owner import Owner, alive
from directory import models as m

TABLE = m.DeviceLock.__table__
POLL = 0.2  # seconds between tries on SQLite (a waiting change, never a test's timing)
_LOCAL: dict[str, threading.Lock] = {}  # one per device per process: threads queue here
_LOCAL_GUARD = threading.Lock()


class LockError(GinError):
    """A device's change lock could not be taken (database unreachable)."""

    exit_code = 3


@dataclass(frozen=True)
class Holder:
    """Who holds a device's change lock, and since when (seconds)."""

    device: str
    owner: str
    age: float
    alive: bool


def advisory_key(device: str) -> int:
    """A stable signed 64-bit key per device name (PostgreSQL's advisory lock space)."""
    return int.from_bytes(hashlib.sha256(b"gin-device:" + device.encode()).digest()[:8],
                          "big", signed=True)


def _local(device: str) -> threading.Lock:
    with _LOCAL_GUARD:
        return _LOCAL.setdefault(device, threading.Lock())


class DeviceLocks:
    """Change locks of devices in the database ``engine()`` returns (opened lazily)."""

    def __init__(self, engine: Callable[[], Engine], owner: Owner) -> None:
        self._engine = engine
        self.owner = owner
        #: devices whose lock this process took over from a dead owner (for the report)
        self.taken_over: dict[str, str] = {}

    @contextmanager
    def hold(self, device: str) -> Iterator[None]:
        """Hold ``device``'s change lock for the block (waits while another holds it)."""
        with _local(device):
            try:
                engine = self._engine()
                pg = engine.dialect.name == "postgresql"
                conn = engine.connect() if pg else None
            except GinError:
                raise
            except Exception as exc:
                raise LockError(f"{device}: cannot take its change lock: {exc}") from exc
            try:
                if pg and conn is not None:
                    self._pg_take(conn, device)
                else:
                    self._sqlite_take(engine, device)
                yield
            finally:
                try:
                    if pg and conn is not None:
                        self._pg_release(conn, device)
                    else:
                        self._release_row(engine, device)
                finally:
                    if conn is not None:
                        conn.close()

    # --- PostgreSQL ---------------------------------------------------------------------

    def _pg_take(self, conn: Connection, device: str) -> None:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": advisory_key(device)})
        conn.commit()
        with conn.begin():
            old = conn.execute(select(TABLE).where(TABLE.c.device == device)).mappings().first()
            if old is not None:
                self.taken_over[device] = f"pid {old['owner_pid']} on {old['owner_host']}"
                conn.execute(delete(TABLE).where(TABLE.c.device == device))
            conn.execute(insert(TABLE).values(self._row(device)))

    def _pg_release(self, conn: Connection, device: str) -> None:
        try:
            with conn.begin():
                conn.execute(delete(TABLE).where(TABLE.c.device == device,
                                                 TABLE.c.owner_pid == self.owner.pid,
                                                 TABLE.c.owner_host == self.owner.host))
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(device)})
            conn.commit()

    # --- SQLite (any database without advisory locks) -----------------------------------

    def _sqlite_take(self, engine: Engine, device: str) -> None:
        while True:
            with engine.begin() as conn:  # BEGIN IMMEDIATE: one process decides at a time
                old = conn.execute(select(TABLE).where(TABLE.c.device == device)
                                   ).mappings().first()
                if old is None or not alive(old["owner_pid"], old["owner_host"],
                                            old["owner_start"]):
                    if old is not None:
                        self.taken_over[device] = (f"pid {old['owner_pid']} on "
                                                   f"{old['owner_host']} (gone)")
                        conn.execute(delete(TABLE).where(TABLE.c.device == device))
                    conn.execute(insert(TABLE).values(self._row(device)))
                    return
            time.sleep(POLL)

    def _release_row(self, engine: Engine, device: str) -> None:
        with engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.device == device,
                                             TABLE.c.owner_pid == self.owner.pid,
                                             TABLE.c.owner_host == self.owner.host,
                                             TABLE.c.owner_start == self.owner.start))

    def _row(self, device: str) -> dict[str, object]:
        o = self.owner
        return {"device": device, "owner_pid": o.pid, "owner_host": o.host,
                "owner_start": o.start, "owner_user": o.user, "acquired_at": m.utcnow()}

    def holders(self) -> list[Holder]:
        """Every lock held now: device, owner, age, whether the owner still lives."""
        with self._engine().connect() as conn:
            rows = conn.execute(select(TABLE).order_by(TABLE.c.device)).mappings().all()
        now = m.utcnow()
        out = []
        for r in rows:
            since = r["acquired_at"]
            if since.tzinfo is None:  # SQLite returns naive UTC
                since = since.replace(tzinfo=now.tzinfo)
            out.append(Holder(r["device"], f"pid {r['owner_pid']} on {r['owner_host']} "
                                           f"({r['owner_user']})",
                              (now - since).total_seconds(),
                              alive(r["owner_pid"], r["owner_host"], r["owner_start"])))
        return out

"""Answers kept in memory between requests, each tied to the directory version it reflects.

Whois is the service's busiest read (every SOC lookup, every sensor label): answering it from
the database costs a query per prefix length present plus the owner's rows.  The
:class:`~directory.whois.WhoisSnapshot` answers the same in memory.  Every request still reads
the directory's version (the change log's head, one indexed ``max``) *after it arrived*, and
while the snapshot is behind the answer comes from the database as before, so a change is
visible to the very next whois, whichever server process made it.

On PostgreSQL the version is read on the event loop over a few asynchronous autocommit
connections, and requests arriving together share one read (which starts after they
arrived): 64 concurrent lookups cost a handful of round trips, not 64 thread-pool hops with
a pool checkout, BEGIN and ROLLBACK each.  Rebuilding is done by one
request at a time and at most every :data:`REBUILD_SECONDS`, so a burst of allocations does
not turn every whois into a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from directory import models as m
from directory.store import Directory
from directory.whois import WhoisSnapshot, whois

REBUILD_SECONDS = 2.0
VERSION = select(func.max(m.Change.seq))
VERSION_SQL = "SELECT max(seq) FROM change_log"


class SharedVersionRead:
    """The change log's head read over a few async PostgreSQL connections (``lanes``).

    Callers gather in a batch that has not been sent yet; the batch is sent as soon as a
    lane is free, so every caller gets a read that started after it asked, and while the
    lanes are busy new callers keep joining the one waiting batch (64 concurrent lookups
    cost a handful of round trips).  More than one lane means a caller arriving just after
    a read went out waits for about one round trip, not for that read and then its own.
    """

    def __init__(self, url: str, lanes: int = 3) -> None:
        self.url = url
        self._idle: list[Any] = [None] * lanes  # free lanes (None: not connected yet)
        self._batch: asyncio.Future[int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # asyncio keeps only weak references

    async def read(self) -> int:
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
        batch = self._batch
        self._send()
        return await asyncio.shield(batch)  # a caller given up on must not cancel the others

    def _send(self) -> None:
        if self._batch is None or not self._idle:
            return
        conn, batch, self._batch = self._idle.pop(), self._batch, None
        task = asyncio.get_running_loop().create_task(self._run(conn, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: Any, batch: asyncio.Future[int]) -> None:
        import psycopg

        try:
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            cur = await conn.execute(VERSION_SQL)
            row = await cur.fetchone()
            batch.set_result(int(row[0] or 0) if row else 0)
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
            if conn is not None:
                with contextlib.suppress(Exception):  # already broken
                    await conn.close()
            conn = None
            if not batch.done():
                batch.set_exception(exc)
        finally:
            self._idle.append(conn)
            self._send()  # the batch that gathered meanwhile


class WhoisCache:
    """The current :class:`WhoisSnapshot` of one server process."""

    def __init__(self) -> None:
        self.snapshot: WhoisSnapshot | None = None
        self._building = threading.Lock()
        self._last_build = float("-inf")
        self._shared: SharedVersionRead | None = None

    def warm(self, directory: Directory) -> None:
        """Build the snapshot now (at start-up, before the first request waits for it)."""
        with directory.transaction() as s:
            self.snapshot = WhoisSnapshot.load(s)
            self._last_build = time.monotonic()

    async def answer(self, directory: Directory, actor: str, query: str) -> dict[str, Any]:
        """:func:`~directory.whois.whois` for ``query`` as of the directory's version now."""
        version = await self.version(directory)
        snap = self.snapshot
        if snap is not None and snap.version >= version:
            return snap.answer(query)
        return await run_in_threadpool(self._from_database, directory, actor, query, version)

    async def version(self, directory: Directory) -> int:
        url = directory.engine.url
        if url.get_backend_name() != "postgresql":
            return await run_in_threadpool(self._version_sync, directory)
        if self._shared is None:
            plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._shared = SharedVersionRead(plain)
        return await self._shared.read()

    @staticmethod
    def _version_sync(directory: Directory) -> int:
        with directory.engine.connect() as conn:
            return int(conn.execute(VERSION).scalar() or 0)

    def _from_database(self, directory: Directory, actor: str, query: str,
                       version: int) -> dict[str, Any]:
        with directory.transaction(actor) as s:
            if (time.monotonic() - self._last_build >= REBUILD_SECONDS
                    and self._building.acquire(blocking=False)):
                try:
                    self._last_build = time.monotonic()
                    self.snapshot = fresh = WhoisSnapshot.load(s)
                finally:
                    self._building.release()
                if fresh.version >= version:
                    return fresh.answer(query)
            return whois(s, query)

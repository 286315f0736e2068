"""Answers kept in memory between requests, each tied to the directory version it reflects.

Whois is the service's busiest read (every SOC lookup, every sensor label): answering it from
the database costs a query per prefix length present plus the owner's rows.  The
:class:`~directory.whois.WhoisSnapshot` answers the same in memory.  Every request still reads
the directory's version (the change log's head, one indexed ``max``) *after it arrived*, and
while the snapshot is behind the answer comes from the database as before, so a change is
visible to the very next whois, whichever server process made it.

On PostgreSQL the version is read on the event loop over one asynchronous autocommit
connection, and requests arriving while a read is in flight share the next read (which
starts after they arrived): 64 concurrent lookups cost a handful of round trips, not 64
thread-pool hops with a pool checkout, BEGIN and ROLLBACK each.  Rebuilding is done by one
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
    """The change log's head read over one async PostgreSQL connection, one read in flight
    at a time; a caller always gets a read that started after it asked."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._running = False
        self._next: asyncio.Future[int] | None = None

    async def read(self) -> int:
        loop = asyncio.get_running_loop()
        if self._running:  # the read in flight may have started before we asked: wait on the next
            if self._next is None:
                self._next = loop.create_future()
            return await self._next
        self._running = True
        first: asyncio.Future[int] = loop.create_future()
        loop.create_task(self._serve(first))
        return await first

    async def _serve(self, waiting: asyncio.Future[int]) -> None:
        while True:
            try:
                waiting.set_result(await self._query())
            except Exception as exc:  # noqa: BLE001 - handed to every waiter
                await self._reset()
                waiting.set_exception(exc)
            if self._next is None:
                self._running = False
                return
            waiting, self._next = self._next, None

    async def _query(self) -> int:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        cur = await self._conn.execute(VERSION_SQL)
        row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    async def _reset(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                await conn.close()


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

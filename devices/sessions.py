"""Sessions to devices for one run: one shared connection and one change lock per device.

A device is changed by one thread at a time (its lock is held while its running config is
read, changed, read back and saved), while slow work that only reads (verifying a link
waits seconds for BGP) runs beside other changes on the same connection.  :meth:`lock` is
a thread lock (reads: never mid-change by this run); :meth:`changing` is the change lock,
held in the directory's database so that it serialises every gin process on every machine
(:mod:`devices.locks`).  Every change is journaled in that database (:mod:`devices.journal`);
the caller need not ask for it, only say which database (``db``) when it is not the
default (``--db``/``GIN_DB``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Engine

from devices.journal import Journal
from devices.locks import DeviceLocks
from devices.targets import DeviceTarget
from devices.transport import Connection, DeviceTransport, runs_commands, show_all


class LockedConnection:
    """A connection several threads may share: one command at a time on the wire."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._io = threading.Lock()
        self.runs_commands = runs_commands(conn)

    def show(self, command: str) -> str:
        with self._io:
            return self._conn.show(command)

    def show_many(self, commands: list[str]) -> list[str]:
        with self._io:
            return show_all(self._conn, commands)

    def configure(self, lines: list[str], tolerate_errors: bool = False,
                  enter: str | None = None) -> str:
        with self._io:
            if enter is None:
                return self._conn.configure(lines, tolerate_errors)
            return self._conn.configure(lines, tolerate_errors, enter=enter)  # type: ignore[call-arg]

    def command(self, command: str) -> str:
        with self._io:
            return self._conn.command(command)  # type: ignore[attr-defined]

    def save(self) -> None:
        with self._io:
            self._conn.save()

    def close(self) -> None:
        with self._io:
            self._conn.close()


class Sessions:
    """One shared connection and one change lock per device, for a whole run.

    Use as a context manager (or call :meth:`close`): every connection opened is closed.
    """

    def __init__(self, transport: DeviceTransport, db: Engine | str | None = None,
                 job: str | None = None) -> None:
        self.transport = transport
        self.journal = Journal(db, job)
        self.locks = DeviceLocks(lambda: self.journal.engine, self.journal.owner)
        self._locks: dict[str, threading.Lock] = {}
        self._conns: dict[str, LockedConnection] = {}
        self._guard = threading.Lock()

    def lock(self, hostname: str) -> threading.Lock:
        """The device's change lock (the same object for every caller of this run)."""
        with self._guard:
            return self._locks.setdefault(hostname, threading.Lock())

    @contextmanager
    def changing(self, hostname: str) -> Iterator[None]:
        """The device's change lock: this run's threads, then every process (database)."""
        with self.lock(hostname), self.locks.hold(hostname):
            yield

    def get(self, target: DeviceTarget) -> LockedConnection:
        """The device's shared connection, opened on first use.  Call with the device's
        lock held: two threads never open two sessions to one device."""
        conn = self._conns.get(target.hostname)
        if conn is None:
            conn = LockedConnection(self.transport.connect(target))
            with self._guard:
                self._conns[target.hostname] = conn
        return conn

    def release(self, hostname: str) -> None:
        """Close the device's connection now (a run over thousands of devices that visits
        each once must not hold them all open); a later :meth:`get` opens a new one."""
        with self._guard:
            conn = self._conns.pop(hostname, None)
        if conn is not None:
            conn.close()

    def close(self, finish: bool = True) -> None:
        """Close every connection; with ``finish`` the changes applied (and not recorded
        by the caller through ``journal.finish(session)``) are done.  Leaving by an
        exception does not finish them: recovery will undo what nobody recorded."""
        with self._guard:
            conns, self._conns = list(self._conns.values()), {}
        try:
            if finish:
                self.journal.finish()
        finally:
            for conn in conns:
                conn.close()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(finish=exc is None)

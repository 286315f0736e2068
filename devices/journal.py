"""The change journal: what gin is doing to a device, written to the directory's database
before the device is touched, so a killed process leaves a record to recover from.

One :class:`Journal` per run of sessions (``Sessions.journal``); each ``converge`` call
gets a :class:`JournalRun`, the observer converge always reports to.  At a device's first
push it writes the pre-image (with its SHA-256), the lines and the owner; if that write
fails the push does not happen.  Then the entry moves: ``pushing`` -> ``pushed`` ->
``read_back`` -> ``saved`` -> ``verified`` -> ``done`` (when the caller has recorded the
result, or the sessions close), or ``restoring`` -> ``restored`` (``restore_failed``).  A
commit-confirmed change (:mod:`devices.confirmed`) is saved only once confirmed:
``read_back`` -> ``confirmed`` -> ``verified`` (saved) -> ``done``.
Entries neither done nor restored whose owner is gone are resolved by
:mod:`devices.recovery` before the device is changed again.

Every write is its own committed transaction on the journal's own connection: a journal
entry must survive the rollback of whatever the caller was doing.

A pre-image or a line holding a secret (the platform's ``config.secret_lines``: a password,
a PSK, an SNMP community) is stored only sealed (:func:`devices.secrets.seal_bytes`, bound
to the entry's run and device); with no sealing key such a change is refused before the
push.  Recovery opens it again (:meth:`Entry.image`).
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from devices.errors import ConfigError, GinError
from devices.owner import Owner, alive, me
from devices.secrets import SEALED_PREFIX, seal_bytes, unseal_bytes
from directory import models as m
from directory.db import open_engine, resolve_url

#: states in which an entry still needs someone: its owner, or recovery
OPEN = ("pushing", "pushed", "read_back", "saved", "confirmed", "verified", "restoring",
        "restore_failed")
#: states after which the change is waiting only to be recorded
APPLIED = ("saved", "confirmed", "verified")
#: the first line of a VPN gateway side's entry: ``gateway <type> <tunnel> <side>``; its
#: pre-image and intended result are file images (:mod:`vpn.gateway_journal`), not configs
GATEWAY = "gateway "
TABLE = m.DeviceChangeEntry.__table__
_ENGINES: dict[str, Engine] = {}
_ENGINES_GUARD = threading.Lock()


class JournalError(GinError):
    """The journal could not be written or read: nothing is pushed without it."""

    exit_code = 3


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def context(run_id: str, device: str) -> str:
    """What a sealed pre-image or line is bound to: it opens for this entry only."""
    return f"device change {run_id} {device}"


def holds_secret(text: str, secret_lines: Sequence[str]) -> bool:
    """Whether a line of ``text`` matches one of the platform's ``secret_lines``."""
    return any(re.search(p, text, re.M) for p in secret_lines)


def sealed_if_secret(text: str, secret_lines: Sequence[str], run_id: str,
                     device: str, always: bool = False) -> str:
    """``text`` as the journal stores it: sealed when a line of it holds a secret (or
    ``always``: an error quoting a change that held one)."""
    if not always and not holds_secret(text, secret_lines):
        return text
    try:
        return seal_bytes(text.encode(), context(run_id, device))
    except ConfigError as exc:
        raise JournalError(f"{device}: its config holds secrets, which the change journal "
                           f"keeps only sealed: {exc}") from None


def opened(value: str, run_id: str, device: str) -> str:
    """A stored pre-image or line in clear (unsealed when it was sealed)."""
    if not value.startswith(SEALED_PREFIX):
        return value
    try:
        return unseal_bytes(value, context(run_id, device)).decode()
    except ConfigError as exc:
        raise JournalError(f"{device}: the journal's sealed pre-image: {exc}") from None


def engine_for(db: Engine | str | None) -> Engine:
    """The journal's database: the engine given, else ``--db``/``GIN_DB``/the default
    directory, opened (and migrated) once per process."""
    if isinstance(db, Engine):
        return db
    url = resolve_url(db)
    with _ENGINES_GUARD:
        if url not in _ENGINES:
            _ENGINES[url] = open_engine(url)
        return _ENGINES[url]


@dataclass(frozen=True)
class Entry:
    """One journal row as recovery reads it."""

    id: int
    run_id: str
    device: str
    state: str
    pre_image: str
    pre_sha256: str
    lines: list[str]
    after_sha256: str | None
    owner_pid: int
    owner_host: str
    owner_start: str
    owner_user: str
    job_id: str | None

    @property
    def owner_alive(self) -> bool:
        return alive(self.owner_pid, self.owner_host, self.owner_start)

    @property
    def owner(self) -> str:
        return f"pid {self.owner_pid} on {self.owner_host} ({self.owner_user})"

    def image(self) -> str:
        """The pre-image in clear (opened with the sealing key when it was sealed)."""
        return opened(self.pre_image, self.run_id, self.device)

    @property
    def gateway(self) -> bool:
        """A VPN gateway side's entry (resolved by the VPN's recovery, not a router's)."""
        return bool(self.lines) and self.lines[0].startswith(GATEWAY)


class Journal:
    """The journal of one set of sessions; opens its database at the first write."""

    def __init__(self, db: Engine | str | None = None, job: str | None = None) -> None:
        self._db = db
        self._engine: Engine | None = None
        self.owner: Owner = me(job)
        self.runs: list[str] = []
        self.opened = False  # an entry was written (only then is there anything to finish)
        self._guard = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = engine_for(self._db)
            except Exception as exc:
                raise JournalError(f"cannot open the change journal: {exc}") from exc
        return self._engine

    def run(self) -> JournalRun:
        """The observer of one converge call."""
        run = JournalRun(self)
        with self._guard:
            self.runs.append(run.run_id)
        return run

    # --- writes ---------------------------------------------------------------------------

    def _write(self, stmt: Any) -> Any:
        try:
            with self.engine.begin() as conn:
                return conn.execute(stmt)
        except GinError:
            raise
        except Exception as exc:
            raise JournalError(f"cannot write the change journal: {exc}") from exc

    def open_entry(self, run_id: str, device: str, pre_image: str,
                   lines: Sequence[str], secret_lines: Sequence[str] = (),
                   after_sha256: str | None = None) -> int:
        """Write the entry of a push about to start (secrets sealed, see module doc);
        ``after_sha256``: the intended result's, when known before the push."""
        o = self.owner
        now = m.utcnow()
        kept = sealed_if_secret(pre_image, secret_lines, run_id, device)
        res = self._write(insert(TABLE).values(
            run_id=run_id, device=device, state="pushing", pre_image=kept,
            pre_sha256=sha256(pre_image), after_sha256=after_sha256,
            lines=[sealed_if_secret(ln, secret_lines, run_id, device) for ln in lines],
            owner_pid=o.pid,
            owner_host=o.host, owner_start=o.start, owner_user=o.user, job_id=o.job,
            history=[["pushing", now.isoformat()]], started_at=now, updated_at=now))
        self.opened = True
        return int(res.inserted_primary_key[0])

    def mark(self, entry_id: int, state: str, **values: Any) -> None:
        """Move the entry to ``state`` (its history keeps every state and when)."""
        now = m.utcnow()
        try:
            with self.engine.begin() as conn:
                history = conn.execute(select(TABLE.c.history)
                                       .where(TABLE.c.id == entry_id)).scalar() or []
                conn.execute(update(TABLE).where(TABLE.c.id == entry_id).values(
                    state=state, updated_at=now, history=[*history, [state, now.isoformat()]],
                    **values))
        except GinError:
            raise
        except Exception as exc:
            raise JournalError(f"cannot write the change journal: {exc}") from exc

    def mark_if(self, entry_id: int, states: Sequence[str], state: str) -> None:
        """Move the entry to ``state`` only from one of ``states``."""
        with self.engine.connect() as conn:
            now_state = conn.execute(select(TABLE.c.state)
                                     .where(TABLE.c.id == entry_id)).scalar()
        if now_state in states:
            self.mark(entry_id, state)

    def note(self, entry_id: int, note: str) -> None:
        self._write(update(TABLE).where(TABLE.c.id == entry_id)
                    .values(note=note[:2000], updated_at=m.utcnow()))

    def finish(self, session: Session | None = None) -> None:
        """Mark this journal's applied entries ``done``.  Given the caller's directory
        session (same database), it happens in the caller's transaction: the record of the
        result and the end of the journal entry commit together, or neither does."""
        if not self.opened:
            return  # nothing was ever written
        stmt = (update(TABLE).where(TABLE.c.run_id.in_(list(self.runs)),
                                    TABLE.c.state.in_(APPLIED))
                .values(state="done", updated_at=m.utcnow()))
        if session is not None:
            session.connection().execute(stmt)
        else:
            self._write(stmt)

    # --- reads ----------------------------------------------------------------------------

    def close(self, entry_ids: Sequence[int], session: Session, note: str) -> None:
        """Mark entries ``done`` in the caller's transaction (recovery recording a change
        that had verified: the record and the end of the entries commit together)."""
        session.connection().execute(update(TABLE).where(TABLE.c.id.in_(list(entry_ids)))
                                     .values(state="done", note=note[:2000],
                                             updated_at=m.utcnow()))

    def unfinished(self, devices: Sequence[str] = (),
                   gateways: bool | None = False) -> list[Entry]:
        """Entries neither done nor restored (of every owner), oldest first: the routers'
        (``gateways`` False), the VPN gateways' (True) or all (None)."""
        stmt = select(TABLE).where(TABLE.c.state.in_(OPEN)).order_by(TABLE.c.id)
        if devices:
            stmt = stmt.where(TABLE.c.device.in_(list(devices)))
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(stmt).mappings().all()
        except GinError:
            raise
        except Exception as exc:
            raise JournalError(f"cannot read the change journal: {exc}") from exc
        found = [Entry(**{k: r[k] for k in Entry.__dataclass_fields__}) for r in rows]
        return [e for e in found if gateways is None or e.gateway == gateways]

    def orphans(self, devices: Sequence[str] = (),
                gateways: bool | None = False) -> list[Entry]:
        """Unfinished entries whose owner is gone: what recovery resolves."""
        return [e for e in self.unfinished(devices, gateways) if not e.owner_alive]


class JournalRun:
    """The observer of one converge call: moves each device's entry along its steps."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.run_id = str(uuid.uuid4())
        self.entries: dict[str, int] = {}
        self.confirmed: set[str] = set()  # commit-confirmed devices confirmed (verified)
        #: each device's platform's ``secret_lines`` (converge sets it before a push)
        self.secret_lines: dict[str, Sequence[str]] = {}
        self.secret: set[str] = set()  # devices whose change held a secret: notes sealed
        self._guard = threading.Lock()

    def __call__(self, event: Any) -> None:  # a devices.converge.StepEvent
        step, state, device = str(event.step), event.state, event.device
        if device is None:
            if step == "verify" and state == "done":
                for entry_id in self.entries.values():
                    self.journal.mark_if(entry_id, ("saved",), "verified")
            return
        entry = self.entries.get(device)
        if step == "push" and state == "start":
            patterns = self.secret_lines.get(device, ())
            if any(holds_secret(t, patterns) for t in (event.config or "", *event.lines)):
                self.secret.add(device)
            if entry is None:
                new = self.journal.open_entry(self.run_id, device, event.config or "",
                                              event.lines, self.secret_lines.get(device, ()))
                with self._guard:
                    self.entries[device] = new
            else:  # a further pass: the lines so far plus these
                more = [sealed_if_secret(ln, self.secret_lines.get(device, ()), self.run_id,
                                         device) for ln in event.lines]
                self.journal.mark(entry, "pushing", lines=self._lines(entry, more))
            return
        if entry is None:
            return  # nothing pushed on this device: nothing to journal
        if state == "failed":
            self.journal.note(entry, sealed_if_secret(  # a refused line may be quoted
                f"{step} failed: {event.error}", self.secret_lines.get(device, ()),
                self.run_id, device, always=device in self.secret))
            if step == "restore":
                self.journal.mark(entry, "restore_failed")
            return
        if state == "start":
            if step == "restore":
                self.journal.mark(entry, "restoring")
            return
        if step == "confirm":  # only ever after verification passed
            self.confirmed.add(device)
        done = {"push": "pushed", "read_back": "read_back", "confirm": "confirmed",
                "save": "verified" if device in self.confirmed else "saved",
                "restore": "restored"}.get(step)
        if done == "read_back":
            self.journal.mark(entry, done, after_sha256=sha256(event.config or ""))
        elif done is not None:
            self.journal.mark(entry, done)

    def _lines(self, entry: int, more: Sequence[str]) -> list[str]:
        with self.journal.engine.connect() as conn:
            before = conn.execute(select(TABLE.c.lines).where(TABLE.c.id == entry)).scalar()
        return [*(before or []), *more]

"""The service's job records: what long operation was asked, by whom, how far it got.

Every write is a short statement of its own on the engine (not an ORM session, so not the
change log): a job's progress and log must be visible while the job runs, and must
survive whatever the job itself rolls back.  A job moves ``queued`` -> ``running`` (one
worker claims it, atomically) -> ``succeeded``, ``failed`` or ``cancelled``.  A running
job carries its worker (pid, host, process start) and a heartbeat the worker renews;
:func:`reap` fails the running jobs whose worker is gone, so no job stays "running"
forever.

:func:`cancel` ends a queued job at once (``cancelled``: no worker can claim it any more)
and asks a running one to stop: the job reads the request at its next safe point
(:func:`stop_requested`) and ends ``cancelled`` there (:func:`finish_cancelled`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from . import models as m
from .errors import Conflict, Invalid, NotFound

JOB = m.Job.__table__
LOG = m.JobLogLine.__table__
#: Longest log line kept (a longer one is cut, never refused).
LINE_WIDTH = 2000
#: A running job whose heartbeat is older than this is presumed dead (any host).
STALE_AFTER = dt.timedelta(seconds=90)
#: Every state a job may be in, in the order it moves through them.
STATES = m.JOB_STATES
#: The states a job ends in.
ENDED = ("succeeded", "failed", "cancelled")
#: Called with (pid, host, process start): whether that worker process still runs.
Alive = Callable[[int, str, str], bool]


@dataclass(frozen=True)
class Worker:
    """The process running jobs (see ``devices.owner``): host, pid and process start."""

    pid: int
    host: str
    start: str


def create(session: Session, kind: str, params: dict[str, Any], owner: str,
           runner: str, agency_id: int | None = None) -> int:
    """Record a new queued job (in the caller's transaction); returns its id."""
    res = session.execute(insert(JOB).values(
        kind=kind[:32], state="queued", owner=owner[:128], agency_id=agency_id,
        params=params, progress_done=0, progress_total=0, runner=runner[:32],
        created_at=m.utcnow()))
    return int(res.inserted_primary_key[0])


def assign(engine: Engine, job_id: int, worker: Worker) -> None:
    """A queued job is held by ``worker`` (a runner inside one process): when that process
    dies, the job is reaped like a running one."""
    with engine.begin() as conn:
        conn.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "queued")
                     .values(worker_pid=worker.pid, worker_host=worker.host[:255],
                             worker_start=worker.start, heartbeat_at=m.utcnow()))


def claim(engine: Engine, job_id: int, worker: Worker) -> bool:
    """Make a queued job running on ``worker``; False when it is not queued any more
    (another worker took it, or it was failed meanwhile)."""
    now = m.utcnow()
    with engine.begin() as conn:
        res = conn.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "queued")
                           .values(state="running", worker_pid=worker.pid,
                                   worker_host=worker.host[:255], worker_start=worker.start,
                                   started_at=now, heartbeat_at=now))
    return res.rowcount == 1


def heartbeat(engine: Engine, job_ids: list[int]) -> None:
    """The worker still runs these jobs."""
    if job_ids:
        with engine.begin() as conn:
            conn.execute(update(JOB).where(JOB.c.id.in_(job_ids),
                                           JOB.c.state.in_(("queued", "running")))
                         .values(heartbeat_at=m.utcnow()))


def set_progress(engine: Engine, job_id: int, done: int, total: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(JOB).where(JOB.c.id == job_id)
                     .values(progress_done=max(0, done), progress_total=max(0, total)))


def log(engine: Engine, job_id: int, line: str) -> None:
    """Append one line to the job's log."""
    with engine.begin() as conn:
        conn.execute(insert(LOG).values(job_id=job_id, time=m.utcnow(),
                                        line=str(line)[:LINE_WIDTH]))


def cancel(engine: Engine, job_id: int, by: str) -> str:
    """``by`` cancels a job: a queued one ends ``cancelled`` now (returns "cancelled"); a
    running one is asked to stop at its next safe point (returns "stopping").  An ended
    job is a :class:`Conflict`.  Each statement is conditional on the state, so a worker
    claiming the job at the same moment either runs it (and sees the request) or never."""
    now = m.utcnow()
    with engine.begin() as conn:
        done = conn.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "queued")
                            .values(state="cancelled", finished_at=now,
                                    cancel_requested_by=by[:128], worker_pid=None,
                                    worker_host=None, worker_start=None,
                                    error=f"cancelled by {by} before it started"[:LINE_WIDTH]))
        if done.rowcount == 1:
            outcome, said = "cancelled", f"cancelled by {by} before it started"
        else:
            asked = conn.execute(update(JOB).where(JOB.c.id == job_id,
                                                   JOB.c.state == "running",
                                                   JOB.c.cancel_requested_by.is_(None))
                                 .values(cancel_requested_by=by[:128]))
            state = conn.execute(select(JOB.c.state).where(JOB.c.id == job_id)).scalar()
            if state is None:
                raise NotFound(f"job {job_id} not found")
            if state != "running":
                raise Conflict(f"job {job_id} has already ended ({state}): nothing to cancel")
            if asked.rowcount == 0:
                return "stopping"  # asked before: one line in the log is enough
            outcome, said = "stopping", (f"cancellation asked by {by}: the job stops at its "
                                         "next safe point")
    log(engine, job_id, said)
    return outcome


def stop_requested(engine: Engine, job_id: int) -> str | None:
    """Who asked this running job to stop (None: nobody)."""
    with engine.connect() as conn:
        return conn.execute(select(JOB.c.cancel_requested_by)
                            .where(JOB.c.id == job_id, JOB.c.state == "running")).scalar()


def finish_cancelled(engine: Engine, job_id: int, by: str,
                     result: dict[str, Any] | None = None) -> bool:
    """End a running job that stopped at a safe point because ``by`` asked (False: it had
    already ended)."""
    with engine.begin() as conn:
        res = conn.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "running")
                           .values(state="cancelled", finished_at=m.utcnow(), result=result,
                                   error=f"cancelled by {by}"[:LINE_WIDTH]))
    return res.rowcount == 1


def finish(engine: Engine, job_id: int, ok: bool, result: dict[str, Any] | None = None,
           error: str | None = None) -> bool:
    """End a job that is still queued or running (False: it had already ended, e.g. it was
    reaped while its worker hung)."""
    values: dict[str, Any] = {"state": "succeeded" if ok else "failed",
                              "finished_at": m.utcnow(), "result": result,
                              "error": error and error[:LINE_WIDTH]}
    with engine.begin() as conn:
        row = conn.execute(select(JOB.c.progress_total).where(JOB.c.id == job_id)).first()
        if ok and row is not None and row[0]:
            values["progress_done"] = row[0]
        res = conn.execute(update(JOB).where(JOB.c.id == job_id,
                                             JOB.c.state.in_(("queued", "running")))
                           .values(**values))
    return res.rowcount == 1


def fail_dead(engine: Engine, job_id: int, why: str) -> bool:
    """Fail one job that was running (or queued) and write why to its log."""
    done = finish(engine, job_id, False, error=why)
    if done:
        log(engine, job_id, why)
    return done


def reap(engine: Engine, alive: Alive, here: str, now: dt.datetime | None = None,
         stale_after: dt.timedelta = STALE_AFTER) -> list[int]:
    """Fail every job held by a worker that is gone (running, or queued inside one process):
    a dead process on this host ``here`` (``alive`` says so: another host's processes
    cannot be looked at from here), or a heartbeat older than ``stale_after`` (any host).
    Returns their ids."""
    now = now or m.utcnow()
    with engine.connect() as conn:
        rows = conn.execute(select(JOB.c.id, JOB.c.worker_pid, JOB.c.worker_host,
                                   JOB.c.worker_start, JOB.c.heartbeat_at)
                            .where(JOB.c.state.in_(("queued", "running")),
                                   JOB.c.worker_pid.is_not(None))).all()
    failed = []
    for jid, pid, host, start, beat in rows:
        beat = beat if beat is None or beat.tzinfo else beat.replace(tzinfo=dt.UTC)
        if beat is not None and now - beat > stale_after:
            why = (f"its worker (pid {pid} on {host}) stopped sending heartbeats at "
                   f"{beat.isoformat(timespec='seconds')}: the job failed")
        elif pid is not None and host == here and not alive(pid, host, start or ""):
            why = f"its worker (pid {pid} on {host}) died: the job failed"
        else:
            continue
        if fail_dead(engine, jid, why):
            failed.append(jid)
    return failed


def get(session: Session, job_id: int) -> m.Job:
    job = session.get(m.Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def lines(session: Session, job_id: int, after: int | None = None,
          limit: int = 1000) -> list[m.JobLogLine]:
    """The job's log in order (``after``: a line id, to read on from)."""
    stmt = select(m.JobLogLine).where(m.JobLogLine.job_id == job_id)
    if after is not None:
        stmt = stmt.where(m.JobLogLine.id > after)
    return list(session.scalars(stmt.order_by(m.JobLogLine.id).limit(limit)))


def check_state(state: str | None) -> None:
    """Refuse a state no job can be in (a typo would otherwise list nothing, silently)."""
    if state is not None and state not in STATES:
        raise Invalid(f"job state {state!r} is not one of {', '.join(STATES)}")


def counts(session: Session) -> dict[tuple[str, str], int]:
    """How many jobs are in each (state, kind): one grouped query, whatever the table's size."""
    stmt = select(m.Job.state, m.Job.kind, func.count()).group_by(m.Job.state, m.Job.kind)
    return {(state, kind): int(n) for state, kind, n in session.execute(stmt)}


def durations(session: Session, bounds: Sequence[float]
              ) -> dict[tuple[str, str], tuple[list[int], float]]:
    """Per (kind, end state) of the ended jobs that had started (a job failed while still
    queued never ran): how many took at most each of ``bounds`` seconds, then how many in
    all (cumulative, as a Prometheus histogram counts), and their seconds summed.  One
    grouped query, so a scrape costs the same however many jobs the table keeps."""
    if session.get_bind().dialect.name == "postgresql":
        took: Any = func.extract("epoch", m.Job.finished_at - m.Job.started_at)
    else:  # SQLite: datetimes are text, julianday() reads them
        took = (func.julianday(m.Job.finished_at) - func.julianday(m.Job.started_at)) * 86400.0
    stmt = (select(m.Job.kind, m.Job.state,
                   *(func.sum(case((took <= b, 1), else_=0)) for b in bounds),
                   func.count(), func.sum(took))
            .where(m.Job.state.in_(ENDED), m.Job.started_at.is_not(None),
                   m.Job.finished_at.is_not(None))
            .group_by(m.Job.kind, m.Job.state))
    return {(kind, state): ([int(n) for n in counts], float(total or 0))
            for kind, state, *counts, total in session.execute(stmt)}


def as_utc(t: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; gin writes UTC."""
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else as_utc(t).isoformat(timespec="seconds")


def page(session: Session, *, kind: str | None = None, state: str | None = None,
         owner: str | None = None, before: int | None = None, limit: int = 100,
         visible_to: str | None = None, agencies: set[int] | None = None
         ) -> tuple[list[m.Job], int | None]:
    """Jobs newest first, ``limit`` at a time; the cursor (an id) pages back.
    ``visible_to``/``agencies``: only the jobs that principal (``api:<user>``, with any of
    the user's tokens) started and those acting on one of ``agencies`` (None: every job)."""
    stmt = select(m.Job)
    if kind:
        stmt = stmt.where(m.Job.kind == kind)
    if state:
        stmt = stmt.where(m.Job.state == state)
    if owner:
        stmt = stmt.where(m.Job.owner == owner)
    if before is not None:
        stmt = stmt.where(m.Job.id < before)
    if visible_to is not None:
        mine = or_(m.Job.owner == visible_to,
                   m.Job.owner.startswith(visible_to + "/", autoescape=True))
        stmt = stmt.where(or_(mine, and_(m.Job.agency_id.is_not(None),
                                         m.Job.agency_id.in_(agencies or set())))
                          if agencies else mine)
    rows = list(session.scalars(stmt.order_by(m.Job.id.desc()).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def row(job: m.Job) -> dict[str, Any]:
    """A job as the API and the CLI show it."""
    total = job.progress_total or 0
    return {"id": job.id, "kind": job.kind, "state": job.state, "owner": job.owner,
            "params": job.params, "result": job.result, "error": job.error,
            "progress": {"done": job.progress_done, "total": total,
                         "percent": round(100 * job.progress_done / total) if total else None},
            "runner": job.runner, "cancel_requested_by": job.cancel_requested_by,
            "worker": (f"pid {job.worker_pid} on {job.worker_host}"
                       if job.worker_pid is not None else None),
            "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
            "heartbeat_at": _iso(job.heartbeat_at), "finished_at": _iso(job.finished_at)}


def line_row(line: m.JobLogLine) -> dict[str, Any]:
    """A log line as the API and the CLI show it (its time in UTC on every database)."""
    return {"id": line.id, "time": _iso(line.time), "line": line.line}

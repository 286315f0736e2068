"""Long operations of the service as jobs: one record (:mod:`directory.jobs`), two runners.

A route records the job (kind, parameters, owner principal) and hands its id to the
service's :class:`Runner`; whatever runs it calls :func:`execute`, which claims the job,
keeps its heartbeat, gives the job's function a :class:`JobContext` (log, progress, the
directory acting as the owner) and records the end.  Two runners are plugins of the same
protocol: :class:`InProcessRunner` (threads of the serving process: the SQLite
single-user default) and ``gin.server.jobs_procrastinate.ProcrastinateRunner`` (separate
``gin worker`` processes through procrastinate on PostgreSQL).

No job is left "running" by a dead worker: every process that runs jobs renews their
heartbeat, and the service and every worker :func:`reap` the jobs of dead workers (a dead
process on this host at once, any other once its heartbeat is stale).

A job is cancelled through its record (:func:`directory.jobs.cancel`), whichever runner
holds it: a queued one is never claimed (and the runner's queue forgets it:
:meth:`Runner.cancel`); a running one stops at its next safe point, where the job's
function calls :meth:`JobContext.checkpoint`: between links, tunnels or batches of
devices, never inside one device change (converge's push, read-back, verify and restore,
a gateway's deploy with its own put-back, stay one whole).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from devices import owner
from devices.converge import Step, StepEvent
from devices.errors import GinError
from directory import jobs as records
from directory.errors import DirectoryError
from directory.store import Directory

log = logging.getLogger("gin.server.jobs")
#: How often a process running jobs renews their heartbeat, and reaps dead ones.
HEARTBEAT_SECONDS = 10.0


class Runner(Protocol):
    """Runs recorded jobs somewhere: the service calls :meth:`submit` once the job's
    record is committed, and :meth:`close` when it stops."""

    #: recorded with each job (``gin_job.runner``)
    name: str

    def submit(self, job_id: int) -> None: ...

    def cancel(self, job_id: int) -> None:
        """The job was cancelled while queued: drop it from whatever queue holds it (its
        record already says ``cancelled``, so no worker would run it anyway)."""
        ...

    def close(self) -> None: ...


class JobCancelled(Exception):
    """Raised at a job's safe point when someone asked it to stop; ``result``: what the
    job had done until then."""

    def __init__(self, by: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(f"cancelled by {by}")
        self.by, self.result = by, result


class Acting:
    """The service's directory as one principal: every transaction of a job is recorded
    in the change log under the job's owner, never the worker's OS user."""

    def __init__(self, directory: Directory, actor: str) -> None:
        self._directory, self.actor = directory, actor

    def transaction(self, actor: str | None = None):  # type: ignore[no-untyped-def]
        return self._directory.transaction(actor or self.actor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._directory, name)


@dataclass
class JobContext:
    """What a job's function gets: its parameters, the directory acting as its owner, and
    the job's log and progress."""

    job_id: int
    kind: str
    params: dict[str, Any]
    owner: str
    directory: Directory
    engine: Engine
    _done: int = field(default=0, init=False)
    _total: int = field(default=0, init=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def log(self, line: str) -> None:
        records.log(self.engine, self.job_id, line)

    def progress(self, done: int | None = None, total: int | None = None) -> None:
        """Set the progress (either part may be left as it is)."""
        with self._guard:
            self._done = self._done if done is None else done
            self._total = self._total if total is None else total
            done_now, total_now = self._done, max(self._total, self._done)
        records.set_progress(self.engine, self.job_id, done_now, total_now)

    def counted(self) -> tuple[int, int]:
        """(steps done, steps in all) as the job last reported them."""
        with self._guard:
            return self._done, max(self._total, self._done)

    def checkpoint(self, result: dict[str, Any] | None = None) -> None:
        """A safe point: nothing is half done here.  When someone asked the job to stop,
        raise :class:`JobCancelled` (carrying ``result``, what was done so far)."""
        by = records.stop_requested(self.engine, self.job_id)
        if by is not None:
            raise JobCancelled(by, result)

    def advance(self, steps: int = 1) -> None:
        with self._guard:
            self._done += steps
            done_now, total_now = self._done, max(self._total, self._done)
        records.set_progress(self.engine, self.job_id, done_now, total_now)

    def observer(self, event: StepEvent) -> None:
        """converge()'s step observer: each step ended is one step of progress and one
        log line (device, step, how many lines; never a config).  The job's log only
        informs (the change journal is the record a push waits for): a failure to write
        it never stops a step."""
        try:
            self._observe(event)
        except Exception as exc:
            log.warning("job %d: progress not recorded: %s", self.job_id, type(exc).__name__)

    def _observe(self, event: StepEvent) -> None:
        if event.state == "start" and event.step not in (Step.PUSH, Step.RESTORE):
            return
        where = event.device or "all devices"
        if event.state == "start":
            self.log(f"{where}: {event.step.value} of {len(event.lines)} line(s) starting")
            return
        said = f"{where}: {event.step.value} {event.state}"
        if event.lines:
            said += f" ({len(event.lines)} line(s))"
        if event.error:
            said += f": {event.error}"
        self.log(said)
        self.advance()


#: kind -> the function that does the job; returns (ok, result).
JobFunction = Callable[[JobContext], tuple[bool, dict[str, Any]]]


def this_worker() -> records.Worker:
    me = owner.me()
    return records.Worker(me.pid, me.host, me.start)


def reap(engine: Engine) -> list[int]:
    """Fail the jobs of dead workers (see :func:`directory.jobs.reap`)."""
    failed = records.reap(engine, owner.alive, socket.gethostname())
    for jid in failed:
        log.warning("job %d failed: its worker is gone", jid)
    return failed


def recover_devices(directory: Directory, via: str = "netmiko") -> list[Any]:
    """``gin device recover`` for every device a dead process left half changed (each put
    back to its exact pre-image, under its change lock; VPN gateways first): what a worker
    does first, since the worker that died before it may have been changing devices."""
    from devices import transport as transports
    from devices.journal import Journal
    from devices.recovery import recover
    from devices.sessions import Sessions
    from devices.targets import target_of
    from directory import store
    from directory.errors import NotFound
    from vpn.deploy import recover_gateways

    done = recover_gateways(directory)  # the VPN gateways' unfinished deploys
    for r in done:
        (log.info if r.ok else log.error)("recovery: %s", r)
    names = sorted({e.device for e in Journal(directory.engine).orphans()})
    if not names:
        return done
    targets = []
    with directory.transaction() as s:
        for name in names:
            try:
                targets.append(target_of(store.get_device(s, name)))
            except NotFound:
                log.error("device %s has an unfinished change but is not in the directory: "
                          "put it back by hand", name)
    with Sessions(transports.get(via), db=directory.engine) as sessions:
        routers = recover(sessions, targets)
    for r in routers:
        (log.info if r.ok else log.error)("recovery: %s", r)
    return done + routers


class Heartbeat:
    """Renews the heartbeat of the jobs this process runs, and reaps dead workers' jobs,
    every :data:`HEARTBEAT_SECONDS` (one daemon thread per process)."""

    def __init__(self, engine: Engine, interval: float = HEARTBEAT_SECONDS) -> None:
        self.engine, self.interval = engine, interval
        self._jobs: set[int] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gin-job-heartbeat",
                                        daemon=True)
        self._thread.start()

    def add(self, job_id: int) -> None:
        with self._guard:
            self._jobs.add(job_id)

    def remove(self, job_id: int) -> None:
        with self._guard:
            self._jobs.discard(job_id)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self._guard:
                    ids = sorted(self._jobs)
                records.heartbeat(self.engine, ids)
                reap(self.engine)
            except Exception as exc:  # the database may be away a moment: try again later
                log.warning("job heartbeat failed: %s", type(exc).__name__)

    def close(self) -> None:
        self._stop.set()


def check_data_dir(wanted: str | None) -> None:
    """Refuse to run a job with another data directory than the service's: its backups,
    evidence and sealing key would be another's (a worker started without --data-dir)."""
    from pathlib import Path

    from directory.db import data_home

    here = data_home()
    if wanted and Path(wanted).resolve() != here.resolve():
        raise GinError(f"this worker keeps its data in {here}, the service in {wanted}: start "
                       f"gin worker with --data-dir {wanted} (or GIN_DATA_DIR)")


def execute(directory: Directory, job_id: int, functions: dict[str, JobFunction],
            heartbeat: Heartbeat | None = None) -> str | None:
    """Run one recorded job here, if it is still queued: claim it, run its function as its
    owner, record the end.  Returns the final state (None: someone else had it)."""
    engine = directory.engine
    if not records.claim(engine, job_id, this_worker()):
        return None
    if heartbeat is not None:
        heartbeat.add(job_id)
    try:
        with directory.transaction() as s:
            job = records.get(s, job_id)
            kind, params, who = job.kind, dict(job.params or {}), job.owner
        ctx = JobContext(job_id, kind, params, who, Acting(directory, who),  # type: ignore[arg-type]
                         engine)
        ctx.log(f"started by {who} on {owner.me()}")
        try:
            function = functions.get(kind)
            if function is None:
                raise GinError(f"this worker does not know jobs of kind {kind!r}")
            check_data_dir(params.get("data_dir"))
            ctx.checkpoint()  # asked to stop between its claim and its start
            ok, result = function(ctx)
            error = None if ok else str(result.get("message") or f"{kind} did not succeed")
        except JobCancelled as stop:
            return _stopped(ctx, stop)
        except (GinError, DirectoryError) as exc:
            ok, result, error = False, {}, str(exc)
        except Exception as exc:  # a bug: the job fails visibly, the worker goes on
            log.exception("job %d (%s) raised", job_id, kind)
            ok, result, error = False, {}, f"internal error ({type(exc).__name__}): see the " \
                                            "worker's log"
        late = records.stop_requested(engine, job_id)
        if late is not None:
            ctx.log(f"the cancellation asked by {late} came after the job's last safe "
                    "point: it ran to its end")
        ctx.log("succeeded" if ok else f"failed: {error}")
        records.finish(engine, job_id, ok, result, error)
        return "succeeded" if ok else "failed"
    finally:
        if heartbeat is not None:
            heartbeat.remove(job_id)


def _stopped(ctx: JobContext, stop: JobCancelled) -> str:
    """Record a job that stopped at a safe point because someone asked."""
    done, total = ctx.counted()
    ctx.log(f"cancelled by {stop.by}: stopped at a safe point after {done} of {total} "
            "step(s)")
    records.finish_cancelled(ctx.engine, ctx.job_id, stop.by, stop.result)
    return "cancelled"


class InProcessRunner:
    """Jobs run on a few threads of the serving process (the single-user SQLite default).

    A job is assigned to this process when submitted, so if the process dies its queued
    and running jobs are reaped (failed) by the next process that starts."""

    name = "in-process"

    def __init__(self, directory: Directory, functions: dict[str, JobFunction],
                 threads: int = 2, via: str = "netmiko") -> None:
        self.directory, self.functions = directory, functions
        reap(directory.engine)
        self.heartbeat = Heartbeat(directory.engine)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gin-job")
        self._pool.submit(self._recover, via)  # this process is the worker: recover first

    def _recover(self, via: str) -> None:
        try:
            recover_devices(self.directory, via)
        except Exception as exc:  # routers unreachable now: converge recovers before changing
            log.error("device recovery at start failed: %s", exc)

    def submit(self, job_id: int) -> None:
        records.assign(self.directory.engine, job_id, this_worker())
        self.heartbeat.add(job_id)  # queued here: its heartbeat says this process lives
        self._pool.submit(self._run, job_id)

    def cancel(self, job_id: int) -> None:
        """Its thread finds the job cancelled and does not claim it; it needs no heartbeat."""
        self.heartbeat.remove(job_id)

    def _run(self, job_id: int) -> None:
        try:
            if execute(self.directory, job_id, self.functions, self.heartbeat) is None:
                self.heartbeat.remove(job_id)  # cancelled (or failed) while queued
        except Exception as exc:  # the database went away: the reaper will fail the job
            log.error("job %d could not run: %s", job_id, type(exc).__name__)
            self.heartbeat.remove(job_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.heartbeat.close()


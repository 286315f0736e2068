"""Jobs on PostgreSQL through procrastinate: the service defers, ``gin worker`` runs.

procrastinate keeps the queue (its own tables beside the directory's, created on first use
under an advisory lock), hands each job to one worker, and tracks its workers' heartbeats;
gin keeps the job's record (:mod:`directory.jobs`).  The task carries only gin's job id,
and its queueing lock names it (``gin-job-<id>``: one queue entry per gin job, which a
cancellation finds and cancels with procrastinate's own ``cancel_job_by_id``).
A worker at start recovers the devices a dead process left half changed, fails gin's jobs
of dead workers, and fails procrastinate's jobs whose worker stopped sending heartbeats
(procrastinate's stalled-job detection): a job is never retried behind the user's back,
since its first attempt may have been rolled back by recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import Engine, text

from directory import jobs as records
from directory.store import Directory

from .jobs import Heartbeat, JobFunction, execute, reap, recover_devices

log = logging.getLogger("gin.server.jobs")
QUEUE = "gin"
TASK = "gin.job"
#: advisory lock key serialising the creation of procrastinate's tables
SCHEMA_LOCK = 0x67696E6A6F6273  # "ginjobs"
#: procrastinate's worker heartbeat and the age after which a worker counts as stalled
WORKER_HEARTBEAT = 5.0
STALLED_AFTER = 20.0


def conninfo(engine: Engine) -> str:
    """The libpq connection string of the directory's (SQLAlchemy) URL."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def ensure_schema(engine: Engine, app: Any) -> None:
    """procrastinate's tables, created once (two processes starting together wait)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_LOCK})
        try:
            if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                log.info("creating procrastinate's tables")
                app.schema_manager.apply_schema()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_LOCK})
            conn.commit()


def queueing_lock(job_id: int) -> str:
    """The queueing lock of gin's job ``job_id`` (at most one waiting entry per gin job)."""
    return f"gin-job-{job_id}"


def cancel_queued(app: Any, job_id: int) -> int:
    """Cancel procrastinate's waiting entries of gin's job (``todo`` -> ``cancelled``: no
    worker fetches them).  An entry a worker took already is left alone: gin's record,
    cancelled, makes that worker's claim fail.  Returns how many were cancelled."""
    manager = app.job_manager
    waiting = manager.list_jobs(queue=QUEUE, queueing_lock=queueing_lock(job_id),
                                status="todo")
    return sum(1 for job in waiting
               if job.id is not None and manager.cancel_job_by_id(job.id))


def forget(engine: Engine, job_id: int) -> int:
    """:func:`cancel_queued` from a process that holds no app (``gin job cancel``): nothing
    to do while procrastinate's tables do not exist (no job was ever deferred)."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return 0
    app = make_app(engine)
    with app.open():
        return cancel_queued(app, job_id)


def make_app(engine: Engine, run: Any = None) -> Any:
    """A procrastinate app on the directory's database with gin's one task (``run(job_id)``
    executes it; the service, which only defers, passes none)."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(engine)))

    @app.task(name=TASK, queue=QUEUE)
    def gin_job(job_id: int) -> None:
        if run is None:
            raise RuntimeError("this process only defers jobs")
        run(job_id)

    return app


class ProcrastinateRunner:
    """Defers each job to procrastinate's queue; ``gin worker`` processes run them."""

    name = "procrastinate"

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.app = make_app(directory.engine)
        self.app.open()
        ensure_schema(directory.engine, self.app)
        reap(directory.engine)
        self.heartbeat = Heartbeat(directory.engine)  # no jobs here: it reaps dead workers'

    def submit(self, job_id: int) -> None:
        self.app.tasks[TASK].configure(queueing_lock=queueing_lock(job_id)).defer(job_id=job_id)

    def cancel(self, job_id: int) -> None:
        cancel_queued(self.app, job_id)

    def close(self) -> None:
        self.heartbeat.close()
        self.app.close()


async def fail_stalled(app: Any, engine: Engine) -> list[int]:
    """procrastinate's jobs whose worker stopped sending heartbeats: failed, with gin's
    record (if a reaper has not failed it already)."""
    from procrastinate.jobs import Status

    manager = app.job_manager
    await manager.prune_stalled_workers(STALLED_AFTER)
    failed = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER,
                                              queue=QUEUE):
        gin_id = job.task_kwargs.get("job_id")
        if isinstance(gin_id, int):
            await asyncio.to_thread(records.fail_dead, engine, gin_id,
                                    "its worker stopped sending heartbeats: the job failed")
            failed.append(gin_id)
        assert job.id is not None
        await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
    return failed


def run_worker(directory: Directory, functions: dict[str, JobFunction], via: str = "netmiko",
               concurrency: int = 1, name: str | None = None) -> None:
    """Run jobs until SIGINT/SIGTERM: recover devices, fail dead workers' jobs, then take
    jobs one at a time (``concurrency`` threads)."""
    engine = directory.engine
    for r in recover_devices(directory, via):
        log.info("recovered %s", r)
    reap(engine)
    heartbeat = Heartbeat(engine)
    app = make_app(engine, lambda job_id: execute(directory, job_id, functions, heartbeat))
    with app.open():
        ensure_schema(engine, app)

    async def watch_stalled() -> None:
        while True:
            try:
                await fail_stalled(app, engine)
            except Exception as exc:  # the database may be away a moment
                log.warning("stalled-job check failed: %s", type(exc).__name__)
            await asyncio.sleep(STALLED_AFTER / 2)

    async def main() -> None:
        async with app.open_async():
            watcher = asyncio.create_task(watch_stalled())
            try:
                log.info("worker ready (queue %s, %d at a time)", QUEUE, concurrency)
                await app.run_worker_async(queues=[QUEUE], concurrency=concurrency,
                                           name=name or "gin-worker", wait=True,
                                           update_heartbeat_interval=WORKER_HEARTBEAT,
                                           stalled_worker_timeout=STALLED_AFTER)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    try:
        asyncio.run(main())
    finally:
        heartbeat.close()

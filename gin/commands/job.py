"""``gin job``: the service's long operations as an operator sees them from a shell.

Reads the directory's job records directly (``directory.jobs``), as every other verb reads
the directory: no service needs to be up, and what it shows is what the API shows.
"""

from __future__ import annotations

import time
from typing import Any

import click

from directory import jobs as records
from directory.errors import Invalid
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows, note_page, print_json

#: Seconds between two looks at a job being waited for.
POLL = 0.5
#: Exit code of ``gin job wait`` when the job failed, and when the wait gave up.
FAILED, TIMED_OUT = 1, 2


@click.group()
def job() -> None:
    """Jobs of `gin serve` (provision, deploy, backup, audit): list, show, wait for one."""


@job.command("list")
@click.option("--state", help=f"Only jobs in this state ({', '.join(records.STATES)}).")
@click.option("--kind", help="Only jobs of this kind (provision, deploy, backup, ...).")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="Newest jobs shown.")
@json_option
@pass_ctx
def list_cmd(ctx: Context, state: str | None, kind: str | None, limit: int,
             as_json: bool) -> None:
    """Jobs newest first: kind, state, progress, who asked, when."""
    records.check_state(state)
    if kind is not None:
        from gin.server.job_kinds import KINDS

        if kind not in KINDS:
            raise Invalid(f"job kind {kind!r} is not one of {', '.join(KINDS)}")
    with ctx.directory.transaction() as s:
        items, more = records.page(s, kind=kind, state=state, limit=limit)
        rows = [records.row(j) for j in items]
    emit_rows(rows if as_json else [_summary(r) for r in rows],
              ["id", "kind", "state", "progress", "owner", "created_at", "finished_at"],
              as_json, "Jobs")
    if more is not None:
        note_page("jobs", len(rows), None, "a larger --limit shows them")


@job.command("show")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1), metavar="ID")
@json_option
@pass_ctx
def show_cmd(ctx: Context, job_id: int, as_json: bool) -> None:
    """One job: state, progress, owner, worker, times, error, and its log (--json: its
    result too)."""
    with ctx.directory.transaction() as s:
        data = records.row(records.get(s, job_id))
        log = [records.line_row(ln) for ln in records.lines(s, job_id)]
    if as_json:
        print_json({**data, "log": log})
        return
    shown = _summary(data)
    emit_object({k: shown[k] for k in ("id", "kind", "state", "progress", "owner", "runner",
                                       "worker", "created_at", "started_at", "heartbeat_at",
                                       "finished_at", "error")}, False)
    for line in log:
        console.print(f"{line['time']}  {line['line']}", markup=False, soft_wrap=True)


@job.command("wait")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1), metavar="ID")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=3600,
              show_default=True, help="Seconds to wait before giving up.")
@pass_ctx
def wait_cmd(ctx: Context, job_id: int, timeout: float) -> None:
    """Print the job's log as it grows until the job ends.

    Exit 0 when it succeeded, 1 when it failed, was cancelled or its worker stopped sending
    heartbeats
    (presumed dead: the next gin serve or gin worker to start fails it), 2 when it had not
    ended after --timeout seconds (the job itself goes on)."""
    deadline = time.monotonic() + timeout
    after: int | None = None
    while True:
        with ctx.directory.transaction() as s:
            current = records.get(s, job_id)
            state, error = current.state, current.error
            worker, beat = records.row(current)["worker"], current.heartbeat_at
            new = records.lines(s, job_id, after)
        for ln in new:
            shown = records.line_row(ln)
            console.print(f"{shown['time']}  {shown['line']}", markup=False, soft_wrap=True)
            after = ln.id
        if new:
            continue  # a long log: read on before looking at the state again
        if state == "succeeded":
            click.echo(f"job {job_id} succeeded")
            return
        if state in ("failed", "cancelled"):
            click.echo(f"gin: job {job_id} {state}: {error or 'no reason recorded'}", err=True)
            raise click.exceptions.Exit(FAILED)
        beat = beat and records.as_utc(beat)
        if beat is not None and records.m.utcnow() - beat > records.STALE_AFTER:
            click.echo(f"gin: job {job_id} is {state} but its worker ({worker}) has sent no "
                       f"heartbeat since {beat.isoformat(timespec='seconds')}: presumed dead "
                       "(the next gin serve or gin worker to start fails the job)", err=True)
            raise click.exceptions.Exit(FAILED)
        if time.monotonic() >= deadline:
            click.echo(f"gin: job {job_id} still {state} after {timeout:g} s; it goes on "
                       f"(gin job wait {job_id} again, or a longer --timeout)", err=True)
            raise click.exceptions.Exit(TIMED_OUT)
        time.sleep(POLL)


@job.command("cancel")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1), metavar="ID")
@pass_ctx
def cancel_cmd(ctx: Context, job_id: int) -> None:
    """Cancel a job: a queued one never starts; a running one stops at its next safe point
    (between links, tunnels or batches of devices: never inside a device change) and ends
    cancelled.  Its log says who cancelled it.  A job that has ended: exit 1."""
    directory = ctx.directory
    outcome = records.cancel(directory.engine, job_id, directory.actor)
    if outcome == "cancelled" and directory.engine.url.get_backend_name() == "postgresql":
        from gin.server.jobs_procrastinate import forget

        forget(directory.engine, job_id)  # procrastinate's queue forgets it too
    if outcome == "cancelled":
        click.echo(f"job {job_id} cancelled: it will not start")
    else:
        click.echo(f"job {job_id} asked to stop: it ends cancelled at its next safe point "
                   f"(gin job wait {job_id})")


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    """A job row with its progress as one short text ("3/11 27%")."""
    done, total, pct = (data["progress"][k] for k in ("done", "total", "percent"))
    return {**data, "progress": f"{done}/{total} {pct}%" if total else f"{done}/?"}



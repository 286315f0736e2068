"""A job's page: its state, progress and log, and once it ended the change-log entries it
made, read through the API's own ``GET /jobs/{id}`` (same visibility: the job's owner, or
whoever reads the directory of the agency it acts on).

While the job runs the page reloads itself by a meta refresh with back-off (2 s, then 1.5x
slower up to 30 s, so one open browser stays far below one request a second); once the job
ended the page carries no refresh and stays still.  No script, so the console's strict CSP
holds as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from directory import jobs as records
from directory import models as m

from ..principal import Principal
from ..routes.jobs import show_job
from . import session as web
from .pages import render

router = APIRouter(tags=["console"], include_in_schema=False)
FIRST_WAIT, LONGEST_WAIT = 2, 30
#: Change-log entries shown for a job (the newest, of the links it acted on).
CHANGES_SHOWN = 100


def next_wait(wait: int) -> int:
    """The wait after this one: 1.5x slower, never more than :data:`LONGEST_WAIT` s."""
    return min(LONGEST_WAIT, max(FIRST_WAIT, wait * 3 // 2))


def job_changes(who: Principal, job: dict[str, Any]) -> list[m.Change]:
    """The change log's entries for the links the job acted on, since the job started."""
    links = [str(n) for n in (job.get("params") or {}).get("links") or []]
    since = job.get("started_at") or job.get("created_at")
    if not links or since is None:
        return []
    with who.directory.transaction(who.actor) as s:
        rows = s.scalars(select(m.Change).where(m.Change.object_type == "link",
                                                m.Change.object_key.in_(links))
                         .order_by(m.Change.id.desc()).limit(CHANGES_SHOWN)).all()
        start = records.as_utc(dt.datetime.fromisoformat(since))
        return [c for c in reversed(rows) if records.as_utc(c.time) >= start]


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int = PathParam(ge=1, le=2**31 - 1),
             wait: int = Query(FIRST_WAIT, ge=FIRST_WAIT, le=LONGEST_WAIT),
             who: Principal = web.page_requires("directory.read")) -> HTMLResponse:
    """One job as it runs: state, progress, log; when it ended, what it changed."""
    job = show_job(job_id, None, who)
    ended = job["state"] in records.ENDED
    changes = job_changes(who, job) if ended else []
    return render(request, "job.html", who=who, job=job, ended=ended, changes=changes,
                  wait=wait, next_wait=next_wait(wait))

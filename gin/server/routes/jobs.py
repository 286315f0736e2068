"""Jobs: follow a long operation (state, progress, log), list them, cancel one; and start
the ones that are not about one link or tunnel: config backups, audit runs, web scans.

A job is seen by the principal who started it and by whoever may read the directory of the
agency it acts on (a job over the whole GIN: by those who read the whole GIN).  It is
cancelled by its owner, or by an admin (``identity.admin`` over the whole GIN): a queued
job never starts, a running one stops at its next safe point (never inside a device
change, which keeps its own rollback whole).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from directory import jobs as records
from directory import models as m
from directory import store
from directory.errors import Invalid

from ..permissions import Principal, requires
from ..principal import Refused

router = APIRouter(tags=["jobs"])


def transport_names() -> tuple[str, ...]:
    from devices import transport as transports

    return transports.names()


def check_via(via: str) -> str:
    names = transport_names()
    if via not in names:
        raise Invalid(f"via: {via!r} is not a transport; one of {', '.join(names)}")
    return via


def start_job(request: Request, response: Response, who: Principal, kind: str,
              params: dict[str, Any], agency: str | None) -> dict[str, Any]:
    """Record a job for ``who`` and hand it to the service's runner: 202, Location, the job."""
    runner = getattr(request.app.state, "runner", None)
    if runner is None:
        raise HTTPException(503, "this service runs no jobs (start it with gin serve)")
    from directory.db import data_home

    params = {**params, "data_dir": str(data_home())}  # the worker must use the same one
    with who.directory.transaction(who.actor) as s:
        agency_id = store.get_agency(s, agency).id if agency else None
        job_id = records.create(s, kind, params, who.actor, runner.name, agency_id)
    runner.submit(job_id)
    with who.directory.transaction(who.actor) as s:
        row = records.row(records.get(s, job_id))
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return row


def principal(who: Principal) -> str:
    """The user part of the caller's actor (``api:<user>``): a job is its user's, whichever
    of the user's tokens started it."""
    return who.actor.split("/", 1)[0]


def _sees(who: Principal, s: Session, job: m.Job) -> bool:
    mine = job.owner.split("/", 1)[0] == principal(who)
    if mine or who.holds("directory.read", gin_wide=True):
        return True
    return job.agency_id is not None and job.agency is not None and who.allows(
        s, "directory.read", job.agency.code)


@router.get("/jobs")
def list_jobs(kind: str | None = Query(None, max_length=32),
              state: str | None = Query(None, max_length=16,
                                        description=", ".join(m.JOB_STATES)),
              owner: str | None = Query(None, max_length=128, examples=["api:alice"]),
              before: int | None = Query(None, ge=1, description="cursor: a job id"),
              limit: int = Query(100, ge=1, le=store.MAX_PAGE),
              who: Principal = requires("directory.read")) -> dict[str, Any]:
    """Jobs newest first (the caller's own, and those on agencies the caller reads);
    ``next`` pages back."""
    if state and state not in m.JOB_STATES:
        raise Invalid(f"state: {state!r} is not one of {', '.join(m.JOB_STATES)}")
    with who.directory.transaction(who.actor) as s:
        visible = who.visible(s, "directory.read")
        items, cursor = records.page(
            s, kind=kind, state=state, owner=owner, before=before, limit=limit,
            visible_to=None if visible is None else principal(who), agencies=visible)
        return {"items": [records.row(j) for j in items], "next": cursor}


@router.get("/jobs/{job_id}")
def show_job(job_id: int = Path(ge=1, le=2**31 - 1),
             after: int | None = Query(None, ge=0, description="log lines after this id"),
             who: Principal = requires("directory.read")) -> dict[str, Any]:
    """One job: state, progress, result or error, and its log (``after``: only newer
    lines, for polling)."""
    with who.directory.transaction(who.actor) as s:
        job = records.get(s, job_id)
        if not _sees(who, s, job):
            if job.agency is not None:
                who.require(s, "directory.read", job.agency.code)
            who.require_gin("directory.read", f"job {job_id}")
        log = [records.line_row(ln) for ln in records.lines(s, job_id, after)]
        return {**records.row(job), "log": log}


@router.post("/jobs/{job_id}/cancel")
def cancel_job(request: Request, response: Response, job_id: int = Path(ge=1, le=2**31 - 1),
               who: Principal = requires("job.cancel")) -> dict[str, Any]:
    """Cancel a job: queued, it ends ``cancelled`` at once and never starts (200); running,
    it is asked to stop and ends ``cancelled`` at its next safe point (202: follow it at
    ``/jobs/{id}``).  A job that has ended already: 409.  Its log says who cancelled it."""
    with who.directory.transaction(who.actor) as s:
        job = records.get(s, job_id)
        mine = job.owner.split("/", 1)[0] == principal(who)
        if not mine and not who.holds("identity.admin", gin_wide=True):
            raise Refused(who.identity, f"job.cancel covers only your own jobs: job {job_id} "
                                        "is not yours (an admin, holding identity.admin over "
                                        "the whole GIN, may cancel anyone's)")
    outcome = records.cancel(who.directory.engine, job_id, who.actor)
    runner = getattr(request.app.state, "runner", None)
    if outcome == "cancelled" and runner is not None:
        runner.cancel(job_id)  # its queue forgets it (the record alone already stops it)
    response.status_code = 200 if outcome == "cancelled" else 202
    with who.directory.transaction(who.actor) as s:
        return records.row(records.get(s, job_id))


class NewBackup(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"devices": ["dopa-pe1"], "host_files": False}]})
    devices: list[str] = Field(default_factory=list, max_length=10000,
                               description="host names (none: every device)")
    via: str = Field("netmiko", max_length=32)
    host_files: bool = False


@router.post("/backups", status_code=202)
def start_backup(body: NewBackup, request: Request, response: Response,
                 who: Principal = requires("audit.run")) -> dict[str, Any]:
    """Back up the devices' running configs (and Linux routers' host files) into the
    service's data directory, as a job.  Naming devices needs the permission over each
    one's agency; every device needs it over the whole GIN."""
    check_via(body.via)
    agency = None
    with who.directory.transaction(who.actor) as s:
        if not body.devices:
            who.require_gin("audit.run", "a backup of every device")
        owners = set()
        for name in body.devices:
            dev = store.get_device(s, name)
            code = dev.site.agency.code
            who.require(s, "audit.run", code)
            owners.add(code)
        agency = owners.pop() if len(owners) == 1 else None
    return start_job(request, response, who, "backup",
                     {"devices": [d.lower() for d in body.devices], "via": body.via,
                      "host_files": body.host_files}, agency)


class NewAudit(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"agency": "DOPA"}, {"ministry": "MOI"}, {}]})
    agency: str | None = Field(None, max_length=32, description="only this agency")
    ministry: str | None = Field(None, max_length=32,
                                 description="this ministry and every agency under it")
    prometheus: str | None = Field(None, max_length=255, pattern=r"^https?://\S+$",
                                   description="the SOC's Prometheus URL")
    max_age_days: int = Field(7, ge=1, le=3650)


@router.post("/audit/runs", status_code=202)
def start_audit(body: NewAudit, request: Request, response: Response,
                who: Principal = requires("audit.run")) -> dict[str, Any]:
    """Audit the newest backups (of one agency, a ministry's tree, or the whole GIN) and
    store the run, as a job; its result names the run (GET /audit/runs/{id}/report)."""
    if body.agency and body.ministry:
        raise Invalid("give agency or ministry, not both")
    where = body.agency or body.ministry
    with who.directory.transaction(who.actor) as s:
        if where:
            store.get_agency(s, where)
            who.require(s, "audit.run", where)
        else:
            who.require_gin("audit.run", "an audit of the whole GIN")
    return start_job(request, response, who, "audit", body.model_dump(), where)


class NewWebScan(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agency": "DOPA"}]})
    agency: str | None = Field(None, max_length=32, description="only this agency's services")
    nameserver: str | None = Field(None, max_length=64, description="ADDR[:PORT] to ask")


@router.post("/audit/web", status_code=202)
def start_web_scan(body: NewWebScan, request: Request, response: Response,
                   who: Principal = requires("audit.run")) -> dict[str, Any]:
    """Scan the agencies' recorded public services (TLS, headers, IPv6) and keep the
    results as evidence in the service's data directory, as a job."""
    if body.nameserver:
        from audit.web.resolve import parse_nameserver
        from devices.errors import ConfigError

        try:
            parse_nameserver(body.nameserver)
        except ConfigError as exc:
            raise Invalid(str(exc)) from None
    with who.directory.transaction(who.actor) as s:
        if body.agency:
            store.get_agency(s, body.agency)
            who.require(s, "audit.run", body.agency)
        else:
            who.require_gin("audit.run", "a scan of every agency's services")
    return start_job(request, response, who, "web_scan", body.model_dump(), body.agency)

"""What the monitoring watches and what the threat sensors saw, for the SOC: the monitoring
targets (the devices the agents poll, as ``gin monitor prometheus-config`` writes them into
file_sd, and the threat sensors the ``gin-sensor`` job scrapes) and the sensors' event log.
Both only for agencies the caller's ``monitor.read`` grants cover."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import select

from devices.errors import GinError
from directory import models as m
from directory.db import user_data_path
from monitor.prometheus.config import SENSOR_PORT, directory_inventory, directory_sensors
from monitor.sensor.events import EVENTS_ENV, EVENTS_NAME, read_log

from ..permissions import Principal, requires

router = APIRouter(tags=["monitoring"])
JOBS = ("snmp", "sensor")


def _visible_codes(who: Principal) -> set[str] | None:
    """Agency codes the caller may watch; None: every one."""
    with who.directory.transaction(who.actor) as s:
        ids = who.visible(s, "monitor.read")
        if ids is None:
            return None
        return set(s.scalars(select(m.Agency.code).where(m.Agency.id.in_(ids)))) if ids else set()


def _targets(who: Principal, scoped: bool = True) -> list[dict[str, Any]]:
    devices, _contacts = directory_inventory(who.directory)
    sensors, _skipped = directory_sensors(who.directory, SENSOR_PORT)
    rows = [{"job": "snmp", **d} for d in devices] + [{"job": "sensor", **d} for d in sensors]
    codes = _visible_codes(who) if scoped else None
    if codes is not None:
        rows = [r for r in rows if r["agency"] in codes]
    return sorted(rows, key=lambda r: (r["device"], r["job"]))


def _require(who: Principal, agency: str | None, what: str) -> None:
    """Refuse (403) unless the caller watches ``agency`` (an event of no agency: the GIN)."""
    if agency is None:
        who.require_gin("monitor.read", what)
        return
    with who.directory.transaction(who.actor) as s:
        who.require(s, "monitor.read", agency)


@router.get("/monitor/targets")
def list_targets(agency: str | None = Query(None, max_length=32),
                 job: str | None = Query(None, max_length=8, description=", ".join(JOBS)),
                 after: str | None = Query(None, max_length=72,
                                           description="cursor: DEVICE/JOB of the last row"),
                 limit: int = Query(100, ge=1, le=1000),
                 who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """Monitoring targets in (device, job) order: ``snmp`` (polled by an agent, labelled
    agency and site in file_sd) and ``sensor`` (a threat sensor's /metrics address)."""
    if job is not None and job not in JOBS:
        raise HTTPException(422, f"job: {job!r} is not one of {', '.join(JOBS)}")
    rows = _targets(who)
    if agency:
        rows = [r for r in rows if r["agency"] == agency.upper()]
    if job:
        rows = [r for r in rows if r["job"] == job]
    if after:
        device, _, kind = after.lower().partition("/")
        rows = [r for r in rows if (r["device"], r["job"]) > (device, kind)]
    items = rows[:limit]
    last = items[-1] if items and len(rows) > limit else None
    return {"items": items, "next": f"{last['device']}/{last['job']}" if last else None}


@router.get("/monitor/targets/{hostname}")
def show_target(hostname: str = Path(max_length=63, examples=["dopa-pe1"]),
                who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """How one device is watched (every job that watches it); 404 when none does."""
    rows = [r for r in _targets(who, scoped=False) if r["device"] == hostname.lower()]
    if not rows:
        raise HTTPException(404, f"device {hostname.lower()!r} is not a monitoring target "
                                 "(no snmp_address or mgmt_address)")
    _require(who, rows[0]["agency"], f"device {rows[0]['device']}")
    return {"device": rows[0]["device"], "agency": rows[0]["agency"],
            "site": rows[0]["site"], "jobs": rows}


def _events(who: Principal, scoped: bool = True) -> list[dict[str, Any]]:
    try:
        events = read_log(user_data_path(EVENTS_ENV, EVENTS_NAME))
    except GinError as exc:
        raise HTTPException(503, str(exc)) from None
    codes = _visible_codes(who) if scoped else None
    if codes is None:
        return events
    return [e for e in events
            if e.get("agency") in codes or e.get("source_agency") in codes]


@router.get("/sensor/events")
def list_events(agency: str | None = Query(None, max_length=32,
                                           description="attacked or source agency"),
                type: str | None = Query(None, max_length=64),
                severity: str | None = Query(None, max_length=16),
                after: int | None = Query(None, ge=0, le=2**62, description="cursor: last id"),
                limit: int = Query(100, ge=1, le=1000),
                who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """Threat events from the sensors' event log, oldest first; ``next`` pages on (the log
    only grows, so a cursor stays good)."""
    rows = _events(who)
    if agency:
        code = agency.upper()
        rows = [e for e in rows if code in (e.get("agency"), e.get("source_agency"))]
    if type:
        rows = [e for e in rows if e.get("type") == type]
    if severity:
        rows = [e for e in rows if e.get("severity") == severity]
    if after is not None:
        rows = [e for e in rows if e["id"] > after]
    items = rows[:limit]
    return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}


@router.get("/sensor/events/{event_id}")
def show_event(event_id: int = Path(ge=1, le=2**62, examples=[1]),
               who: Principal = requires("monitor.read")) -> dict[str, Any]:
    """One threat event; refused unless the caller watches its attacked or source agency."""
    found = next((e for e in _events(who, scoped=False) if e["id"] == event_id), None)
    if found is None:
        raise HTTPException(404, f"sensor event {event_id} not found")
    codes = _visible_codes(who)
    if codes is not None and not {found.get("agency"), found.get("source_agency")} & codes:
        _require(who, found.get("agency") or found.get("source_agency"),
                 f"sensor event {event_id}")
    return found

"""Accepted risks: a failing or unknown finding (one check on one device) that its owner has
decided to live with, for a while.

An acceptance names who accepted it (the directory's actor), why, and until when.  Reports
made while it is in force still list the finding, marked accepted, and leave it out of the
score (:func:`audit.report._score`); once it has expired the finding counts again, with no
one having to remember to undo anything.  Acceptances live in the directory beside the
stored runs, so every report format and the console apply the same ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checks import BY_ID
from audit.checks.base import Status
from audit.findings import Acceptance, DeviceAudit
from devices.errors import ConfigError
from directory import models as m
from directory.store import Directory

#: The longest an acceptance may run: a risk is looked at again at least once a year.
LONGEST = dt.timedelta(days=366)
Key = tuple[str, str]


def _utc(time: dt.datetime) -> dt.datetime:
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)  # SQLite keeps naive UTC


def parse_until(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``YYYY-MM-DD`` (the end of that day, UTC), an ISO time, or ``<n>d`` (days from now)."""
    now = now or dt.datetime.now(dt.UTC)
    value = text.strip()
    try:
        if value.endswith("d") and value[:-1].isdigit():
            return now + dt.timedelta(days=int(value[:-1]))
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)
        return _utc(dt.datetime.fromisoformat(value))
    except ValueError:
        raise ConfigError(f"--until {text!r}: expected YYYY-MM-DD, an ISO time or a number "
                          "of days such as 90d") from None


def accept(directory: Directory, device: str, check: str, reason: str,
           until: dt.datetime, now: dt.datetime | None = None) -> dict[str, Any]:
    """Record that ``check`` failing on ``device`` is an accepted risk until ``until``; the
    directory's actor is who accepted it (written to the change log like any change)."""
    now = now or dt.datetime.now(dt.UTC)
    device, check, reason = device.strip(), check.strip(), " ".join(reason.split())
    if check not in BY_ID:
        raise ConfigError(f"check {check!r} is not a gin audit check; see 'gin audit checks' "
                          "or the report's check column")
    if not device or len(device) > 255:
        raise ConfigError("device: give the device (or service) name as the report shows it")
    if not reason:
        raise ConfigError("--reason: say why the risk is accepted (it is shown in every "
                          "report)")
    until = _utc(until)
    if until <= now:
        raise ConfigError(f"--until {until:%Y-%m-%d %H:%M} is not in the future")
    if until - now > LONGEST:
        raise ConfigError(f"--until: an acceptance runs at most {LONGEST.days} days; accept "
                          "it again when it expires")
    with directory.transaction() as s:
        if not _known(s, device):
            raise ConfigError(f"device {device!r} is neither in the directory nor in any "
                              "stored audit run: give the name as the report shows it")
        row = m.AuditAcceptance(device=device, check=check, agency=_agency_of(s, device),
                                reason=reason[:2000],
                                accepted_by=str(s.info.get("actor") or "unknown")[:128],
                                accepted_at=now, expires_at=until)
        s.add(row)
        s.flush()
        return _row(row, now)


def _known(s: Session, device: str) -> bool:
    """Whether ``device`` is a directory device or was judged in a stored run (a typo would
    otherwise be accepted and never match a finding)."""
    return (s.scalars(select(m.Device.id).where(m.Device.hostname == device.lower())).first()
            is not None or s.scalars(select(m.AuditFinding.id)
                                     .where(m.AuditFinding.device == device).limit(1)).first()
            is not None)


def _agency_of(s: Session, device: str) -> str | None:
    """The agency of ``device``: the directory's record, else its newest stored finding."""
    dev = s.scalars(select(m.Device).where(m.Device.hostname == device.lower())).first()
    if dev is not None:
        return dev.site.agency.code
    return s.scalars(select(m.AuditFinding.agency).where(m.AuditFinding.device == device)
                     .order_by(m.AuditFinding.id.desc()).limit(1)).first()


def _row(a: m.AuditAcceptance, now: dt.datetime) -> dict[str, Any]:
    expires = _utc(a.expires_at)
    return {"id": a.id, "device": a.device, "check": a.check, "agency": a.agency,
            "reason": a.reason, "accepted_by": a.accepted_by,
            "accepted_at": _utc(a.accepted_at).isoformat(timespec="seconds"),
            "expires_at": expires.isoformat(timespec="seconds"),
            "state": "in force" if expires > now else "expired"}


def listing(directory: Directory, now: dt.datetime | None = None,
            agencies: set[str] | None = None) -> list[dict[str, Any]]:
    """Every acceptance, newest first, each ``in force`` or ``expired`` at ``now``
    (``agencies``: only theirs)."""
    now = now or dt.datetime.now(dt.UTC)
    with directory.transaction() as s:
        stmt = select(m.AuditAcceptance).order_by(m.AuditAcceptance.id.desc())
        if agencies is not None:
            stmt = stmt.where(m.AuditAcceptance.agency.in_(sorted(agencies)))
        return [_row(a, now) for a in s.scalars(stmt)]


def in_force(s: Session, now: dt.datetime) -> dict[Key, Acceptance]:
    """(device, check) -> the acceptance in force at ``now`` (the latest-running one)."""
    out: dict[Key, Acceptance] = {}
    stmt = (select(m.AuditAcceptance).where(m.AuditAcceptance.expires_at > now)
            .order_by(m.AuditAcceptance.expires_at))
    for a in s.scalars(stmt):
        out[(a.device, a.check)] = Acceptance(a.accepted_by,
                                              _utc(a.expires_at).isoformat(timespec="seconds"),
                                              a.reason)
    return out


def mark(audits: Sequence[DeviceAudit], accepted: Mapping[Key, Acceptance]
         ) -> list[DeviceAudit]:
    """``audits`` with each failing or unknown finding that has an acceptance marked so."""
    if not accepted:
        return list(audits)
    out = []
    for a in audits:
        findings = [replace(f, accepted=accepted.get((f.device, f.check)))
                    if f.status in (Status.FAIL, Status.UNKNOWN) else f for f in a.findings]
        out.append(DeviceAudit(a.device, a.agency, a.platform, findings, a.error,
                               list(a.warnings)))
    return out


def applied(directory: Directory, audits: Sequence[DeviceAudit],
            now: dt.datetime | None = None) -> list[DeviceAudit]:
    """``audits`` with the acceptances in force at ``now`` marked (see :func:`mark`)."""
    with directory.transaction() as s:
        accepted = in_force(s, now or dt.datetime.now(dt.UTC))
    return mark(audits, accepted)

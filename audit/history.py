"""Audit runs kept in the directory's database, so every report format renders the same run
and a report shows the trend since the previous run of its scope.

A run is stored once (:func:`record`) with its devices and findings (evidence redacted as
the checks cite it); :func:`load` gives it back as the same ``DeviceAudit`` objects the
report writers take, so a second format of one audit is a rendering, not a new run.  The
tables live beside the directory's, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from audit import catalogue
from audit.checks import BY_ID
from audit.checks.base import Status
from audit.findings import DeviceAudit, Finding
from devices.errors import ConfigError
from directory import models as m
from directory.db import user_data_path
from directory.store import Directory

LATEST = "latest"
#: Longest text a column of the run tables takes (longer values are cut, never refused).
WIDTH = 255


@dataclass(frozen=True)
class StoredRun:
    """One stored audit run."""

    id: int
    scope: str
    generated_at: dt.datetime
    framework: str
    actor: str
    audits: list[DeviceAudit] = field(default_factory=list)
    #: Evidence files not read: (path, why).
    skipped: tuple[tuple[str, str], ...] = ()


def _utc(time: dt.datetime) -> dt.datetime:
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)  # SQLite keeps naive UTC


def record(directory: Directory, audits: Sequence[DeviceAudit], *, scope: str,
           generated_at: dt.datetime, framework: str,
           skipped: Sequence[tuple[str, str]] = ()) -> int:
    """Store one run with its devices and findings; returns the run's id."""
    counts = Counter(f.status for a in audits for f in a.findings)
    applicable = counts[Status.PASS] + counts[Status.FAIL] + counts[Status.UNKNOWN]
    with directory.transaction() as s:
        run = m.AuditRun(
            scope=scope[:WIDTH], generated_at=generated_at, framework=framework[:64],
            actor=str(s.info.get("actor") or "unknown")[:128],
            score=round(100 * counts[Status.PASS] / applicable, 1) if applicable else None,
            passed=counts[Status.PASS], failed=counts[Status.FAIL],
            unknown=counts[Status.UNKNOWN], not_applicable=counts[Status.NOT_APPLICABLE],
            skipped=[{"path": p, "reason": r} for p, r in skipped])
        s.add(run)
        s.flush()
        devices = [{"run_id": run.id, "position": i, "device": a.device[:WIDTH],
                    "agency": (a.agency or None) and a.agency[:WIDTH],
                    "platform": a.platform[:64], "error": a.error,
                    "warnings": list(a.warnings)} for i, a in enumerate(audits)]
        findings = [{"run_id": run.id, "position": i, "device": f.device[:WIDTH],
                     "agency": (f.agency or None) and f.agency[:WIDTH],
                     "platform": f.platform[:64], "check": f.check[:64],
                     "title": f.title[:WIDTH], "controls": list(f.controls),
                     "status": f.status.value, "severity": f.severity[:16],
                     "reason": f.reason,
                     "evidence": [[ln, tx] for ln, tx in f.evidence],
                     "remediation": list(f.remediation), "origin": f.origin}
                    for i, f in enumerate(f for a in audits for f in a.findings)]
        if devices:
            s.execute(insert(m.AuditDevice), devices)
        if findings:
            s.execute(insert(m.AuditFinding), findings)
        return run.id


def _find(s: Any, run: int | str, scope: str | None) -> m.AuditRun:
    if run == LATEST:
        stmt = select(m.AuditRun)
        if scope is not None:
            stmt = stmt.where(m.AuditRun.scope == scope)
        found = s.scalars(stmt.order_by(m.AuditRun.generated_at.desc(),
                                        m.AuditRun.id.desc()).limit(1)).first()
        if found is None:
            where = f" of scope {scope}" if scope is not None else ""
            raise ConfigError(f"no audit run{where} stored in the directory yet; "
                              "record one with 'gin audit check'")
        return found
    try:
        number = int(run)
    except (TypeError, ValueError):
        raise ConfigError(f"--run {run!r}: expected a run id (see 'gin audit runs') "
                          "or 'latest'") from None
    found = s.get(m.AuditRun, number)
    if found is None:
        raise ConfigError(f"no audit run {number} in the directory; see 'gin audit runs'")
    return found


def load(directory: Directory, run: int | str = LATEST, scope: str | None = None
         ) -> StoredRun:
    """A stored run (an id, or ``"latest"``: the newest, of ``scope`` when given) with its
    devices and findings, as the report writers take them."""
    with directory.transaction() as s:
        row = _find(s, run, scope)
        audits = {d.position: DeviceAudit(d.device, d.agency, d.platform, [], d.error,
                                          list(d.warnings or ()))
                  for d in s.scalars(select(m.AuditDevice).where(
                      m.AuditDevice.run_id == row.id))}
        ordered = [audits[k] for k in sorted(audits)]
        index = {a.device: a for a in ordered}
        for f in s.scalars(select(m.AuditFinding).where(m.AuditFinding.run_id == row.id)
                           .order_by(m.AuditFinding.position)):
            entry = index.get(f.device)
            if entry is None:  # a finding whose device row is missing still shows
                entry = index[f.device] = DeviceAudit(f.device, f.agency, f.platform)
                ordered.append(entry)
            entry.findings.append(Finding(
                device=f.device, agency=f.agency, platform=f.platform, check=f.check,
                title=f.title, controls=tuple(f.controls), status=Status(f.status),
                severity=f.severity, reason=f.reason,
                evidence=tuple((ln, tx) for ln, tx in f.evidence),
                remediation=tuple(f.remediation), origin=f.origin))
        return StoredRun(row.id, row.scope, _utc(row.generated_at), row.framework, row.actor,
                         ordered, tuple((k["path"], k["reason"]) for k in row.skipped or ()))


def previous(directory: Directory, scope: str, before: dt.datetime,
             run_id: int | None = None) -> StoredRun | None:
    """The newest stored run of ``scope`` generated before ``before`` (and other than
    ``run_id``), or None."""
    with directory.transaction() as s:
        stmt = select(m.AuditRun.id).where(m.AuditRun.scope == scope,
                                           m.AuditRun.generated_at < before)
        if run_id is not None:
            stmt = stmt.where(m.AuditRun.id != run_id)
        found = s.scalars(stmt.order_by(m.AuditRun.generated_at.desc(),
                                        m.AuditRun.id.desc()).limit(1)).first()
    return None if found is None else load(directory, found)


def runs(directory: Directory, scope: str | None = None, limit: int | None = None
         ) -> list[dict[str, Any]]:
    """The stored runs, newest first: id, scope, time, actor, score and counts."""
    with directory.transaction() as s:
        stmt = select(m.AuditRun)
        if scope is not None:
            stmt = stmt.where(m.AuditRun.scope == scope)
        stmt = stmt.order_by(m.AuditRun.generated_at.desc(), m.AuditRun.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return [{"id": r.id, "scope": r.scope,
                 "generated_at": _utc(r.generated_at).isoformat(timespec="seconds"),
                 "actor": r.actor, "score": r.score, "pass": r.passed, "fail": r.failed,
                 "unknown": r.unknown, "not_applicable": r.not_applicable,
                 "skipped": len(r.skipped or ())} for r in s.scalars(stmt)]


def old_runs_folder() -> Path:
    """Where runs were kept before they moved into the directory: ``$GIN_AUDIT_RUNS``, else
    ``$XDG_DATA_HOME/gin/audit-runs``."""
    return user_data_path("GIN_AUDIT_RUNS", "audit-runs")


def import_files(directory: Directory, folder: Path | str | None = None
                 ) -> tuple[list[int], list[tuple[str, str]]]:
    """Store the runs of an old runs folder (one summary JSON per run) in the directory, so
    the trend goes on from them: ``(new run ids, [(file, why not imported)])``.

    Those files kept only each finding's status (no title, reason or evidence), so an
    imported run gives the overall and per-clause trend and the findings that changed, not a
    full report; a run already stored (same scope and time) is not imported twice."""
    root = Path(folder) if folder is not None else old_runs_folder()
    framework = catalogue.load()
    done: list[int] = []
    refused: list[tuple[str, str]] = []
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            scope, when = str(old["scope"]), dt.datetime.fromisoformat(old["generated_at"])
            statuses = {str(k): Status(v) for k, v in old["statuses"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            refused.append((str(path), f"not a run summary ({type(exc).__name__})"))
            continue
        when = _utc(when)
        with directory.transaction() as s:
            if s.scalars(select(m.AuditRun.id).where(m.AuditRun.scope == scope[:WIDTH],
                                                     m.AuditRun.generated_at == when)).first():
                refused.append((str(path), "already stored"))
                continue
        audits: dict[str, DeviceAudit] = {}
        for key, status in statuses.items():
            device, _, check_id = key.partition("|")
            check = BY_ID.get(check_id)
            entry = audits.setdefault(device, DeviceAudit(device, None, "-"))
            entry.findings.append(Finding(
                device=device, agency=None, platform="-", check=check_id,
                title=check.title if check else check_id,
                controls=tuple(c.id for c in framework.controls_of(check_id)),
                status=status, severity=check.severity if check else "medium",
                reason=f"imported from {path.name}: the old run kept statuses only",
                origin=str(path)))
        done.append(record(directory, list(audits.values()), scope=scope, generated_at=when,
                           framework=framework.name))
    return done, refused


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """What a later run compares against (report data of :func:`audit.report.to_data`)."""
    return {"generated_at": data["generated_at"], "scope": data["scope"],
            "score": data["score"]["score"],
            "agencies": {a["key"]: a["score"] for a in data["agencies"]},
            "clauses": {c["key"]: c["score"] for c in data["clauses"]},
            "statuses": {f"{f['device']}|{f['check']}": f["status"] for f in data["findings"]}}


def trend(data: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any] | None:
    """Score changes since ``prior`` (a :func:`summary`) and the findings whose status
    changed."""
    if prior is None:
        return None

    def delta(new: float | None, old: float | None) -> float | None:
        return None if new is None or old is None else round(new - old, 1)

    now = summary(data)
    changed = [{"device": k.split("|")[0], "check": k.split("|")[1],
                "before": prior["statuses"].get(k), "now": v}
               for k, v in now["statuses"].items() if prior["statuses"].get(k) != v]
    return {"since": prior["generated_at"], "score": delta(now["score"], prior["score"]),
            "agencies": {k: delta(v, prior["agencies"].get(k))
                         for k, v in now["agencies"].items()},
            "clauses": {k: delta(v, prior["clauses"].get(k)) for k, v in now["clauses"].items()},
            "changed": changed}

"""Posture of stored audit runs, per ministry and agency, read by aggregate queries.

A report renders a whole run; a page that shows one ministry or one agency needs only counts
(findings per agency and status) and a handful of findings, so these functions ask the
database for exactly that instead of loading the run: on the 2,154-agency directory a run
holds tens of thousands of findings.  The numbers are the report's (:class:`Score`: pass /
(pass + fail + unknown), accepted risks in force left out), so the console and the report
never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from audit import acceptance
from audit.report import NO_AGENCY, Score
from directory import models as m

OPEN = ("fail", "unknown")
#: Runs a trend chart shows (the newest).
TREND_RUNS = 24


def _utc(time: dt.datetime) -> dt.datetime:
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)


def score(key: str, title: str, counts: Mapping[str, int]) -> Score:
    return Score(key, title, counts.get("pass", 0), counts.get("fail", 0),
                 counts.get("unknown", 0), counts.get("not_applicable", 0),
                 counts.get("accepted", 0))


def run_row(s: Session, run: int | None, scope: str | None = None,
            agencies: set[str] | None = None) -> m.AuditRun | None:
    """Run ``run``, else the newest run (of ``scope``; holding a finding of ``agencies``)."""
    if run is not None:
        return s.get(m.AuditRun, run)
    stmt = select(m.AuditRun)
    if scope is not None:
        stmt = stmt.where(m.AuditRun.scope == scope)
    if agencies is not None:  # newest first, each run answered from the run-agency index
        held = (select(m.AuditFinding.id).where(m.AuditFinding.run_id == m.AuditRun.id,
                                                m.AuditFinding.agency.in_(sorted(agencies)))
                .exists())
        stmt = stmt.where(held)
    return s.scalars(stmt.order_by(m.AuditRun.generated_at.desc(), m.AuditRun.id.desc())
                     .limit(1)).first()


def counts_by_agency(s: Session, run: int, agencies: set[str] | None = None,
                     now: dt.datetime | None = None) -> dict[str, Counter[str]]:
    """Agency -> findings of run ``run`` by status, the accepted risks in force at ``now``
    moved from fail/unknown to ``accepted`` (``agencies``: only theirs)."""
    stmt = (select(m.AuditFinding.agency, m.AuditFinding.status, func.count())
            .where(m.AuditFinding.run_id == run)
            .group_by(m.AuditFinding.agency, m.AuditFinding.status))
    if agencies is not None:
        stmt = stmt.where(m.AuditFinding.agency.in_(sorted(agencies)))
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for agency, status, n in s.execute(stmt):
        out[agency or NO_AGENCY][status] += n
    accepted = acceptance.in_force(s, now or dt.datetime.now(dt.UTC))
    if accepted:
        hit = (select(m.AuditFinding.agency, m.AuditFinding.status)
               .where(m.AuditFinding.run_id == run, m.AuditFinding.status.in_(OPEN),
                      tuple_(m.AuditFinding.device, m.AuditFinding.check).in_(list(accepted))))
        if agencies is not None:
            hit = hit.where(m.AuditFinding.agency.in_(sorted(agencies)))
        for agency, status in s.execute(hit):
            counter = out[agency or NO_AGENCY]
            counter[status] -= 1
            counter["accepted"] += 1
    return out


def total(counts: Iterable[Mapping[str, int]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for c in counts:
        out.update(c)
    return out


def worst_first(scores: Iterable[Score]) -> list[Score]:
    return sorted(scores, key=lambda x: (x.percent if x.percent is not None else 101, x.key))


def by_ministry(counts: Mapping[str, Mapping[str, int]], ministries: Mapping[str, str]
                ) -> list[tuple[Score, int]]:
    """(score, agencies audited) per ministry, worst first."""
    grouped: dict[str, list[Mapping[str, int]]] = defaultdict(list)
    for agency, c in counts.items():
        grouped[ministries.get(agency, NO_AGENCY)].append(c)
    scores = {k: score(k, k, total(v)) for k, v in grouped.items()}
    return [(sc, len(grouped[sc.key])) for sc in worst_first(scores.values())]


def subtree(s: Session, code: str) -> set[str]:
    """``code`` and every agency below it (one query; a loop in the tree cannot spin)."""
    rows = s.execute(select(m.Agency.code, m.Agency.parent_id, m.Agency.id)).all()
    code_of = {r.id: r.code for r in rows}
    children: dict[str | None, list[str]] = defaultdict(list)
    for r in rows:
        children[code_of.get(r.parent_id) if r.parent_id else None].append(r.code)
    seen: set[str] = set()
    todo = [code.upper()]
    while todo:
        here = todo.pop()
        if here not in seen:
            seen.add(here)
            todo.extend(children.get(here, ()))
    return seen


def trend(s: Session, scope: str, agencies: set[str] | None = None,
          limit: int = TREND_RUNS) -> list[tuple[dt.datetime, float | None, int]]:
    """(time, score, run id) of the newest ``limit`` runs of ``scope``, oldest first; with
    ``agencies``, the score of their findings only (as each run recorded it)."""
    runs = s.execute(select(m.AuditRun.id, m.AuditRun.generated_at, m.AuditRun.score)
                     .where(m.AuditRun.scope == scope)
                     .order_by(m.AuditRun.generated_at.desc(), m.AuditRun.id.desc())
                     .limit(limit)).all()
    runs.reverse()
    if agencies is None:
        return [(_utc(r.generated_at), r.score, r.id) for r in runs]
    per_run: dict[int, Counter[str]] = defaultdict(Counter)
    stmt = (select(m.AuditFinding.run_id, m.AuditFinding.status, func.count())
            .where(m.AuditFinding.run_id.in_([r.id for r in runs]),
                   m.AuditFinding.agency.in_(sorted(agencies)))
            .group_by(m.AuditFinding.run_id, m.AuditFinding.status))
    for run_id, status, n in s.execute(stmt):
        per_run[run_id][status] += n
    return [(_utc(r.generated_at), score("", "", per_run[r.id]).percent, r.id) for r in runs
            if per_run[r.id]]


@dataclass(frozen=True)
class FindingRow:
    """One finding as a list shows it (the drill-down reads the rest by id)."""

    id: int
    device: str
    agency: str | None
    check: str
    title: str
    status: str
    severity: str
    reason: str
    accepted: Any


def open_findings(s: Session, run: int, agencies: set[str], limit: int = 200,
                  now: dt.datetime | None = None) -> tuple[list[FindingRow], int]:
    """Failing and unknown findings of ``agencies`` in run ``run`` (failing first), at most
    ``limit``, and how many there are in all."""
    where = (m.AuditFinding.run_id == run, m.AuditFinding.status.in_(OPEN),
             m.AuditFinding.agency.in_(sorted(agencies)))
    count = s.scalar(select(func.count()).select_from(m.AuditFinding).where(*where)) or 0
    rows = s.scalars(select(m.AuditFinding).where(*where)
                     .order_by(m.AuditFinding.status, m.AuditFinding.device,
                               m.AuditFinding.check).limit(limit)).all()
    accepted = acceptance.in_force(s, now or dt.datetime.now(dt.UTC))
    return [FindingRow(f.id, f.device, f.agency, f.check, f.title, f.status, f.severity,
                       f.reason, accepted.get((f.device, f.check))) for f in rows], count


def finding(s: Session, finding_id: int, now: dt.datetime | None = None
            ) -> dict[str, Any] | None:
    """One stored finding with its evidence lines, remediation, run, the acceptance in force,
    and the same check's status on the same device in the runs of its scope."""
    f = s.get(m.AuditFinding, finding_id)
    if f is None:
        return None
    run = s.get(m.AuditRun, f.run_id)
    accepted = acceptance.in_force(s, now or dt.datetime.now(dt.UTC)).get((f.device, f.check))
    history = s.execute(select(m.AuditRun.id, m.AuditRun.generated_at, m.AuditFinding.status)
                        .join(m.AuditFinding, m.AuditFinding.run_id == m.AuditRun.id)
                        .where(m.AuditRun.scope == run.scope,
                               m.AuditFinding.device == f.device,
                               m.AuditFinding.check == f.check)
                        .order_by(m.AuditRun.generated_at.desc()).limit(10)).all()
    return {"id": f.id, "run": run.id, "scope": run.scope,
            "generated_at": _utc(run.generated_at), "device": f.device, "agency": f.agency,
            "platform": f.platform, "check": f.check, "title": f.title,
            "controls": list(f.controls), "status": f.status, "severity": f.severity,
            "reason": f.reason, "evidence": [(ln, tx) for ln, tx in f.evidence],
            "remediation": list(f.remediation), "origin": f.origin, "accepted": accepted,
            "history": [(h.id, _utc(h.generated_at), h.status) for h in history]}

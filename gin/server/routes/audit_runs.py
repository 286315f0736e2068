"""Audit runs kept by the service: list them (newest first, paged by id) and download a
run's report in any format (``gin audit runs`` / ``gin audit report --run ID``).

A run's scope is the whole GIN, one agency, or a ministry's tree (``MOI/*``): a caller
whose grant covers that agency or ministry reads its runs; runs of the whole GIN need a
grant over the whole GIN.  Rendering a stored run records nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit import assess
from audit import report as reports
from directory import models as m
from directory import store
from directory.errors import NotFound

from ..permissions import Principal, requires

router = APIRouter(tags=["audit"])
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json", "csv": "text/csv; charset=utf-8",
         "oscal": "application/json"}
SUFFIX = {"html": "html", "pdf": "pdf", "json": "json", "csv": "csv", "oscal": "oscal.json"}


def scope_agency(scope: str) -> str | None:
    """The agency (or ministry) code a run's scope is about; None: the whole GIN."""
    return None if scope == "GIN" else scope.removesuffix("/*")


def _reads(who: Principal, s: Session, scope: str) -> bool:
    code = scope_agency(scope)
    if code is None:
        return who.holds("audit.read", gin_wide=True)
    try:
        return who.allows(s, "audit.read", code)
    except NotFound:  # the agency was removed since: only GIN-wide readers see the run
        return who.holds("audit.read", gin_wide=True)


@router.get("/audit/runs")
def list_runs(scope: str | None = Query(None, max_length=255, examples=["DOPA", "MOI/*"]),
              before: int | None = Query(None, ge=1, description="cursor: a run id"),
              limit: int = Query(100, ge=1, le=store.MAX_PAGE),
              who: Principal = requires("audit.read")) -> dict[str, Any]:
    """Stored runs newest first (those whose scope the caller reads): scope, time, who ran
    it, score and counts; ``next`` pages back."""
    items: list[dict[str, Any]] = []
    cursor = before
    with who.directory.transaction(who.actor) as s:
        while len(items) <= limit:  # refill past runs the caller may not read
            stmt = select(m.AuditRun).order_by(m.AuditRun.id.desc()).limit(limit + 1)
            if scope:
                stmt = stmt.where(m.AuditRun.scope == scope)
            if cursor is not None:
                stmt = stmt.where(m.AuditRun.id < cursor)
            rows = list(s.scalars(stmt))
            if not rows:
                break
            items += [_row(r) for r in rows if _reads(who, s, r.scope)]
            cursor = rows[-1].id
    page = items[:limit]
    return {"items": page, "next": page[-1]["id"] if len(items) > limit else None}


def _row(r: m.AuditRun) -> dict[str, Any]:
    return {"id": r.id, "scope": r.scope,
            "generated_at": r.generated_at.isoformat(timespec="seconds"), "actor": r.actor,
            "score": r.score, "pass": r.passed, "fail": r.failed, "unknown": r.unknown,
            "not_applicable": r.not_applicable, "skipped": len(r.skipped or ())}


@router.get("/audit/runs/{run_id}/report")
def download_report(run_id: int = Path(ge=1, le=2**31 - 1),
                    format: str = Query("html", max_length=8,
                                        description=", ".join(reports.FORMATS)),
                    lang: str = Query("en", pattern="^(en|th)$"),
                    all_findings: bool = Query(False, description="HTML/PDF: passes too"),
                    who: Principal = requires("audit.read")) -> Response:
    """The run's report as a file: html, pdf (printed by headless Chromium), json, csv or
    oscal (OSCAL assessment-results JSON), with the trend since the scope's previous run."""
    if format not in reports.FORMATS:
        from directory.errors import Invalid

        raise Invalid(f"format: {format!r} is not one of {', '.join(reports.FORMATS)}")
    with who.directory.transaction(who.actor) as s:
        run = s.get(m.AuditRun, run_id)
        if run is None:
            raise NotFound(f"audit run {run_id} not found")
        if not _reads(who, s, run.scope):
            code = scope_agency(run.scope)
            if code is not None:
                who.require(s, "audit.read", code)
            who.require_gin("audit.read", f"audit run {run_id} of the whole GIN")
        from audit import ministries

        render: dict[str, Any] = {"ministries": ministries.of_agencies(s)}
    result = assess.stored(who.directory, run_id)
    with tempfile.TemporaryDirectory(prefix="gin-report-") as tmp:
        out = FilePath(tmp) / f"report.{SUFFIX[format]}"
        result.write(out, format, lang=lang, show_all=all_findings, **render)
        body = out.read_bytes()
    name = f"gin-audit-run-{run_id}.{SUFFIX[format]}"
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

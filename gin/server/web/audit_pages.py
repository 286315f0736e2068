"""The auditor's pages: posture per ministry and agency over the stored audit runs (with a
trend chart drawn on the server), a finding's evidence lines and remediation, the accepted
risks, and every report format of a stored run to download.

Everything reads the runs ``gin audit check`` stored in the directory (:mod:`audit.history`)
through the audit package's own functions, so a page, the report and the CLI show the same
numbers; nothing here audits or changes anything.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from audit import acceptance, assess, catalogue, messages, ministries, posture
from audit import report as reports
from devices.errors import ConfigError
from directory import models as m

from ..principal import Principal
from . import session as web
from .charts import trend_chart
from .pages import language, render
from .posture_view import agency_posture as posture_of
from .posture_view import run_info as _run_info
from .posture_view import visible_codes as _visible_codes

router = APIRouter(tags=["console"], include_in_schema=False)
#: Media type of each download (the formats of ``gin audit report``).
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "json": "application/json", "csv": "text/csv; charset=utf-8",
         "oscal": "application/json"}
SUFFIX = {"oscal": "oscal.json"}
WORST = 50


@router.get("/audit")
def overview(request: Request, run: int | None = Query(None, ge=1),
             who: Principal = web.page_requires("audit.read")) -> HTMLResponse:
    """The posture of the GIN (of the agencies the caller may see) in one run, its trend, the
    ministries and the weakest agencies, the accepted risks, the downloads."""
    with who.directory.transaction(who.actor) as s:
        visible = _visible_codes(who, s)
        row = posture.run_row(s, run)
        if row is None and run is not None:
            raise HTTPException(404, f"no audit run {run}; see 'gin audit runs'")
        view: dict[str, Any] = {"run": None, "chart": None, "ministries": [], "agencies": [],
                                "overall": None, "runs": [], "accepted": []}
        if row is not None:
            counts = posture.counts_by_agency(s, row.id, visible)
            tops = ministries.of_agencies(s)
            view.update(
                run=_run_info(row),
                overall=posture.score(row.scope, row.scope, posture.total(counts.values())),
                chart=trend_chart(posture.trend(s, row.scope, visible)),
                ministries=posture.by_ministry(counts, tops),
                agencies=posture.worst_first(posture.score(k, k, c)
                                             for k, c in counts.items())[:WORST],
                runs=[_run_info(r) for r in s.scalars(
                    select(m.AuditRun).order_by(m.AuditRun.generated_at.desc(),
                                                  m.AuditRun.id.desc()).limit(12))])
    view["accepted"] = acceptance.listing(who.directory, agencies=visible)
    view["downloads"] = who.holds("audit.read", gin_wide=True)
    return render(request, "audit.html", who=who, formats=reports.FORMATS, **view)


@router.get("/audit/agency/{code}")
def agency_posture(request: Request, code: str = PathParam(max_length=32),
                   run: int | None = Query(None, ge=1),
                   who: Principal = web.page_requires("audit.read", agency="code")
                   ) -> HTMLResponse:
    """One agency (a ministry: with every agency under it): its score in the newest run
    that audited it, the trend over the runs of that scope, its open findings."""
    with who.directory.transaction(who.actor) as s:
        agency = select(m.Agency).where(m.Agency.code == code.upper())
        found = s.scalars(agency).first()
        if found is None:
            raise HTTPException(404, f"no agency {code!r}")
        view = posture_of(s, who, found, run)
        view["agency"] = {"code": found.code, "name_en": found.name_en,
                          "name_th": found.name_th}
    say = messages.Translator(language(request))
    return render(request, "audit_agency.html", who=who, say=say, **view)


@router.get("/audit/agency/{code}/finding/{finding_id}")
def finding_page(request: Request, code: str = PathParam(max_length=32),
                 finding_id: int = PathParam(ge=1),
                 who: Principal = web.page_requires("audit.read", agency="code")
                 ) -> HTMLResponse:
    """One finding: its evidence lines, the remediation, the controls, the acceptance in
    force, and the same check on the same device in earlier runs."""
    with who.directory.transaction(who.actor) as s:
        found = posture.finding(s, finding_id)
        under = posture.subtree(s, code)
        if found is None or (found["agency"] or "").upper() not in under:
            raise HTTPException(404, f"no finding {finding_id} of agency {code.upper()}")
    framework = catalogue.load()
    lang = language(request)
    say = messages.Translator(lang)
    controls = [(c, say.control(c, framework.controls[c].title) if c in framework.controls
                 else c) for c in found["controls"]]
    return render(request, "audit_finding.html", who=who, f=found, say=say,
                  controls=controls, code=code.upper())


@router.get("/audit/run/{run_id}/download/{fmt}")
def download(request: Request, run_id: int = PathParam(ge=1),
             fmt: str = PathParam(max_length=8),
             who: Principal = web.page_requires("audit.read", gin_wide=True)) -> Response:
    """A stored run as ``gin audit report --run ID --format FMT`` writes it (the whole run:
    over the whole GIN only)."""
    if fmt not in MEDIA:
        raise HTTPException(404, f"no report format {fmt!r} ({', '.join(MEDIA)})")
    try:
        result = assess.stored(who.directory, run_id)
    except ConfigError as exc:
        raise HTTPException(404, str(exc)) from None
    with who.directory.transaction(who.actor) as s:
        tops = ministries.of_agencies(s)
    with tempfile.TemporaryDirectory(prefix="gin-console-") as tmp:
        path = Path(tmp) / f"report.{fmt}"
        result.write(path, fmt, lang=language(request), ministries=tops)
        body = path.read_bytes()
    name = f"gin-audit-run-{run_id}.{SUFFIX.get(fmt, fmt)}"
    return Response(body, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

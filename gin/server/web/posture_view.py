"""One agency's security posture as the console shows it -- its score in the newest stored
run that audited it, the trend over the runs of that scope, its open findings -- for the
auditor's agency page and the agency page alike (one query path, the same numbers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from audit import posture
from directory import models as m

from ..principal import Principal
from .charts import trend_chart


def visible_codes(who: Principal, s: Any) -> set[str] | None:
    """Agency codes whose audit results ``who`` may read (None: all of them)."""
    ids = who.visible(s, "audit.read")
    if ids is None:
        return None
    return {code for (code,) in s.execute(select(m.Agency.code).where(m.Agency.id.in_(ids)))
            } if ids else set()


def run_info(row: m.AuditRun) -> dict[str, Any]:
    when = posture._utc(row.generated_at)
    return {"id": row.id, "scope": row.scope, "generated_at": f"{when:%Y-%m-%d %H:%M} UTC",
            "actor": row.actor, "framework": row.framework}


def agency_posture(s: Any, who: Principal, agency: m.Agency, run: int | None = None,
                   limit: int = 200) -> dict[str, Any]:
    """``agency`` (a ministry: with every agency under it that ``who`` may read): run, overall
    score, trend chart, the agencies under it worst first, its open findings (at most
    ``limit``) and how many there are."""
    codes = posture.subtree(s, agency.code)
    visible = visible_codes(who, s)
    if visible is not None:
        codes &= visible
    row = posture.run_row(s, run, agencies=codes)
    view: dict[str, Any] = {"run": None, "chart": None, "overall": None, "under": [],
                            "findings": [], "total": 0}
    if row is not None:
        counts = posture.counts_by_agency(s, row.id, codes)
        rows, count = posture.open_findings(s, row.id, codes, limit=limit)
        view.update(run=run_info(row), findings=rows, total=count,
                    overall=posture.score(agency.code, agency.code,
                                          posture.total(counts.values())),
                    chart=trend_chart(posture.trend(s, row.scope, codes)),
                    under=posture.worst_first(posture.score(k, k, c)
                                              for k, c in counts.items()
                                              if k != agency.code) if len(codes) > 1 else [])
    return view

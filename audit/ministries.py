"""Which ministry each agency answers to, from the directory: the ministry summary of a
report (audit.report.to_html ``ministries=``) groups agencies by it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import models as m


def of_agencies(session: Session) -> dict[str, str]:
    """Agency code -> the code of its topmost ancestor (a ministry, or an agency that answers
    to none: it stands for itself).  One query, whatever the depth of the tree."""
    rows = session.execute(select(m.Agency.id, m.Agency.code, m.Agency.parent_id)).all()
    parent = {r.id: r.parent_id for r in rows}
    code = {r.id: r.code for r in rows}
    out = {}
    for agency_id in parent:
        top, seen = agency_id, {agency_id}
        while parent[top] is not None and parent[top] not in seen:  # a cycle stops the walk
            top = parent[top]
            seen.add(top)
        out[code[agency_id]] = code[top]
    return out

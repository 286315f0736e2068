"""Audit runs kept over time, so a report shows the trend since the previous run.

Each run's summary (overall, per agency, per clause scores and per-finding statuses) is one
JSON file under ``$GIN_AUDIT_RUNS`` (default ``$XDG_DATA_HOME/gin/audit-runs``), named by
time and scope.  Plain files, like the backups: an auditor can copy them, and two runs
never write the same file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from directory.db import user_data_path

SAFE_SCOPE = re.compile(r"[^A-Za-z0-9_-]")


def default_root() -> Path:
    """``$GIN_AUDIT_RUNS``, else ``$XDG_DATA_HOME/gin/audit-runs``."""
    return user_data_path("GIN_AUDIT_RUNS", "audit-runs")


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """What a later run compares against (no evidence: small, no config text)."""
    return {"generated_at": data["generated_at"], "scope": data["scope"],
            "score": data["score"]["score"],
            "agencies": {a["key"]: a["score"] for a in data["agencies"]},
            "clauses": {c["key"]: c["score"] for c in data["clauses"]},
            "statuses": {f"{f['device']}|{f['check']}": f["status"] for f in data["findings"]}}


def save(data: dict[str, Any], root: Path | None = None) -> Path:
    """Store a run (the report data of :func:`audit.report.to_data`); returns its file."""
    root = root or default_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = dt.datetime.fromisoformat(data["generated_at"]).strftime("%Y%m%dT%H%M%SZ")
    scope = SAFE_SCOPE.sub("_", data["scope"])[:40] or "GIN"
    path = root / f"{stamp}-{scope}.json"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{scope}-{n}.json"
    path.write_text(json.dumps(summary(data), ensure_ascii=False), encoding="utf-8")
    return path


def previous(scope: str, before: str, root: Path | None = None) -> dict[str, Any] | None:
    """The newest stored run of ``scope`` generated before ``before`` (ISO time)."""
    root = root or default_root()
    if not root.is_dir():
        return None
    best = None
    for path in root.glob("*.json"):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged run file is skipped, the report still renders
        if run.get("scope") != scope or run.get("generated_at", "") >= before:
            continue
        if best is None or run["generated_at"] > best["generated_at"]:
            best = run
    return best


def trend(data: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any] | None:
    """Score changes since ``prior`` and the findings whose status changed."""
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

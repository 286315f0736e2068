"""Web scan evidence on disk: every run kept as it was seen, plus the newest record of each
host (``latest.json``) that reports and the monitor read.

A run of one agency replaces that agency's hosts only; a run of everything replaces the
lot (services removed from the directory drop out).  Files are 0600 in a 0700 folder, and
written whole then renamed, so a reader never sees half a file; a lock serialises writers.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devices.errors import ConfigError
from directory.db import user_data_path

LATEST = "latest.json"


def default_root() -> Path:
    """``$GIN_WEB_EVIDENCE_DIR``, else ``$XDG_DATA_HOME/gin/web`` (beside the backups)."""
    return user_data_path("GIN_WEB_EVIDENCE_DIR", "web")


def _key(rec: dict[str, Any]) -> tuple[str, str, str]:
    return (str(rec.get("agency")), str(rec.get("service")), str(rec.get("host")))


def _write(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


class WebEvidence:
    """The scan records under one folder."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_root()

    def save(self, records: Iterable[dict[str, Any]], scope: str | None = None,
             now: dt.datetime | None = None) -> Path:
        """Store a run; ``scope`` (an agency code) limits what it replaces in latest."""
        now = now or dt.datetime.now(dt.UTC)
        records = list(records)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        run = self.root / f"scan-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
        _write(run, {"scanned_at": now.isoformat(), "scope": scope, "records": records})
        with os.fdopen(os.open(self.root / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept = []
            if scope:
                code = scope.upper()
                kept = [r for r in self.latest() if str(r.get("agency", "")).upper() != code]
            fresh = {_key(r): r for r in kept}
            fresh.update({_key(r): r for r in records})
            _write(self.root / LATEST, {"updated_at": now.isoformat(),
                                        "records": sorted(fresh.values(), key=_key)})
        return run

    def latest(self) -> list[dict[str, Any]]:
        """The newest record of every host scanned (empty before the first scan)."""
        path = self.root / LATEST
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = data["records"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a web scan evidence file ({exc})") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ConfigError(f"{path}: records must be a list of objects")
        return records

"""Agencies imported by Core inserts (directory.bulkload) leave the same rows and the same
change log as the careful, ORM path: one entry per agency, the same snapshot, a hash
chain that verifies; a batch the database refuses is still redone row by row."""

from __future__ import annotations

from sqlalchemy import select

from directory import bulkload, chain
from directory import models as m
from directory.importer import import_rows, read_files
from directory.store import Directory


def _agencies_csv(path, rows: int) -> str:
    lines = ["code,name_en,name_th,kind,parent,asn,description"]
    for n in range(rows):
        ministry = n - n % 10
        kind, parent = ("ministry", "") if n % 10 == 0 else ("department", f"AG{ministry:04d}")
        lines.append(f"AG{n:04d},Agency {n},หน่วยงาน {n},{kind},{parent},{64512 + n},x")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _state(d: Directory) -> tuple[list, dict, bool]:
    with d.transaction() as s:
        rows = s.execute(select(m.Agency.code, m.Agency.name_th, m.Agency.kind, m.Agency.asn,
                                m.Agency.description, m.Agency.parent_id.is_(None))
                         .order_by(m.Agency.code)).all()
        log = {c.object_key: (c.action, c.before, {k: v for k, v in c.after.items()
                                                   if k not in ("id", "parent_id")})
               for c in s.scalars(select(m.Change).where(m.Change.object_type == "agency"))}
        parents = dict(s.execute(select(m.Agency.code, m.Agency.parent_id)).all())
        ids = dict(s.execute(select(m.Agency.id, m.Agency.code)).all())
        named = {code: ids.get(pid) for code, pid in parents.items()}
    with d.engine.connect() as conn:
        ok = chain.verify(conn).ok
    return rows, {k: (*v, named[k]) for k, v in log.items()}, ok


def test_core_inserted_agencies_match_the_careful_path(tmp_path, monkeypatch, db_url):
    """The Core path on SQLite and PostgreSQL against the careful path on SQLite."""
    monkeypatch.setattr(bulkload, "BATCH", 7)  # parents and children across batches
    path = _agencies_csv(tmp_path / "agencies.csv", 45)
    states = []
    for fast in (True, False):
        d = Directory(db_url if fast else f"sqlite:///{tmp_path / 'careful.sqlite'}",
                      actor="t")
        with d.transaction() as s:
            report = import_rows(s, read_files([path]).rows, fast=fast)
        assert not report.errors and report.created["agencies"] == 45
        states.append(_state(d))
        d.close()
    (rows, log, ok), careful = states[0], states[1]
    assert ok and careful[2]
    assert rows == careful[0] and len(log) == 45
    assert log == careful[1]  # the same entry per agency, its parent named the same

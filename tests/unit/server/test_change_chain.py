"""The change log's hash chain: every way of writing history is sealed, and altering,
removing or slipping in an entry with plain SQL is found and named, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import create_engine, insert, text

from directory import models as m
from directory import samples, store
from directory.db import alembic_config
from directory.store import Directory
from gin.cli import main


@pytest.fixture
def filled(db_url):
    d = Directory(db_url, actor="chain-test")
    with d.transaction() as s:
        samples.load_samples(s)
        agency = store.get_agency(s, "DOPA")
        store.update(s, agency, description="first")
        # the other way rows reach the log: objects added directly (the GSI responder does)
        s.add(m.Change(actor=d.actor, action="block", object_type="sensor_block",
                       object_key="203.0.113.9/32", after={"reason": "scan"}))
    with d.transaction() as s:
        store.update(s, store.get_agency(s, "DOPA"), description="second")
    yield d, db_url
    d.close()


def verdict(d):
    with d.transaction() as s:
        return store.verify_history(s)


def sql(url: str, statement: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_untouched_history_verifies(filled):
    d, _ = filled
    v = verdict(d)
    assert v.ok and v.problem is None
    with d.transaction() as s:
        entries = store.history(s, limit=100000)
    assert v.entries == len(entries) == v.head_seq
    assert sorted(c.seq for c in entries) == list(range(1, len(entries) + 1))
    assert any(c.action == "block" and c.hash for c in entries)


def test_an_altered_entry_is_named(filled):
    d, url = filled
    sql(url, "UPDATE change_log SET actor = 'someone-else' WHERE seq = 3")
    v = verdict(d)
    assert not v.ok and v.entry_seq == 3
    assert "#3" in v.problem and "altered" in v.problem


def test_altered_content_of_a_json_field_is_found(filled):
    d, url = filled
    with d.transaction() as s:
        [last] = store.history(s, object_type="agency", key="DOPA", limit=1)
    after = json.dumps({**last.after, "description": "rewritten"})
    sql(url, f"UPDATE change_log SET after = '{after}' WHERE id = {last.id}")
    v = verdict(d)
    assert not v.ok and v.entry_id == last.id and "altered" in v.problem


def test_a_removed_entry_is_named(filled):
    d, url = filled
    sql(url, "DELETE FROM change_log WHERE seq = 5")
    v = verdict(d)
    assert not v.ok and "#5..#5 are missing" in v.problem


def test_an_entry_slipped_in_by_hand_is_found(filled):
    d, url = filled
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(m.Change.__table__).values(
            time=m.utcnow(), actor="intruder", action="update", object_type="agency",
            object_key="MOF"))
    engine.dispose()
    v = verdict(d)
    assert not v.ok and "not sealed" in v.problem


def test_cli_verify_names_the_altered_entry(filled, capsys):
    d, url = filled
    assert main(["--db", url, "directory", "history", "--verify"]) == 0
    assert "change log intact" in capsys.readouterr().out
    sql(url, "UPDATE change_log SET object_key = 'MOF' WHERE seq = 2")
    assert main(["--db", url, "directory", "history", "--verify"]) == 1
    err = capsys.readouterr().err
    assert "verification failed" in err and "#2" in err


def test_history_written_before_the_chain_is_sealed_by_the_migration(sqlite_url):
    from alembic import command

    engine = create_engine(sqlite_url)
    cfg = alembic_config(sqlite_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text("INSERT INTO change_log (time, actor, action, object_type, "
                              "object_key, after) VALUES (:t, 'old', 'create', 'agency', :k, "
                              ":a)"), {"t": m.utcnow(), "k": f"A{i}",
                                       "a": json.dumps({"code": f"A{i}", "th": "กรม"})})
    engine.dispose()
    d = Directory(sqlite_url)  # opening migrates to the head
    v = verdict(d)
    assert v.ok and v.entries == 3
    with d.transaction() as s:
        store.add_agency(s, code="NEW", name_en="New")
    assert verdict(d).ok and verdict(d).entries == 4
    d.close()


def test_a_new_sqlite_directory_is_private(tmp_path):
    path = tmp_path / "private" / "directory.sqlite"
    Directory(str(path)).close()
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_actor_claim_never_replaces_the_os_user(sqlite_url, capsys):
    code = main(["--db", sqlite_url, "--actor", "auditor-impersonated", "directory", "agency",
                 "add", "XX", "--name-en", "X"])
    assert code == 0
    capsys.readouterr()
    main(["--db", sqlite_url, "directory", "history", "--json"])
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["actor"] == f"cli:{store.os_user()} as auditor-impersonated"

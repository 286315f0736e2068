"""Accounts and tokens through ``gin user`` (what an admin types) and ``directory.identity``:
argon2id hashes, tokens that expire, are revoked, or belong to a disabled user stop working,
read-only tokens lose every write permission, and the secret is never stored."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import select, update

from directory import identity
from directory import models as m
from directory.errors import Conflict, Invalid, NotFound
from directory.store import Directory
from gin.cli import main

PASSWORD = "a long enough password"


@pytest.fixture
def sqlite_url(sqlite_url):
    """An existing (empty) directory, so gin's "created a new one" notice stays out of stderr."""
    Directory(sqlite_url).engine.dispose()
    return sqlite_url


def run(capsys, monkeypatch, db: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["--db", db, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_first_admin_and_a_token_from_the_cli(sqlite_url, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, sqlite_url, "user", "add", "alice", "--role",
                       "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0, err
    code, out, err = run(capsys, monkeypatch, sqlite_url, "user", "token", "create", "alice",
                         "laptop", "--days", "7")
    assert code == 0 and "not shown again" in err
    secret = out.strip()
    assert identity.TOKEN_RE.fullmatch(secret)
    d = Directory(sqlite_url)
    with d.transaction() as s:
        user = identity.get_user(s, "alice")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        [token] = identity.list_tokens(s, "alice")
        assert secret.split("_", 2)[2] not in token.secret_hash  # the secret may hold "_"
        who = identity.authenticate_token(s, secret)
        assert who is not None and who.actor == "api:alice/token:laptop"
        assert "identity.admin" in who.grants[0][1]
        assert identity.authenticate_password(s, "alice", PASSWORD).user == "alice"
        assert identity.authenticate_password(s, "alice", PASSWORD + "x") is None
    d.close()
    code, out, _ = run(capsys, monkeypatch, sqlite_url, "user", "list", "--json")
    assert json.loads(out) == [{"name": "alice", "full_name": None, "source": "local",
                                "disabled": False, "password": True, "totp": False,
                                "grants": "admin@gin"}]
    code, out, _ = run(capsys, monkeypatch, sqlite_url, "directory", "history", "--json")
    assert secret not in out and PASSWORD not in out
    assert {e["type"] for e in json.loads(out)} == {"gin_user", "gin_grant", "gin_token"}
    assert all(e["actor"].startswith("cli:") for e in json.loads(out))
    code, _, _ = run(capsys, monkeypatch, sqlite_url, "user", "token", "revoke", "alice",
                     "laptop")
    assert code == 0
    d = Directory(sqlite_url)
    with d.transaction() as s:
        assert identity.authenticate_token(s, secret) is None
    d.close()


def test_bad_input_is_one_line_and_changes_nothing(sqlite_url, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, sqlite_url, "user", "add", "bob", "--password-stdin",
                       stdin="short\n")
    assert code == 1 and "password: must be 12" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, monkeypatch, sqlite_url, "user", "add", "Bob Smith",
                       "--no-password")
    assert code == 1 and "not a valid name" in err
    code, _, err = run(capsys, monkeypatch, sqlite_url, "user", "add", "bob", "--no-password",
                       "--role", "wizard")
    assert code == 1 and "role 'wizard' not found" in err and "viewer" in err
    code, out, _ = run(capsys, monkeypatch, sqlite_url, "user", "list", "--json")
    assert json.loads(out) == []


def test_token_states_scopes_and_read_only(db_url):
    d = Directory(db_url)
    with d.transaction() as s:
        from directory import samples

        samples.load_samples(s)
        identity.add_user(s, "eve", None)
        identity.grant(s, "eve", "engineer", "ministry", "MOI")
        with pytest.raises(Conflict):
            identity.grant(s, "eve", "engineer", "ministry", "MOI")
        with pytest.raises(Invalid):
            identity.grant(s, "eve", "viewer", "agency")
        with pytest.raises(NotFound):
            identity.grant(s, "eve", "viewer", "agency", "NOPE")
        _, full = identity.create_token(s, "eve", "full")
        _, ro = identity.create_token(s, "eve", "ro", read_only=True)
        _, old = identity.create_token(s, "eve", "old", days=1)
        s.execute(update(m.ApiToken).where(m.ApiToken.name == "old")
                  .values(expires_at=m.utcnow() - dt.timedelta(seconds=1)))
    with d.transaction() as s:
        who = identity.authenticate_token(s, full)
        assert who.grants[0][0] == "ministry" and "directory.write" in who.grants[0][1]
        ro_who = identity.authenticate_token(s, ro)
        assert ro_who.read_only and ro_who.grants[0][1] == \
            who.grants[0][1] & identity.READ_PERMISSIONS
        assert "directory.write" not in ro_who.grants[0][1]
        assert identity.authenticate_token(s, old) is None
        assert identity.authenticate_token(s, full[:-1] + ("A" if full[-1] != "A" else "B")) \
            is None
        identity.set_disabled(s, "eve", True)
    with d.transaction() as s:
        assert identity.authenticate_token(s, full) is None
        states = {t.name: identity.token_state(t) for t in identity.list_tokens(s, "eve")}
        assert states == {"full": "revoked", "old": "revoked", "ro": "revoked"}
        hashes = list(s.scalars(select(m.ApiToken.secret_hash)))
        assert all(len(h) == 64 for h in hashes) and full.split("_")[2] not in hashes
    d.close()

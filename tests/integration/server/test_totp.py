"""A second factor for an admin, as they would use it: ``gin user totp enable`` prints the
otpauth URI once (the secret is stored only sealed), logging in then needs the current code
(computed here from that URI, as the phone would), a code is good once, API tokens are not
affected, and failed codes count toward the login throttling."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pyotp
import pytest
from sqlalchemy import create_engine, text

from directory import identity
from tests.integration.server.conftest import PASSWORD


def gin(db: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gin.cli", "--db", db, *args],
                          capture_output=True, text=True, env=os.environ.copy())


@pytest.fixture
def svc(sqlite_url, serve, monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"t" * 32).decode())
    return serve(sqlite_url)


def enable(svc) -> pyotp.TOTP:
    done = gin(svc.db_url, "user", "totp", "enable", "admin")
    assert done.returncode == 0, done.stderr
    uri = done.stdout.strip()
    assert uri.startswith("otpauth://totp/") and "not shown again" in done.stderr
    totp = pyotp.parse_uri(uri)
    engine = create_engine(svc.db_url)
    with engine.connect() as conn:
        stored = conn.scalar(text("SELECT totp_sealed FROM gin_user WHERE name = 'admin'"))
        logged = " ".join(str(row) for row in conn.execute(text("SELECT * FROM change_log")))
    engine.dispose()
    assert stored.startswith("sealed:v1:") and totp.secret not in stored
    assert totp.secret not in logged
    return totp


def login(client, code: str | None = None):
    body = {"user": "admin", "password": PASSWORD, **({"totp": code} if code else {})}
    return client.post("/auth/login", json=body)


def test_admin_logs_in_with_password_and_code(svc):
    totp = enable(svc)
    anonymous = svc.client()
    missing = login(anonymous)
    assert missing.status_code == 401 and "one-time code missing" in missing.json()["detail"]
    wrong = login(anonymous, f"{(int(totp.now()) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 401 and "wrong one-time code" in wrong.json()["detail"]
    code = totp.now()
    ok = login(anonymous, code)
    assert ok.status_code == 200, ok.text
    assert svc.client(token=ok.json()["token"]).get("/me").json()["user"] == "admin"
    assert login(anonymous, code).status_code == 401  # the same code is not good twice
    # API tokens are not affected by the second factor
    assert svc.client("admin").get("/me").status_code == 200
    # nor are accounts without one
    viewer = anonymous.post("/auth/login", json={"user": "viewer", "password": PASSWORD})
    assert viewer.status_code == 200
    assert "already has a one-time code" in gin(svc.db_url, "user", "totp", "enable",
                                                 "admin").stderr
    assert totp.secret not in svc.log.read_text()
    listed = json.loads(gin(svc.db_url, "user", "list", "--json").stdout)
    assert {u["name"]: u["totp"] for u in listed if u["name"] in ("admin", "viewer")} == {
        "admin": True, "viewer": False}  # the review of access rights shows who has it
    # disabled again: the password alone suffices
    assert gin(svc.db_url, "user", "totp", "disable", "admin").returncode == 0
    assert login(anonymous).status_code == 200


def test_failed_codes_count_toward_throttling(svc):
    totp = enable(svc)
    anonymous = svc.client()
    for _ in range(identity.FREE_FAILURES_USER):
        assert login(anonymous, "000000" if totp.now() != "000000" else "111111"
                     ).status_code == 401
    throttled = login(anonymous, totp.now())
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def test_without_the_sealing_key_enable_says_so_and_changes_nothing(sqlite_url, serve,
                                                                    monkeypatch, tmp_path):
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY_FILE", str(tmp_path / "absent.key"))
    svc = serve(sqlite_url)
    done = gin(svc.db_url, "user", "totp", "enable", "admin")
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "absent.key" in done.stderr
    assert login(svc.client()).status_code == 200  # still no second factor


def test_the_console_login_form_takes_the_code(svc):
    totp = enable(svc)
    with svc.client() as client:
        base = str(client.base_url).split("/api/v1")[0]
        page = client.get(f"{base}/ui/login")
        assert page.status_code == 200 and 'name="totp"' in page.text
        csrf = client.cookies["gin_login"]
        form = {"csrf": csrf, "user": "admin", "password": PASSWORD}
        refused = client.post(f"{base}/ui/login", data=form)
        assert refused.status_code == 200 and "gin_session" not in client.cookies
        answer = client.post(f"{base}/ui/login", data={**form, "totp": totp.now()})
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/", answer.text
        assert client.cookies.get("gin_session")

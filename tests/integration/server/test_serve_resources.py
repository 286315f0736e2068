"""The resources over real HTTP: agencies (filter, stable pages, ETag conflicts), whois,
prefix allocation and release, the change log (its actor is the authenticated principal, and
tampering is reported), logging in, revoked tokens, and text stored inert."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from directory import identity
from directory import models as m
from directory.store import local_actor
from gin.server.auth import CACHE_SECONDS
from tests.integration.server.conftest import PASSWORD


@pytest.fixture
def svc(sqlite_url, serve):
    return serve(sqlite_url)


def pages(client, **params) -> list[str]:
    codes, cursor = [], None
    while True:
        query = {**params, **({"after": cursor} if cursor else {})}
        answer = client.get("/agencies", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        codes += [a["code"] for a in body["items"]]
        cursor = body["next"]
        if cursor is None:
            return codes


def test_agency_pages_are_complete_and_filtered_by_scope(svc):
    every = pages(svc.client("viewer"), limit=1000)
    assert every == sorted(every) and len(every) == 64
    assert pages(svc.client("viewer"), limit=7) == every  # no duplicate, none left out
    moi = pages(svc.client("eng_moi"), limit=5)
    assert "MOI" in moi and "DOPA" in moi and "MOF" not in moi
    assert pages(svc.client("eng_dopa")) == ["DOPA"]
    assert pages(svc.client("viewer"), q="กรมการปกครอง") == ["DOPA"]  # Thai name search
    departments = pages(svc.client("viewer"), parent="MOI", kind="department")
    assert "DOPA" in departments and "PWA" not in departments  # PWA: a state enterprise
    assert set(departments) < set(moi)
    assert svc.client("eng_dopa").get("/agencies/MOF").status_code == 403
    assert svc.client("viewer").get("/agencies/NOPE").status_code == 404
    bad = svc.client("viewer").get("/agencies", params={"kind": "'; DROP TABLE agency;--"})
    assert bad.status_code == 422 and "kind" in bad.json()["detail"]


def test_two_engineers_editing_one_agency_get_a_conflict(svc):
    a, b = svc.client("eng_moi"), svc.client("eng_dopa")
    tag = a.get("/agencies/DOPA").headers["ETag"]
    assert b.get("/agencies/DOPA").headers["ETag"] == tag
    first = a.patch("/agencies/DOPA", json={"description": "from a"}, headers={"If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] != tag
    second = b.patch("/agencies/DOPA", json={"description": "from b"}, headers={"If-Match": tag})
    assert second.status_code == 412 and "changed since it was read" in second.json()["detail"]
    assert b.get("/agencies/DOPA").json()["description"] == "from a"
    assert b.patch("/agencies/DOPA", json={"description": "x"}).status_code == 428
    unknown = b.patch("/agencies/DOPA", json={"colour": "red"},
                      headers={"If-Match": first.headers["ETag"]})
    assert unknown.status_code == 422


def test_thai_name_with_script_round_trips_as_text(svc):
    admin = svc.client("admin")
    name = "กรมการปกครอง <script>alert(1)</script>"
    tag = admin.get("/agencies/DOPA").headers["ETag"]
    changed = admin.patch("/agencies/DOPA", json={"name_th": name}, headers={"If-Match": tag})
    assert changed.status_code == 200
    shown = admin.get("/agencies/DOPA")
    assert shown.json()["name_th"] == name
    assert shown.headers["content-type"].startswith("application/json")
    assert shown.headers["x-content-type-options"] == "nosniff"


def test_allocate_whois_release_and_the_change_log_names_the_principal(svc):
    eng = svc.client("eng_dopa")
    made = eng.post("/prefixes/allocate", json={"agency": "DOPA", "length": 64, "count": 2})
    assert made.status_code == 201, made.text
    cidrs = [p["prefix"] for p in made.json()["items"]]
    assert len(set(cidrs)) == 2
    who = eng.get(f"/whois/{cidrs[0].split('/')[0]}5")
    assert who.status_code == 200 and who.json()["agency"]["code"] == "DOPA"
    assert who.json()["prefix"] == cidrs[0]
    assert svc.client("eng_mof").get(f"/whois/{cidrs[0].split('/')[0]}5").status_code == 403
    refused = svc.client("eng_mof").post("/prefixes/allocate",
                                         json={"agency": "DOPA", "length": 64})
    assert refused.status_code == 403
    assert eng.post("/prefixes/release", json={"prefix": cidrs[1]}).json() == \
        {"released": cidrs[1]}
    log = svc.client("auditor").get("/changes", params={"type": "prefix", "limit": 5}).json()
    actors = {(c["action"], c["key"]): c["actor"] for c in log["items"]}
    assert actors[("delete", cidrs[1])] == "api:eng_dopa/token:test"
    assert actors[("create", cidrs[0])] == "api:eng_dopa/token:test"
    again = svc.client("auditor").get("/changes", params={"before": log["next"], "limit": 5})
    assert again.status_code == 200 and all(c["id"] < log["next"] for c in again.json()["items"])


def test_tampering_is_reported_by_the_api(svc):
    auditor = svc.client("auditor")
    assert auditor.get("/changes/verify").json()["ok"] is True
    engine = create_engine(svc.db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE change_log SET actor = 'nobody-saw' WHERE seq = 7"))
    engine.dispose()
    verdict = auditor.get("/changes/verify").json()
    assert verdict["ok"] is False and verdict["entry_seq"] == 7 and "#7" in verdict["problem"]
    assert svc.client("eng_moi").get("/changes/verify").status_code == 403  # not GIN-wide


def test_login_tokens_and_revocation(svc):
    anon = svc.client()
    wrong = anon.post("/auth/login", json={"user": "viewer", "password": "not it at all"})
    assert wrong.status_code == 401
    assert anon.post("/auth/login", json={"user": "ghost", "password": PASSWORD}
                     ).status_code == 401
    ok = anon.post("/auth/login", json={"user": "viewer", "password": PASSWORD})
    assert ok.status_code == 200
    secret = ok.json()["token"]
    svc.tokens["viewer:login"] = secret  # the log must not contain it either
    me = svc.client(token=secret).get("/me").json()
    assert me["user"] == "viewer" and me["token"].startswith("login-")
    d = svc.directory()
    with d.transaction() as s:
        identity.revoke_token(s, "viewer", me["token"])
        [entry] = [c for c in s.query(m.Change).filter_by(object_type="gin_token")
                   .order_by(m.Change.id.desc()).limit(1)]
    d.close()
    assert entry.actor == local_actor("test-setup") and entry.action == "update"
    # revoked from another process: the server believes its cached check for at most
    # CACHE_SECONDS more (wait for the state; the bound is for a wedged server only)
    deadline = time.monotonic() + CACHE_SECONDS + 60
    while svc.client(token=secret).get("/me").status_code == 200:
        assert time.monotonic() < deadline, "a revoked token kept working"
        time.sleep(0.5)
    assert svc.client(token=secret).get("/me").status_code == 401
    review = svc.client("auditor").get("/users").json()["items"]
    viewer = next(u for u in review if u["name"] == "viewer")
    assert viewer["grants"] == [{"role": "viewer", "scope": "gin", "agency": None}]
    assert {t["name"]: t["state"] for t in viewer["tokens"]}[me["token"]] == "revoked"
    assert secret not in str(review) and "hash" not in str(review)
    ro = svc.client("admin:ro")
    assert ro.get("/me").json()["read_only"] is True
    tag = ro.get("/agencies/DOPA").headers["ETag"]
    assert ro.patch("/agencies/DOPA", json={"description": "x"},
                    headers={"If-Match": tag}).status_code == 403


def metric(text: str, name: str, label: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{{label}}}"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{label}}} not exported")


def test_repeated_failures_slow_logins_down_and_are_counted(svc):
    anon = svc.client()
    for _ in range(5):
        wrong = anon.post("/auth/login", json={"user": "viewer", "password": "guess " * 3})
        assert wrong.status_code == 401
    slowed = anon.post("/auth/login", json={"user": "viewer", "password": PASSWORD})
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) > 0
    assert "too many failed logins" in slowed.json()["detail"]
    other = anon.post("/auth/login", json={"user": "auditor", "password": PASSWORD})
    assert other.status_code == 200  # one account's failures do not lock out the address
    svc.tokens["auditor:login"] = other.json()["token"]
    assert svc.client().get("/agencies").status_code == 401
    assert svc.client("nobody").get("/agencies").status_code == 403
    scraped = svc.client("soc").get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert metric(text, "gin_api_logins_total", 'result="failure"') == 5
    assert metric(text, "gin_api_logins_total", 'result="throttled"') == 1
    assert metric(text, "gin_api_logins_total", 'result="success"') == 1
    assert metric(text, "gin_api_refusals_total", 'status="401"') >= 6
    assert metric(text, "gin_api_refusals_total", 'status="403"') >= 1
    assert metric(text, "gin_api_token_authentications_total", 'result="accepted"') >= 2
    log = svc.log.read_text()
    assert "failed login for 'viewer' from 127.0.0.1" in log and "login throttled" in log


def test_oversized_deep_and_odd_bodies_are_refused_and_change_nothing(svc):
    admin = svc.client("admin")
    before = admin.get("/changes/verify").json()["entries"]
    big = admin.post("/prefixes/allocate", content=b'{"agency": "' + b"A" * (2 << 20) + b'"}',
                     headers={"content-type": "application/json"})
    assert big.status_code == 413 and "larger than" in big.json()["detail"]

    def chunks():
        for _ in range(40):
            yield b" " * 65536
    streamed = admin.post("/prefixes/allocate", content=chunks(),
                          headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    deep = admin.post("/prefixes/allocate", content=b"[" * 100000 + b"]" * 100000,
                      headers={"content-type": "application/json"})
    assert deep.status_code == 400  # FastAPI: "There was an error parsing the body"
    for odd in ({"agency": "DOPA'; DROP TABLE agency;--", "length": 64},
                {"agency": "DOPA", "length": 64, "extra": 1},
                {"agency": "DOPA", "length": "sixty-four"}):
        answer = admin.post("/prefixes/allocate", json=odd)
        assert answer.status_code in (404, 422), (odd, answer.text)
    assert admin.get("/changes/verify").json()["entries"] == before
    assert admin.get("/health").status_code == 200

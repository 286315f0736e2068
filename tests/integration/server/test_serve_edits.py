"""Editing sites, devices, services and contacts over real HTTP to a real ``gin serve``
(SQLite and PostgreSQL) without lost updates: every GET sends a strong ETag, every PATCH needs
it back in If-Match (428 without, 412 once someone else changed the object), only engineers
over the object's agency may change it, text is stored as text, and the change log names the
token's user.  The CLI, reading the same directory, sees what the API wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

HOSTILE = "สำนักงาน <script>alert('x')</script> & \"ทดสอบ\""


@dataclass(frozen=True)
class Kind:
    """One editable kind of object: where it lives, a text field to change, and the CLI line
    that shows it."""

    name: str
    path: Callable[[httpx.Client], str]
    field: str
    cli: Callable[[str], list[str]]


def _new_service(admin: httpx.Client) -> str:
    made = admin.post("/agencies/DOPA/services",
                      json={"name": "www", "url": "https://www.dopa.go.th/",
                            "hosts": ["dopa.go.th"]})
    assert made.status_code == 201, made.text
    return "/agencies/DOPA/services/www"


def _new_contact(admin: httpx.Client) -> str:
    made = admin.post("/agencies/DOPA/contacts", json={"name": "สมชาย ใจดี", "role": "NOC"})
    assert made.status_code == 201, made.text
    return f"/agencies/DOPA/contacts/{made.json()['id']}"


KINDS = [
    Kind("site", lambda a: "/agencies/DOPA/sites/HQ", "name",
         lambda p: ["directory", "site", "show", "DOPA", "HQ", "--json"]),
    Kind("device", lambda a: "/devices/dopa-pe1", "snmp_profile",
         lambda p: ["directory", "device", "show", "dopa-pe1", "--json"]),
    Kind("service", _new_service, "description",
         lambda p: ["directory", "service", "list", "--agency", "DOPA", "--json"]),
    Kind("contact", _new_contact, "name",
         lambda p: ["directory", "contact", "list", "--agency", "DOPA", "--json"]),
]


def gin(db_url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "gin.cli", *args], capture_output=True,
                          text=True, env={**os.environ, "GIN_DB": db_url}, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def svc(db_url, serve):
    return serve(db_url)


def test_two_engineers_editing_one_object_get_412_not_a_lost_update(svc):
    admin, a, b = svc.client("admin"), svc.client("eng_moi"), svc.client("eng_dopa")
    auditor, outsider = svc.client("auditor"), svc.client("eng_mof")
    for kind in KINDS:
        path = kind.path(admin)
        read_a, read_b = a.get(path), b.get(path)
        assert read_a.status_code == 200, (kind.name, read_a.text)
        tag = read_a.headers["ETag"]
        assert tag.startswith('"') and read_b.headers["ETag"] == tag, kind.name

        first = a.patch(path, json={kind.field: f"from a {kind.name}"}, headers={"If-Match": tag})
        assert first.status_code == 200, (kind.name, first.text)
        assert first.json()[kind.field] == f"from a {kind.name}"
        assert first.headers["ETag"] != tag and first.headers["ETag"] == a.get(path).headers["ETag"]

        second = b.patch(path, json={kind.field: "from b"}, headers={"If-Match": tag})
        assert second.status_code == 412, (kind.name, second.status_code, second.text)
        assert "changed since it was read" in second.json()["detail"]
        assert b.get(path).json()[kind.field] == f"from a {kind.name}", kind.name

        blind = b.patch(path, json={kind.field: "blind"})
        assert blind.status_code == 428 and "If-Match is required" in blind.json()["detail"]
        star = b.patch(path, json={kind.field: "star"}, headers={"If-Match": "*"})
        assert star.status_code == 412, kind.name
        fresh = first.headers["ETag"]
        refused = outsider.patch(path, json={kind.field: "from mof"}, headers={"If-Match": fresh})
        assert refused.status_code == 403 and "directory.write" in refused.json()["detail"]
        assert svc.client("viewer").patch(path, json={kind.field: "viewer"},
                                          headers={"If-Match": fresh}).status_code == 403
        assert svc.client("admin:ro").patch(path, json={kind.field: "ro"},
                                            headers={"If-Match": fresh}).status_code == 403
        unknown = b.patch(path, json={"agency_id": 1}, headers={"If-Match": fresh})
        assert unknown.status_code == 422, kind.name
        huge = b.patch(path, json={kind.field: "x" * 5000}, headers={"If-Match": fresh})
        assert huge.status_code == 422, kind.name
        assert b.get(path).headers["ETag"] == fresh, f"{kind.name}: a refusal changed it"

        # a Thai value holding markup is text, both over the API and in the CLI
        thai = b.patch(path, json={kind.field: HOSTILE}, headers={"If-Match": fresh})
        assert thai.status_code == 200, (kind.name, thai.text)
        shown = b.get(path)
        assert shown.json()[kind.field] == HOSTILE
        assert shown.headers["content-type"].startswith("application/json")
        assert shown.headers["x-content-type-options"] == "nosniff"
        cli = json.loads(gin(svc.db_url, *kind.cli(path)))
        assert HOSTILE in [row[kind.field] for row in (cli if isinstance(cli, list) else [cli])]

        # the change log names the token's user of each change, newest first
        log = auditor.get("/changes", params={"type": kind.name, "limit": 2}).json()["items"]
        assert [(e["action"], e["actor"]) for e in log] == [
            ("update", "api:eng_dopa/token:test"), ("update", "api:eng_moi/token:test")], log
        assert log[1]["after"][kind.field] == f"from a {kind.name}"
    assert auditor.get("/changes/verify").json()["ok"] is True


def test_service_changes_keep_the_stores_rules(svc):
    eng = svc.client("eng_dopa")
    path = _new_service(eng)
    assert eng.post("/agencies/DOPA/services",
                    json={"name": "mail", "url": "https://mail.dopa.go.th/"}).status_code == 201

    def patch(body: dict) -> httpx.Response:
        return eng.patch(path, json=body, headers={"If-Match": eng.get(path).headers["ETag"]})

    before = eng.get(path).json()
    for body, status, words in [
        ({"url": "https://admin:secret@www.dopa.go.th/"}, 422, "user name or password"),
        ({"url": "ftp://www.dopa.go.th/"}, 422, "must start with http"),
        ({"hosts": ["ok.dopa.go.th", "not a host"]}, 422, "not a valid DNS name"),
        ({"hosts": [f"h{n}.dopa.go.th" for n in range(40)]}, 422, "hosts"),
        ({"name": "mail", "description": "lost"}, 409, "service DOPA/mail already exists"),
        ({"name": "bad name"}, 422, "not a valid name"),
        ({"url": None}, 422, "url: must not be empty"),
    ]:
        answer = patch(body)
        assert answer.status_code == status, (body, answer.text)
        assert words in json.dumps(answer.json()["detail"]), (body, answer.text)
        assert "secret" not in answer.text
    assert eng.get(path).json() == before
    moved = patch({"url": "https://E.dopa.go.th/th", "name": "eservice"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["hosts"] == ["e.dopa.go.th", "dopa.go.th"]
    assert eng.get(path).status_code == 404
    again = eng.get("/agencies/DOPA/services/eservice")
    assert again.headers["ETag"] == moved.headers["ETag"]


def test_site_and_device_changes_keep_the_stores_rules(svc):
    eng = svc.client("eng_dopa")

    def patch(path: str, body: dict) -> httpx.Response:
        return eng.patch(path, json=body, headers={"If-Match": eng.get(path).headers["ETag"]})

    assert patch("/devices/dopa-pe1", {"platform": "no-such-os"}).status_code == 422
    assert patch("/devices/dopa-pe1", {"mgmt_address": "not-an-ip"}).status_code == 422
    assert patch("/devices/dopa-pe1", {"mgmt_port": 70000}).status_code == 422
    assert patch("/devices/dopa-pe1", {"hostname": "x"}).status_code == 422  # no renames
    moved = patch("/devices/dopa-pe1", {"mgmt_address": "2001:DB8:FFFF::0:12", "mgmt_port": 2222})
    assert moved.status_code == 200, moved.text
    assert moved.json()["mgmt_address"] == "2001:db8:ffff::12"
    assert moved.json()["interfaces"] == eng.get("/devices/dopa-pe1").json()["interfaces"]
    assert patch("/agencies/DOPA/sites/HQ", {"latitude": 91}).status_code == 422
    assert patch("/agencies/DOPA/sites/HQ", {"code": "HQ2"}).status_code == 422
    placed = patch("/agencies/DOPA/sites/HQ", {"latitude": 13.75, "longitude": 100.5})
    assert placed.status_code == 200 and placed.json()["latitude"] == 13.75
    assert eng.get("/agencies/DOPA/sites/NOPE").status_code == 404
    assert eng.patch("/devices/no-such", json={}, headers={"If-Match": '"x"'}).status_code == 404


def test_many_engineers_sending_one_etag_at_once_only_one_wins(svc):
    """Concurrent PATCHes carrying the same ETag: the row lock (PostgreSQL) or the immediate
    write transaction (SQLite) lets exactly one through; every other one is told 412."""
    from concurrent.futures import ThreadPoolExecutor

    admin = svc.client("admin")
    people = ["admin", "eng_moi", "eng_dopa"] * 3
    for path, field in (("/devices/dopa-pe1", "snmp_profile"),
                        (_new_contact(admin), "role")):
        tag = admin.get(path).headers["ETag"]

        def send(n: int, path: str = path, field: str = field, tag: str = tag) -> tuple:
            with svc.client(people[n]) as client:
                answer = client.patch(path, json={field: f"writer {n}"},
                                      headers={"If-Match": tag})
                return answer.status_code, answer.headers.get("ETag")

        with ThreadPoolExecutor(len(people)) as pool:
            answers = list(pool.map(send, range(len(people))))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [412] * (len(people) - 1), (path, answers)
        [(winner, winning_tag)] = [(n, t) for n, (st, t) in enumerate(answers) if st == 200]
        now = admin.get(path)
        assert now.json()[field] == f"writer {winner}" and now.headers["ETag"] == winning_tag

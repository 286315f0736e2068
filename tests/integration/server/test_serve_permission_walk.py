"""Every route of the app, every kind of caller, over real HTTP to a real ``gin serve`` on
PostgreSQL: no route lacks a declared permission; anonymous callers, callers whose roles lack
the permission, callers whose grant covers another agency or ministry, and read-only tokens on
writes are all refused; the callers who hold the grant get through."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import select

from directory import models as m
from directory.identity import PERMISSIONS
from gin.server.app import create_app
from gin.server.permissions import Need, declared, walk
from tests.integration.server.conftest import PASSWORD, PEOPLE, add_tunnel

#: GSI blocks are recorded only: enforcement on a gateway and routers is tested on its own.
NO_ENFORCEMENT = ("--no-gsi-gateway", "--gsi-routers-via", "none")
Request = tuple[str, str, dict[str, Any] | str | None, dict[str, str]]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PLANS = itertools.count(1)
#: For each route: how to build a request that the right caller may make (given the admin's
#: client to prepare it), and the agency it acts on (None: not one agency).
EXAMPLES: dict[tuple[str, str], tuple[Callable[[httpx.Client], Request], str | None]] = {
    ("GET", "/api/v1/health"): (lambda a: ("GET", "/health", None, {}), None),
    ("GET", "/api/v1/me"): (lambda a: ("GET", "/me", None, {}), None),
    ("POST", "/api/v1/auth/login"): (
        lambda a: ("POST", "/auth/login", {"user": "viewer", "password": PASSWORD}, {}), None),
    ("GET", "/api/v1/openapi.json"): (lambda a: ("GET", "/openapi.json", None, {}), None),
    ("GET", "/api/v1/agencies"): (lambda a: ("GET", "/agencies?limit=5", None, {}), None),
    ("GET", "/api/v1/agencies/{code}"): (lambda a: ("GET", "/agencies/DOPA", None, {}), "DOPA"),
    ("PATCH", "/api/v1/agencies/{code}"): (
        lambda a: ("PATCH", "/agencies/DOPA", {"description": "walked"},
                   {"If-Match": a.get("/agencies/DOPA").headers["ETag"]}), "DOPA"),
    ("GET", "/api/v1/whois/{query:path}"): (lambda a: ("GET", f"/whois/{_dopa_net(a)}1",
                                                       None, {}), "DOPA"),
    ("POST", "/api/v1/prefixes/allocate"): (
        lambda a: ("POST", "/prefixes/allocate", {"agency": "DOPA", "length": 64}, {}), "DOPA"),
    ("POST", "/api/v1/prefixes/release"): (
        lambda a: ("POST", "/prefixes/release", {"prefix": _fresh_dopa_64(a)}, {}), "DOPA"),
    ("GET", "/api/v1/changes"): (lambda a: ("GET", "/changes?limit=3", None, {}), None),
    ("GET", "/api/v1/changes/verify"): (lambda a: ("GET", "/changes/verify", None, {}), None),
    ("GET", "/api/v1/metrics"): (lambda a: ("GET", "/metrics", None, {}), None),
    ("GET", "/api/v1/users"): (lambda a: ("GET", "/users", None, {}), None),
    # The console's pages (bearer tokens work there too; browsers use the session cookie).
    ("GET", "/ui/static/{name}"): (lambda a: ("GET", _ui(a, "static/console.css"), None, {}),
                                   None),
    ("GET", "/ui/lang/{lang}"): (lambda a: ("GET", _ui(a, "lang/th"), None, {}), None),
    ("GET", "/ui/login"): (lambda a: ("GET", _ui(a, "login"), None, {}), None),
    ("POST", "/ui/login"): (
        lambda a: ("POST", _ui(a, "login"), urlencode({"csrf": "walk", "user": "viewer",
                                                       "password": PASSWORD}),
                   {**FORM, "Cookie": "gin_login=walk"}), None),
    ("POST", "/ui/logout"): (lambda a: ("POST", _ui(a, "logout"), "", FORM), None),
    ("GET", "/ui/"): (lambda a: ("GET", _ui(a, "?q=DOPA"), None, {}), None),
    ("GET", "/ui/agency/{code}"): (lambda a: ("GET", _ui(a, "agency/DOPA"), None, {}), "DOPA"),
    ("POST", "/ui/agency/{code}/description"): (
        lambda a: ("POST", _ui(a, "agency/DOPA/description"),
                   urlencode({"description": "walked"}), FORM), "DOPA"),
    ("GET", "/ui/soc"): (lambda a: ("GET", _ui(a, "soc"), None, {}), None),
    ("POST", "/ui/soc/block"): (
        lambda a: ("POST", _ui(a, "soc/block"),
                   urlencode({"source": "198.51.100.8", "ttl": 600, "reason": "walked"}), FORM),
        None),
    ("POST", "/ui/soc/lift"): (
        lambda a: ("POST", _ui(a, "soc/lift"),
                   urlencode({"source": _fresh_block(a), "reason": "walked"}), FORM), None),
    ("GET", "/ui/map"): (lambda a: ("GET", _ui(a, "map"), None, {}), None),
    ("GET", "/ui/agency/{code}/live"): (lambda a: ("GET", _ui(a, "agency/DOPA/live"), None, {}),
                                        "DOPA"),
    # The auditor's and the engineer's pages (a stored run: add_audit_run).
    ("GET", "/ui/audit"): (lambda a: ("GET", _ui(a, "audit"), None, {}), None),
    ("GET", "/ui/audit/agency/{code}"): (lambda a: ("GET", _ui(a, "audit/agency/DOPA"), None,
                                                    {}), "DOPA"),
    ("GET", "/ui/audit/agency/{code}/finding/{finding_id}"): (
        lambda a: ("GET", _ui(a, "audit/agency/DOPA/finding/1"), None, {}), "DOPA"),
    ("GET", "/ui/audit/run/{run_id}/download/{fmt}"): (
        lambda a: ("GET", _ui(a, "audit/run/1/download/csv"), None, {}), None),
    ("GET", "/ui/engineer"): (lambda a: ("GET", _ui(a, "engineer"), None, {}), None),
    ("GET", "/ui/engineer/{code}"): (lambda a: ("GET", _ui(a, "engineer/DOPA"), None, {}),
                                     "DOPA"),
    ("POST", "/ui/engineer/{code}/plan"): (
        lambda a: ("POST", _ui(a, "engineer/DOPA/plan"), _fresh_plan(), FORM), "DOPA"),
    ("GET", "/ui/engineer/{code}/link/{name}"): (
        lambda a: ("GET", _ui(a, "engineer/DOPA/link/dopa-hq"), None, {}), "DOPA"),
    ("POST", "/ui/engineer/{code}/link/{name}/provision"): (
        lambda a: ("POST", _ui(a, "engineer/DOPA/link/dopa-hq/provision"), "", FORM), "DOPA"),
    ("GET", "/ui/jobs/{job_id}"): (lambda a: ("GET", _ui(a, f"jobs/{_dopa_job(a)}"), None, {}),
                                   "DOPA"),
    ("GET", "/api/v1/sites"): (lambda a: ("GET", "/sites?limit=5", None, {}), None),
    ("GET", "/api/v1/agencies/{code}/sites/{site}"): (
        lambda a: ("GET", "/agencies/DOPA/sites/HQ", None, {}), "DOPA"),
    ("GET", "/api/v1/devices"): (lambda a: ("GET", "/devices?role=pe", None, {}), None),
    ("GET", "/api/v1/devices/{hostname}"): (
        lambda a: ("GET", "/devices/dopa-pe1", None, {}), "DOPA"),
    ("GET", "/api/v1/links"): (lambda a: ("GET", "/links?agency=DOPA", None, {}), None),
    ("GET", "/api/v1/links/{name}"): (lambda a: ("GET", "/links/dopa-hq", None, {}), "DOPA"),
    ("GET", "/api/v1/links/{name}/config"): (
        lambda a: ("GET", "/links/dopa-hq/config", None, {}), "DOPA"),
    ("GET", "/api/v1/tunnels"): (lambda a: ("GET", "/tunnels", None, {}), None),
    ("GET", "/api/v1/tunnels/{name}"): (lambda a: ("GET", "/tunnels/dopa-moph", None, {}),
                                        "DOPA"),
    ("GET", "/api/v1/gsi/blocks"): (lambda a: ("GET", "/gsi/blocks", None, {}), None),
    ("POST", "/api/v1/gsi/blocks"): (
        lambda a: ("POST", "/gsi/blocks", {"source": "198.51.100.7", "ttl": 600}, {}), None),
    ("DELETE", "/api/v1/gsi/blocks/{source:path}"): (
        lambda a: ("DELETE", f"/gsi/blocks/{_fresh_block(a)}", None, {}), None),
    # Planning and creating record intent; provisioning, deploying, backups, audits and web
    # scans are jobs (queued here: the walk runs no worker).  A tunnel needs the permission
    # over both ends' agencies: no scoped caller covers DOPA and MOPH.
    ("POST", "/api/v1/links"): (lambda a: ("POST", "/links", _new_link(), {}), "DOPA"),
    ("POST", "/api/v1/links/{name}/provision"): (
        lambda a: ("POST", "/links/dopa-hq/provision", {"ping": False}, {}), "DOPA"),
    ("POST", "/api/v1/tunnels"): (lambda a: ("POST", "/tunnels", _new_tunnel(), {}),
                                  "DOPA+MOPH"),
    ("POST", "/api/v1/tunnels/{name}/deploy"): (
        lambda a: ("POST", "/tunnels/dopa-moph/deploy", {}, {}), "DOPA+MOPH"),
    ("GET", "/api/v1/jobs"): (lambda a: ("GET", "/jobs?limit=5", None, {}), None),
    ("GET", "/api/v1/jobs/{job_id}"): (lambda a: ("GET", f"/jobs/{_dopa_job(a)}", None, {}),
                                       "DOPA"),
    ("POST", "/api/v1/backups"): (
        lambda a: ("POST", "/backups", {"devices": ["dopa-pe1"]}, {}), "DOPA"),
    ("POST", "/api/v1/audit/runs"): (
        lambda a: ("POST", "/audit/runs", {"agency": "DOPA"}, {}), "DOPA"),
    ("POST", "/api/v1/audit/web"): (lambda a: ("POST", "/audit/web", {"agency": "DOPA"}, {}),
                                    "DOPA"),
    ("GET", "/api/v1/audit/runs"): (lambda a: ("GET", "/audit/runs?limit=5", None, {}), None),
    ("GET", "/api/v1/audit/runs/{run_id}/report"): (
        lambda a: ("GET", f"/audit/runs/{_dopa_run(a)}/report?format=csv", None, {}), "DOPA"),
    # Interfaces, public services and contacts, monitoring targets, sensor events, and a
    # tunnel's rendered configuration and live state.
    ("GET", "/api/v1/interfaces"): (lambda a: ("GET", "/interfaces?limit=5", None, {}), None),
    ("GET", "/api/v1/devices/{hostname}/interfaces/{ifname:path}"): (
        lambda a: ("GET", "/devices/dopa-pe1/interfaces/eth1", None, {}), "DOPA"),
    ("GET", "/api/v1/services"): (lambda a: ("GET", "/services?agency=DOPA", None, {}), None),
    ("GET", "/api/v1/agencies/{code}/services/{name}"): (
        lambda a: ("GET", f"/agencies/DOPA/services/{_fresh_service(a)}", None, {}), "DOPA"),
    ("POST", "/api/v1/agencies/{code}/services"): (
        lambda a: ("POST", "/agencies/DOPA/services",
                   {"name": f"walk{next(_fresh)}", "url": "https://www.dopa.go.th/"}, {}),
        "DOPA"),
    ("DELETE", "/api/v1/agencies/{code}/services/{name}"): (
        lambda a: ("DELETE", f"/agencies/DOPA/services/{_fresh_service(a)}", None, {}), "DOPA"),
    ("GET", "/api/v1/contacts"): (lambda a: ("GET", "/contacts?limit=5", None, {}), None),
    ("GET", "/api/v1/agencies/{code}/contacts/{contact_id}"): (
        lambda a: ("GET", f"/agencies/DOPA/contacts/{_fresh_contact(a)}", None, {}), "DOPA"),
    ("POST", "/api/v1/agencies/{code}/contacts"): (
        lambda a: ("POST", "/agencies/DOPA/contacts", {"name": "walk", "role": "NOC"}, {}),
        "DOPA"),
    ("DELETE", "/api/v1/agencies/{code}/contacts/{contact_id}"): (
        lambda a: ("DELETE", f"/agencies/DOPA/contacts/{_fresh_contact(a)}", None, {}),
        "DOPA"),
    ("GET", "/api/v1/monitor/targets"): (lambda a: ("GET", "/monitor/targets", None, {}), None),
    ("GET", "/api/v1/monitor/targets/{hostname}"): (
        lambda a: ("GET", "/monitor/targets/dopa-pe1", None, {}), "DOPA"),
    ("GET", "/api/v1/sensor/events"): (lambda a: ("GET", "/sensor/events", None, {}), None),
    ("GET", "/api/v1/sensor/events/{event_id}"): (
        lambda a: ("GET", "/sensor/events/1", None, {}), "DOPA"),
    ("GET", "/api/v1/tunnels/{name}/render"): (
        lambda a: ("GET", "/tunnels/dopa-moph/render", None, {}), "DOPA"),
    ("GET", "/api/v1/tunnels/{name}/status"): (
        lambda a: ("GET", "/tunnels/dopa-moph/status", None, {}), "DOPA"),
    # Changing sites, devices, services and contacts (If-Match: the ETag a GET just sent).
    ("PATCH", "/api/v1/agencies/{code}/sites/{site}"): (
        lambda a: _patch(a, "/agencies/DOPA/sites/HQ", {"province": "Bangkok"}), "DOPA"),
    ("PATCH", "/api/v1/devices/{hostname}"): (
        lambda a: _patch(a, "/devices/dopa-pe1", {"asn": 64512}), "DOPA"),
    ("PATCH", "/api/v1/agencies/{code}/services/{name}"): (
        lambda a: _patch(a, f"/agencies/DOPA/services/{_fresh_service(a)}",
                         {"description": "walked"}), "DOPA"),
    ("PATCH", "/api/v1/agencies/{code}/contacts/{contact_id}"): (
        lambda a: _patch(a, f"/agencies/DOPA/contacts/{_fresh_contact(a)}", {"role": "walked"}),
        "DOPA"),
    # Cancelling a job (each call cancels a fresh queued backup of every device, the
    # admin's own: only its owner or an admin gets through, so no scoped grant does), a
    # tunnel withdrawn as a job (both ends' agencies, as a deploy), every tunnel's state.
    ("POST", "/api/v1/jobs/{job_id}/cancel"): (
        lambda a: ("POST", f"/jobs/{a.post('/backups', json={}).json()['id']}/cancel", None,
                   {}), "the admin's job"),
    ("POST", "/api/v1/tunnels/{name}/withdraw"): (
        lambda a: ("POST", "/tunnels/dopa-moph/withdraw", {}, {}), "DOPA+MOPH"),
    ("GET", "/api/v1/tunnels/status"): (lambda a: ("GET", "/tunnels/status?limit=5", None, {}),
                                        None),
}
_fresh = itertools.count(1)


def _fresh_service(admin: httpx.Client) -> str:
    made = admin.post("/agencies/DOPA/services",
                      json={"name": f"walk{next(_fresh)}", "url": "https://www.dopa.go.th/"})
    assert made.status_code == 201, made.text
    return made.json()["name"]


def _fresh_contact(admin: httpx.Client) -> int:
    made = admin.post("/agencies/DOPA/contacts", json={"name": "walk", "role": "NOC"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _patch(admin: httpx.Client, path: str, body: dict[str, Any]) -> Request:
    """A PATCH of ``path`` carrying the ETag the admin's GET just got."""
    return ("PATCH", path, body, {"If-Match": admin.get(path).headers["ETag"]})


def add_sensor_event(tmp_path: Path, monkeypatch) -> Path:
    """A threat sensor's event log holding one event against DOPA, where the service reads
    it (GIN_SENSOR_EVENTS, set before the service starts)."""
    import json

    log = tmp_path / "sensor-events.jsonl"
    log.write_text(json.dumps({"time": "2026-12-06T01:00:00+00:00",
                               "last_seen": "2026-12-06T01:00:09+00:00", "type": "port_scan",
                               "severity": "warning", "source": "2001:db8:66::6",
                               "destination": "2001:db8:1::1", "agency": "DOPA",
                               "source_agency": None, "count": 120,
                               "evidence": {"ports": 120}}) + "\n")
    monkeypatch.setenv("GIN_SENSOR_EVENTS", str(log))
    return log


def _new_link() -> dict[str, Any]:
    n = next(_fresh)
    return {"agency": "DOPA", "site": "HQ", "pe": f"dopa-pe1:eth{10 + n}",
            "ce": f"dopa-cpe:eth{10 + n}", "name": f"dopa-walk{n}", "ipv4": False}


def _new_tunnel() -> dict[str, Any]:
    return {"a": "dopa-gw", "b": "moph-gw", "type": "ikev2", "auth": "psk",
            "name": f"dopa-moph-walk{next(_fresh)}"}


def _dopa_job(admin: httpx.Client) -> int:
    made = admin.post("/audit/runs", json={"agency": "DOPA"})
    assert made.status_code == 202, made.text
    return made.json()["id"]


def _dopa_run(admin: httpx.Client) -> int:
    return admin.get("/audit/runs?scope=DOPA").json()["items"][0]["id"]


def _ui(admin: httpx.Client, path: str) -> str:
    """A console URL (outside the API's base URL)."""
    return str(admin.base_url).split("/api/v1")[0] + "/ui/" + path


def _fresh_plan() -> str:
    """A link plan form on interfaces no other call used (every allowed caller plans one)."""
    n = next(PLANS)
    return urlencode({"site": "HQ", "pe": f"dopa-pe1:walk{n}", "ce": f"dopa-cpe:walk{n}",
                      "name": f"walk-{n}", "ipv6_only": "1"})


def add_audit_run(svc) -> None:
    """Two stored audit runs: run 1 over the GIN with DOPA's router (so finding 1 is DOPA's),
    then run 2 of DOPA alone (what a finished audit job of DOPA leaves)."""
    from audit import assess, history
    from audit.runner import ConfigSource, run

    config = (Path(__file__).parents[2] / "unit" / "audit" / "golden" / "frr_bad.conf")
    audits = run([ConfigSource("dopa-pe1", "frr", config.read_text(), "pe", "DOPA",
                               dt.datetime.now(dt.UTC), True, origin="walk")])
    d = svc.directory()
    try:
        assess.record(d, assess.Assessment(assess.Scope("GIN"), audits,
                                           dt.datetime.now(dt.UTC), "iso17799"))
        history.record(d, [], scope="DOPA", generated_at=dt.datetime.now(dt.UTC),
                       framework="ISO/IEC 17799:2005")
    finally:
        d.close()


def _fresh_block(admin: httpx.Client) -> str:
    made = admin.post("/gsi/blocks", json={"source": "198.51.100.9", "reason": "walk"})
    assert made.status_code == 201, made.text
    return made.json()["source"]


def _dopa_net(admin: httpx.Client) -> str:
    """DOPA's /48 as text ending in '::' (so appending '1' names an address in it)."""
    prefix = admin.post("/prefixes/allocate", json={"agency": "DOPA", "length": 48}).json()
    return prefix["items"][0]["prefix"].split("/")[0]


def _fresh_dopa_64(admin: httpx.Client) -> str:
    made = admin.post("/prefixes/allocate", json={"agency": "DOPA", "length": 64})
    assert made.status_code == 201, made.text
    return made.json()["items"][0]["prefix"]


def routes() -> list[tuple[str, str, list[Need]]]:
    """(method, path, declarations) of every route the app serves, read from the app itself."""
    app = create_app(directory=None)  # type: ignore[arg-type]  # only the routes are read
    out = []
    for method, path, route in walk(app):
        assert isinstance(route, APIRoute), f"{method} {path} is not an APIRoute: undeclared"
        out.append((method, path, declared(route)))
    return out


def role_permissions(svc) -> dict[str, set[str]]:
    d = svc.directory()
    try:
        with d.transaction() as s:
            return {r.name: set(r.permissions) for r in s.scalars(select(m.Role))}
    finally:
        d.close()


def expectations(need: Need, agency: str | None, roles: dict[str, set[str]]
                 ) -> tuple[list[str], list[str]]:
    """(callers who must be refused, callers who must get through) for one route."""
    if need.public:
        return [], list(PEOPLE)
    if need.permission is None:
        return [], list(PEOPLE)
    refused, allowed = [], []
    for person, grant in PEOPLE.items():
        if grant is None or need.permission not in roles[grant[0]]:
            refused.append(person)
            continue
        role, scope, where = grant
        if scope == "gin":
            allowed.append(person)
        elif need.gin_wide or agency is None and need.permission.endswith(".write"):
            refused.append(person)
        elif agency == "DOPA":
            (allowed if where in ("DOPA", "MOI") else refused).append(person)
        elif agency is None and not need.gin_wide:
            allowed.append(person)  # lists and lookups filter to the caller's scope
        else:
            refused.append(person)  # an example over agencies no scoped grant covers all of
    if PERMISSIONS[need.permission][1]:
        refused.append("admin:ro")  # a read-only token never writes
    return refused, allowed


def call(client: httpx.Client, request: Request) -> httpx.Response:
    method, path, body, headers = request
    if isinstance(body, str):  # a form, as the console's pages take
        return client.request(method, path, content=body, headers=headers)
    return client.request(method, path, json=body, headers=headers)


def test_every_route_declares_and_enforces_its_permission(pg_url, serve, monkeypatch,
                                                           tmp_path):
    # the service seals new tunnels' secrets with the same key as add_tunnel
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"s" * 32).decode())
    add_sensor_event(tmp_path, monkeypatch)
    svc = serve(pg_url, *NO_ENFORCEMENT)
    add_tunnel(svc, monkeypatch)
    add_audit_run(svc)
    roles = role_permissions(svc)
    admin = svc.client("admin")
    walked = routes()
    assert {(meth, path) for meth, path, _ in walked} == set(EXAMPLES), \
        "every route needs an example here (and every example a route)"
    for method, path, needs in walked:
        assert len(needs) == 1, f"{method} {path} declares {len(needs)} permissions, not one"
        need = needs[0]
        make, agency = EXAMPLES[(method, path)]
        anonymous = call(svc.client(), make(admin))
        bogus = call(svc.client(token="gin_0123456789abcdef_" + "x" * 43), make(admin))
        if need.public:
            assert anonymous.status_code < 400, (method, path, anonymous.text)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        assert bogus.status_code == 401, (method, path, bogus.status_code)
        refused, allowed = expectations(need, agency, roles)
        for person in refused:
            answer = call(svc.client(person), make(admin))
            assert answer.status_code == 403, (method, path, person, answer.status_code,
                                               answer.text)
            assert need.permission in answer.json()["detail"]
        for person in allowed:
            answer = call(svc.client(person), make(admin))
            assert answer.status_code < 300, (method, path, person, answer.status_code,
                                              answer.text)
    verdict = admin.get("/changes/verify").json()
    assert verdict["ok"] and verdict["entries"] > 0, verdict

"""Interfaces, public services, contacts, monitoring targets, sensor events and a tunnel's
rendered configuration and live state over real HTTP to a real ``gin serve`` (SQLite and
PostgreSQL): pages complete and scoped, writes through the store seen by the CLI, the
targets the same as the Prometheus file_sd ``gin monitor prometheus-config`` writes, events
as the sensor's own event log wrote them, and no secret in any answer or in the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory.store import add_device, add_interface
from monitor.sensor.detectors.base import Finding
from monitor.sensor.events import EventLog
from tests.integration.server.conftest import add_tunnel


def every(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, following ``next``."""
    items, cursor = [], None
    while True:
        answer = client.get(path, params={**params, **({"after": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items


def gin(db_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "gin.cli", *args], capture_output=True,
                          text=True, env={**os.environ, "GIN_DB": db_url, **(env or {})},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_event_log(path: Path) -> None:
    """Two events against DOPA and one from MOF's network, written by the sensor's own
    event log (what ``gin monitor sensor run --events PATH`` appends)."""
    agencies = {"2001:db8:1::1": "DOPA", "2001:db8:2::2": "MOF"}
    log = EventLog(str(path), agency_of=agencies.get)
    log.add(Finding("port_scan", "warning", "2001:db8:66::6", "2001:db8:66::6",
                    "2001:db8:1::1", 120, {"ports": 120}), 1000.0)
    log.add(Finding("syn_flood", "critical", "2001:db8:66::7", "2001:db8:66::7",
                    "2001:db8:1::1", 5000, {}), 1001.0)
    log.add(Finding("port_scan", "warning", "2001:db8:2::2", "2001:db8:2::2",
                    "2001:db8:77::1", 80, {"ports": 80}), 1002.0)
    log.close_all()


@pytest.fixture
def svc(db_url, serve, tmp_path, monkeypatch):
    events = tmp_path / "sensor-events.jsonl"
    write_event_log(events)
    monkeypatch.setenv("GIN_SENSOR_EVENTS", str(events))
    service = serve(db_url)
    d = service.directory()
    try:
        with d.transaction() as s:
            for n in range(7):
                add_interface(s, "dopa-pe1", f"ge-0/0/{n}", description=f"ขา {n} <script>")
    finally:
        d.close()
    return service


def test_interfaces_are_paged_completely_and_scoped(svc):
    viewer = svc.client("viewer")
    whole = every(viewer, "/interfaces", limit=1000)
    keys = [(i["device"], i["name"]) for i in whole]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert every(viewer, "/interfaces", limit=3) == whole  # none twice, none left out
    assert ("dopa-pe1", "ge-0/0/6") in keys and ("dopa-pe1", "eth1") in keys
    assert every(svc.client("eng_mof"), "/interfaces") == []
    one = viewer.get("/devices/dopa-pe1/interfaces/ge-0/0/3")
    assert one.status_code == 200 and one.json()["description"] == "ขา 3 <script>"
    assert svc.client("eng_mof").get("/devices/dopa-pe1/interfaces/eth1").status_code == 403
    assert viewer.get("/devices/dopa-pe1/interfaces/nope9").status_code == 404
    assert viewer.get("/interfaces", params={"device": "no-such"}).status_code == 404


def test_services_and_contacts_written_here_are_the_clis(svc):
    eng, viewer = svc.client("eng_dopa"), svc.client("viewer")
    made = eng.post("/agencies/DOPA/services",
                    json={"name": "WWW", "url": "https://www.dopa.go.th/",
                          "hosts": ["dopa.go.th"], "description": "<script>x</script>"})
    assert made.status_code == 201, made.text
    assert made.json()["hosts"] == ["www.dopa.go.th", "dopa.go.th"]
    for n in range(4):
        assert eng.post("/agencies/DOPA/services",
                        json={"name": f"e{n}", "url": f"https://e{n}.dopa.go.th/"}
                        ).status_code == 201
    listed = gin(svc.db_url, "directory", "service", "list", "--json")
    assert {"DOPA/www", "DOPA/e3"} <= {f"{r['agency']}/{r['name']}" for r in json.loads(listed)}
    whole = every(viewer, "/services", limit=1000)
    assert every(viewer, "/services", limit=2) == whole
    assert viewer.get("/agencies/DOPA/services/www").json()["description"] == \
        "<script>x</script>"
    assert svc.client("eng_mof").post("/agencies/DOPA/services",
                                      json={"name": "x", "url": "https://x.go.th/"}
                                      ).status_code == 403
    assert viewer.delete("/agencies/DOPA/services/www").status_code == 403
    again = eng.post("/agencies/DOPA/services", json={"name": "www", "url": "https://a.go.th/"})
    assert again.status_code == 409
    bad = eng.post("/agencies/DOPA/services", json={"name": "bad", "url": "ftp://x"})
    assert bad.status_code == 422
    assert eng.delete("/agencies/DOPA/services/e0").status_code == 204
    assert viewer.get("/agencies/DOPA/services/e0").status_code == 404

    ids = []
    for n in range(3):
        c = eng.post("/agencies/DOPA/contacts",
                     json={"name": f"สมชาย {n} <b>", "role": "NOC", "email": f"n{n}@dopa.go.th"})
        assert c.status_code == 201, c.text
        ids.append(c.json()["id"])
    assert eng.post("/agencies/DOPA/contacts",
                    json={"name": "x", "email": "not-an-address"}).status_code == 422
    cli = json.loads(gin(svc.db_url, "directory", "contact", "list", "--agency", "DOPA",
                         "--json"))
    assert {c["id"] for c in cli} == set(ids)
    assert [c["id"] for c in every(viewer, "/contacts", limit=1)] == \
        [c["id"] for c in every(viewer, "/contacts")]
    assert every(svc.client("eng_mof"), "/contacts", agency=None) == []
    assert viewer.get(f"/agencies/DOPA/contacts/{ids[0]}").json()["name"] == "สมชาย 0 <b>"
    assert viewer.get(f"/agencies/MOF/contacts/{ids[0]}").status_code == 404  # not MOF's
    assert eng.delete(f"/agencies/DOPA/contacts/{ids[1]}").status_code == 204
    assert viewer.get(f"/agencies/DOPA/contacts/{ids[1]}").status_code == 404
    actors = json.loads(gin(svc.db_url, "directory", "history", "--type", "contact", "--json"))
    assert actors and all(e["actor"] == "api:eng_dopa/token:test" for e in actors), actors


def test_monitoring_targets_are_prometheus_file_sd(svc, tmp_path):
    d = svc.directory()
    try:
        with d.transaction() as s:
            add_device(s, "DOPA", "HQ", hostname="dopa-ids", role="sensor", platform="linux",
                       mgmt_address="2001:db8:ffff::41")
    finally:
        d.close()
    soc = svc.client("soc")
    targets = every(soc, "/monitor/targets", limit=1)
    assert targets == every(soc, "/monitor/targets")
    out = tmp_path / "prom"
    gin(svc.db_url, "monitor", "prometheus-config", "--out", str(out), "--alertmanager", "none")
    file_sd = json.loads((out / "file_sd" / "gin-snmp-local.json").read_text())
    polled = {(t, g["labels"]["agency"], g["labels"]["site"]) for g in file_sd
              for t in g["targets"]}
    assert polled == {(t["device"], t["agency"], t["site"]) for t in targets
                      if t["job"] == "snmp"}
    sensors = json.loads((out / "file_sd" / "gin-sensor.json").read_text())
    assert [g["targets"][0] for g in sensors] == \
        [t["address"] for t in targets if t["job"] == "sensor"] == ["[2001:db8:ffff::41]:9437"]
    one = soc.get("/monitor/targets/dopa-pe1").json()
    assert one["agency"] == "DOPA" and [j["job"] for j in one["jobs"]] == ["snmp"]
    assert svc.client("viewer").get("/monitor/targets").status_code == 403  # no monitor.read
    assert every(svc.client("eng_mof"), "/monitor/targets") == []
    assert svc.client("eng_mof").get("/monitor/targets/dopa-pe1").status_code == 403
    assert soc.get("/monitor/targets", params={"job": "nope"}).status_code == 422


def test_sensor_events_are_the_sensors_log(svc):
    soc = svc.client("soc")
    events = every(soc, "/sensor/events")
    assert [(e["type"], e["agency"], e["source_agency"]) for e in events] == [
        ("port_scan", "DOPA", None), ("syn_flood", "DOPA", None), ("port_scan", "MOF", "MOF")]
    assert every(soc, "/sensor/events", limit=1) == events
    assert [e["id"] for e in every(soc, "/sensor/events", type="syn_flood")] == [2]
    assert [e["id"] for e in every(soc, "/sensor/events", agency="MOF")] == [3]
    assert [e["id"] for e in every(svc.client("eng_dopa"), "/sensor/events")] == [1, 2]
    assert [e["id"] for e in every(svc.client("eng_mof"), "/sensor/events")] == [3]
    assert soc.get("/sensor/events/2").json()["count"] == 5000
    assert svc.client("eng_mof").get("/sensor/events/1").status_code == 403
    assert svc.client("viewer").get("/sensor/events").status_code == 403
    assert soc.get("/sensor/events/99").status_code == 404


def test_tunnel_render_and_status_never_carry_a_secret(svc, monkeypatch):
    psk = add_tunnel(svc, monkeypatch)
    answers = []
    for who in ("viewer", "eng_dopa", "admin"):
        rendered = svc.client(who).get("/tunnels/dopa-moph/render")
        assert rendered.status_code == 200, rendered.text
        answers.append(rendered.text)
        configs = rendered.json()["configs"]
        assert set(configs) == {"dopa-gw", "moph-gw"}
        assert all("<sealed:" in text for text in configs.values())
    cli = json.loads(gin(svc.db_url, "vpn", "render", "dopa-moph", "--json"))
    assert cli == json.loads(answers[-1])["configs"]
    assert svc.client("eng_mof").get("/tunnels/dopa-moph/render").status_code == 403
    state = svc.client("soc").get("/tunnels/dopa-moph/status")
    assert state.status_code == 200, state.text
    assert state.json()["up"] is False and state.json()["reason"]
    answers.append(state.text)
    assert svc.client("viewer").get("/tunnels/dopa-moph/status").status_code == 403
    assert svc.client("soc").get("/tunnels/nope/render").status_code == 404
    for text in [*answers, svc.log.read_text()]:
        assert psk not in text

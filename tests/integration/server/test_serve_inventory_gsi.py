"""Sites, devices and GSI blocks over real HTTP to a real ``gin serve`` on PostgreSQL.

Sites and devices: filters, stable cursor pages that add up to the whole list, and lists
cut to the caller's grants.  GSI blocks: the SOC analyst blocks a source, nftables in a
network namespace (the gateway) really holds it, the change log names the analyst, a
protected (management) address is refused, the lift takes it out of nftables again, and an
engineer may not block at all.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import select

from directory import models as m
from directory.store import add_device
from monitor.sensor.respond import OBJECT_TYPE, TABLE
from tests.integration.server.conftest import add_tunnel


def add_devices(svc, count: int) -> None:
    d = svc.directory()
    try:
        with d.transaction() as s:
            for i in range(count):
                add_device(s, "DOPA", "HQ", hostname=f"dopa-ce{i:02d}", role="ce",
                           platform="frr")
    finally:
        d.close()


def test_sites_and_devices_page_filter_and_scope(pg_url, serve):
    svc = serve(pg_url, "--no-gsi-gateway", "--gsi-routers-via", "none")
    add_devices(svc, 7)
    viewer = svc.client("viewer")

    pages, after = [], None
    while True:
        answer = viewer.get("/devices", params={"limit": 3, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        pages.append([d["hostname"] for d in answer.json()["items"]])
        after = answer.json()["next"]
        if after is None:
            break
    names = [n for page in pages for n in page]
    assert names == sorted(names) and len(names) == len(set(names)) == 9
    assert all(len(p) == 3 for p in pages[:-1])
    assert [d["hostname"] for d in viewer.get("/devices?role=pe").json()["items"]] == ["dopa-pe1"]
    assert len(viewer.get("/devices?agency=DOPA&site=HQ&role=ce").json()["items"]) == 8
    assert viewer.get("/devices?site=HQ").status_code == 422
    assert viewer.get("/devices?role=router").status_code == 422
    assert viewer.get("/devices?agency=NOPE").status_code == 404

    shown = viewer.get("/devices/dopa-pe1").json()
    assert shown["agency"] == "DOPA" and shown["site"] == "HQ" and shown["interfaces"] == ["eth1"]
    site = viewer.get("/agencies/DOPA/sites/HQ").json()
    assert site["name"] == "ศาลาว่าการ <b>HQ</b>"  # stored and returned as text
    everything = viewer.get("/sites?agency=DOPA&limit=1000").json()
    assert everything["next"] is None and "HQ" in [s["code"] for s in everything["items"]]
    paged, after = [], None
    while True:
        answer = viewer.get("/sites", params={"agency": "DOPA", "limit": 10,
                                              **({"after": after} if after else {})}).json()
        paged += answer["items"]
        after = answer["next"]
        if after is None:
            break
    assert paged == everything["items"]

    # MOF's engineer sees no DOPA site or device, and is refused the device itself
    mof = svc.client("eng_mof")
    assert mof.get("/devices").json()["items"] == []
    assert all(st["agency"] != "DOPA" for st in mof.get("/sites?limit=1000").json()["items"])
    assert mof.get("/devices/dopa-pe1").status_code == 403
    assert mof.get("/agencies/DOPA/sites/HQ").status_code == 403
    # MOI's engineer (DOPA is under MOI) sees them
    assert len(svc.client("eng_moi").get("/devices").json()["items"]) == 9


def test_links_list_show_and_render(pg_url, serve):
    svc = serve(pg_url, "--no-gsi-gateway", "--gsi-routers-via", "none")
    viewer = svc.client("viewer")
    [row] = viewer.get("/links?agency=DOPA&status=planned").json()["items"]
    assert row["name"] == "dopa-hq" and row["pe"] == "dopa-pe1:eth1"
    assert viewer.get("/links?status=nonsense").status_code == 422
    shown = viewer.get("/links/dopa-hq").json()
    assert shown["pe_asn"] == 64512 and shown["ce_address"] and shown["lan"]
    config = viewer.get("/links/dopa-hq/config")
    assert config.headers["content-type"].startswith("text/plain")
    assert "! dopa-pe1\n" in config.text and "! dopa-cpe\n" in config.text
    assert shown["ce_address"] in config.text  # the consumer reads the addresses it shows
    only_ce = viewer.get("/links/dopa-hq/config?device=dopa-cpe").text
    assert only_ce.startswith("! dopa-cpe\n") and "! dopa-pe1" not in only_ce
    mof = svc.client("eng_mof")
    assert mof.get("/links").json()["items"] == []
    assert mof.get("/links/dopa-hq/config").status_code == 403


def nft_set(ns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "set", "inet", TABLE,
                           "blocked4"], capture_output=True, text=True).stdout


@pytest.fixture
def gateway_ns():
    ns = f"ginsv-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_soc_blocks_and_lifts_on_a_real_gateway(pg_url, serve, gateway_ns):
    svc = serve(pg_url, "--gsi-netns", gateway_ns, "--gsi-routers-via", "none")
    soc = svc.client("soc")

    made = soc.post("/gsi/blocks", json={"source": "198.51.100.7", "ttl": 600,
                                         "reason": "port scan <script>"})
    assert made.status_code == 201, made.text
    assert made.json()["source"] == "198.51.100.7/32" and made.json()["gateway"] is True
    assert "198.51.100.7" in nft_set(gateway_ns)
    [listed] = soc.get("/gsi/blocks").json()["items"]
    assert listed["source"] == "198.51.100.7/32" and listed["enforced"] is True
    assert listed["actor"] == "api:soc/token:test"
    assert listed["reason"] == "port scan <script>"

    # the device's management address is protected: refused, nothing enforced
    refused = soc.post("/gsi/blocks", json={"source": "2001:db8:ffff::11"})
    assert refused.status_code == 422, refused.text
    # engineers do not cut off sources
    engineer = svc.client("eng_moi")
    assert engineer.post("/gsi/blocks", json={"source": "192.0.2.1"}).status_code == 403
    assert svc.client("auditor").get("/gsi/blocks").status_code == 200

    lifted = soc.delete("/gsi/blocks/198.51.100.7/32", params={"reason": "scan over"})
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["reason"] == "scan over"
    assert "198.51.100.7" not in nft_set(gateway_ns)
    assert soc.get("/gsi/blocks").json()["items"] == []
    assert soc.delete("/gsi/blocks/198.51.100.7/32").status_code == 422

    d = svc.directory()
    try:
        with d.transaction() as s:
            actors = [(c.action, c.actor, (c.after or {}).get("reason")) for c in s.scalars(
                select(m.Change).where(m.Change.object_type == OBJECT_TYPE).order_by(m.Change.id))]
    finally:
        d.close()
    assert actors == [("create", "api:soc/token:test", "port scan <script>"),
                      ("delete", "api:soc/token:test", "scan over")]


def test_tunnels_list_and_show_never_a_secret(pg_url, serve, monkeypatch):
    svc = serve(pg_url, "--no-gsi-gateway", "--gsi-routers-via", "none")
    psk = add_tunnel(svc, monkeypatch)
    admin = svc.client("admin")
    [row] = admin.get("/tunnels").json()["items"]
    assert row["name"] == "dopa-moph" and row["secret"] == "sealed"
    assert row["a_agency"] == "DOPA" and row["b_agency"] == "MOPH"
    shown = admin.get("/tunnels/dopa-moph")
    assert shown.status_code == 200 and psk not in shown.text
    assert psk not in admin.get("/tunnels").text
    assert psk not in admin.get("/changes?limit=1000").text
    # MOI's engineer sees it (DOPA's end), MOF's does not
    assert [t["name"] for t in svc.client("eng_moi").get("/tunnels").json()["items"]] == [
        "dopa-moph"]
    assert svc.client("eng_mof").get("/tunnels").json()["items"] == []
    assert svc.client("eng_mof").get("/tunnels/dopa-moph").status_code == 403
    assert admin.get("/tunnels/nope").status_code == 404

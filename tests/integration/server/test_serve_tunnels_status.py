"""Every visible tunnel's recorded and live state in one call of a real ``gin serve``
(``GET /tunnels/status``): each item is what ``/tunnels/{name}/status`` answers for that
tunnel, pages follow the name order without gaps or truncation, and a caller sees the
tunnels either end of which their grant covers.  Here no gateway answers (documentation
addresses): the state says so, as ``gin vpn status`` would."""

from __future__ import annotations

import base64

from directory.store import Directory
from tests.integration.server.conftest import add_tunnel
from tests.integration.server.test_jobs import poll


def test_all_tunnels_state_pages_in_name_order_scoped_to_either_end(sqlite_url, serve,
                                                                    monkeypatch):
    Directory(sqlite_url).engine.dispose()
    # the service seals new tunnels' secrets with the same key as add_tunnel
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"s" * 32).decode())
    svc = serve(sqlite_url)
    psk = add_tunnel(svc, monkeypatch)
    admin = svc.client("admin")
    for name in ("dopa-moph-b", "dopa-moph-c", "dopa-moph-a"):
        made = admin.post("/tunnels", json={"a": "dopa-gw", "b": "moph-gw", "type": "ikev2",
                                            "auth": "psk", "name": name})
        assert made.status_code == 201, made.text
    names = ["dopa-moph", "dopa-moph-a", "dopa-moph-b", "dopa-moph-c"]
    seen, cursor, pages = [], None, 0
    while True:
        page = admin.get("/tunnels/status", params={"limit": 3, **(
            {"after": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        assert psk not in page.text
        seen += page.json()["items"]
        cursor, pages = page.json()["next"], pages + 1
        if cursor is None:
            break
    assert pages == 2 and [r["tunnel"] for r in seen] == names
    for row in seen:
        assert row == admin.get(f"/tunnels/{row['tunnel']}/status").json()
        assert (row["up"], row["recorded"]) == (False, "planned")
        assert row["reason"], row  # down says why
    # scope: MOI's engineer covers DOPA (one end), MOF's none; a viewer reads no live state
    moi = svc.client("eng_moi").get("/tunnels/status").json()
    assert [r["tunnel"] for r in moi["items"]] == names and moi["next"] is None
    assert svc.client("eng_mof").get("/tunnels/status").json() == {"items": [], "next": None}
    refused = svc.client("viewer").get("/tunnels/status")
    assert refused.status_code == 403 and "monitor.read" in refused.json()["detail"]
    assert admin.get("/tunnels/status", params={"limit": 0}).status_code == 422
    # "status" names this resource: no tunnel may take it over the API
    taken = admin.post("/tunnels", json={"a": "dopa-gw", "b": "moph-gw", "type": "ikev2",
                                         "auth": "psk", "name": "status"})
    assert taken.status_code == 422 and "choose another name" in taken.json()["detail"]


def test_a_withdraw_is_scoped_like_a_deploy_and_says_why_it_failed(sqlite_url, serve, tmp_path,
                                                                   monkeypatch):
    Directory(sqlite_url).engine.dispose()
    svc = serve(sqlite_url, "--data-dir", str(tmp_path / "data"))
    add_tunnel(svc, monkeypatch)
    # an engineer over one end only may not change the other agency's gateway
    refused = svc.client("eng_dopa").post("/tunnels/dopa-moph/withdraw")
    assert refused.status_code == 403 and "MOPH" in refused.json()["detail"]
    assert svc.client("admin").post("/tunnels/nope/withdraw").status_code == 404
    assert svc.client("admin").post("/tunnels/dopa-moph/withdraw",
                                    json={"via": "pigeon"}).status_code == 422
    admin = svc.client("admin")
    assert admin.get("/jobs").json()["items"] == []  # nothing refused was recorded
    # run for real: neither gateway answers, so the job fails saying which tunnel and why
    started = admin.post("/tunnels/dopa-moph/withdraw", json={"via": "netmiko"})
    assert started.status_code == 202, started.text
    done = poll(admin, started.json()["id"])
    assert done["state"] == "failed", done
    [row] = done["result"]["tunnels"]
    assert (row["tunnel"], row["result"]) == ("dopa-moph", "failed") and row["message"]
    assert done["error"] == f"dopa-moph: failed ({row['message']})"
    assert f"tunnel dopa-moph: failed ({row['message']})" in [ln["line"] for ln in done["log"]]
    assert admin.get("/tunnels/dopa-moph").json()["status"] == "planned"

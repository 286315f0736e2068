"""A tunnel deployed as a job on the VPN lab's real strongSwan gateways, through a real
``gin serve`` on SQLite (jobs run in the serving process): created over the API, deployed
with its progress and log moving gateway step by gateway step, then carrying traffic
between the agencies' hosts, recorded in the change log under the engineer who asked.

To watch the job midway without racing it, gwa's charon is stopped (SIGSTOP) before the
deploy: side b (gwb) goes through all its steps, side a waits on gwa's VICI socket; once the
job shows that, charon is continued and the deploy runs to its end."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from directory import identity
from tests.conftest import need
from tests.integration.conftest import require_lab, unique_lab_name
from tests.integration.server.conftest import PASSWORD, Service, start, stop
from tests.integration.server.test_jobs import WAIT, poll

pytestmark = pytest.mark.integration

TOPOLOGY = Path(__file__).parents[3] / "gin" / "lab" / "topologies" / "vpn.yaml"
PREFIXES = {"MOF": "2001:db8:a::/48", "MOPH": "2001:db8:b::/48"}
HB = "2001:db8:b::10"
ACTOR = "api:eng/token:test"


@pytest.fixture(scope="module")
def vpn_service(tmp_path_factory) -> Iterator[tuple[object, Service]]:
    """The VPN lab registered in a directory on SQLite, an engineer over both agencies and
    an admin, and ``gin serve`` over it (holding the tunnels' sealing key)."""
    require_lab()
    for exe in ("/usr/lib/ipsec/charon", "/usr/bin/wireguard-go", "/usr/bin/wg"):
        need(Path(exe).exists(), f"needs {exe} (deps/apt-vpn.txt)")
    from directory.allocator import add_prefix
    from directory.store import Directory
    from gin import lab
    from gin.lab.register import register

    mp = pytest.MonkeyPatch()
    mp.delenv("GIN_VPN_KEY_FILE", raising=False)
    mp.setenv("GIN_VPN_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    work = tmp_path_factory.mktemp("jobs-vpn")
    url = f"sqlite:///{work / 'directory.sqlite'}"
    name = unique_lab_name()
    svc = None
    try:
        state = lab.up(TOPOLOGY, name=name)
        d = Directory(url, actor="test-setup")
        try:
            register(state, d)
            tokens = {}
            with d.transaction() as s:
                for agency, cidr in PREFIXES.items():
                    add_prefix(s, cidr, role="agency", agency=agency)
                identity.add_user(s, "admin", PASSWORD)
                identity.grant(s, "admin", "admin", "gin")
                identity.add_user(s, "eng", PASSWORD)
                for agency in PREFIXES:
                    identity.grant(s, "eng", "engineer", "agency", agency)
                for user in ("admin", "eng"):
                    tokens[user] = identity.create_token(s, user, "test")[1]
        finally:
            d.close()
        svc = start(url, work / "serve.log", "--data-dir", str(work / "data"))
        svc.tokens = tokens
        yield state, svc
    finally:
        if svc is not None:
            stop(svc.proc)
        lab.down(name)
        mp.undo()
    text = svc.log.read_text()
    for secret in [*svc.tokens.values(), PASSWORD]:
        assert secret not in text, "a secret reached the server's log"


def _charon(state, node: str) -> int:
    from gin.lab.gateway import paths
    from gin.lab.proc import read_pid

    pid = read_pid(paths(state.node(node))["pid"])
    assert pid, f"no charon on {node}"
    return pid


def test_a_deploy_job_moves_step_by_step_and_the_tunnel_carries_traffic(vpn_service):
    state, svc = vpn_service
    eng = svc.client("eng")
    made = eng.post("/tunnels", json={"a": "gwa", "b": "gwb", "type": "ikev2", "auth": "psk",
                                      "name": "mof-moph"})
    assert made.status_code == 201, made.text
    assert state.exec("ha", ["ping", "-c", "1", "-W", "1", HB]).returncode != 0  # no tunnel yet
    charon_a = _charon(state, "gwa")
    os.kill(charon_a, signal.SIGSTOP)  # side a's steps wait on it (see module doc)
    try:
        started = eng.post("/tunnels/mof-moph/deploy", json={"verify": True})
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        deadline = time.monotonic() + WAIT
        while True:
            midway = eng.get(f"/jobs/{job_id}").json()
            lines = [ln["line"] for ln in midway["log"]]
            if "gwb: read_back done" in lines and "gwa: push of" in " ".join(lines):
                break
            assert midway["state"] in ("queued", "running"), midway
            assert time.monotonic() < deadline, midway
            time.sleep(0.2)
    finally:
        os.kill(charon_a, signal.SIGCONT)
    # midway: gwb's steps done, gwa's push started and waiting, the tunnel not verified
    assert midway["state"] == "running"
    assert 0 < midway["progress"]["done"] < midway["progress"]["total"], midway["progress"]
    assert not any(ln.startswith("gwa: verify") for ln in lines), lines
    done = poll(eng, job_id)
    assert done["state"] == "succeeded", done
    [row] = done["result"]["tunnels"]
    assert (row["tunnel"], row["result"], row["message"]) == ("mof-moph", "changed", "up"), row
    assert done["progress"]["done"] == done["progress"]["total"] > midway["progress"]["done"]
    final = [ln["line"] for ln in done["log"]]
    steps = ["gwb: diff done", "gwb: read done", "gwb: push done", "gwb: read_back done",
             "gwa: diff done", "gwa: read done", "gwa: push done", "gwa: read_back done",
             "gwa: verify done", "all devices: save done", "tunnel mof-moph: changed"]
    at = [next(i for i, ln in enumerate(final) if ln.startswith(step)) for step in steps]
    assert at == sorted(at), final  # each step in its order, side b first
    # the tunnel carries traffic between the agencies' hosts, and the gateways say it is up
    assert state.exec("ha", ["ping", "-c", "3", "-i", "0.2", "-W", "2", HB]).returncode == 0
    status = svc.client("admin").get("/tunnels/mof-moph").json()
    assert status["status"] == "up", status
    changes = svc.client("admin").get("/changes", params={"type": "tunnel", "key": "mof-moph"})
    acts = {(c["action"], c["actor"]) for c in changes.json()["items"]}
    assert ("vpn-deploy", ACTOR) in acts and ("create", ACTOR) in acts, acts
    # redeployed: every gateway step runs again, nothing changes
    again = poll(eng, eng.post("/tunnels/mof-moph/deploy").json()["id"])
    assert again["state"] == "succeeded" and again["result"]["tunnels"][0]["result"] == \
        "no change", again
    assert again["progress"]["done"] == again["progress"]["total"]


def test_every_tunnels_state_in_one_call_then_a_withdraw_job_takes_it_down(vpn_service):
    """After the deploy above: the list of every tunnel's live state says it is up, as the
    one tunnel's status does; a withdraw job (``gin vpn withdraw``'s own function) removes
    it from both gateways (side b first, as a deploy), step by step, and records it
    planned; traffic stops."""
    state, svc = vpn_service
    eng, admin = svc.client("eng"), svc.client("admin")
    one = eng.get("/tunnels/mof-moph/status").json()
    listed = eng.get("/tunnels/status")
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["items"]
    assert listed.json()["next"] is None
    assert (row["tunnel"], row["up"], row["recorded"]) == ("mof-moph", True, "up"), row
    assert {k: row[k] for k in ("type", "agency", "seen_from", "ike_state")} == \
        {k: one[k] for k in ("type", "agency", "seen_from", "ike_state")}
    started = eng.post("/tunnels/mof-moph/withdraw", json={})
    assert started.status_code == 202, started.text
    assert (started.json()["kind"], started.json()["params"]["tunnels"]) == (
        "withdraw", ["mof-moph"])
    done = poll(eng, started.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["result"] == {"tunnels": [{"tunnel": "mof-moph", "result": "withdrawn"}]}
    assert done["progress"] == {"done": 3, "total": 3, "percent": 100}
    said = [ln["line"] for ln in done["log"]]
    steps = ["gwb: push done", "gwa: push done", "all devices: save done",
             "tunnel mof-moph: withdrawn (recorded planned)"]
    at = [next(i for i, ln in enumerate(said) if ln.startswith(step)) for step in steps]
    assert at == sorted(at), said
    # the gateways hold nothing of it: no traffic, the live state says why, the record planned
    assert state.exec("ha", ["ping", "-c", "1", "-W", "1", HB]).returncode != 0
    [after] = admin.get("/tunnels/status").json()["items"]
    assert (after["tunnel"], after["up"], after["recorded"]) == ("mof-moph", False, "planned")
    assert admin.get("/tunnels/mof-moph").json()["status"] == "planned"
    changes = admin.get("/changes", params={"type": "tunnel", "key": "mof-moph"}).json()
    assert any(c["actor"] == ACTOR and "planned" in json.dumps(c) for c in changes["items"]), \
        changes
    # withdrawn already: a second withdraw finds nothing held on either gateway, and succeeds
    again = poll(eng, eng.post("/tunnels/mof-moph/withdraw").json()["id"])
    assert again["state"] == "succeeded", again

"""Crash tests of a gateway deploy on the real VPN lab (charon in two namespaces): the
deploy runs as its own process, SIGKILLed at each named gateway step (the GIN_FAULT hook)
and between verification and the record; after recovery each gateway holds exactly its
pre-image (files byte for byte, no stray connection or key loaded) and the directory says
``planned``, or the tunnel is fully deployed and recorded ``up``.  A withdraw killed the same
way leaves both gateways as they were before it, the tunnel still recorded ``up``, or (once
both had verified the removal) the tunnel gone from both and recorded ``planned``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.conftest import require_lab, unique_lab_name

pytestmark = pytest.mark.integration

TOPOLOGY = Path(__file__).parents[3] / "gin" / "lab" / "topologies" / "vpn.yaml"
GATEWAYS = ("gwb", "gwa")  # side b first, as deploy applies them
FAULTS = [f"{when}:{step}:{gw}" for gw in GATEWAYS
          for when, step in (("before", "push"), ("after", "push"), ("after", "read_back"))]
CHILD = """
import os, signal, sys
from directory.store import Directory
from vpn import deploy
if sys.argv[3] == "before-record":  # killed once verified, before the outcome is recorded
    deploy.record = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[3] == "withdraw":
    print(deploy.withdraw(Directory(sys.argv[1], actor="kill"), [sys.argv[2]]))
else:
    (res,) = deploy.deploy(Directory(sys.argv[1], actor="kill"), [sys.argv[2]])
    print(res.result, res.message)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(lab state, directory url) with both gateways running charon, registered."""
    require_lab()
    need(Path("/usr/lib/ipsec/charon").exists(), "needs charon (deps/apt-vpn.txt)")
    from directory.allocator import add_prefix
    from directory.store import Directory
    from gin import lab as gin_lab
    from gin.lab.register import register
    from vpn import pki

    mp = pytest.MonkeyPatch()
    mp.delenv("GIN_VPN_KEY_FILE", raising=False)
    mp.delenv("GIN_FAULT", raising=False)
    mp.setenv("GIN_VPN_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    name = unique_lab_name()
    try:
        state = gin_lab.up(TOPOLOGY, name=name)
        url = f"sqlite:///{tmp_path_factory.mktemp('gwkill') / 'directory.sqlite'}"
        d = Directory(url, actor="vpn-tests")
        register(state, d)
        with d.transaction() as s:
            add_prefix(s, "2001:db8:a::/48", role="agency", agency="MOF")
            add_prefix(s, "2001:db8:b::/48", role="agency", agency="MOPH")
            pki.init_ca(s)
            for gw in GATEWAYS:
                pki.issue(s, gw)
        d.close()
        yield state, url
    finally:
        gin_lab.down(name)
        mp.undo()


def _gateways(url: str) -> dict:
    from directory import store
    from directory.store import Directory
    from vpn.gateway import Gateway

    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        gws = {h: Gateway.of(store.get_device(s, h)) for h in GATEWAYS}
    d.close()
    return gws


def held(gw) -> tuple[dict[str, bytes], list[str], list[str], list[str]]:
    """What a gateway holds: every file of its swanctl and WireGuard dirs, its loaded conns,
    shared and private keys, its WireGuard interfaces."""
    dirs = [gw.swanctl_dir / d for d in ("conf.d", "x509", "private", "x509ca", "x509crl")]
    files = {str(p): p.read_bytes() for d in (*dirs, gw.wireguard_dir)
             if d.exists() for p in sorted(d.glob("*")) if p.is_file()}
    with gw.session() as s:
        conns = sorted(c.decode() if isinstance(c, bytes) else c
                       for c in s.get_conns().get("conns") or [])
        keys = sorted(k.decode() if isinstance(k, bytes) else k
                      for k in [*(s.get_shared().get("keys") or []),
                                *(s.get_keys().get("keys") or [])])
    links = gw.run(["ip", "-o", "link", "show"], check=False).stdout
    wg = sorted(ln.split(":")[1].strip() for ln in links.splitlines() if ": wg-" in ln)
    return files, conns, keys, wg


def _status(url: str, tunnel: str) -> str:
    from directory.store import Directory
    from vpn.tunnels import get_tunnel

    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        status = get_tunnel(s, tunnel).status
    d.close()
    return status


def _run(url: str, tunnel: str, fault: str | None, tmp_path: Path,
         how: str = "fault") -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if k != "GIN_FAULT"}
    env.update(PYTHONPATH=os.getcwd(), **({"GIN_FAULT": fault} if fault else {}))
    return subprocess.run([sys.executable, str(script), url, tunnel, how], env=env,
                          capture_output=True, text=True, timeout=300)


def _deploy(url: str, tunnel: str, tmp_path: Path) -> None:
    """Deploy ``tunnel`` in a child process, uninterrupted: it must change both gateways."""
    first = _run(url, tunnel, None, tmp_path)
    assert first.returncode == 0 and first.stdout.startswith("changed"), first.stderr


def held_by(gws: dict) -> dict:
    """What each gateway holds of its tunnels (:func:`held`), by hostname."""
    return {h: held(gw) for h, gw in gws.items()}


def _tunnel(url: str, name: str, kind: str = "psk") -> str:
    """A tunnel gwa -> gwb: ``psk`` or ``cert`` (IKEv2), or ``wireguard``."""
    from directory.store import Directory
    from vpn import tunnels

    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        if kind == "wireguard":
            tunnels.create_tunnel(s, "gwa", "gwb", "wireguard", None, name=name)
        else:
            tunnels.create_tunnel(s, "gwa", "gwb", "ikev2", kind, name=name)
    d.close()
    return name


def _recover(url: str) -> list:
    from directory.store import Directory
    from vpn.deploy import recover_gateways

    d = Directory(url, actor="vpn-tests")
    try:
        done = recover_gateways(d)
    finally:
        d.close()
    assert done and all(r.ok for r in done), done
    return done


def _recover_cli(url: str) -> list[dict]:
    """``gin device recover --json``, as an operator types it after a crash."""
    done = subprocess.run([sys.executable, "-m", "gin.cli", "--db", url, "device", "recover",
                           "--json"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, (done.stdout, done.stderr)
    rows = json.loads(done.stdout)
    assert rows and all(r["result"] == "restored" for r in rows), rows
    assert {r["device"] for r in rows} <= {"gwa", "gwb"}, rows
    return rows


def _withdraw(url: str, tunnel: str) -> None:
    from directory.store import Directory
    from vpn import deploy

    d = Directory(url, actor="vpn-tests")
    deploy.withdraw(d, [tunnel])
    d.close()


def _changelog_recovers(url: str) -> int:
    from sqlalchemy import func, select

    from directory import models as m
    from directory.store import Directory

    d = Directory(url, actor="vpn-tests")
    with d.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(m.Change.__table__)
                         .where(m.Change.__table__.c.action == "recover")).scalar()
    d.close()
    return int(n or 0)


@pytest.mark.parametrize("kind", ["psk", "cert", "wireguard"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_gateway_deploy_killed_at_a_named_step_is_put_back_exactly(lab, fault, kind,
                                                                     tmp_path):
    _state, url = lab
    tunnel = _tunnel(url, "k" + secrets.token_hex(3), kind)
    gws = _gateways(url)
    pre = held_by(gws)
    logged = _changelog_recovers(url)
    child = _run(url, tunnel, fault, tmp_path)
    assert child.returncode == -9, (child.stdout, child.stderr)  # the hook fired there
    if kind == "psk":  # the operator's command; the others through the function it calls
        _recover_cli(url)
    else:
        _recover(url)
    assert held_by(gws) == pre
    assert _status(url, tunnel) == "planned"
    assert _changelog_recovers(url) > logged


@pytest.mark.parametrize("kind", ["psk", "cert"])
@pytest.mark.parametrize("how", ["after:verify:gwa", "before-record"])
def test_a_gateway_deploy_killed_once_verified_is_recorded(lab, how, kind, tmp_path):
    _state, url = lab
    tunnel = _tunnel(url, "v" + secrets.token_hex(3), kind)
    gws = _gateways(url)
    child = (_run(url, tunnel, None, tmp_path, how="before-record") if how == "before-record"
             else _run(url, tunnel, how, tmp_path))
    assert child.returncode == -9, (child.stdout, child.stderr)
    (r1, r2) = _recover(url)
    assert "recorded" in r1.action
    assert _status(url, tunnel) == "up"
    from vpn.deploy import conn_name

    for gw in gws.values():
        files, conns, _keys, _wg = held(gw)
        assert str(gw.conf_file(tunnel)) in files and conn_name(tunnel) in conns
    if kind == "cert":  # the gateways' certificates are recorded as deployed
        assert set(_deployed_certificates(url)) >= set(GATEWAYS)
    _withdraw(url, tunnel)


def _deployed_certificates(url: str) -> list[str]:
    from sqlalchemy import select

    from directory import models as m
    from directory.store import Directory

    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        out = [c.device.hostname for c in s.scalars(select(m.Certificate).where(
            m.Certificate.deployed_at.is_not(None), m.Certificate.device_id.is_not(None)))]
    d.close()
    return out


def test_a_rotation_killed_once_verified_is_recorded_and_completed(lab, tmp_path):
    from directory.store import Directory
    from vpn import tunnels

    _state, url = lab
    tunnel = _tunnel(url, "o" + secrets.token_hex(3))
    _deploy(url, tunnel, tmp_path)
    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        tunnels.rotate(s, tunnel)
    d.close()
    child = _run(url, tunnel, None, tmp_path, how="before-record")
    assert child.returncode == -9, (child.stdout, child.stderr)
    _recover(url)
    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        t = tunnels.get_tunnel(s, tunnel)
        assert t.status == "up" and tunnels.pending_rotation(s, t) is None
    d.close()
    again = _run(url, tunnel, None, tmp_path)  # the gateways hold the secrets now in force
    assert again.returncode == 0 and again.stdout.startswith("no change"), again.stdout
    _withdraw(url, tunnel)


def test_a_redeploy_killed_mid_way_gets_the_previous_config_back(lab, tmp_path):
    """A deployed tunnel whose PSK rotation deploy is killed: both gateways get the old
    file and its connection loaded again, byte for byte."""
    from directory.store import Directory
    from vpn import tunnels

    _state, url = lab
    tunnel = _tunnel(url, "r" + secrets.token_hex(3))
    _deploy(url, tunnel, tmp_path)
    gws = _gateways(url)
    pre = held_by(gws)
    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        tunnels.rotate(s, tunnel)
    d.close()
    child = _run(url, tunnel, "after:read_back:gwa", tmp_path)
    assert child.returncode == -9, (child.stdout, child.stderr)
    assert held_by(gws) != pre  # the new PSK was loaded
    assert _psk_in_database(url, tunnel) is False  # the journal keeps the old PSK sealed
    _recover(url)
    assert held_by(gws) == pre
    assert _status(url, tunnel) == "up"
    _withdraw(url, tunnel)


def _psk_in_database(url: str, tunnel: str) -> bool:
    """Whether the tunnel's PSK in force appears in clear in the journal's rows."""
    from sqlalchemy import select

    from directory import models as m
    from directory.store import Directory
    from vpn.tunnels import get_tunnel, tunnel_secrets

    d = Directory(url, actor="vpn-tests")
    with d.transaction() as s:
        psk = next(iter(tunnel_secrets(s, get_tunnel(s, tunnel)).values())).reveal()
    with d.engine.connect() as conn:
        rows = conn.execute(select(m.DeviceChangeEntry.__table__)).mappings().all()
    d.close()
    return any(psk in str(dict(r)) for r in rows)


def test_a_deploy_after_a_kill_first_puts_the_gateways_back_then_deploys(lab, tmp_path):
    """No `recover` in between: the next deploy resolves the dead deploy's entries before it
    touches the gateways, so its own pre-image is the true one."""
    _state, url = lab
    tunnel = _tunnel(url, "d" + secrets.token_hex(3))
    child = _run(url, tunnel, "after:push:gwa", tmp_path)
    assert child.returncode == -9, (child.stdout, child.stderr)
    again = _run(url, tunnel, None, tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("changed"), again.stderr
    assert _status(url, tunnel) == "up"
    from devices.journal import Journal
    from directory.store import Directory

    d = Directory(url, actor="vpn-tests")
    assert Journal(d.engine).unfinished(gateways=True) == []
    d.close()
    _withdraw(url, tunnel)


@pytest.mark.parametrize("kind", ["psk", "wireguard"])
@pytest.mark.parametrize("fault", FAULTS)
def test_a_withdraw_killed_at_a_named_step_puts_the_tunnel_back(lab, fault, kind, tmp_path):
    _state, url = lab
    tunnel = _tunnel(url, "w" + secrets.token_hex(3), kind)
    _deploy(url, tunnel, tmp_path)
    gws = _gateways(url)
    pre = held_by(gws)
    child = _run(url, tunnel, fault, tmp_path, how="withdraw")
    assert child.returncode == -9, (child.stdout, child.stderr)  # the hook fired there
    if fault != "before:push:gwb":  # a gateway had lost the tunnel: recovery brings it back
        assert held_by(gws) != pre
    if kind == "psk":
        _recover_cli(url)
    else:
        _recover(url)
    assert held_by(gws) == pre
    assert _status(url, tunnel) == "up"
    again = _run(url, tunnel, None, tmp_path)  # both gateways hold it, loaded, as recorded
    assert again.returncode == 0 and again.stdout.startswith("no change"), again.stdout
    _withdraw(url, tunnel)


@pytest.mark.parametrize("kind", ["psk", "wireguard"])
def test_a_withdraw_killed_once_both_gateways_verified_is_recorded(lab, kind, tmp_path):
    _state, url = lab
    tunnel = _tunnel(url, "x" + secrets.token_hex(3), kind)
    gws = _gateways(url)
    before = held_by(gws)
    _deploy(url, tunnel, tmp_path)
    child = _run(url, tunnel, "after:verify:gwa", tmp_path, how="withdraw")
    assert child.returncode == -9, (child.stdout, child.stderr)
    done = _recover(url)
    assert all("recorded" in r.action for r in done), done
    assert _status(url, tunnel) == "planned"
    assert held_by(gws) == before  # gone from both


@pytest.mark.parametrize("kind", ["psk", "wireguard"])
def test_a_withdraw_stopped_on_its_second_gateway_puts_the_first_back(lab, kind, tmp_path):
    """An observer that cannot record gwa's removal stops it: the withdraw fails and gwb,
    already withdrawn, gets the tunnel back; nothing is left for recovery."""
    from devices.converge import ObserverRefused, Step
    from devices.journal import Journal
    from directory.store import Directory
    from vpn import deploy

    _state, url = lab
    tunnel = _tunnel(url, "s" + secrets.token_hex(3), kind)
    _deploy(url, tunnel, tmp_path)
    gws = _gateways(url)
    pre = held_by(gws)
    seen = []

    def observer(event) -> None:
        seen.append((event.step, event.state, event.device))
        if (event.step, event.state, event.device) == (Step.PUSH, "start", "gwa"):
            raise RuntimeError("the job log is full")

    d = Directory(url, actor="vpn-tests")
    with pytest.raises(ObserverRefused, match="gwa"):
        deploy.withdraw(d, [tunnel], observer=observer)
    assert (Step.RESTORE, "done", "gwb") in seen
    assert Journal(d.engine).unfinished(gateways=True) == []
    d.close()
    assert held_by(gws) == pre
    assert _status(url, tunnel) == "up"
    _withdraw(url, tunnel)

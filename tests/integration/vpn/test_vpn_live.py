"""Real tunnels: charon (kernel-libipsec) and wireguard-go between two lab gateways.

One lab per module (``topology.yaml``: gateway gwa joined to gwb and to gwc by IPv6 WANs, a
host behind each), registered in a fresh directory with the agencies' IPv6 and IPv4 LAN
prefixes and gateway certificates from the GIN VPN CA (:mod:`vpn.pki`).  Each test deploys its
tunnels and withdraws them at the end, so they share the protected LANs one at a time.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.conftest import require_lab, unique_lab_name

pytestmark = pytest.mark.integration

TOPOLOGY = Path(__file__).with_name("topology.yaml")
LAN = {"gwa": ("ha", "MOF", "2001:db8:a::/64", "10.1.0.0/24"),
       "gwb": ("hb", "MOPH", "2001:db8:b::/64", "10.2.0.0/24"),
       "gwc": ("hc", "MOI", "2001:db8:c::/64", "10.3.0.0/24")}
HB6, HB4 = "2001:db8:b::10", "10.2.0.10"
HC6, HC4 = "2001:db8:c::10", "10.3.0.10"
GWA_TO_GWC = "2001:db8:fffe::1"  # gwa's outer address on its WAN to gwc


@pytest.fixture(scope="module")
def vpn_lab(tmp_path_factory, request):
    """(lab state, directory) with gateways running charon, registered, CA and certs made."""
    require_lab()
    for exe in ("/usr/lib/ipsec/charon", "/usr/bin/wireguard-go", "/usr/bin/wg"):
        need(Path(exe).exists(), f"needs {exe} (deps/apt-vpn.txt)")
    from directory.allocator import add_prefix
    from directory.store import Directory
    from gin import lab
    from gin.lab.register import register
    from vpn import pki

    mp = pytest.MonkeyPatch()
    mp.delenv("GIN_VPN_KEY_FILE", raising=False)
    mp.setenv("GIN_VPN_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    name = unique_lab_name()
    try:
        state = lab.up(TOPOLOGY, name=name)
        for gw, (host, _agency, _v6, v4) in LAN.items():
            lan_if = next(i.name for i in state.node(gw).interfaces if i.peer_node == host)
            gw4, host4 = v4.replace(".0/24", ".1"), v4.replace(".0/24", ".10")
            assert state.exec(gw, ["ip", "addr", "add", f"{gw4}/24", "dev", lan_if]).returncode == 0
            host_if = state.node(host).interfaces[0].name
            assert state.exec(host, ["ip", "addr", "add", f"{host4}/24", "dev",
                                     host_if]).returncode == 0
            assert state.exec(host, ["ip", "route", "add", "default", "via",
                                     gw4]).returncode == 0
        db = tmp_path_factory.mktemp("vpn") / "directory.sqlite"
        d = Directory(f"sqlite:///{db}", actor="vpn-tests")
        register(state, d)
        with d.transaction() as s:
            for _host, agency, v6, v4 in LAN.values():
                add_prefix(s, v6, role="agency", agency=agency)
                add_prefix(s, v4, role="agency", agency=agency)
            pki.init_ca(s)
            for gw in LAN:
                pki.issue(s, gw)
        yield state, d
        d.close()
    finally:
        lab.down(name)
        mp.undo()


def create(d, type_, auth=None, name=None, peer="gwb"):
    """A tunnel gwa -> ``peer`` (gwa's outer address is the one on the WAN to the peer)."""
    from vpn import tunnels

    with d.transaction() as s:
        return tunnels.create_tunnel(s, "gwa", peer, type_, auth, name=name, a_address=(
            GWA_TO_GWC if peer == "gwc" else None)).name


def ping(state, dest, count=2):
    return state.exec("ha", ["ping", "-c", str(count), "-i", "0.2", "-W", "2", dest])


def one_status(d, name):
    from vpn.status import status

    (st,) = status(d, [name])
    return st


def test_psk_tunnel_carries_ipv6_and_ipv4_encrypted_and_redeploy_is_no_change(vpn_lab):
    from vpn import deploy

    state, d = vpn_lab
    name = create(d, "ikev2", "psk", "psk")
    (res,) = deploy.deploy(d, [name])
    assert (res.result, res.message) == ("changed", "up"), res.as_dict()
    try:
        wan = next(i.name for i in state.node("gwa").interfaces if i.peer_node == "gwb")
        cap = subprocess.Popen(["ip", "netns", "exec", state.node("gwa").netns, "tshark",
                                "-i", wan, "-c", "12", "-T", "fields", "-E", "separator=,",
                                "-e", "_ws.col.Protocol", "-e", "icmp.type",
                                "-e", "icmpv6.type"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert any("Capturing on" in line for line in cap.stderr)  # the capture is open
            assert ping(state, HB6, 3).returncode == 0
            assert ping(state, HB4, 3).returncode == 0
            seen = [line.split(",") for line in cap.communicate(timeout=20)[0].splitlines()]
        finally:
            cap.kill()
            cap.wait()
        # the pings crossed the WAN as ESP in UDP; no echo request/reply in clear. The WAN
        # itself speaks ICMPv6 neighbour discovery (135/136) now and then: that is allowed.
        assert any(proto == "ESP" for proto, *_ in seen), seen
        echo = [f for f in seen if f[1] in ("0", "8") or f[2] in ("128", "129")]
        assert not echo, seen
        first = one_status(d, name)
        assert first.up and first.child_state == "INSTALLED" and first.ike_state == "ESTABLISHED"
        assert first.packets_out >= 6 and first.ike_rekey_seconds and first.child_rekey_seconds
        assert ping(state, HB6, 2).returncode == 0
        later = one_status(d, name)
        assert later.bytes_out > first.bytes_out and later.bytes_in > first.bytes_in
        (again,) = deploy.deploy(d, [name])
        assert again.result == "no change" and set(again.sides.values()) == {"no change"}
        assert one_status(d, name).up
        from directory.store import history

        with d.transaction() as s:
            log = [(c.action, (c.after or {}).get("status"), (c.after or {}).get("result"))
                   for c in history(s, "tunnel", name)]
        assert ("update", "up", None) in log and ("vpn-deploy", None, "changed") in log
    finally:
        deploy.withdraw(d, [name])
    assert one_status(d, name).reason == "not deployed on this gateway"


def test_certificate_tunnel_from_the_gin_ca(vpn_lab):
    from vpn import deploy, pki

    state, d = vpn_lab
    name = create(d, "ikev2", "cert", "cert")
    (res,) = deploy.deploy(d, [name])
    try:
        assert res.result == "changed", res.as_dict()
        assert ping(state, HB6).returncode == 0 and ping(state, HB4).returncode == 0
        assert one_status(d, name).up
        with d.transaction() as s:
            assert all(c.deployed_at for c in pki.list_certificates(s)
                       if c.device and c.device.hostname in ("gwa", "gwb"))
    finally:
        deploy.withdraw(d, [name])


def test_wireguard_tunnel_up_with_handshake_and_counters(vpn_lab):
    from vpn import deploy

    state, d = vpn_lab
    name = create(d, "wireguard", name="wg")
    (res,) = deploy.deploy(d, [name])
    try:
        assert res.result == "changed", res.as_dict()
        assert ping(state, HB6).returncode == 0 and ping(state, HB4).returncode == 0
        first = one_status(d, name)
        assert first.up and first.handshake_age_seconds is not None
        assert ping(state, HB6, 3).returncode == 0
        assert one_status(d, name).bytes_out > first.bytes_out
        (again,) = deploy.deploy(d, [name])
        assert again.result == "no change"
    finally:
        deploy.withdraw(d, [name])


def _broken(d, name, side_b_text):
    """A plan of ``name`` whose side b is rendered by ``side_b_text(spec, secrets)``."""
    from vpn import deploy, tunnels

    with d.transaction() as s:
        t = tunnels.get_tunnel(s, name)
        plan = deploy.plan_tunnel(s, t)
        secrets_ = tunnels.for_deploy(s, t)[1]
    b = next(x for x in plan.sides if x.key == "b")
    b.text = side_b_text(plan.spec, secrets_)
    return plan


@pytest.mark.parametrize("case", ["proposal", "psk"])
def test_ike_failure_is_named_and_rolled_back(vpn_lab, case):
    from vpn import deploy, keys, reasons
    from vpn.render import render_side

    _state, d = vpn_lab
    name = create(d, "ikev2", "psk", f"bad-{case}")

    def side_b(spec, sealed):
        if case == "proposal":
            policy = {**spec.policy, "ike": "aes128gcm16-prfsha256-ecp256"}
            return render_side(dataclasses.replace(spec, policy=policy), "b", sealed)
        return render_side(spec, "b", {**sealed, "psk": keys.generate_psk()})

    res = deploy.deploy_plan(_broken(d, name, side_b))
    want = reasons.PROPOSAL if case == "proposal" else reasons.AUTH
    assert (res.result, res.reason, res.restored) == ("rolled back", want, True)
    st = one_status(d, name)
    assert not st.up and set(st.sides.values()) == {reasons.NOT_LOADED}
    # loaded without verification, charon starts it itself: status reads the reason
    assert deploy.deploy_plan(_broken(d, name, side_b), verify=False).result == "changed"
    try:
        deadline = time.monotonic() + 15
        while (st := one_status(d, name)).reason != want and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not st.up and st.reason == want
    finally:
        deploy.withdraw(d, [name])


def test_dead_peer_is_named_and_a_working_tunnel_is_restored(vpn_lab):
    """A change that breaks a working tunnel is undone: the old config is back and up."""
    from vpn import deploy, reasons

    state, d = vpn_lab
    name = create(d, "ikev2", "psk", "restore")
    (res,) = deploy.deploy(d, [name])
    assert res.result == "changed"
    gw_conf = Path(json.loads(Path(state.node("gwa").dir, "gateway.json").read_text())
                   ["swanctl_dir"], "conf.d", f"gin-{name}.conf")
    before = gw_conf.read_text()
    wan = next(i.name for i in state.node("gwb").interfaces if i.peer_node == "gwa")
    try:
        assert state.exec("gwb", ["ip", "link", "set", wan, "down"]).returncode == 0
        plan = _broken(d, name, lambda spec, sealed: deploy.render_side(spec, "b", sealed))
        a = next(x for x in plan.sides if x.key == "a")
        a.text = a.text.replace("dpd_delay = 30s", "dpd_delay = 31s")  # a real change on a
        bad = deploy.deploy_plan(plan)
        assert (bad.result, bad.reason, bad.restored) == ("rolled back", reasons.UNREACHABLE,
                                                          True)
    finally:
        state.exec("gwb", ["ip", "link", "set", wan, "up"])
    assert gw_conf.read_text() == before
    deadline = time.monotonic() + 30  # the restored conn starts again by itself
    while not one_status(d, name).up and time.monotonic() < deadline:
        time.sleep(0.3)
    try:
        assert one_status(d, name).up
        assert ping(state, HB6).returncode == 0
    finally:
        deploy.withdraw(d, [name])


def test_config_refused_by_charon_restores_the_other_side(vpn_lab):
    from vpn import deploy, reasons

    _state, d = vpn_lab
    name = create(d, "ikev2", "psk", "refused")
    plan = _broken(d, name, lambda spec, sealed: deploy.render_side(spec, "b", sealed))
    a = next(x for x in plan.sides if x.key == "a")
    a.text = a.text.replace("esp_proposals = aes256gcm16-ecp384", "esp_proposals = aes999")
    res = deploy.deploy_plan(plan)
    try:
        assert res.result == "failed" and "gwa" in res.message, res.as_dict()
        assert res.sides["gwb"] == "restored" and res.restored
        assert set(one_status(d, name).sides.values()) == {reasons.NOT_LOADED}
    finally:
        deploy.withdraw(d, [name])


def test_wireguard_wrong_key_rolled_back_and_reported_by_status(vpn_lab):
    from vpn import deploy, keys, reasons
    from vpn.render import render_side

    _state, d = vpn_lab
    name = create(d, "wireguard", name="wg-bad")
    wrong = {"b_private": keys.generate_private_key()}
    side_b = lambda spec, sealed: render_side(spec, "b", {**sealed, **wrong})  # noqa: E731
    res = deploy.deploy_plan(_broken(d, name, side_b))
    assert (res.result, res.reason) == ("rolled back", reasons.NO_HANDSHAKE)
    assert one_status(d, name).reason == reasons.NOT_LOADED
    loaded = deploy.deploy_plan(_broken(d, name, side_b), verify=False)
    try:
        assert loaded.result == "changed"
        st = one_status(d, name)
        assert not st.up and st.reason == reasons.NO_HANDSHAKE
    finally:
        deploy.withdraw(d, [name])


def test_cli_deploy_status_and_metrics(vpn_lab, capsys, monkeypatch):
    from prometheus_client import CollectorRegistry, generate_latest

    from gin.cli import main
    from vpn.metrics import VpnCollector

    _state, d = vpn_lab
    name = create(d, "wireguard", name="wg-cli")
    url = d.engine.url.render_as_string(hide_password=False)
    try:
        assert main(["--db", url, "vpn", "deploy", name, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["result"] == "changed"
        assert main(["--db", url, "vpn", "status", name, "--json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert row["up"] and "PrivateKey" not in json.dumps(row)
        registry = CollectorRegistry()
        registry.register(VpnCollector(url, min_interval=0))
        text = generate_latest(registry).decode()
        assert f'gin_vpn_tunnel_up{{agency="MOF",tunnel="{name}",type="wireguard"}} 1.0' in text
        assert "gin_vpn_handshake_age_seconds" in text and "gin_vpn_status_read_ok 1.0" in text
        assert main(["--db", url, "vpn", "deploy", "no-such-tunnel"]) == 1
        assert "no-such-tunnel" in capsys.readouterr().err
    finally:
        from vpn import deploy

        deploy.withdraw(d, [name])


def test_lab_down_kills_charon_and_wireguard_go(fresh_lab_name):
    """A gw lab with a live wireguard-go leaves no process, namespace or directory behind."""
    from gin import lab
    from gin.lab.proc import pid_alive, pids_in_netns, pids_mentioning
    from vpn.gateway import Gateway

    state = lab.up(TOPOLOGY, name=fresh_lab_name)
    node = state.node("gwa")
    gw = Gateway(hostname="gwa", exec_prefix=tuple(
        json.loads(Path(node.dir, "gateway.json").read_text())["exec"]))
    gw.run(["wireguard-go", "wg-down"])
    pids = pids_in_netns([node.netns])
    assert len(pids) >= 2 and Path(node.run_dir, "wireguard", "wg-down.sock").exists()
    lab.down(fresh_lab_name)
    assert not lab.leftovers(fresh_lab_name)
    assert not any(pid_alive(p) for p in pids)
    assert not any(pid_alive(p) for p in pids_mentioning(state.dir + "/"))


# --- rotation, untrusted CA, several WireGuard tunnels on one gateway -----------------------

def gateway(d, host):
    from directory import store
    from vpn.gateway import Gateway

    with d.transaction() as s:
        return Gateway.of(store.get_device(s, host))


def cli(d, capsys, *args):
    """``gin --db URL vpn ARGS --json`` -> (exit code, parsed JSON)."""
    from gin.cli import main

    code = main(["--db", d.engine.url.render_as_string(hide_password=False), "vpn", *args,
                 "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def serials_on(gw, host):
    """Serials of ``host``'s certificates charon holds (VICI list-certs)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    with gw.session() as s:
        certs = [x509.load_der_x509_certificate(bytes(c["data"]))
                 for c in s.list_certs({"type": "X509"})]
    return {f"{c.serial_number:x}" for c in certs
            if c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == host}


def revoked_on(gw):
    """Serial numbers on the CRLs charon holds (VICI list-certs)."""
    from cryptography import x509

    with gw.session() as s:
        crls = [x509.load_der_x509_crl(bytes(c["data"]))
                for c in s.list_certs({"type": "X509_CRL"})]
    return {r.serial_number for crl in crls for r in crl}


def test_rotated_psk_cert_and_wireguard_tunnels_come_back_up_with_the_new_secrets(
        vpn_lab, capsys):
    """`gin vpn rotate` then `gin vpn deploy`: each tunnel is up again on its new secret,
    and the gateways no longer hold the old one; a failed deploy of a rotation keeps it
    pending with the old secret in force; the change log holds no secret."""
    from directory import models as m
    from vpn import deploy, keys, pki, reasons, tunnels
    from vpn.render import render_side

    _state, d = vpn_lab
    gwa, gwb = gateway(d, "gwa"), gateway(d, "gwb")
    seen_secrets: list[str] = []

    def rotate_and_deploy(name):
        assert cli(d, capsys, "deploy", name)[0] == 0
        assert cli(d, capsys, "rotate", name)[1]["rotation"] == "pending"
        code, (res,) = cli(d, capsys, "deploy", name)
        assert code == 0 and res["result"] == "changed" and res["rotated"], res
        with d.transaction() as s:
            t = tunnels.get_tunnel(s, name)
            assert tunnels.pending_rotation(s, t) is None
            return tunnels.tunnel_secrets(s, t)

    # PSK: a rotation whose deploy fails is rolled back and stays pending
    psk = create(d, "ikev2", "psk", "rot-psk")
    try:
        assert cli(d, capsys, "deploy", psk)[0] == 0
        with d.transaction() as s:
            old = tunnels.tunnel_secrets(s, tunnels.get_tunnel(s, psk))["psk"]
        assert cli(d, capsys, "rotate", psk)[0] == 0
        bad = deploy.deploy_plan(_broken(d, psk, lambda spec, sealed: render_side(
            spec, "b", {**sealed, "psk": keys.generate_psk()})))
        assert (bad.result, bad.reason, bad.rotated) == ("rolled back", reasons.AUTH, False)
        deploy.record(d, [bad], True)
        with d.transaction() as s:
            t = tunnels.get_tunnel(s, psk)
            assert tunnels.pending_rotation(s, t) is not None
            assert tunnels.tunnel_secrets(s, t)["psk"].reveal() == old.reveal()
        code, (res,) = cli(d, capsys, "deploy", psk)
        assert code == 0 and res["rotated"] and one_status(d, psk).up, res
        with d.transaction() as s:
            new = tunnels.tunnel_secrets(s, tunnels.get_tunnel(s, psk))["psk"]
        assert new.reveal() != old.reveal()
        seen_secrets += [old.reveal(), new.reveal()]
        # gwa holds the new PSK: with the old one back on gwb, a re-initiate fails
        conn = deploy.conn_name(psk)
        with gwb.session() as s:
            s.load_shared({"id": f"ike-{conn}", "type": "IKE", "data": old.reveal().encode(),
                           "owners": ["gwb", "gwa"]})
        with gwa.session() as s:
            deploy._terminate(s, conn)
        assert deploy.ike_initiate(gwa, psk) == (False, reasons.AUTH)
        with gwb.session() as s:
            s.load_shared({"id": f"ike-{conn}", "type": "IKE", "data": new.reveal().encode(),
                           "owners": ["gwb", "gwa"]})
        assert deploy.ike_initiate(gwa, psk) == (True, None)
    finally:
        deploy.withdraw(d, [psk])

    # certificates: both gateways renewed; charon holds the new one, the old is revoked
    cert = create(d, "ikev2", "cert", "rot-cert")
    try:
        assert cli(d, capsys, "deploy", cert)[0] == 0
        with d.transaction() as s:
            before = pki.current(s, "gwa").serial
        rotate_and_deploy(cert)
        assert one_status(d, cert).up
        with d.transaction() as s:
            after = pki.current(s, "gwa").serial
            assert pki.get_certificate(s, before).revocation_reason == "superseded"
        assert after != before and after in serials_on(gwa, "gwa")
        # charon keeps every certificate it was given; what proves gwa authenticates with the
        # new one: gwb holds the CRL revoking the old one, and a fresh IKE SA comes up
        assert int(before, 16) in revoked_on(gwb)
        with gwa.session() as s:
            deploy._terminate(s, deploy.conn_name(cert))
        assert deploy.ike_initiate(gwa, cert) == (True, None)
    finally:
        deploy.withdraw(d, [cert])

    # WireGuard: new key pairs on both ends; wg shows the new public key
    wg = create(d, "wireguard", name="rot-wg")
    ifname = deploy.wg_ifname(wg)
    try:
        assert cli(d, capsys, "deploy", wg)[0] == 0
        before = gwa.run(["wg", "show", ifname, "public-key"]).stdout.strip()
        sealed = rotate_and_deploy(wg)
        after = gwa.run(["wg", "show", ifname, "public-key"]).stdout.strip()
        assert after == keys.public_key(sealed["a_private"]) != before
        assert one_status(d, wg).up and ping(_state, HB6).returncode == 0
        seen_secrets += [v.reveal() for v in sealed.values()]
    finally:
        deploy.withdraw(d, [wg])

    with d.transaction() as s:
        from sqlalchemy import select

        log = json.dumps([[c.before, c.after] for c in s.scalars(select(m.Change))],
                         default=str)
    assert seen_secrets and not any(x in log for x in seen_secrets)
    assert not any(x.encode().hex() in log for x in seen_secrets) and "PRIVATE KEY" not in log


def _forged_credentials(tmp_path, host, ca_pem, crl_pem):
    """Credentials for ``host`` from a CA of its own (a second directory's), carrying the
    real CA and CRL so the forging gateway still trusts its peer."""
    from directory import store
    from directory.store import Directory
    from vpn import pki

    other = Directory(f"sqlite:///{tmp_path / 'rogue.sqlite'}", actor="rogue")
    with other.transaction() as s:
        store.add_agency(s, code="ROGUE", name_en="Not GIN")
        store.add_site(s, "ROGUE", code="x")
        store.add_device(s, "ROGUE", "x", hostname=host, role="vpn-gateway", platform="linux")
        pki.init_ca(s)
        pki.issue(s, host, addresses=[])
        creds = pki.credentials_for(s, host)
    other.close()
    return dataclasses.replace(creds, ca_pem=ca_pem, crl_pem=crl_pem)


def test_untrusted_ca_is_named_and_the_certificate_files_are_cleaned(vpn_lab, tmp_path):
    """gwc presents a certificate from another CA: deploy and status say it is untrusted, and
    the failed deploy leaves no certificate or key file behind (gwa keeps what it had)."""
    from vpn import deploy, reasons

    _state, d = vpn_lab
    name = create(d, "ikev2", "cert", "rogue", peer="gwc")
    dirs = {h: gateway(d, h).swanctl_dir for h in ("gwa", "gwc")}

    def files(host):
        return {str(p.relative_to(dirs[host])): p.read_text()
                for sub in ("x509", "private", "x509ca", "x509crl")
                for p in sorted((dirs[host] / sub).iterdir())}

    forged = {}

    def plan():
        p = _broken(d, name, lambda spec, sealed: deploy.render_side(spec, "b", sealed))
        b = next(x for x in p.sides if x.key == "b")
        if not forged:
            forged["gwc"] = _forged_credentials(tmp_path, "gwc", b.creds.ca_pem,
                                                b.creds.crl_pem)
        b.creds = forged["gwc"]
        return p

    on_gwa, on_gwc = files("gwa"), files("gwc")
    res = deploy.deploy_plan(plan())
    assert (res.result, res.reason, res.restored) == ("rolled back", reasons.UNTRUSTED,
                                                      True), res.sides
    assert files("gwa") == on_gwa and files("gwc") == on_gwc == {}
    with gateway(d, "gwc").session() as s:
        assert not s.get_keys().get("keys")  # the forged key was unloaded again
    assert deploy.deploy_plan(plan(), verify=False).result == "changed"
    try:
        deadline = time.monotonic() + 15
        while (st := one_status(d, name)).reason != reasons.UNTRUSTED \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not st.up and st.reason == reasons.UNTRUSTED
    finally:
        deploy.withdraw(d, [name])


def test_two_wireguard_tunnels_on_one_gateway(vpn_lab):
    """gwa holds a WireGuard tunnel to gwb and one to gwc at once, each on its own port."""
    from vpn import deploy

    state, d = vpn_lab
    names = [create(d, "wireguard", name="wg-ab"), create(d, "wireguard", name="wg-ac",
                                                            peer="gwc")]
    try:
        assert [r.result for r in deploy.deploy(d, names)] == ["changed", "changed"]
        for dest in (HB6, HB4, HC6, HC4):
            assert ping(state, dest).returncode == 0, dest
        assert all(one_status(d, n).up for n in names)
        gwa = gateway(d, "gwa")
        ports = {gwa.run(["wg", "show", deploy.wg_ifname(n), "listen-port"]).stdout.strip()
                 for n in names}
        assert len(ports) == 2
    finally:
        deploy.withdraw(d, names)

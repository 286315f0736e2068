"""What deploy/status read and write without a daemon: swanctl.conf -> VICI, wg dump, reasons,
gateway access mappings, and the CLI's one-line errors (hostile and oversized input too)."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import ConfigError
from directory import models as m
from vpn import reasons, swanctl
from vpn.deploy import conn_name, wg_ifname
from vpn.gateway import Gateway
from vpn.render import render_side
from vpn.status import TunnelStatus, ike_status, parse_wg_dump, wg_status
from vpn.tunnels import create_tunnel, spec, tunnel_secrets


def _tunnel(vdir, type_="ikev2", auth="psk", name="t1"):
    with vdir.transaction() as s:
        t = create_tunnel(s, "gw-dopa", "gw-moph", type_, auth, name=name)
        return spec(t)


def test_rendered_psk_side_becomes_vici_messages(vdir, tmp_path):
    from vpn import keys

    t = _tunnel(vdir)
    psk = keys.generate_psk()
    cfg = swanctl.parse(render_side(t, "a", {"psk": psk}), tmp_path)
    body = cfg.conns["gin-t1"]
    assert body["local_addrs"] == ["2001:db8:ffff::1"] and body["version"] == "2"
    assert body["proposals"] == ["aes256gcm16-prfsha384-ecp384"]
    child = body["children"]["gin-t1"]
    assert child["local_ts"] == ["2001:db8:1::/48", "10.1.0.0/16"]
    assert child["esp_proposals"] == ["aes256gcm16-ecp384"] and child["start_action"] == "start"
    (shared,) = cfg.shared
    assert shared == {"id": "ike-gin-t1", "type": "IKE", "data": psk.reveal().encode(),
                      "owners": ["gw-dopa", "gw-moph"]}


def test_cert_side_inlines_the_certificate_file(vdir, tmp_path):
    t = _tunnel(vdir, auth="cert", name="c1")
    (tmp_path / "x509").mkdir()
    (tmp_path / "x509" / "gw-dopa.pem").write_bytes(b"PEM")
    cfg = swanctl.parse(render_side(t, "a", {}), tmp_path)
    assert cfg.conns["gin-c1"]["local"]["certs"] == [b"PEM"] and cfg.shared == []
    (tmp_path / "x509" / "gw-dopa.pem").unlink()
    with pytest.raises(ConfigError, match="gw-dopa.pem"):
        swanctl.parse(render_side(t, "a", {}), tmp_path)


@pytest.mark.parametrize("secret,data", [("0x6869", b"hi"), ("0saGk=", b"hi"),
                                         ("plain", b"plain")])
def test_secret_encodings_as_swanctl_reads_them(secret, data):
    text = f"secrets {{\n ike-x {{\n id-1 = a\n secret = {secret}\n }}\n}}\n"
    assert swanctl.parse(text).shared[0]["data"] == data


@pytest.mark.parametrize("text,msg", [
    ("connections {\n", "not closed"),
    ("}\n", "without an open section"),
    ("key = value\n", "outside a section"),
    ("connections {\n x { a = b\n}\n}\n", "line 2"),
    ("include conf.d/*.conf\n", "line 1"),
    ("authorities {\n}\n", "unsupported section"),
    ("secrets {\n eap-x {\n secret = s\n }\n}\n", "only ike secrets"),
    ("secrets {\n ike-x {\n secret = 0xZZ\n }\n}\n", "malformed"),
])
def test_malformed_swanctl_is_one_line(text, msg):
    with pytest.raises(ConfigError, match=msg) as exc:
        swanctl.parse(text)
    assert "\n" not in str(exc.value)


def test_a_bad_line_is_not_echoed_it_may_hold_a_secret():
    with pytest.raises(ConfigError) as exc:
        swanctl.parse("secrets {\n ike-x {\n secret TOPSECRET\n }\n}\n")
    assert "TOPSECRET" not in str(exc.value)


def test_oversized_swanctl_refused():
    with pytest.raises(ConfigError, match="1 MiB"):
        swanctl.parse("#" * (swanctl.MAX_TEXT + 1))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_crashes_on_hostile_text(text):
    try:
        swanctl.parse(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_wg_dump_drops_private_keys_and_reads_the_peer():
    dump = ("wg-t\tPRIVATEKEY=\tPUB=\t51820\toff\n"
            "wg-t\tPEER=\tPSK=\t[2001:db8::2]:51820\t10.2.0.0/24\t1700000000\t12\t34\t25\n")
    got = parse_wg_dump(dump)
    assert "PRIVATEKEY=" not in json.dumps(got) and "PSK=" not in json.dumps(got)
    assert got["wg-t"]["peer"]["latest_handshake"] == 1700000000
    st_ = TunnelStatus("t", "wireguard", "A")
    wg_status(st_, "t", {"ifaces": {wg_ifname("t"): got["wg-t"]}}, now=1700000010)
    assert st_.up and st_.handshake_age_seconds == 10 and (st_.bytes_in, st_.bytes_out) == (12, 34)
    stale = TunnelStatus("t", "wireguard", "A")
    wg_status(stale, "t", {"ifaces": {wg_ifname("t"): got["wg-t"]}}, now=1700000500)
    assert not stale.up and "stale" in stale.reason


def test_wg_without_handshake_and_missing_interface():
    none = {"wg-t": {"peer": {"latest_handshake": 0, "rx": 0, "tx": 92}}}
    st_ = TunnelStatus("t", "wireguard", "A")
    wg_status(st_, "t", {"ifaces": none}, now=1.0)
    assert st_.reason == reasons.NO_HANDSHAKE
    gone = TunnelStatus("t", "wireguard", "A")
    wg_status(gone, "t", {"ifaces": {}}, now=1.0)
    assert gone.reason == reasons.NOT_LOADED


def _sa(state, child_state=None):
    children = {} if child_state is None else {"gin-t-1": {
        "name": b"gin-t", "state": child_state.encode(), "bytes-in": b"10", "bytes-out": b"20",
        "packets-in": b"1", "packets-out": b"2", "rekey-time": b"300"}}
    return {"state": state.encode(), "rekey-time": b"900", "child-sas": children}


@pytest.mark.parametrize("sas,up,reason", [
    ([_sa("ESTABLISHED", "INSTALLED")], True, None),
    ([_sa("ESTABLISHED")], False, reasons.NO_CHILD),
    ([_sa("CONNECTING")], False, reasons.UNREACHABLE),
    ([], False, "no IKE SA (not initiated, or closed)"),
])
def test_ike_up_only_with_an_installed_child(sas, up, reason):
    st_ = TunnelStatus("t", "ikev2", "A")
    ike_status(st_, "t", {"conns": {conn_name("t")}, "sas": {conn_name("t"): sas}})
    assert (st_.up, st_.reason) == (up, reason)
    if up:
        assert (st_.bytes_in, st_.packets_out, st_.ike_rekey_seconds) == (10, 2, 900)


def test_reasons_from_control_log_and_file_log(tmp_path):
    assert reasons.from_lines(["received NO_PROPOSAL_CHOSEN notify error"]) == reasons.PROPOSAL
    assert reasons.from_lines(["received AUTHENTICATION_FAILED notify error"]) == reasons.AUTH
    # the side that checked a certificate from another CA says so, before its AUTH_FAILED
    assert reasons.from_lines(["no issuer certificate found for \"CN=gwc, OU=ROGUE, O=GIN\"",
                               "no trusted ECDSA public key found for 'gwc'",
                               "sending AUTHENTICATION_FAILED notify"]) == reasons.UNTRUSTED
    assert reasons.from_lines(["giving up after 3 retransmits"]) == reasons.UNREACHABLE
    assert reasons.from_lines(["received TS_UNACCEPTABLE notify"]) == reasons.TS
    assert reasons.from_lines(["all good"]) is None
    log = tmp_path / "charon.log"
    log.write_text("x 07[IKE] <gin-t|1> received AUTHENTICATION_FAILED notify error\n"
                   "x 07[IKE] <gin-u|2> giving up after 3 retransmits\n")
    assert reasons.from_log(log, "gin-t") == reasons.AUTH
    log.write_text(log.read_text() + "x 07[IKE] <gin-t|3> CHILD_SA gin-t{1} established\n")
    assert reasons.from_log(log, "gin-t") is None  # an old failure is forgotten
    assert reasons.from_log(tmp_path / "missing.log", "gin-t") is None


def test_wg_ifname_fits_linux_and_is_stable():
    assert wg_ifname("short") == "wg-short"
    long = wg_ifname("a-very-long-tunnel-name-x")
    assert len(long) <= 15 and long == wg_ifname("a-very-long-tunnel-name-x")
    assert long != wg_ifname("a-very-long-tunnel-name-y")


def _device(ref):
    return m.Device(hostname="gw1", role="vpn-gateway", platform="linux", credential_ref=ref)


@pytest.mark.parametrize("content,msg", [
    ('"just a string"', "must name a mapping"),
    ('{"vici": "tcp://10.0.0.1:4502"}', "unix://PATH"),
    ('{"exec": "ip netns exec x"}', "list of strings"),
    ('{"exec": [1, 2]}', "list of strings"),
])
def test_gateway_access_mapping_is_checked(tmp_path, content, msg):
    f = tmp_path / "gw.json"
    f.write_text(content)
    os.chmod(f, 0o600)
    with pytest.raises(ConfigError, match=msg):
        Gateway.of(_device(f"file:{f}"))


def test_gateway_access_read_and_unreachable_charon(tmp_path):
    from devices.errors import TransportError

    f = tmp_path / "gw.json"
    f.write_text(json.dumps({"vici": f"unix://{tmp_path}/none.vici", "swanctl_dir": "/x",
                             "exec": ["ip", "netns", "exec", "n"]}))
    os.chmod(f, 0o600)
    gw = Gateway.of(_device(f"file:{f}"))
    assert gw.exec_prefix == ("ip", "netns", "exec", "n") and gw.conf_file("t").name == \
        "gin-t.conf"
    with pytest.raises(TransportError, match="charon does not answer"), gw.session():
        pass


def test_cli_errors_are_one_line(vdir_url, capsys):
    from gin.cli import main

    for argv in (["vpn", "deploy", "nope\nrm -rf /"], ["vpn", "status", "x" * 5000],
                 ["vpn", "withdraw", "'; DROP TABLE tunnel; --"]):
        assert main(["--db", vdir_url, *argv]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("gin: error:") and "Traceback" not in err
    assert main(["--db", vdir_url, "vpn", "deploy"]) == 2  # a tunnel name is required


def test_deploy_of_a_gateway_without_access_is_one_line_and_changes_nothing(vdir, capsys):
    from gin.cli import main

    _tunnel(vdir, name="t9")
    url = vdir.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "vpn", "deploy", "t9"]) == 3
    out = capsys.readouterr().out
    assert "failed" in out and "credential" in out
    with vdir.transaction() as s:
        from vpn.tunnels import get_tunnel

        assert get_tunnel(s, "t9").status == "planned"


def test_a_rendered_side_never_shows_its_secrets(vdir):
    from vpn import deploy

    with vdir.transaction() as s:
        from vpn.tunnels import get_tunnel

        _tunnel(vdir, name="t5")
        t = get_tunnel(s, "t5")
        psk = tunnel_secrets(s, t)["psk"].reveal().encode().hex()  # as swanctl.conf has it
        text = render_side(spec(t), "a", tunnel_secrets(s, t))
    side = deploy.Side("a", "gw-dopa", "linux", None, text)
    assert psk in side.text and psk not in repr(side) and psk not in str(side)

"""`gin vpn` verbs: JSON for scripts, errors as one line with exit 1, no secret ever printed."""

from __future__ import annotations

import json

import pytest

from directory.store import Directory
from gin.cli import main
from vpn import keys


@pytest.fixture
def run(vdir_url, monkeypatch, capsys):
    monkeypatch.setenv("GIN_DB", vdir_url)

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["vpn", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_create_list_show_render_rm(run):
    code, out, _ = run("create", "gw-dopa", "gw-moph", "--type", "wireguard", "--json")
    assert code == 0
    created = json.loads(out)
    assert created["name"] == "gw-dopa-gw-moph" and created["secret"] == "sealed"
    assert run("create", "gw-dopa", "gw-moph", "--type", "ikev2", "--auth", "psk",
               "--name", "ike1")[0] == 0
    code, out, _ = run("list", "--json")
    assert code == 0 and [t["name"] for t in json.loads(out)] == ["gw-dopa-gw-moph", "ike1"]
    code, out, _ = run("show", "ike1", "--json")
    assert json.loads(out)["ike"] == "aes256gcm16-prfsha384-ecp384"
    code, out, _ = run("show", "ike1")
    assert code == 0 and "2001:db8:1::/48, 10.1.0.0/16" in out and "['" not in out
    code, out, _ = run("render", "gw-dopa-gw-moph")
    assert code == 0 and "### gw-dopa\n" in out and "PrivateKey = <sealed:a_private>" in out
    assert created["b_public_key"] in out
    code, out, _ = run("render", "ike1", "--json")
    assert set(json.loads(out)) == {"gw-dopa", "gw-moph"}
    assert run("rm", "ike1") == (0, "removed tunnel ike1\n", "")
    assert [t["name"] for t in json.loads(run("list", "--json")[1])] == ["gw-dopa-gw-moph"]


def test_no_secret_in_any_output(run, vdir_url):
    run("create", "gw-dopa", "gw-moph", "--type", "wireguard", "--name", "wg1")
    with Directory(vdir_url).transaction() as s:
        from vpn.tunnels import get_tunnel
        opened = keys.unseal(get_tunnel(s, "wg1").secret_ref, "tunnel wg1")
    printed = "".join(run(*verb)[1] for verb in (["show", "wg1"], ["show", "wg1", "--json"],
                                                  ["render", "wg1"], ["list", "--json"]))
    for value in opened.values():
        assert value.reveal() not in printed


@pytest.mark.parametrize("args,message", [
    (["create", "gw-dopa", "gw-moph", "--type", "ikev2", "--policy", "nope"],
     "unknown crypto policy 'nope'"),
    (["create", "gw-dopa", "nope", "--type", "ikev2"], "device 'nope' not found"),
    (["create", "gw-dopa", "gw-dopa", "--type", "ikev2"], "two gateways"),
    (["create", "gw-dopa", "gw-moph", "--type", "ikev2", "--name", "x\nconn evil"],
     "tunnel name"),
    (["create", "gw-dopa", "gw-moph", "--type", "wireguard", "--auth", "psk"],
     "--auth does not apply"),
    (["create", "gw-dopa", "gw-moph", "--type", "ikev2", "--a-interface",
      "ge-0/0/0.0\nset system root-authentication"], "control character"),
    (["create", "gw-dopa", "gw-moph", "--type", "ikev2", "--b-interface", "x" * 500],
     "--b-interface"),
    (["show", "nope"], "tunnel 'nope' not found"),
    (["render", "nope"], "tunnel 'nope' not found"),
    (["rm", "nope"], "tunnel 'nope' not found"),
])
def test_errors_one_line_exit_1(run, args, message):
    code, _, err = run(*args)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert json.loads(run("list", "--json")[1]) == []


def test_render_router_end(run):
    assert run("create", "gw-dopa", "xe-hub", "--type", "ikev2", "--name", "hub")[0] == 0
    code, out, _ = run("render", "hub")
    assert code == 0 and "### xe-hub\n" in out and "interface Tunnel1\n" in out
    # what render would refuse is refused when the tunnel is created, and nothing is kept
    code, _, err = run("create", "gw-moph", "xe-hub", "--type", "wireguard", "--name", "wg")
    assert code == 1 and "xe-hub (cisco_xe) cannot build a wireguard tunnel" in err
    assert len(err.strip().splitlines()) == 1
    assert [t["name"] for t in json.loads(run("list", "--json")[1])] == ["hub"]


def test_missing_sealing_key_one_line(run, monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY")
    code, _, err = run("create", "gw-dopa", "gw-moph", "--type", "ikev2", "--auth", "psk")
    assert code == 1 and "GIN_VPN_KEY_FILE" in err and len(err.strip().splitlines()) == 1


def test_usage_error_exit_2(run):
    assert run("create", "gw-dopa", "gw-moph", "--type", "gre")[0] == 2


LEGACY = """policies:
  legacy-peer:
    ike: aes256-sha1-modp1024
    esp: aes256-sha256
    ike_rekey_time: 14400
    ike_life_time: 15840
    esp_rekey_time: 3600
    esp_life_time: 3960
"""


def test_site_policy_weak_needs_allow_weak(run, tmp_path, monkeypatch):
    path = tmp_path / "policies.yaml"
    path.write_text(LEGACY)
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(path))
    args = ["create", "gw-dopa", "gw-moph", "--type", "ikev2", "--policy", "legacy-peer"]
    code, _, err = run(*args)
    assert code == 1 and "weak ike sha1: SHA-1 integrity" in err
    assert len(err.strip().splitlines()) == 1
    assert json.loads(run("list", "--json")[1]) == []
    code, out, _ = run(*args, "--allow-weak", "--json")
    assert code == 0
    assert [w.split(":")[0] for w in json.loads(out)["weak"]] == ["ike sha1", "ike modp1024"]


@pytest.mark.parametrize("content,message", [
    ("policies: [1, 2]", "expected a 'policies:' mapping"),
    ("policies: {a: [", "not valid YAML"),
])
def test_bad_policy_file_one_line(run, tmp_path, monkeypatch, content, message):
    path = tmp_path / "policies.yaml"
    path.write_text(content)
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(path))
    code, _, err = run("create", "gw-dopa", "gw-moph", "--type", "ikev2")
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_help_does_not_read_policy_file(run, monkeypatch):
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", "/nonexistent/policies.yaml")
    code, out, _ = run("create", "--help")
    assert code == 0 and "GIN_VPN_POLICY_FILE" in out

"""`gin vpn ca|cert|crl|rotate` and `show --show-secret` (a real pseudo-terminal): one-line
errors, hostile input refused, no key or secret ever printed off a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory import models as m
from directory.store import Directory
from gin.cli import main
from vpn import tunnels


@pytest.fixture
def run(vdir_url, monkeypatch, capsysbinary):
    monkeypatch.setenv("GIN_DB", vdir_url)

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["vpn", *args])
        out, err = capsysbinary.readouterr()
        return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    return _run


def one_line_error(result, text):
    code, _, err = result
    assert code == 1 and text in err and len(err.strip().splitlines()) == 1, err


def test_ca_cert_lifecycle(run, tmp_path):
    one_line_error(run("cert", "issue", "gw-dopa"), "gin vpn ca init")
    code, out, _ = run("ca", "init", "--json")
    assert code == 0 and json.loads(out)["kind"] == "ca"
    one_line_error(run("ca", "init"), "exists already")
    code, out, _ = run("cert", "issue", "gw-dopa", "--json")
    issued = json.loads(out)
    assert code == 0 and issued["device"] == "gw-dopa" and issued["status"] == "valid"
    one_line_error(run("cert", "issue", "gw-dopa"), "renew")
    code, out, _ = run("cert", "renew", "gw-dopa", "--days", "30", "--json")
    assert code == 0 and json.loads(out)["status"] == "expiring"
    code, out, _ = run("cert", "list", "--json")
    rows = json.loads(out)
    assert [r["kind"] for r in rows] == ["ca", "gateway", "gateway"]
    assert "PRIVATE" not in out and "sealed:" not in out
    code, out, _ = run("cert", "list")
    assert code == 0 and "expiring" in out and issued["serial"][:8] in out
    code, out, _ = run("cert", "revoke", issued["serial"], "--reason", "key-compromise",
                       "--json")
    assert code == 0 and json.loads(out)["status"] == "revoked"
    code, out, _ = run("crl")
    crl = x509.load_pem_x509_crl(out.encode())
    assert crl.get_revoked_certificate_by_serial_number(int(issued["serial"], 16))
    assert run("crl", "--format", "der", "-o", str(tmp_path / "c.crl"))[0] == 0
    x509.load_der_x509_crl((tmp_path / "c.crl").read_bytes())
    code, out, _ = run("ca", "show", "--pem")
    ca_pem = out
    assert code == 0 and out.startswith("-----BEGIN CERTIFICATE-----")
    # verify a received file: our revoked cert, and the CA itself
    with Directory(os.environ["GIN_DB"]).transaction() as s:
        pem = s.scalar(select(m.Certificate.pem).where(
            m.Certificate.serial == issued["serial"]))
    (tmp_path / "gw.pem").write_text(pem)
    code, out, _ = run("cert", "verify", str(tmp_path / "gw.pem"), "--json")
    assert code == 1 and json.loads(out)["status"] == "revoked"
    (tmp_path / "ca.pem").write_text(ca_pem)
    code, out, _ = run("cert", "verify", str(tmp_path / "ca.pem"), "--json")
    assert code == 0 and json.loads(out)["status"] == "valid" and "GIN VPN CA" in out


@pytest.mark.parametrize("content,message", [
    (b"", "found 0"),
    (b"\x00\xff" * 1000, "found 0"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid X.509"),
    (b"x" * (70 * 1024), "larger than 64 KiB"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" * 2, "found 2"),
    (b"-----BEGIN CERTIFICATE-----\n\x1b[31m;rm -rf\n-----END CERTIFICATE-----\n", "found 0"),
])
def test_hostile_pem_files_one_line(run, tmp_path, content, message):
    run("ca", "init")
    path = tmp_path / "in.pem"
    path.write_bytes(content)
    one_line_error(run("cert", "verify", str(path)), message)


def test_foreign_ca_certificate_is_untrusted(run, tmp_path):
    from vpn import pki
    run("ca", "init")
    other = tmp_path / "other.sqlite"
    with Directory(f"sqlite:///{other}").transaction() as s:
        foreign = pki.init_ca(s).pem
    (tmp_path / "f.pem").write_text(foreign)
    code, out, _ = run("cert", "verify", str(tmp_path / "f.pem"), "--json")
    assert code == 1 and json.loads(out)["status"] == "untrusted"


@pytest.mark.parametrize("args,message", [
    (["cert", "revoke", "zz\nconn evil", "--reason", "superseded"], "serial"),
    (["cert", "revoke", "ab" * 100, "--reason", "superseded"], "serial"),
    (["cert", "revoke", "abcd", "--reason", "superseded"], "not found"),
    (["cert", "issue", "gw-nowhere"], "not found"),
    (["cert", "issue", "gw-dopa", "--address", "10.0.0.1\nx"], "does not appear"),
    (["cert", "list", "--device", "x'; drop table certificate"], "not a valid host name"),
    (["rotate", "nope"], "not found"),
])
def test_cert_errors_one_line(run, args, message):
    run("ca", "init")
    one_line_error(run(*args), message)


def test_bad_reason_is_usage_error(run):
    run("ca", "init")
    assert run("cert", "revoke", "ab", "--reason", "because\nset x")[0] == 2


def test_der_crl_not_to_a_terminal_and_pipe_refuses_secret(run, vdir_url, monkeypatch):
    run("ca", "init")
    monkeypatch.setattr("gin.commands.vpn._stdout_is_terminal", lambda: True)
    one_line_error(run("crl", "--format", "der"), "binary")
    monkeypatch.undo()
    monkeypatch.setenv("GIN_DB", vdir_url)
    run("create", "gw-dopa", "gw-moph", "--type", "ikev2", "--auth", "psk", "--name", "p1")
    one_line_error(run("show", "p1", "--show-secret"), "not a terminal")


def test_rotate_cli_pending_and_abort(run):
    assert run("create", "gw-dopa", "gw-moph", "--type", "wireguard", "--name", "w1")[0] == 0
    code, out, _ = run("rotate", "w1", "--json")
    data = json.loads(out)
    assert code == 0 and data["rotation"] == "pending" and "a_public_key" in data
    assert json.loads(run("show", "w1", "--json")[1])["rotation"] == "pending"
    one_line_error(run("rotate", "w1"), "pending already")
    assert json.loads(run("rotate", "w1", "--abort", "--json")[1])["rotation"] == "discarded"
    assert json.loads(run("show", "w1", "--json")[1])["rotation"] is None


def _on_tty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `gin` with its stdout on a real pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gin.cli", *args], stdout=follower,
                            stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_show_secret_on_a_terminal_and_logged_without_it(run, vdir_url):
    run("create", "gw-dopa", "gw-moph", "--type", "ikev2", "--auth", "psk", "--name", "p1")
    env = {**os.environ, "GIN_DB": vdir_url, "COLUMNS": "200"}
    code, out = _on_tty(["vpn", "show", "p1", "--show-secret", "--json"], env)
    assert code == 0, out
    with Directory(vdir_url).transaction() as s:
        psk = tunnels.tunnel_secrets(s, tunnels.get_tunnel(s, "p1"))["psk"].reveal()
        events = [c.after for c in s.scalars(select(m.Change).where(
            m.Change.action == "show-secret"))]
    assert json.loads(out[out.index("{"):])["secret_psk"] == psk
    assert events == [{"shown": ["psk"]}] and psk not in str(events)


HOSTILE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
                  max_size=300)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE)
def test_hostile_arguments_change_nothing(run, vdir_url, text):
    if text.startswith("-"):
        text = "x" + text  # an option, not an argument: click's usage error covers it
    run("ca", "init")
    with Directory(vdir_url).transaction() as s:
        before = s.scalar(select(func.count()).select_from(m.Change))
    for args in (["cert", "revoke", text, "--reason", "superseded"], ["cert", "issue", text],
                 ["cert", "renew", text], ["rotate", text], ["show", text, "--show-secret"],
                 ["cert", "list", "--device", text]):
        code, out, err = run(*args)
        assert code in (1, 2), (args, out)
        assert len(err.strip().splitlines()) == 1 or code == 2
    with Directory(vdir_url).transaction() as s:
        assert s.scalar(select(func.count()).select_from(m.Change)) == before


def test_renew_expiring_within(run):
    run("ca", "init")
    run("cert", "issue", "gw-dopa", "--days", "10")
    run("cert", "issue", "gw-moph")
    code, out, _ = run("cert", "renew", "--expiring-within", "30", "--json")
    assert code == 0 and [r["device"] for r in json.loads(out)] == ["gw-dopa"]
    code, out, _ = run("cert", "renew", "--expiring-within", "30", "--json")
    assert code == 0 and json.loads(out) == []  # the renewed one is valid for a year
    assert run("cert", "renew")[0] == 2
    assert run("cert", "renew", "gw-dopa", "--expiring-within", "3")[0] == 2


def test_no_ca_one_line(run):
    one_line_error(run("crl"), "gin vpn ca init")
    one_line_error(run("ca", "show"), "gin vpn ca init")


def test_device_rm_names_its_certificates(run, vdir_url, capsysbinary):
    """A gateway holding certificates is not removed: one line says what uses it (not the
    database's "FOREIGN KEY constraint failed")."""
    assert run("ca", "init")[0] == 0 and run("cert", "issue", "gw-dopa")[0] == 0
    code = main(["--db", vdir_url, "directory", "device", "rm", "gw-dopa"])
    err = capsysbinary.readouterr().err.decode()
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "still used by certificates" in err and "FOREIGN KEY" not in err
    d = Directory(vdir_url)
    with d.transaction() as s:
        assert s.scalar(select(func.count()).select_from(m.Device)
                        .where(m.Device.hostname == "gw-dopa")) == 1
    d.close()

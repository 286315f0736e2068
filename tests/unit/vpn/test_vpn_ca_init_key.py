"""`gin vpn ca init` before any sealing key exists says in one line what to run, records
nothing, and works once `gin vpn key init` has run (the README's order)."""

from __future__ import annotations

import json

from directory.store import Directory
from gin.cli import main
from vpn import pki


def test_ca_init_without_a_key_names_key_init_then_works(tmp_path, monkeypatch, capsys,
                                                         sqlite_url):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    Directory(sqlite_url).close()
    monkeypatch.setenv("GIN_DB", sqlite_url)
    assert main(["vpn", "ca", "init"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "create one with `gin vpn key init`" in err[0]
    d = Directory(sqlite_url)
    with d.transaction() as s:
        assert pki.list_certificates(s) == []  # nothing recorded
    d.close()
    assert main(["vpn", "key", "init"]) == 0
    capsys.readouterr()
    assert main(["vpn", "ca", "init", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device"] is None  # the CA itself

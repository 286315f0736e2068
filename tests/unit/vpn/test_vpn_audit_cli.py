"""The VPN checks reach `gin audit check` and `gin audit report` (not only the API): a weak
tunnel recorded in the directory is a failing 12.3.1 finding beside the config findings."""

from __future__ import annotations

import json

from gin.cli import main
from vpn import tunnels

LEGACY = {"name": "legacy", "ike": "aes256-sha1-modp2048", "esp": "aes256-sha256",
          "ike_rekey_time": 14400, "ike_life_time": 15840, "esp_rekey_time": 3600,
          "esp_life_time": 3960}


def test_weak_tunnel_is_a_finding_in_check_and_report(vdir, vdir_url, tmp_path, monkeypatch,
                                                      capsys):
    policies = tmp_path / "p.yaml"
    policies.write_text(json.dumps({"policies": {"legacy": LEGACY}}))
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(policies))
    monkeypatch.setenv("GIN_WEB_EVIDENCE_DIR", str(tmp_path / "web"))
    with vdir.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", "legacy", name="weak1",
                              allow_weak=True)
    configs = tmp_path / "configs"
    configs.mkdir()
    base = ["--db", vdir_url, "audit"]
    assert main([*base, "check", "--configs", str(configs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    text = json.dumps(data)
    assert "vpn.tunnel_crypto" in text and "gw-dopa" in text and "12.3.1" in text

    out = tmp_path / "r.json"
    assert main([*base, "report", "--configs", str(configs), "--agency", "MOPH",
                 "--format", "json", "-o", str(out), "--no-history"]) == 0
    report = json.loads(out.read_text())
    dumped = json.dumps(report)
    assert "gw-moph" in dumped and "vpn.tunnel_crypto" in dumped
    devices = {(f["device"], f["agency"]) for f in report["findings"]}
    # --agency scopes the VPN findings too (MOPH itself: its contacts, a directory fact)
    assert devices == {("gw-moph", "MOPH"), ("MOPH", "MOPH")}

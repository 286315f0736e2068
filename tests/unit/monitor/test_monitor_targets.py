"""Targets from the directory and SNMP profiles; credentials resolved, never shown."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devices.errors import ConfigError
from directory import store
from directory.store import Directory
from monitor.snmp.targets import (
    DEFAULT_PROFILE,
    build_target,
    load_profiles,
    split_address,
    targets_from_directory,
)


def secret_file(path: Path, data: object) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return f"file:{path}"


LAB_CREDS = {"username": "root", "snmp": {"user": "ginlab", "auth_protocol": "SHA",
                                          "auth_key": "authsecret123", "priv_protocol": "AES",
                                          "priv_key": "privsecret456"}}


def test_split_address() -> None:
    assert split_address("192.0.2.1", 161) == ("192.0.2.1", 161)
    assert split_address("192.0.2.1:1161", 161) == ("192.0.2.1", 1161)
    assert split_address("2001:db8::0:1", 161) == ("2001:db8::1", 161)
    assert split_address("[2001:db8::1]:1161", 161) == ("2001:db8::1", 1161)
    with pytest.raises(ValueError):
        split_address("router.example", 161)


def test_default_profile_takes_keys_from_the_credential_ref(tmp_path: Path) -> None:
    ref = secret_file(tmp_path / "c.json", LAB_CREDS)
    t = build_target("r1", "2001:db8::1", load_profiles(None)[DEFAULT_PROFILE],
                     agency="LAB", site="core", credential_ref=ref)
    assert t.config_error is None
    assert t.user is not None and t.user.name == "ginlab"
    assert (t.user.auth_protocol, t.user.priv_protocol) == ("SHA", "AES")
    assert t.labels == {"agency": "LAB", "site": "core", "device": "r1"}
    text = repr(t) + str(t)
    assert "authsecret123" not in text and "privsecret456" not in text


def test_unresolvable_credentials_become_a_config_error(tmp_path: Path) -> None:
    prof = load_profiles(None)[DEFAULT_PROFILE]
    t = build_target("r1", "192.0.2.1", prof, credential_ref="env:GIN_TEST_NOT_SET_X")
    assert t.config_error and "GIN_TEST_NOT_SET_X" in t.config_error
    t = build_target("r2", "192.0.2.1", prof, credential_ref=secret_file(
        tmp_path / "n.json", {"snmp": {"user": "u"}}))
    assert t.config_error and "key missing" in t.config_error


def test_profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("defaults: {timeout: 1.5}\nprofiles:\n"
                    "  noc: {version: v3, user: noc, auth_protocol: sha256,\n"
                    "        auth_key_ref: env:GIN_T_AUTH, priv_key_ref: env:GIN_T_PRIV,\n"
                    "        port: 1161}\n"
                    "  old: {version: v2c, community_ref: env:GIN_T_COMM}\n")
    monkeypatch.setenv("GIN_T_AUTH", "a" * 12)
    monkeypatch.setenv("GIN_T_PRIV", "p" * 12)
    monkeypatch.setenv("GIN_T_COMM", "s3cret")
    profiles = load_profiles(path)
    t = build_target("r", "192.0.2.7", profiles["noc"])
    assert (t.port, t.timeout, t.user.auth_protocol) == (1161, 1.5, "SHA-256")
    v2 = build_target("r", "192.0.2.7", profiles["old"])
    assert v2.version == "v2c" and v2.community == "s3cret" and "s3cret" not in repr(v2)


@pytest.mark.parametrize("body,msg", [
    ("profiles: {x: {version: v1}}", "version"),
    ("profiles: {x: {priv_protocol: DES}}", "DES"),
    ("profiles: {x: {colour: red}}", "unknown keys"),
    ("- a list", "mapping"),
    ("profiles: {x: {timeout: 0}}", "timeout"),
])
def test_bad_profiles_are_one_clear_error(tmp_path: Path, body: str, msg: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=msg):
        load_profiles(path)


def test_targets_from_directory(sqlite_url: str, tmp_path: Path) -> None:
    ref = secret_file(tmp_path / "c.json", LAB_CREDS)
    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="ce1", role="ce", platform="frr",
                         snmp_address="2001:db8::1", credential_ref=ref)
        store.add_device(s, "MOF", "BKK", hostname="ce2", role="ce", platform="frr",
                         mgmt_address="192.0.2.2", credential_ref=ref)
        store.add_device(s, "MOF", "BKK", hostname="ce3", role="ce", platform="frr")
    targets, skipped = targets_from_directory(d, load_profiles(None))
    d.close()
    assert {t.name: (t.host, t.agency, t.site) for t in targets} == {
        "ce1": ("2001:db8::1", "MOF", "BKK"), "ce2": ("192.0.2.2", "MOF", "BKK")}
    assert skipped == ["ce3: no snmp_address or mgmt_address"]


def test_agency_filter_for_regional_agents(sqlite_url: str, tmp_path: Path) -> None:
    ref = secret_file(tmp_path / "c.json", LAB_CREDS)
    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        for code in ("MOF", "MOI"):
            store.add_agency(s, code=code, name_en=code)
            store.add_site(s, code, code="HQ")
            store.add_device(s, code, "HQ", hostname=f"{code.lower()}-r1", role="ce",
                             platform="frr", snmp_address="192.0.2.9", credential_ref=ref)
    targets, _ = targets_from_directory(d, load_profiles(None), agencies={"MOI"})
    d.close()
    assert [t.name for t in targets] == ["moi-r1"]

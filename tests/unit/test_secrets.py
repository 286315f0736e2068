"""Credential references resolve at the last moment and never print their secret."""

from __future__ import annotations

import logging

import pytest

from devices.errors import ConfigError
from devices.secrets import Secret, resolve


def test_env_reference(monkeypatch):
    monkeypatch.setenv("GIN_T_PW", "s3cret-value")
    value = resolve("env:GIN_T_PW")
    assert value.reveal() == "s3cret-value"
    assert "s3cret" not in repr(value) and "s3cret" not in f"{value}"


def test_file_reference_json_mapping(tmp_path, caplog):
    path = tmp_path / "cred.json"
    path.write_text('{"username": "admin", "password": "pa55word", "snmp": {"auth_key": "k"}}')
    path.chmod(0o600)
    cred = resolve(f"file:{path}")
    assert cred["password"].reveal() == "pa55word"
    assert isinstance(cred["snmp"]["auth_key"], Secret)
    logging.getLogger("t").warning("cred %s / %r", cred["password"], cred)
    assert "pa55word" not in caplog.text


def test_group_readable_file_refused(tmp_path):
    path = tmp_path / "cred"
    path.write_text("x")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve(f"file:{path}")


@pytest.mark.parametrize("ref", [None, "", "plain", "env:", "vault:x", "file:/nonexistent/x",
                                 "env:GIN_SURELY_UNSET_VAR"])
def test_bad_references_are_clear(ref):
    with pytest.raises(ConfigError, match="credential reference|no credential"):
        resolve(ref)


def test_ansible_vault_reference(tmp_path, monkeypatch):
    vault = pytest.importorskip("ansible.parsing.vault")
    from ansible.constants import DEFAULT_VAULT_ID_MATCH

    pw = tmp_path / "vault-pass"
    pw.write_text("correct horse\n")
    pw.chmod(0o600)
    lib = vault.VaultLib([(DEFAULT_VAULT_ID_MATCH, vault.VaultSecret(b"correct horse"))])
    secret = tmp_path / "ce1.vault"
    secret.write_bytes(lib.encrypt(b"username: admin\npassword: v4ult-pw\n"))
    secret.chmod(0o600)
    monkeypatch.setenv("GIN_VAULT_PASSWORD_FILE", str(pw))
    cred = resolve(f"vault:{secret}")
    assert cred["username"].reveal() == "admin" and cred["password"].reveal() == "v4ult-pw"
    pw.write_text("wrong\n")
    with pytest.raises(ConfigError, match="cannot decrypt"):
        resolve(f"vault:{secret}")
    monkeypatch.delenv("GIN_VAULT_PASSWORD_FILE")
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    with pytest.raises(ConfigError, match="GIN_VAULT_PASSWORD_FILE"):
        resolve(f"vault:{secret}")

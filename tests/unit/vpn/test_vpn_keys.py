"""WireGuard keys in pure Python, PSKs, and sealing at rest with a 0600 key file."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from devices.errors import ConfigError
from devices.secrets import Secret
from vpn import keys

# RFC 7748 section 6.1 test vector (Alice): private scalar and its X25519 public key.
ALICE_PRIV = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
ALICE_PUB = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"


def b64(hexstr: str) -> str:
    return base64.b64encode(bytes.fromhex(hexstr)).decode()


def test_public_key_matches_rfc7748():
    assert keys.public_key(b64(ALICE_PRIV)) == b64(ALICE_PUB)


def test_generated_key_round_trip():
    priv = keys.generate_private_key()
    assert isinstance(priv, Secret) and len(base64.b64decode(priv.reveal())) == 32
    pub = keys.public_key(priv)
    assert keys.check_public_key(pub) == pub and pub != priv.reveal()


@pytest.mark.skipif(shutil.which("wg") is None, reason="wireguard-tools not installed")
def test_matches_wg_pubkey():
    for _ in range(3):
        priv = keys.generate_private_key()
        out = subprocess.run(["wg", "pubkey"], input=priv.reveal() + "\n", text=True,
                             capture_output=True, check=True).stdout.strip()
        assert out == keys.public_key(priv)


def test_secrets_never_print():
    for value in (keys.generate_private_key(), keys.generate_psk()):
        assert str(value) == "***" and repr(value) == "Secret('***')" and f"{value}" == "***"
        assert value.reveal() not in f"{value!r} {value!s}"


def test_bad_keys_one_line():
    with pytest.raises(ConfigError, match="not base64"):
        keys.public_key("not a key!")
    with pytest.raises(ConfigError, match="expected 32 bytes"):
        keys.check_public_key(base64.b64encode(b"x" * 31).decode())


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path = keys.init_key_file(tmp_path / "vpn.key")
    monkeypatch.setenv("GIN_VPN_KEY_FILE", str(path))
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    return path


def test_key_file_created_0600_and_not_overwritten(key_file):
    assert key_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="not overwriting"):
        keys.init_key_file(key_file)


def test_seal_round_trip(key_file):
    values = {"psk": keys.generate_psk(), "a_private": keys.generate_private_key()}
    token = keys.seal(values, "tunnel t1")
    assert len(token) < 255 and token.startswith(keys.SEALED_PREFIX)
    for v in values.values():
        assert v.reveal() not in token
    opened = keys.unseal(token, "tunnel t1")
    assert {k: v.reveal() for k, v in opened.items()} == {k: v.reveal()
                                                          for k, v in values.items()}
    assert all(isinstance(v, Secret) for v in opened.values())


def test_sealed_value_bound_to_its_tunnel(key_file):
    token = keys.seal({"psk": keys.generate_psk()}, "tunnel t1")
    with pytest.raises(ConfigError, match="cannot decrypt"):
        keys.unseal(token, "tunnel t2")


def test_wrong_key_refused(key_file, tmp_path, monkeypatch):
    token = keys.seal({"psk": keys.generate_psk()}, "t")
    other = keys.init_key_file(tmp_path / "other.key")
    monkeypatch.setenv("GIN_VPN_KEY_FILE", str(other))
    with pytest.raises(ConfigError, match="cannot decrypt"):
        keys.unseal(token, "t")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_file_readable_by_others_refused(key_file, mode):
    key_file.chmod(mode)
    with pytest.raises(ConfigError, match="readable by others"):
        keys.load_master_key()


def test_no_key_configured(monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    with pytest.raises(ConfigError, match="GIN_VPN_KEY_FILE"):
        keys.load_master_key()


def test_key_from_env(monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    token = keys.seal({"psk": keys.generate_psk()}, "t")
    assert set(keys.unseal(token, "t")) == {"psk"}


def test_key_init_cli_default_file_then_used_and_never_overwritten(tmp_path, monkeypatch,
                                                                    capsys):
    """`gin vpn key init` with no environment: the per-user default file, 0600, found by
    load_master_key; a second init refuses in one line; without any key the error names
    the command that makes one."""
    from gin.cli import main

    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with pytest.raises(ConfigError, match="gin vpn key init"):
        keys.load_master_key()
    assert main(["vpn", "key", "init"]) == 0
    path = tmp_path / "data" / "gin" / "vpn.key"
    assert str(path) in capsys.readouterr().out
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(keys.load_master_key()) == 32
    before = path.read_bytes()
    assert main(["vpn", "key", "init"]) == 1
    assert "not overwriting" in capsys.readouterr().err
    assert path.read_bytes() == before

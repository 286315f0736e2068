"""Credential references: where a secret lives, never the secret itself.

The directory stores references such as ``env:GIN_CE1``, ``file:/etc/gin/ce1.json`` or
``vault:/etc/gin/ce1.vault`` (an Ansible Vault file, opened with the password in
``GIN_VAULT_PASSWORD_FILE`` or ``ANSIBLE_VAULT_PASSWORD_FILE``); only
the process that needs the secret resolves it, at the last moment.  A reference's value is
either a plain string (a password, a PSK) or a JSON/YAML mapping (``username``,
``password``, ``key_file``, ``snmp: {...}``).  Secrets are wrapped so that printing or
logging them shows ``***``.

What gin must keep of a secret (a tunnel's PSK, a CA key, a router's config in the change
journal) is stored only sealed: AES-256-GCM under the sealing key (``GIN_VPN_KEY_FILE``,
mode 0600; ``GIN_VPN_KEY``; or the per-user default file ``gin vpn key init`` creates),
bound to a context (what it belongs to), so a sealed value copied elsewhere does not open.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import yaml

from devices.errors import ConfigError
from directory.db import data_home

MAX_SECRET_FILE = 1 << 20
KEY_BYTES = 32
SEALED_PREFIX = "sealed:v1:"


class Secret(str):
    """A string whose ``repr``/``str`` formatting in logs never shows the value.

    ``.reveal()`` returns the real value for the one place that must send it.
    """

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def reveal(self) -> str:
        return self[:]  # slicing bypasses __str__ and yields a plain str


def _wrap(value: Any) -> Any:
    """Mark every string in a credential mapping as a Secret (paths and names too: cheap)."""
    if isinstance(value, dict):
        return {k: _wrap(v) for k, v in value.items()}
    if isinstance(value, str):
        return Secret(value)
    return value


def _parse(text: str, where: str) -> Any:
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.args[0].split(':')[0]})") from None
    if "\n" in stripped and ":" in stripped:
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            raise ConfigError(f"{where}: not valid YAML") from None
    return stripped


def _read_file(ref: str, rest: str) -> bytes:
    path = Path(rest).expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"credential reference {ref}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"credential reference {ref}: file is readable by others "
                          f"(chmod 600 {path})")
    if info.st_size > MAX_SECRET_FILE:
        raise ConfigError(f"credential reference {ref}: file larger than 1 MiB")
    return path.read_bytes()


def _vault_decrypt(ref: str, data: bytes) -> str:
    """Open an Ansible Vault file with the vault password file named in the environment."""
    pw_file = os.environ.get("GIN_VAULT_PASSWORD_FILE") or os.environ.get(
        "ANSIBLE_VAULT_PASSWORD_FILE")
    if not pw_file:
        raise ConfigError(f"credential reference {ref}: set GIN_VAULT_PASSWORD_FILE to the "
                          "vault password file")
    password = _read_file(f"vault password file {pw_file}", pw_file).strip()
    try:
        from ansible.constants import DEFAULT_VAULT_ID_MATCH
        from ansible.parsing.vault import VaultLib, VaultSecret
    except ImportError:
        raise ConfigError(f"credential reference {ref}: Ansible Vault needs the ansible "
                          "package") from None
    try:
        vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password))])
        return vault.decrypt(data).decode("utf-8")
    except Exception:
        raise ConfigError(f"credential reference {ref}: cannot decrypt (wrong vault "
                          "password or not a vault file)") from None


def resolve(ref: str | None) -> Any:
    """Fetch the secret a reference points to (``env:NAME``, ``file:PATH``, ``vault:PATH``)."""
    if not ref:
        raise ConfigError("no credential reference given (set credential_ref on the device)")
    scheme, sep, rest = ref.partition(":")
    if not sep or not rest:
        raise ConfigError(f"credential reference {ref!r}: expected env:NAME or file:PATH")
    if scheme == "env":
        if rest not in os.environ:
            raise ConfigError(f"credential reference {ref}: environment variable {rest} is not set")
        return _wrap(_parse(os.environ[rest], ref))
    if scheme == "file":
        return _wrap(_parse(_read_file(ref, rest).decode("utf-8"), ref))
    if scheme == "vault":
        return _wrap(_parse(_vault_decrypt(ref, _read_file(ref, rest)), ref))
    raise ConfigError(f"credential reference {ref!r}: unknown scheme {scheme!r} (env, file, vault)")


# --- sealing -----------------------------------------------------------------------------

def decode_key(text: str, what: str) -> bytes:
    """32 raw bytes from base64 (a key), or one clear error naming ``what``."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{what}: not base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(f"{what}: expected {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def default_key_file() -> Path:
    """Per-user default sealing key, beside the default directory:
    ``$XDG_DATA_HOME/gin/vpn.key`` (``~/.local/share/gin/vpn.key``)."""
    return data_home() / "vpn.key"


def key_file() -> Path:
    """Where the sealing key file is: ``GIN_VPN_KEY_FILE``, else the default."""
    path = os.environ.get("GIN_VPN_KEY_FILE")
    return Path(path).expanduser() if path else default_key_file()


def init_key_file(path: str | os.PathLike[str] | None = None) -> Path:
    """Create a new sealing key file with mode 0600 (default: :func:`key_file`); refuses to
    overwrite an existing one, whose loss would make every sealed secret unreadable."""
    target = Path(path).expanduser() if path is not None else key_file()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"VPN key file {target} exists: not overwriting it (the secrets "
                          "sealed with it would be lost)") from None
    except OSError as exc:
        raise ConfigError(f"VPN key file {target}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
    return target


def load_master_key() -> bytes:
    """The sealing key from ``GIN_VPN_KEY_FILE`` (must be mode 0600), ``GIN_VPN_KEY``, or
    the default key file when neither is set and it exists."""
    env = os.environ.get("GIN_VPN_KEY")
    if env and not os.environ.get("GIN_VPN_KEY_FILE"):
        return decode_key(env.strip(), "GIN_VPN_KEY")
    file = key_file()
    if not os.environ.get("GIN_VPN_KEY_FILE") and not file.exists():
        raise ConfigError(f"no VPN sealing key: create one with `gin vpn key init` ({file}), "
                          "or set GIN_VPN_KEY_FILE to a 0600 file holding 32 base64 bytes")
    try:
        info = file.stat()
    except OSError as exc:
        raise ConfigError(f"GIN_VPN_KEY_FILE {file}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"GIN_VPN_KEY_FILE {file}: readable by others (chmod 600 {file})")
    return decode_key(file.read_text(encoding="ascii", errors="replace").strip(),
                       f"GIN_VPN_KEY_FILE {file}")


def seal_bytes(data: bytes, context: str, key: bytes | None = None) -> str:
    """Encrypt any bytes (a private key's DER) bound to ``context``, as ``sealed:v1:...``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only when sealing

    key = load_master_key() if key is None else key
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, bytes(data), context.encode("utf-8"))
    return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal_bytes(token: str, context: str, key: bytes | None = None) -> bytes:
    """Open a value made by :func:`seal_bytes` for the same ``context`` (one clear line if not)."""
    if not isinstance(token, str) or not token.startswith(SEALED_PREFIX):
        raise ConfigError(f"secret of {context}: not a sealed value")
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = load_master_key() if key is None else key
    try:
        blob = base64.b64decode(token[len(SEALED_PREFIX):], validate=True)
        return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode("utf-8"))
    except (binascii.Error, ValueError, InvalidTag):
        raise ConfigError(f"secret of {context}: cannot decrypt (wrong GIN_VPN_KEY_FILE, or "
                          "the value was not sealed for it)") from None

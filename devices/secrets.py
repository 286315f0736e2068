"""Credential references: where a secret lives, never the secret itself.

The directory stores references such as ``env:GIN_CE1``, ``file:/etc/gin/ce1.json`` or
``vault:/etc/gin/ce1.vault`` (an Ansible Vault file, opened with the password in
``GIN_VAULT_PASSWORD_FILE`` or ``ANSIBLE_VAULT_PASSWORD_FILE``); only
the process that needs the secret resolves it, at the last moment.  A reference's value is
either a plain string (a password, a PSK) or a JSON/YAML mapping (``username``,
``password``, ``key_file``, ``snmp: {...}``).  Secrets are wrapped so that printing or
logging them shows ``***``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from devices.errors import ConfigError

MAX_SECRET_FILE = 1 << 20


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

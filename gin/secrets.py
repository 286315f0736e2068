"""Credential references: where a secret lives, never the secret itself.

The directory stores references such as ``env:GIN_CE1`` or ``file:/etc/gin/ce1.json``; only
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

from gin.errors import ConfigError

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


def resolve(ref: str | None) -> Any:
    """Fetch the secret a reference points to (``env:NAME`` or ``file:PATH``)."""
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
        return _wrap(_parse(path.read_text(encoding="utf-8"), ref))
    raise ConfigError(f"credential reference {ref!r}: unknown scheme {scheme!r} (env, file)")

"""Read a rendered ``swanctl.conf`` into the messages VICI's ``load-conn``/``load-shared`` take.

This is what ``swanctl --load-conns --load-creds`` does before talking to charon, for the
subset gin renders: nested ``name { key = value }`` sections, ``#`` comments, list keys
split on commas, and ``certs``/``cacerts`` file names replaced by the files' contents (read
from the gateway's swanctl ``x509``/``x509ca`` directories).  So the file written on the
gateway and what is loaded over VICI are one text, and a reboot's ``swanctl --load-all``
loads the same thing.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.errors import ConfigError

#: keys swanctl sends as lists (load_conns.c is_list_key)
LIST_KEYS = {"local_addrs", "remote_addrs", "proposals", "esp_proposals", "ah_proposals",
             "local_ts", "remote_ts", "vips", "pools", "groups", "cert_policy"}
#: keys naming credential files, and the swanctl subdirectory each is read from
FILE_KEYS = {"certs": "x509", "cacerts": "x509ca", "pubkeys": "pubkey"}
_KEY = r"[A-Za-z0-9_.-]+"
_SECTION = re.compile(rf"({_KEY})\s*\{{")
_VALUE = re.compile(rf"({_KEY})\s*=\s*(.*)")
MAX_TEXT = 1 << 20


@dataclass
class SwanctlConfig:
    """Connections (name -> VICI body) and shared secrets (VICI load-shared messages)."""

    conns: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared: list[dict[str, Any]] = field(default_factory=list)


def parse_tree(text: str, source: str = "swanctl.conf") -> dict[str, Any]:
    """The settings tree of a swanctl.conf text; ConfigError names the bad line."""
    if len(text) > MAX_TEXT:
        raise ConfigError(f"{source}: larger than 1 MiB")
    root: dict[str, Any] = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            if len(stack) == 1:
                raise ConfigError(f"{source} line {number}: '}}' without an open section")
            stack.pop()
        elif m := _SECTION.fullmatch(line):
            stack.append(stack[-1].setdefault(m.group(1), {}))
        elif m := _VALUE.fullmatch(line):
            if not isinstance(stack[-1], dict) or len(stack) == 1:
                raise ConfigError(f"{source} line {number}: value outside a section")
            stack[-1][m.group(1)] = m.group(2).strip()
        else:
            raise ConfigError(f"{source} line {number}: expected 'name {{', 'key = value' "
                              "or '}'")  # the line is not echoed: it may hold a secret
    if len(stack) != 1:
        raise ConfigError(f"{source}: {len(stack) - 1} section(s) not closed")
    return root


def _file(swanctl_dir: Path | None, sub: str, name: str) -> bytes:
    path = Path(name)
    if not path.is_absolute():
        if swanctl_dir is None:
            raise ConfigError(f"credential file {name}: no swanctl_dir to look in")
        path = swanctl_dir / sub / name
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"credential file {path}: {exc.strerror}") from None


def _message(tree: dict[str, Any], swanctl_dir: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out[key] = _message(value, swanctl_dir)
        elif key in FILE_KEYS:
            out[key] = [_file(swanctl_dir, FILE_KEYS[key], v.strip())
                        for v in value.split(",") if v.strip()]
        elif key in LIST_KEYS:
            out[key] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            out[key] = value
    return out


def _secret_value(value: str, sid: str) -> bytes:
    """A secret as swanctl reads it: ``0x`` hex, ``0s`` base64, else the text itself."""
    try:
        if value.startswith("0x"):
            return bytes.fromhex(value[2:])
        if value.startswith("0s"):
            return base64.b64decode(value[2:], validate=True)
    except ValueError:
        raise ConfigError(f"secret {sid}: malformed 0x/0s value") from None
    return value.encode()


def parse(text: str, swanctl_dir: Path | None = None,
          source: str = "swanctl.conf") -> SwanctlConfig:
    """Connections and secrets of a swanctl.conf text, ready for VICI."""
    tree = parse_tree(text, source)
    unknown = set(tree) - {"connections", "secrets"}
    if unknown:
        raise ConfigError(f"{source}: unsupported section(s) {', '.join(sorted(unknown))}")
    conns = {name: _message(body, swanctl_dir)
             for name, body in tree.get("connections", {}).items()}
    shared = []
    for sid, body in tree.get("secrets", {}).items():
        if not sid.startswith("ike") or not isinstance(body, dict) or "secret" not in body:
            raise ConfigError(f"{source}: secret {sid}: only ike secrets with a 'secret' are "
                              "supported")
        owners = [v for k, v in body.items() if k.startswith("id")]
        shared.append({"id": sid, "type": "IKE", "data": _secret_value(body["secret"], sid),
                       "owners": owners})
    return SwanctlConfig(conns=conns, shared=shared)

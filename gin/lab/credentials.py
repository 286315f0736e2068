"""Per-lab secrets: an ed25519 login key pair, SSH host keys, SNMPv3 passphrases.

Generated at every `up` (never a fixed password in code), stored in the lab's
secrets/ directory with mode 0600 and referenced from the directory as
`file:<credentials.json>`. Nothing here is ever printed or logged.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SNMP_USER = "ginlab"


def _write_private(path: Path, data: bytes | str) -> None:
    """Create a file readable by its owner only (mode set before any byte is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, 0o600)


def ed25519_keypair(comment: str) -> tuple[bytes, str]:
    """(OpenSSH private key PEM, `ssh-ed25519 AAAA... comment` public line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {comment}"


def write_host_key(path: Path, comment: str) -> None:
    """A fresh sshd host key (private file only; sshd derives the public half)."""
    private, _ = ed25519_keypair(comment)
    _write_private(path, private)


def create(secrets_dir: Path, lab: str) -> Path:
    """Generate the lab's credentials; return the path of credentials.json."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    private, public = ed25519_keypair(f"gin-lab-{lab}")
    key_file = secrets_dir / "id_ed25519"
    _write_private(key_file, private)
    _write_private(secrets_dir / "id_ed25519.pub", public + "\n")
    _write_private(secrets_dir / "authorized_keys", public + "\n")
    creds: dict[str, Any] = {
        "username": "root",
        "key_file": str(key_file),
        "snmp": {
            "user": SNMP_USER,
            "auth_protocol": "SHA",
            "auth_key": secrets.token_hex(16),
            "priv_protocol": "AES",
            "priv_key": secrets.token_hex(16),
        },
    }
    path = secrets_dir / "credentials.json"
    _write_private(path, json.dumps(creds, indent=2))
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a credentials.json (or a `file:` reference to one)."""
    text = str(path)
    if text.startswith("file:"):
        text = text[len("file:"):]
    return json.loads(Path(text).read_text())

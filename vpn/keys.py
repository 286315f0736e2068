"""VPN key material: WireGuard keys, PSKs, and sealing them for storage in the directory.

WireGuard keys are X25519 in pure Python (``cryptography``): the private key is base64 of the
32 raw bytes and the public key is derived exactly as ``wg pubkey`` does, so no ``wg`` binary
is needed to plan a tunnel.  PSKs come from :mod:`secrets`.  Secrets are stored only sealed
with AES-256-GCM under a key from ``GIN_VPN_KEY_FILE`` (mode 0600 enforced), ``GIN_VPN_KEY``,
or the per-user default file that ``gin vpn key init`` creates (:func:`default_key_file`);
the tunnel name is the associated data, so a sealed value copied onto another tunnel does not
open.  Everything secret is returned as :class:`devices.secrets.Secret`, which never prints.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from devices.errors import ConfigError
from devices.secrets import Secret
from directory.db import data_home

KEY_BYTES = 32
SEALED_PREFIX = "sealed:v1:"
_RAW = serialization.Encoding.Raw


def generate_private_key() -> Secret:
    """A new WireGuard private key (``wg genkey`` format)."""
    raw = X25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return Secret(base64.b64encode(raw).decode("ascii"))


def _decode_key(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{what}: not base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(f"{what}: expected {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def public_key(private: str) -> str:
    """The public key of a WireGuard private key, as ``wg pubkey`` prints it."""
    raw = _decode_key(Secret.reveal(private) if isinstance(private, Secret) else private,
                      "WireGuard private key")
    pub = X25519PrivateKey.from_private_bytes(raw).public_key()
    return base64.b64encode(pub.public_bytes(_RAW, serialization.PublicFormat.Raw)).decode()


def check_key(text: str, what: str = "WireGuard public key") -> str:
    """A key checked to be 32 bytes of base64, one token (raises ConfigError naming ``what``)."""
    _decode_key(text, what)
    return text


check_public_key = check_key


def generate_psk() -> Secret:
    """A new pre-shared key: 32 random bytes from :mod:`secrets`, base64 (``wg genpsk`` format)."""
    return Secret(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii"))


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
        return _decode_key(env.strip(), "GIN_VPN_KEY")
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
    return _decode_key(file.read_text(encoding="ascii", errors="replace").strip(),
                       f"GIN_VPN_KEY_FILE {file}")


def seal(values: dict[str, str], context: str, key: bytes | None = None) -> str:
    """Encrypt named secrets (each base64 of 32 bytes) into one short string for the directory.

    The raw bytes are packed (names sorted, one byte of count) to fit ``secret_ref`` (255).
    """
    key = load_master_key() if key is None else key
    names = sorted(values)
    if len(names) > 4:
        raise ValueError("at most 4 secrets per tunnel")
    packed = bytes([len(names)]) + b"".join(
        bytes([len(n)]) + n.encode() + _decode_key(Secret.reveal(values[n]) if isinstance(
            values[n], Secret) else values[n], f"secret {n}") for n in names)
    return seal_bytes(packed, context, key)


def seal_bytes(data: bytes, context: str, key: bytes | None = None) -> str:
    """Encrypt any bytes (a private key's DER) bound to ``context``, as ``sealed:v1:...``."""
    key = load_master_key() if key is None else key
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, bytes(data), context.encode("utf-8"))
    return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal_bytes(token: str, context: str, key: bytes | None = None) -> bytes:
    """Open a value made by :func:`seal_bytes` for the same ``context`` (one clear line if not)."""
    if not isinstance(token, str) or not token.startswith(SEALED_PREFIX):
        raise ConfigError(f"secret of {context}: not a sealed value")
    key = load_master_key() if key is None else key
    try:
        blob = base64.b64decode(token[len(SEALED_PREFIX):], validate=True)
        return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode("utf-8"))
    except (binascii.Error, ValueError, InvalidTag):
        raise ConfigError(f"secret of {context}: cannot decrypt (wrong GIN_VPN_KEY_FILE, or "
                          "the value was not sealed for it)") from None


def unseal(token: str, context: str, key: bytes | None = None) -> dict[str, Secret]:
    """Open a value made by :func:`seal` for the same ``context``; a wrong key is one clear line."""
    packed = unseal_bytes(token, context, key)
    out: dict[str, Secret] = {}
    pos = 1
    for _ in range(packed[0]):
        n = packed[pos]
        name = packed[pos + 1:pos + 1 + n].decode()
        pos += 1 + n
        out[name] = Secret(base64.b64encode(packed[pos:pos + KEY_BYTES]).decode("ascii"))
        pos += KEY_BYTES
    return out

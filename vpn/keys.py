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
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

# the sealing key and seal/unseal live on the devices floor (the change journal seals too)
from devices.secrets import (  # noqa: F401  (re-exported: vpn's API)
    KEY_BYTES,
    SEALED_PREFIX,
    Secret,
    default_key_file,
    init_key_file,
    key_file,
    load_master_key,
    seal_bytes,
    unseal_bytes,
)
from devices.secrets import decode_key as _decode_key

_RAW = serialization.Encoding.Raw


def generate_private_key() -> Secret:
    """A new WireGuard private key (``wg genkey`` format)."""
    raw = X25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return Secret(base64.b64encode(raw).decode("ascii"))


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

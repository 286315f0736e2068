"""SNMPv3 User-based Security Model: key localisation, HMAC authentication, AES privacy.

RFC 3414 (password-to-key, HMAC-SHA-96), RFC 7860 (HMAC-SHA-2), RFC 3826 (AES-128-CFB).
DES is deliberately not offered (broken; the audit flags it). Keys are derived once per
(user, engine) and cached: the 1 MiB password hash is the expensive step, and 50 agents
behind one engine (or a restart of the agent) must not repeat it per request.

Secrets: passphrases arrive as :class:`devices.secrets.Secret` and are revealed only here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # CFB moved to "decrepit" in cryptography 47 (still what RFC 3826 specifies)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from monitor.snmp import ber

# name -> (hash constructor name, truncated MAC length)
AUTH_PROTOCOLS = {
    "MD5": ("md5", 12),
    "SHA": ("sha1", 12),
    "SHA1": ("sha1", 12),
    "SHA-224": ("sha224", 16),
    "SHA-256": ("sha256", 24),
    "SHA-384": ("sha384", 32),
    "SHA-512": ("sha512", 48),
}
PRIV_PROTOCOLS = {"AES": 16, "AES128": 16, "AES-128": 16}

FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
USM = 3

# usmStats report OIDs (1.3.6.1.6.3.15.1.1.N.0) -> error reason
REPORT_REASONS = {
    ber.oid_content("1.3.6.1.6.3.15.1.1.1.0"): "unsupported_sec_level",
    ber.oid_content("1.3.6.1.6.3.15.1.1.2.0"): "not_in_time_window",
    ber.oid_content("1.3.6.1.6.3.15.1.1.3.0"): "unknown_user",
    ber.oid_content("1.3.6.1.6.3.15.1.1.4.0"): "unknown_engine_id",
    ber.oid_content("1.3.6.1.6.3.15.1.1.5.0"): "auth_failure",
    ber.oid_content("1.3.6.1.6.3.15.1.1.6.0"): "decryption_error",
}


class UsmError(Exception):
    """A v3 message failed a security check; ``reason`` is a bounded metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _norm(name: str | None) -> str | None:
    return None if name is None else str(name[:]).upper().replace("_", "-")


def normalize_auth(name: str | None) -> str | None:
    """Canonical auth protocol name, or ConfigError-worthy ValueError."""
    n = _norm(name)
    if n in (None, "", "NONE"):
        return None
    n = {"SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384",
         "SHA512": "SHA-512", "SHA1": "SHA"}.get(n, n)
    if n not in AUTH_PROTOCOLS:
        raise ValueError(f"unknown SNMPv3 auth protocol {name!r} "
                         f"(one of {', '.join(sorted(AUTH_PROTOCOLS))})")
    return n


def normalize_priv(name: str | None) -> str | None:
    n = _norm(name)
    if n in (None, "", "NONE"):
        return None
    if n not in PRIV_PROTOCOLS:
        raise ValueError(f"unsupported SNMPv3 privacy protocol {name!r} (AES; DES is not "
                         "offered)")
    return "AES"


@lru_cache(maxsize=256)
def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash 1 MiB of the repeated passphrase."""
    if not password:
        raise ValueError("empty SNMPv3 passphrase")
    reps = (1048576 // len(password)) + 1
    return hashlib.new(hash_name, (password * reps)[:1048576]).digest()


@lru_cache(maxsize=1024)
def localize(password: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """The key localised to one authoritative engine: H(Ku || engineID || Ku)."""
    ku = password_to_key(password, hash_name)
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


@dataclass(frozen=True)
class UsmUser:
    """A v3 user: protocols and passphrases (Secrets; repr never shows them)."""

    name: str
    auth_protocol: str | None = "SHA"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str | None = "AES"
    priv_key: str = field(default="", repr=False)

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth_protocol else 0) | (FLAG_PRIV if self.priv_protocol else 0)

    @property
    def mac_length(self) -> int:
        return AUTH_PROTOCOLS[self.auth_protocol][1] if self.auth_protocol else 0

    def keys(self, engine_id: bytes) -> tuple[bytes, bytes]:
        """(auth key, priv key) localised to engine_id."""
        if not self.auth_protocol:
            return b"", b""
        hash_name = AUTH_PROTOCOLS[self.auth_protocol][0]
        auth = localize(_reveal(self.auth_key), engine_id, hash_name)
        priv = b""
        if self.priv_protocol:
            priv = localize(_reveal(self.priv_key), engine_id, hash_name)[:16]
        return auth, priv


def _reveal(value: str) -> bytes:
    return value[:].encode()  # slicing bypasses Secret.__str__


def mac(user: UsmUser, auth_key: bytes, message: bytes) -> bytes:
    hash_name, length = AUTH_PROTOCOLS[user.auth_protocol or "SHA"]
    return hmac.new(auth_key, message, hash_name).digest()[:length]


def _aes(key: bytes, boots: int, etime: int, salt: bytes) -> Cipher:
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    return Cipher(algorithms.AES(key), CFB(iv))


def encrypt(priv_key: bytes, boots: int, etime: int, plaintext: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, salt): AES-128-CFB with a fresh 64-bit salt per message."""
    salt = os.urandom(8)
    enc = _aes(priv_key, boots, etime, salt).encryptor()
    return enc.update(plaintext) + enc.finalize(), salt


def decrypt(priv_key: bytes, boots: int, etime: int, salt: bytes, ciphertext: bytes) -> bytes:
    if len(salt) != 8:
        raise UsmError("decryption_error", "bad AES privacy parameters")
    dec = _aes(priv_key, boots, etime, salt).decryptor()
    return dec.update(ciphertext) + dec.finalize()


def encode_message(user: UsmUser | None, msg_id: int, pdu: bytes, engine_id: bytes,
                   boots: int, etime: int, *, reportable: bool = True,
                   max_size: int = 65507, context_name: bytes = b"",
                   context_engine: bytes | None = None) -> bytes:
    """A v3 message. ``user=None`` builds the unauthenticated discovery probe;
    ``context_engine`` defaults to the authoritative ``engine_id``."""
    context = engine_id if context_engine is None else context_engine
    scoped = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OCTET_STRING, context)
                     + ber.tlv(ber.OCTET_STRING, context_name) + pdu)
    flags = user.flags if user else 0
    if reportable:
        flags |= FLAG_REPORTABLE
    auth_key = priv_key = b""
    if user and user.auth_protocol:
        auth_key, priv_key = user.keys(engine_id)
    salt = b""
    if flags & FLAG_PRIV:
        ciphertext, salt = encrypt(priv_key, boots, etime, scoped)
        msg_data = ber.tlv(ber.OCTET_STRING, ciphertext)
    else:
        msg_data = scoped
    mac_len = user.mac_length if user else 0
    head = (ber.tlv(ber.OCTET_STRING, engine_id) + ber.enc_int(boots) + ber.enc_int(etime)
            + ber.tlv(ber.OCTET_STRING, user.name.encode() if user else b""))
    auth_tlv_head = bytes((ber.OCTET_STRING,)) + ber.enc_len(mac_len)
    usm_content = head + auth_tlv_head + bytes(mac_len) + ber.tlv(ber.OCTET_STRING, salt)
    usm_seq = ber.tlv(ber.SEQUENCE, usm_content)
    sec_params = ber.tlv(ber.OCTET_STRING, usm_seq)
    glob = ber.tlv(ber.SEQUENCE, ber.enc_int(msg_id) + ber.enc_int(max_size)
                   + ber.tlv(ber.OCTET_STRING, bytes((flags,))) + ber.enc_int(USM))
    content = ber.enc_int(3) + glob + sec_params + msg_data
    message = ber.tlv(ber.SEQUENCE, content)
    if not mac_len:
        return message
    # offset of the MAC: outer header, version, global data, both security headers, head
    outer = len(message) - len(content)
    offset = (outer + 3 + len(glob) + (len(sec_params) - len(usm_seq))
              + (len(usm_seq) - len(usm_content)) + len(head) + len(auth_tlv_head))
    digest = mac(user, auth_key, message)
    return message[:offset] + digest + message[offset + mac_len:]


def open_message(user: UsmUser, msg: ber.V3Message, raw: bytes) -> ber.Pdu:
    """Authenticate and decrypt a received v3 message; return its PDU.

    A Report PDU (discovery, time window, wrong password) may arrive unauthenticated; it
    is returned as is for the caller to map to a reason.
    """
    return open_scoped(user, msg, raw)[2]


def open_scoped(user: UsmUser, msg: ber.V3Message, raw: bytes) -> tuple[bytes, bytes, ber.Pdu]:
    """Like :func:`open_message`, with the contextEngineID and contextName."""
    if msg.security_model != USM:
        raise UsmError("malformed", f"security model {msg.security_model} is not USM")
    if msg.flags & FLAG_AUTH:
        if not user.auth_protocol:
            raise UsmError("unsupported_sec_level", "authenticated reply to noAuth user")
        auth_key, priv_key = user.keys(msg.engine_id)
        mac_len = user.mac_length
        if len(msg.auth_params) != mac_len:
            raise UsmError("auth_failure", "wrong MAC length in reply")
        off = msg.auth_offset
        zeroed = raw[:off] + bytes(mac_len) + raw[off + mac_len:]
        if not hmac.compare_digest(mac(user, auth_key, zeroed), msg.auth_params):
            raise UsmError("auth_failure", "reply failed HMAC check (wrong auth key?)")
        data = msg.data
        if msg.encrypted:
            if not msg.flags & FLAG_PRIV:
                raise UsmError("malformed", "encrypted data without priv flag")
            data = decrypt(priv_key, msg.engine_boots, msg.engine_time, msg.priv_params,
                           msg.data)
    else:
        if msg.encrypted:
            raise UsmError("malformed", "encrypted data without auth flag")
        data = msg.data
    try:
        context_engine, context_name, pdu = ber.decode_scoped_pdu(data)
    except ber.BerError as exc:
        reason = "decryption_error" if msg.encrypted else "malformed"
        raise UsmError(reason, f"scoped PDU does not decode ({exc})") from None
    if not msg.flags & FLAG_AUTH and pdu.tag != ber.REPORT:
        raise UsmError("unsupported_sec_level", "unauthenticated reply for an authPriv user")
    return context_engine, context_name, pdu


def report_reason(pdu: ber.Pdu) -> str:
    """Map a Report PDU's first varbind to an error reason."""
    for oid, _, _ in pdu.varbinds:
        return REPORT_REASONS.get(oid, "report")
    return "report"

"""pysnmp/pyasn1 as the reference implementation the fast BER/USM path is checked against
(also imported by tests/integration/monitor for packets captured from real agents).

``ref_*`` helpers encode or decode with pysnmp's own message classes, so a test can say
"pysnmp built this packet, gin decodes it to the same values" and the reverse.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv.aes import _cryptography_cipher

v2c = api.v2c

# gin tag byte -> pysnmp value class
TYPES: dict[int, Any] = {
    0x02: v2c.Integer32, 0x04: v2c.OctetString, 0x05: v2c.Null, 0x06: v2c.ObjectIdentifier,
    0x40: v2c.IpAddress, 0x41: v2c.Counter32, 0x42: v2c.Gauge32, 0x43: v2c.TimeTicks,
    0x44: v2c.Opaque, 0x46: v2c.Counter64, 0x80: v2c.NoSuchObject, 0x81: v2c.NoSuchInstance,
    0x82: v2c.EndOfMibView,
}


def tag_of(value: Any) -> int:
    """The BER identifier octet pyasn1 writes for a value."""
    t = value.tagSet[-1]
    return t.tagClass | t.tagFormat | t.tagId


def plain(value: Any) -> tuple[int, object]:
    """(tag, python value) of a pysnmp value, in the shape gin's decoder returns."""
    tag = tag_of(value)
    if tag in (0x05, 0x80, 0x81, 0x82):
        return tag, None
    if tag == 0x06:
        return tag, tuple(value)
    if tag in (0x04, 0x40, 0x44):
        return tag, bytes(value.asOctets())
    return tag, int(value)


def make_value(tag: int, value: object) -> Any:
    cls = TYPES[tag]
    if tag in (0x05, 0x80, 0x81, 0x82):
        return cls("")
    return cls(value)


def ref_response(varbinds: list[tuple[str, int, object]], request_id: int = 1234,
                 community: bytes = b"public", error_status: int = 0,
                 error_index: int = 0) -> bytes:
    """A v2c Response message encoded by pysnmp."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, error_status)
    v2c.apiPDU.set_error_index(pdu, error_index)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(o), make_value(t, v))
                                  for o, t, v in varbinds])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def ref_decode_v2c(data: bytes) -> dict[str, Any]:
    """pysnmp's decoding of a v1/v2c message, flattened."""
    msg, rest = decoder.decode(data, asn1Spec=v2c.Message())
    assert not rest
    pdu = v2c.apiMessage.get_pdu(msg)
    return {"community": bytes(v2c.apiMessage.get_community(msg)),
            "tag": tag_of(pdu),
            "request_id": int(v2c.apiPDU.get_request_id(pdu)),
            "a": int(pdu[1]), "b": int(pdu[2]),
            "varbinds": [(tuple(o), *plain(v)) for o, v in v2c.apiPDU.get_varbinds(pdu)]}


def ref_localize(password: str, engine_id: bytes) -> bytes:
    return bytes(localkey.password_to_key(password.encode(), v2c.OctetString(engine_id),
                                          hashlib.sha1))


def ref_open_v3(data: bytes, auth_pass: str, priv_pass: str) -> dict[str, Any]:
    """Decode, verify and decrypt a v3 authPriv message with pysnmp's pieces."""
    from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha

    msg, rest = decoder.decode(data, asn1Spec=SNMPv3Message())
    assert not rest
    usm, _ = decoder.decode(bytes(msg["msgSecurityParameters"]),
                            asn1Spec=UsmSecurityParameters())
    engine = bytes(usm["msgAuthoritativeEngineId"])
    out: dict[str, Any] = {
        "msg_id": int(msg["msgGlobalData"]["msgID"]),
        "flags": bytes(msg["msgGlobalData"]["msgFlags"])[0],
        "engine_id": engine, "boots": int(usm["msgAuthoritativeEngineBoots"]),
        "time": int(usm["msgAuthoritativeEngineTime"]),
        "user": bytes(usm["msgUserName"])}
    if not out["flags"] & 1:
        scoped = msg["msgData"]["plaintext"]
        out["pdu"] = scoped["data"].getComponent()
        return out
    auth_key = ref_localize(auth_pass, engine)
    HmacSha().authenticate_incoming_message(v2c.OctetString(auth_key),
                                            usm["msgAuthenticationParameters"],
                                            data)  # raises on a bad MAC
    if out["flags"] & 2:
        priv_key = ref_localize(priv_pass, engine)[:16]
        iv = (out["boots"].to_bytes(4, "big") + out["time"].to_bytes(4, "big")
              + bytes(usm["msgPrivacyParameters"]))
        dec = _cryptography_cipher(priv_key, iv).decryptor()
        plaintext = dec.update(bytes(msg["msgData"]["encryptedPDU"])) + dec.finalize()
        scoped, _ = decoder.decode(plaintext, asn1Spec=ScopedPDU())
    else:
        scoped = msg["msgData"]["plaintext"]
    out["pdu"] = scoped["data"].getComponent()
    return out

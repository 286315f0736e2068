"""SNMPv3 USM fast path against RFC 3414 vectors and pysnmp's own USM pieces."""

from __future__ import annotations

import os

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414.auth.hmacsha import HmacSha
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv.aes import _cryptography_cipher
from snmp_reference import plain, ref_localize, ref_open_v3, v2c

from monitor.snmp import ber, usm

AUTH, PRIV = "maplesyrup", "privacy-pass-2"
USER = usm.UsmUser("gin", "SHA", AUTH, "AES", PRIV)
ENGINE = bytes.fromhex("80001f8880e9630000d61ff449")


def test_rfc3414_a3_sha_key_localisation() -> None:
    engine = bytes.fromhex("000000000000000000000002")
    assert usm.password_to_key(b"maplesyrup", "sha1").hex() == (
        "9fb5cc0381497b3793528939ff788d5d79145211")
    assert usm.localize(b"maplesyrup", engine, "sha1").hex() == (
        "6695febc9288e36282235fc7151f128497b38f3f")
    assert usm.localize(b"maplesyrup", engine, "sha1") == ref_localize("maplesyrup", engine)


@pytest.mark.parametrize("flags_user", [
    USER,
    usm.UsmUser("gin", "SHA", AUTH, None, ""),
])
def test_our_requests_verify_and_decrypt_in_pysnmp(flags_user: usm.UsmUser) -> None:
    oids = [ber.oid_content("1.3.6.1.2.1.31.1.1.1.6"), ber.oid_content("1.3.6.1.2.1.2.2.1.8")]
    pdu = ber.encode_pdu(ber.GETBULK, 31337, 0, 49, oids)
    data = usm.encode_message(flags_user, 31337, pdu, ENGINE, 7, 123456)
    ref = ref_open_v3(data, AUTH, PRIV)
    assert (ref["msg_id"], ref["engine_id"], ref["boots"], ref["time"], ref["user"]) == (
        31337, ENGINE, 7, 123456, b"gin")
    assert ref["flags"] == flags_user.flags | usm.FLAG_REPORTABLE
    got = ref["pdu"]
    assert int(got["request-id"]) == 31337
    assert int(got["max-repetitions"]) == 49
    assert [tuple(vb[0]) for vb in got["variable-bindings"]] == [
        ber.oid_tuple(o) for o in oids]


def test_discovery_probe_is_plain_and_empty() -> None:
    data = usm.encode_message(None, 5, ber.encode_pdu(ber.GET, 5, 0, 0, ()), b"", 0, 0)
    ref = ref_open_v3(data, AUTH, PRIV)
    assert ref["flags"] == usm.FLAG_REPORTABLE and ref["engine_id"] == b"" and ref["user"] == b""


def pysnmp_response(varbinds: list, *, engine: bytes = ENGINE, boots: int = 3,
                    etime: int = 999, auth_pass: str = AUTH, priv_pass: str = PRIV,
                    msg_id: int = 4242) -> bytes:
    """A v3 authPriv Response built entirely with pysnmp/pyasn1 (MAC and AES by pysnmp)."""
    from snmp_reference import make_value

    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, msg_id)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(o), make_value(t, v))
                                  for o, t, v in varbinds])
    scoped = ScopedPDU()
    scoped["contextEngineId"] = engine
    scoped["contextName"] = b""
    scoped["data"]["response"] = pdu
    salt = os.urandom(8)
    priv_key = ref_localize(priv_pass, engine)[:16]
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    enc = _cryptography_cipher(priv_key, iv).encryptor()
    ciphertext = enc.update(encoder.encode(scoped)) + enc.finalize()
    sec = UsmSecurityParameters()
    sec["msgAuthoritativeEngineId"] = engine
    sec["msgAuthoritativeEngineBoots"] = boots
    sec["msgAuthoritativeEngineTime"] = etime
    sec["msgUserName"] = b"gin"
    sec["msgAuthenticationParameters"] = bytes(12)
    sec["msgPrivacyParameters"] = salt
    msg = SNMPv3Message()
    msg["msgVersion"] = 3
    glob = msg["msgGlobalData"]
    glob["msgID"] = msg_id
    glob["msgMaxSize"] = 65507
    glob["msgFlags"] = bytes([3])
    glob["msgSecurityModel"] = 3
    msg["msgSecurityParameters"] = encoder.encode(sec)
    msg["msgData"]["encryptedPDU"] = ciphertext
    whole = encoder.encode(msg)
    return bytes(HmacSha().authenticate_outgoing_message(
        v2c.OctetString(ref_localize(auth_pass, engine)),
                                                         whole))


VBS = [("1.3.6.1.2.1.1.3.0", 0x43, 77), ("1.3.6.1.2.1.31.1.1.1.1.2", 0x04, b"eth0"),
       ("1.3.6.1.2.1.31.1.1.1.6.2", 0x46, 2**64 - 2), ("1.3.6.1.2.1.2.2.1.8.2", 0x02, 2)]


def test_pysnmp_built_authpriv_response_opens_with_gin() -> None:
    data = pysnmp_response(VBS)
    msg = ber.decode_v3(data)
    assert (msg.msg_id, msg.engine_id, msg.engine_boots, msg.engine_time) == (
        4242, ENGINE, 3, 999)
    assert ber.message_key(data) == 4242
    pdu = usm.open_message(USER, msg, data)
    assert pdu.tag == ber.RESPONSE and pdu.request_id == 4242
    assert [(ber.oid_str(o), t, v) for o, t, v in pdu.varbinds] == VBS


def test_wrong_auth_key_is_auth_failure() -> None:
    data = pysnmp_response(VBS, auth_pass="someone-else")
    with pytest.raises(usm.UsmError) as exc:
        usm.open_message(USER, ber.decode_v3(data), data)
    assert exc.value.reason == "auth_failure"


def test_tampered_ciphertext_is_auth_failure() -> None:
    data = bytearray(pysnmp_response(VBS))
    data[-3] ^= 0x40
    with pytest.raises(usm.UsmError) as exc:
        usm.open_message(USER, ber.decode_v3(bytes(data)), bytes(data))
    assert exc.value.reason == "auth_failure"


def test_wrong_priv_key_is_a_decryption_error() -> None:
    data = pysnmp_response(VBS, priv_pass="not-our-priv")
    with pytest.raises(usm.UsmError) as exc:
        usm.open_message(USER, ber.decode_v3(data), data)
    assert exc.value.reason == "decryption_error"


def test_unauthenticated_response_is_refused_for_an_authpriv_user() -> None:
    scoped = ber.tlv(ber.SEQUENCE, ber.tlv(4, ENGINE) + ber.tlv(4, b"") + ber.tlv(
        ber.RESPONSE, ber.enc_int(9) + ber.enc_int(0) + ber.enc_int(0) + ber.tlv(0x30, b"")))
    sec = ber.tlv(0x30, ber.tlv(4, ENGINE) + ber.enc_int(1) + ber.enc_int(1) + ber.tlv(4, b"gin")
                  + ber.tlv(4, b"") + ber.tlv(4, b""))
    glob = ber.tlv(0x30, ber.enc_int(9) + ber.enc_int(65507) + ber.tlv(4, b"\x00")
                   + ber.enc_int(3))
    data = ber.tlv(0x30, ber.enc_int(3) + glob + ber.tlv(4, sec) + scoped)
    with pytest.raises(usm.UsmError) as exc:
        usm.open_message(USER, ber.decode_v3(data), data)
    assert exc.value.reason == "unsupported_sec_level"


def test_report_reasons() -> None:
    vb = [(ber.oid_content("1.3.6.1.6.3.15.1.1.5.0"), ber.COUNTER32, 1)]
    assert usm.report_reason(ber.Pdu(ber.REPORT, 1, 0, 0, vb)) == "auth_failure"
    assert usm.report_reason(ber.Pdu(ber.REPORT, 1, 0, 0, [])) == "report"


def test_protocol_names() -> None:
    assert usm.normalize_auth("sha256") == "SHA-256"
    assert usm.normalize_auth("none") is None
    with pytest.raises(ValueError, match="DES"):
        usm.normalize_priv("DES")
    assert "maplesyrup" not in repr(USER)
    assert plain(v2c.Counter64(5)) == (0x46, 5)

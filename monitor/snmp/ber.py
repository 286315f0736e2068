"""Fast BER encoding of SNMP requests and decoding of SNMP responses (v2c and v3).

Why not pyasn1: pysnmp decodes every varbind into a tree of pyasn1 objects, and that is
~60% of its CPU on a table walk (LAB-NOTES).  An SNMP response is a tiny subset of BER
(definite lengths, a handful of tags), so a flat loop over ``bytes`` decodes it an order of
magnitude faster.  OIDs stay as their BER *content bytes*: a column walk only needs a
byte-prefix test (a prefix that ends on a sub-identifier boundary is an OID prefix) and
the short index suffix decoded, and the next request can embed the bytes unchanged.

Every decoder raises :class:`BerError` (and nothing else) on malformed input: a response
comes from the network and may be hostile.  The tests cross-check this module against
pyasn1/pysnmp on crafted and on real agent packets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Universal and SNMP application tags
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82
EXCEPTIONS = frozenset((NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))

# PDU tags
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
TRAP_V1 = 0xA4
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

VERSION_1 = 0
VERSION_2C = 1
VERSION_3 = 3

_UNSIGNED = {COUNTER32: 5, GAUGE32: 5, TIMETICKS: 5, COUNTER64: 9}  # max content bytes


class BerError(ValueError):
    """The bytes are not a well-formed SNMP message of the kind expected."""


Varbind = tuple[bytes, int, object]  # (OID content bytes, value tag, value)


@dataclass(slots=True)
class Pdu:
    """A decoded PDU; varbind values: int for numbers, bytes for strings/OIDs, None else."""

    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind] = field(default_factory=list)


# ---------------------------------------------------------------- encoding


def enc_len(n: int) -> bytes:
    """Definite-form length octets."""
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + enc_len(len(content)) + content


def enc_int(value: int, tag: int = INTEGER) -> bytes:
    """A two's-complement INTEGER (or an unsigned application type when tag says so)."""
    if tag == INTEGER:
        size = (value + (value < 0)).bit_length() // 8 + 1
        return tlv(tag, value.to_bytes(size, "big", signed=True))
    size = value.bit_length() // 8 + 1
    return tlv(tag, value.to_bytes(size, "big"))


def oid_content(oid: str | Sequence[int]) -> bytes:
    """BER content octets of an OID given as "1.3.6.1..." or a tuple of ints."""
    parts = [int(p) for p in oid.strip(".").split(".")] if isinstance(oid, str) else list(oid)
    if len(parts) < 2 or parts[0] > 2 or (parts[0] < 2 and parts[1] > 39):
        raise ValueError(f"not an OID: {oid!r}")
    if any(p < 0 for p in parts):
        raise ValueError(f"not an OID: {oid!r}")
    out = bytearray()
    for sub in [parts[0] * 40 + parts[1], *parts[2:]]:
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.append(0x80 | (sub & 0x7F))
            sub >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def subids(content: bytes) -> tuple[int, ...]:
    """Sub-identifiers of OID content bytes (no first-pair split: used for index suffixes)."""
    out = []
    acc = 0
    for b in content:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            out.append(acc)
            acc = 0
    if content and content[-1] & 0x80:
        raise BerError("OID ends inside a sub-identifier")
    return tuple(out)


def oid_tuple(content: bytes) -> tuple[int, ...]:
    """The full OID of BER content bytes."""
    if not content:
        raise BerError("empty OID")
    subs = subids(content)
    first = subs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + subs[1:]


def oid_str(content: bytes) -> str:
    return ".".join(map(str, oid_tuple(content)))


def encode_pdu(tag: int, request_id: int, a: int, b: int, oids: Iterable[bytes]) -> bytes:
    """A request PDU: ``a``/``b`` are error-status/index, or non-repeaters/max-repetitions
    for GETBULK; every varbind value is NULL.  ``oids`` are OID content bytes."""
    vbs = b"".join(tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, o) + b"\x05\x00") for o in oids)
    return tlv(tag, enc_int(request_id) + enc_int(a) + enc_int(b) + tlv(SEQUENCE, vbs))


def encode_v2c(community: bytes, pdu: bytes, version: int = VERSION_2C) -> bytes:
    return tlv(SEQUENCE, enc_int(version) + tlv(OCTET_STRING, community) + pdu)


# ---------------------------------------------------------------- decoding


def _head(buf: bytes, pos: int, end: int, tag: int | None = None) -> tuple[int, int, int]:
    """Read tag and length at pos: (tag, content start, content end), bounds-checked."""
    if pos + 2 > end:
        raise BerError("truncated")
    t = buf[pos]
    if tag is not None and t != tag:
        raise BerError(f"expected tag 0x{tag:02x}, got 0x{t:02x}")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise BerError("unsupported length form")
        if pos + k > end:
            raise BerError("truncated length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    stop = pos + n
    if stop > end:
        raise BerError("length past end of data")
    return t, pos, stop


def _int_at(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    _, s, e = _head(buf, pos, end, INTEGER)
    if s == e or e - s > 9:
        raise BerError("bad INTEGER length")
    return int.from_bytes(buf[s:e], "big", signed=True), e


def _octets_at(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    _, s, e = _head(buf, pos, end, OCTET_STRING)
    return buf[s:e], e


def decode_pdu(buf: bytes, pos: int = 0, end: int | None = None) -> Pdu:
    """Decode a PDU (any of the PDU tags) whose TLV starts at pos."""
    if end is None:
        end = len(buf)
    tag = buf[pos] if pos < end else -1
    if tag < 0xA0 or tag > 0xA8 or tag == TRAP_V1:
        raise BerError("not an SNMPv2 PDU")
    _, pos, end = _head(buf, pos, end)
    request_id, pos = _int_at(buf, pos, end)
    error_status, pos = _int_at(buf, pos, end)
    error_index, pos = _int_at(buf, pos, end)
    _, pos, vend = _head(buf, pos, end, SEQUENCE)
    if vend != end:
        raise BerError("trailing bytes after varbind list")
    out: list[Varbind] = []
    append = out.append
    unsigned = _UNSIGNED
    try:
        while pos < vend:
            # varbind SEQUENCE, inlined _head calls: this loop is the hot path
            if buf[pos] != 0x30:
                raise BerError("varbind is not a SEQUENCE")
            n = buf[pos + 1]
            pos += 2
            if n & 0x80:
                k = n & 0x7F
                if k == 0 or k > 3:
                    raise BerError("unsupported length form")
                n = int.from_bytes(buf[pos:pos + k], "big")
                pos += k
            vb_end = pos + n
            if vb_end > vend:
                raise BerError("varbind past end of list")
            if buf[pos] != 0x06:
                raise BerError("varbind name is not an OID")
            n = buf[pos + 1]
            pos += 2
            if n & 0x80:
                k = n & 0x7F
                if k != 1:
                    raise BerError("OID too long")
                n = buf[pos]
                pos += 1
            if n == 0 or pos + n > vb_end:
                raise BerError("bad OID length")
            oid = buf[pos:pos + n]
            pos += n
            vtag = buf[pos]
            n = buf[pos + 1]
            pos += 2
            if n & 0x80:
                k = n & 0x7F
                if k == 0 or k > 3:
                    raise BerError("unsupported length form")
                n = int.from_bytes(buf[pos:pos + k], "big")
                pos += k
            if pos + n != vb_end:
                raise BerError("varbind value length mismatch")
            if vtag in unsigned:
                if n == 0 or n > unsigned[vtag] or (n == unsigned[vtag] and buf[pos]):
                    raise BerError("bad unsigned integer")
                value: object = int.from_bytes(buf[pos:vb_end], "big")
                if buf[pos] & 0x80:
                    raise BerError("negative unsigned integer")
            elif vtag == INTEGER:
                if n == 0 or n > 5:
                    raise BerError("bad INTEGER")
                value = int.from_bytes(buf[pos:vb_end], "big", signed=True)
            elif vtag in (OCTET_STRING, OPAQUE, OBJECT_IDENTIFIER):
                value = buf[pos:vb_end]
            elif vtag == IP_ADDRESS:
                if n != 4:
                    raise BerError("bad IpAddress")
                value = buf[pos:vb_end]
            elif vtag == NULL or vtag in EXCEPTIONS:
                if n:
                    raise BerError("NULL with content")
                value = None
            else:
                raise BerError(f"unknown value tag 0x{vtag:02x}")
            append((oid, vtag, value))
            pos = vb_end
    except IndexError:
        raise BerError("truncated varbind") from None
    return Pdu(tag, request_id, error_status, error_index, out)


def peek_version(data: bytes) -> int:
    """The message version (0, 1 or 3)."""
    _, pos, end = _head(data, 0, len(data), SEQUENCE)
    version, _ = _int_at(data, pos, end)
    return version


def decode_v2c(data: bytes) -> tuple[int, bytes, Pdu]:
    """(version, community, PDU) of a v1/v2c message."""
    _, pos, end = _head(data, 0, len(data), SEQUENCE)
    if end != len(data):
        raise BerError("trailing bytes after message")
    version, pos = _int_at(data, pos, end)
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"not a v1/v2c message (version {version})")
    community, pos = _octets_at(data, pos, end)
    return version, community, decode_pdu(data, pos, end)


@dataclass(slots=True)
class V3Message:
    """An SNMPv3 message with USM parameters; ``data`` is the plaintext scoped PDU TLV
    (noPriv) or the encrypted octets (priv).  ``auth_offset`` locates the
    authentication parameters in the raw message for the HMAC check."""

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    engine_id: bytes
    engine_boots: int
    engine_time: int
    user: bytes
    auth_params: bytes
    auth_offset: int
    priv_params: bytes
    encrypted: bool
    data: bytes


def decode_v3(data: bytes) -> V3Message:
    """Split an SNMPv3/USM message; no authentication or decryption here (see usm)."""
    _, pos, end = _head(data, 0, len(data), SEQUENCE)
    if end != len(data):
        raise BerError("trailing bytes after message")
    version, pos = _int_at(data, pos, end)
    if version != VERSION_3:
        raise BerError(f"not a v3 message (version {version})")
    _, gpos, gend = _head(data, pos, end, SEQUENCE)
    msg_id, gpos = _int_at(data, gpos, gend)
    max_size, gpos = _int_at(data, gpos, gend)
    flags_raw, gpos = _octets_at(data, gpos, gend)
    model, gpos = _int_at(data, gpos, gend)
    if len(flags_raw) != 1 or gpos != gend:
        raise BerError("bad msgGlobalData")
    _, spos, send = _head(data, gend, end, OCTET_STRING)
    _, upos, uend = _head(data, spos, send, SEQUENCE)
    engine_id, upos = _octets_at(data, upos, uend)
    boots, upos = _int_at(data, upos, uend)
    etime, upos = _int_at(data, upos, uend)
    user, upos = _octets_at(data, upos, uend)
    _, apos, aend = _head(data, upos, uend, OCTET_STRING)
    auth_params = data[apos:aend]
    priv_params, upos = _octets_at(data, aend, uend)
    if upos != uend or uend != send:
        raise BerError("bad USM security parameters")
    if send >= end:
        raise BerError("missing msgData")
    tag = data[send]
    if tag == OCTET_STRING:
        _, dpos, dend = _head(data, send, end, OCTET_STRING)
        payload, encrypted = data[dpos:dend], True
    elif tag == SEQUENCE:
        _, _, dend = _head(data, send, end, SEQUENCE)
        payload, encrypted = data[send:dend], False
    else:
        raise BerError("bad msgData")
    if dend != end:
        raise BerError("trailing bytes after msgData")
    return V3Message(msg_id, max_size, flags_raw[0], model, engine_id, boots, etime, user,
                     auth_params, apos, priv_params, encrypted, payload)


def decode_scoped_pdu(data: bytes) -> tuple[bytes, bytes, Pdu]:
    """(contextEngineID, contextName, PDU) of a plaintext scoped PDU.

    After AES-CFB decryption there is no padding, but be lenient about trailing bytes
    (DES-era agents padded), as pysnmp is.
    """
    _, pos, end = _head(data, 0, len(data), SEQUENCE)
    context_engine, pos = _octets_at(data, pos, end)
    context_name, pos = _octets_at(data, pos, end)
    if pos >= end:
        raise BerError("scoped PDU without PDU")
    _, _, pend = _head(data, pos, end)
    if pend != end:
        raise BerError("trailing bytes in scoped PDU")
    return context_engine, context_name, decode_pdu(data, pos, end)


def message_key(data: bytes) -> int | None:
    """The number that matches a response to its request: msgID (v3) or request-id.

    Cheap (a few header reads), so the transport can route a datagram before any
    authentication or full decoding; None when the bytes are not an SNMP message.
    """
    try:
        _, pos, end = _head(data, 0, len(data), SEQUENCE)
        version, pos = _int_at(data, pos, end)
        if version == VERSION_3:
            _, gpos, gend = _head(data, pos, end, SEQUENCE)
            return _int_at(data, gpos, gend)[0]
        if version in (VERSION_1, VERSION_2C):
            _, pos = _octets_at(data, pos, end)
            _, ppos, pend = _head(data, pos, end)
            return _int_at(data, ppos, pend)[0]
    except (BerError, IndexError):
        return None
    return None

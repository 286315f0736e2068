"""gin's BER fast path against pysnmp/pyasn1: crafted packets, random ones (hypothesis),
and hostile bytes (truncated, bit-flipped, garbage) that must only ever raise BerError."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from snmp_reference import ref_decode_v2c, ref_response

from monitor.snmp import ber

ALL_TYPES = [
    ("1.3.6.1.2.1.1.3.0", 0x43, 123456),
    ("1.3.6.1.2.1.1.1.0", 0x04, b"Linux r1 6.1 \xff\x00 binary"),
    ("1.3.6.1.2.1.1.5.0", 0x04, b""),
    ("1.3.6.1.2.1.1.2.0", 0x06, "1.3.6.1.4.1.8072.3.2.10"),
    ("1.3.6.1.2.1.2.2.1.8.1", 0x02, 1),
    ("1.3.6.1.2.1.2.2.1.8.2", 0x02, -2147483648),
    ("1.3.6.1.2.1.4.20.1.1.1", 0x40, b"\xc0\x00\x02\x01"),
    ("1.3.6.1.2.1.2.2.1.10.3", 0x41, 4294967295),
    ("1.3.6.1.2.1.2.2.1.5.3", 0x42, 0),
    ("1.3.6.1.2.1.31.1.1.1.6.3", 0x46, 18446744073709551615),
    ("1.3.6.1.2.1.31.1.1.1.6.4", 0x46, 128),
    ("1.3.6.1.4.1.2021.10.1.6.1", 0x44, b"\x9f\x78\x04\x3e\x80\x00\x00"),
    ("1.3.6.1.2.1.99.0", 0x80, None),
    ("1.3.6.1.2.1.99.1", 0x81, None),
    ("1.3.6.1.2.1.99.2", 0x82, None),
    ("1.3.6.1.2.1.99.3", 0x05, None),
    ("1.3.6.1.4.1.99999.4294967295.16384.128.127", 0x02, 7),
]


def ours(data: bytes) -> dict:
    _, community, pdu = ber.decode_v2c(data)
    vbs = []
    for oid, tag, value in pdu.varbinds:
        if tag == ber.OBJECT_IDENTIFIER:
            value = ber.oid_tuple(value)
        vbs.append((ber.oid_tuple(oid), tag, value))
    return {"community": community, "tag": pdu.tag, "request_id": pdu.request_id,
            "a": pdu.error_status, "b": pdu.error_index, "varbinds": vbs}


def test_every_value_type_matches_pysnmp() -> None:
    data = ref_response(ALL_TYPES, request_id=2**31 - 1, community=b"c\x00mm")
    assert ours(data) == ref_decode_v2c(data)


def test_error_status_and_index() -> None:
    data = ref_response(ALL_TYPES[:2], request_id=-5, error_status=2, error_index=1)
    got = ours(data)
    assert (got["request_id"], got["a"], got["b"]) == (-5, 2, 1)
    assert got == ref_decode_v2c(data)


def test_long_message_with_multibyte_lengths() -> None:
    vbs = [(f"1.3.6.1.2.1.31.1.1.1.6.{i}", 0x46, i * 7919) for i in range(1, 600)]
    vbs.append(("1.3.6.1.2.1.31.1.1.1.18.1", 0x04, b"x" * 60000))
    data = ref_response(vbs)
    assert ours(data) == ref_decode_v2c(data)


def test_requests_we_encode_decode_in_pysnmp() -> None:
    oids = [ber.oid_content(o) for o, _, _ in ALL_TYPES]
    pdu = ber.encode_pdu(ber.GETBULK, 77, 1, 48, oids)
    data = ber.encode_v2c(b"secret", pdu)
    ref = ref_decode_v2c(data)
    assert ref["tag"] == ber.GETBULK and ref["request_id"] == 77
    assert (ref["a"], ref["b"]) == (1, 48)  # non-repeaters, max-repetitions
    assert [v[0] for v in ref["varbinds"]] == [
        tuple(int(x) for x in o.split(".")) for o, _, _ in ALL_TYPES]
    assert all(v[1] == ber.NULL for v in ref["varbinds"])
    assert ours(data)["varbinds"] == ref["varbinds"]


def test_message_key_routes_without_full_decode() -> None:
    assert ber.message_key(ref_response(ALL_TYPES[:1], request_id=424242)) == 424242
    assert ber.message_key(b"\x30\x03\x02\x01") is None
    assert ber.message_key(b"") is None


oid_strategy = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).flatmap(
    lambda rest: st.tuples(st.integers(0, 2), st.integers(0, 39)).map(
        lambda head: (*head, *rest)))

value_strategy = st.one_of(
    st.tuples(st.just(0x02), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just(0x04), st.binary(max_size=300)),
    st.tuples(st.just(0x40), st.binary(min_size=4, max_size=4)),
    st.tuples(st.sampled_from([0x41, 0x42, 0x43]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(0x46), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from([0x05, 0x80, 0x81, 0x82]), st.none()),
    st.tuples(st.just(0x06), oid_strategy.map(lambda t: ".".join(map(str, t)))),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(oid_strategy, value_strategy), max_size=40),
       st.integers(-2**31, 2**31 - 1))
def test_random_responses_match_pysnmp(vbs: list, request_id: int) -> None:
    varbinds = [(".".join(map(str, oid)), tag, value) for oid, (tag, value) in vbs]
    data = ref_response(varbinds, request_id=request_id)
    assert ours(data) == ref_decode_v2c(data)


@settings(max_examples=300, deadline=None)
@given(oid_strategy)
def test_oid_encoding_round_trips(oid: tuple[int, ...]) -> None:
    content = ber.oid_content(oid)
    assert ber.oid_tuple(content) == oid
    data = ber.encode_v2c(b"c", ber.encode_pdu(ber.GET, 1, 0, 0, [content]))
    assert ref_decode_v2c(data)["varbinds"][0][0] == oid


def _only_ber_errors(data: bytes) -> None:
    for fn in (ber.decode_v2c, ber.decode_v3, ber.message_key, ber.peek_version):
        with contextlib.suppress(ber.BerError):
            fn(data)


def test_every_truncation_is_a_ber_error() -> None:
    data = ref_response(ALL_TYPES)
    for cut in range(len(data)):
        with pytest.raises(ber.BerError):
            ber.decode_v2c(data[:cut])
        _only_ber_errors(data[:cut])


def test_bit_flips_never_raise_anything_but_ber_error() -> None:
    data = ref_response(ALL_TYPES)
    rnd = random.Random(6)
    for _ in range(3000):
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            buf[rnd.randrange(len(buf))] ^= 1 << rnd.randrange(8)
        _only_ber_errors(bytes(buf))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_only_raises_ber_error(data: bytes) -> None:
    _only_ber_errors(data)
    _only_ber_errors(b"\x30" + bytes([len(data) & 0x7F]) + data)


@pytest.mark.parametrize("bad", [
    b"\x30\x80\x02\x01\x01\x00\x00",  # indefinite length
    b"\x30\x85\x00\x00\x00\x00\x05",  # 5 length octets
    b"\x30\x84\xff\xff\xff\xff",  # length past the end
    b"\x30\x05\x02\x01\x03\x04\x00",  # v3 version in a v2c decode
])
def test_hostile_lengths(bad: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_v2c(bad)


def _response_with_value(value_tlv: bytes) -> bytes:
    vb = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER,
                                       ber.oid_content("1.3.6.1.2.1.1.3.0")) + value_tlv)
    pdu = ber.tlv(ber.RESPONSE, ber.enc_int(1) + ber.enc_int(0) + ber.enc_int(0)
                  + ber.tlv(ber.SEQUENCE, vb))
    return ber.encode_v2c(b"public", pdu)


def test_hand_built_messages_match_pysnmp() -> None:
    data = _response_with_value(ber.enc_int(2**64 - 1, ber.COUNTER64))
    assert ours(data) == ref_decode_v2c(data)


@pytest.mark.parametrize("value", [
    b"\x41\x06\x00\x01\x00\x00\x00\x00",  # Counter32 wider than 32 bits
    b"\x41\x01\x80",  # Counter32 with the sign bit set
    b"\x46\x0a\x00\x01" + bytes(8),  # Counter64 wider than 64 bits
    b"\x41\x00",  # empty integer
    b"\x40\x03\x01\x02\x03",  # IpAddress of 3 octets
    b"\x05\x01\x00",  # NULL with content
    b"\x99\x01\x00",  # unknown tag
])
def test_out_of_range_values_are_rejected(value: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_v2c(_response_with_value(value))

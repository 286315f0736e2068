"""Malformed, truncated and fuzzed input never crashes the sensor: it is counted."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import DNS, ICMP, IP, TCP, UDP, Ether, IPv6, Raw, fuzz, wrpcap

from monitor.sensor.errors import SensorError
from monitor.sensor.pcapfile import read_batches

from .conftest import timed


def test_fuzzed_random_zero_length_and_jumbo_frames(run_pcap):
    random.seed(1)
    rnd = random.Random(2)
    fuzzed = [fuzz(Ether() / IP() / TCP()) for _ in range(100)]
    fuzzed += [fuzz(Ether() / IPv6() / UDP() / DNS()) for _ in range(100)]
    fuzzed += [fuzz(Ether() / IP() / ICMP()) for _ in range(50)]
    garbage = [Raw(rnd.randbytes(rnd.randrange(0, 200))) for _ in range(200)]
    zero = [Raw(b"") for _ in range(5)]
    jumbo = [Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=9) / (b"j" * 9000)]
    truncated = [Raw(bytes(Ether() / IP() / TCP())[:n]) for n in range(0, 54)]
    pkts = timed(fuzzed + garbage + zero + jumbo + truncated)
    run = run_pcap(pkts)
    assert run.stats.packets == len(pkts)
    assert run.stats.malformed >= len(zero) + 40  # zero-length and cut headers at least
    assert run.stats.malformed < len(pkts)


def test_truncated_headers_are_malformed_not_misread(run_pcap):
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(dport=80, flags="S"))
    pkts = timed([Raw(frame[:n]) for n in (0, 5, 13, 20, 33, 40, 50)] + [Raw(frame)])
    run = run_pcap(pkts)
    assert run.stats.malformed == 7 and run.stats.packets == 8


def test_pcap_cut_mid_record(tmp_path, run_pcap):
    whole = tmp_path / "whole.pcap"
    wrpcap(str(whole), timed(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=i)
                             for i in range(1, 11)))
    data = whole.read_bytes()
    for cut in (len(data) - 5, len(data) - 50, 24 + 8):
        path = tmp_path / f"cut{cut}.pcap"
        path.write_bytes(data[:cut])
        run = run_pcap([], path=path)
        assert run.stats.malformed == 1
        assert run.stats.packets < 10


def test_impossible_record_length_stops_the_file(tmp_path, run_pcap):
    whole = tmp_path / "w.pcap"
    wrpcap(str(whole), timed([IP() / UDP()] * 3))
    data = bytearray(whole.read_bytes())
    data[24 + 8:24 + 12] = (10**9).to_bytes(4, "little")  # caplen of record 1: 1 GB
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    run = run_pcap([], path=bad)
    assert run.stats.malformed == 1 and run.stats.packets == 0


def test_not_a_capture_file(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(b"hello world, not a pcap")
    with pytest.raises(SensorError, match="not a pcap"):
        list(read_batches(path))
    with pytest.raises(SensorError, match="cannot read"):
        list(read_batches(tmp_path / "missing.pcap"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
def test_any_bytes_after_a_pcap_header_never_crash(tmp_path_factory, data):
    from monitor.sensor.sensor import build_sensor

    path = tmp_path_factory.mktemp("h") / "h.pcap"
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    path.write_bytes(header + data)
    sensor = build_sensor()
    sensor.run(read_batches(path))
    assert sensor.stats.packets >= 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=120), max_size=40))
def test_any_frames_never_crash(tmp_path_factory, frames):
    from monitor.sensor.sensor import build_sensor

    path = tmp_path_factory.mktemp("f") / "f.pcap"
    wrpcap(str(path), timed([Raw(f) for f in frames]))
    sensor = build_sensor()
    sensor.run(read_batches(path))
    assert sensor.stats.packets == len(frames)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=12, max_size=2000))
def test_any_bytes_as_pcapng_never_crash(tmp_path_factory, data):
    from monitor.sensor.sensor import build_sensor

    path = tmp_path_factory.mktemp("n") / "n.pcapng"
    shb = bytes.fromhex("0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000")
    idb = bytes.fromhex("01000000140000000100000000000400" "14000000")
    path.write_bytes(shb + idb + data)
    sensor = build_sensor()
    sensor.run(read_batches(path))
    assert sensor.stats.packets >= 0

"""The fast parser agrees with scapy on the fields the detectors use."""

from __future__ import annotations

import os
import struct
import threading

import numpy as np
import pytest
from scapy.all import (
    ARP,
    DNS,
    DNSQR,
    ICMP,
    IP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6ND_RA,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    wrpcap,
)
from scapy.utils import wrpcapng

from monitor.sensor.addresses import halves, to_text
from monitor.sensor.batch import Batch
from monitor.sensor.lpm import PrefixTable
from monitor.sensor.parse import parse
from monitor.sensor.pcapfile import read_batches

from .conftest import timed

PACKETS = [
    Ether(src="00:11:22:33:44:55") / IP(src="10.0.0.1", dst="10.0.0.2")
    / TCP(sport=1234, dport=80, flags="SA"),
    Ether() / Dot1Q(vlan=42) / IPv6(src="2001:db8::1", dst="2001:db8::2")
    / UDP(sport=5353, dport=53) / DNS(qd=DNSQR(qname="www.example.com")),
    Ether() / Dot1Q(vlan=7) / Dot1Q(vlan=8) / IP(src="10.0.0.3", dst="10.0.0.4") / ICMP(type=8),
    Ether() / IPv6(src="fe80::1", dst="ff02::1") / IPv6ExtHdrHopByHop() / ICMPv6ND_RA(),
    Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=0)
    / TCP(sport=1, dport=2, flags="S"),
    Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=10, nh=6)
    / (b"x" * 16),
    Ether() / IP(src="10.0.0.1", dst="10.0.0.2", frag=100, proto=6) / (b"y" * 20),
    Ether() / ARP(op=2, psrc="10.0.0.9", hwsrc="aa:bb:cc:dd:ee:ff", pdst="10.0.0.1"),
]


def _fields(tmp_path, ng=False):
    path = tmp_path / ("p.pcapng" if ng else "p.pcap")
    (wrpcapng if ng else wrpcap)(str(path), timed(PACKETS))
    [batch] = list(read_batches(path))
    return batch, parse(batch)


def test_fields_match_scapy(tmp_path):
    batch, f = _fields(tmp_path)
    assert len(f) == len(PACKETS) and not f.malformed.any()
    assert f.ethertype.tolist() == [0x800, 0x86DD, 0x800, 0x86DD, 0x86DD, 0x86DD, 0x800, 0x806]
    assert f.vlan.tolist()[:3] == [0, 42, 7]
    assert f.family.tolist() == [4, 6, 4, 6, 6, 6, 4, 0]
    assert f.proto.tolist() == [6, 17, 1, 58, 6, 6, 6, 0]
    assert [to_text(h, lo) for h, lo in zip(f.src_hi, f.src_lo, strict=True)][:4] == [
        "10.0.0.1", "2001:db8::1", "10.0.0.3", "fe80::1"]
    assert to_text(f.dst_hi[7], f.dst_lo[7]) == "10.0.0.1"  # ARP target
    assert f.sport[0] == 1234 and f.dport[0] == 80 and f.tcp_flags[0] == 0x12
    assert f.icmp_type[2] == 8 and f.icmp_type[3] == 134
    assert f.tcp_flags[4] == 0x02  # first fragment still has its TCP header
    assert f.dport[5] == 0 and f.dport[6] == 0  # later fragments have none
    assert f.arp_op[7] == 2 and f.arp_sha[7] == 0xAABBCCDDEEFF
    assert f.src_mac[0] == 0x001122334455
    dns = batch.buf[f.dns_off[1]:f.dns_end[1]].tobytes()
    assert bytes(DNS(dns).qd[0].qname) == b"www.example.com."
    assert (f.dns_off >= 0).sum() == 1


def test_pcapng_gives_the_same_fields(tmp_path):
    _, a = _fields(tmp_path)
    _, b = _fields(tmp_path, ng=True)
    for name in ("ethertype", "family", "proto", "src_lo", "dst_hi", "dport", "tcp_flags"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.allclose(a.ts, b.ts)


def test_nanosecond_and_big_endian_pcap(tmp_path):
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))
    for magic, endian, frac in ((0xA1B23C4D, "<", 500_000_000), (0xA1B2C3D4, ">", 500_000)):
        head = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
        rec = struct.pack(endian + "IIII", 1000, frac, len(frame), len(frame)) + frame
        path = tmp_path / "x.pcap"
        path.write_bytes(head + rec * 3)
        batches = list(read_batches(path))
        assert sum(len(b) for b in batches) == 3
        assert batches[0].ts[0] == 1000.5
        assert parse(batches[0]).dport.tolist() == [2, 2, 2]


def test_raw_ip_linktype(tmp_path):
    path = tmp_path / "raw.pcap"
    wrpcap(str(path), [IP(src="10.0.0.1", dst="10.0.0.2") / TCP(dport=22)], linktype=101)
    [batch] = list(read_batches(path))
    f = parse(batch)
    assert f.family.tolist() == [4] and f.dport.tolist() == [22]


@pytest.mark.parametrize("via", ["file", "fifo"])
def test_small_batches_and_chunks_split_records_correctly(tmp_path, via):
    path = tmp_path / "many.pcap"
    pkts = timed(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=i) / (b"z" * (i % 300))
                 for i in range(1, 500))
    wrpcap(str(path), pkts)
    source = path
    if via == "fifo":  # a pipe cannot be mapped: read in chunks, records cut across them
        source = tmp_path / "fifo"
        os.mkfifo(source)
        threading.Thread(target=lambda: source.write_bytes(path.read_bytes()),
                         daemon=True).start()
    batches = list(read_batches(source, chunk=4096, batch=37))
    assert len(batches) > 10
    ports = np.concatenate([parse(b).dport for b in batches])
    assert ports.tolist() == list(range(1, 500))
    assert sum(b.malformed for b in batches) == 0


def test_prefix_table_membership_and_families():
    import ipaddress

    s = PrefixTable([(ipaddress.ip_network(n), 1) for n in ("10.0.0.0/8", "203.0.113.7/32",
                                                            "2001:db8:bad::/48", "::/1")])
    addrs = ["10.200.1.1", "11.0.0.1", "203.0.113.7", "203.0.113.8", "2001:db8:bad:1::1",
             "8000::1", "::1"]
    hi = np.array([halves(a)[0] for a in addrs], np.uint64)
    lo = np.array([halves(a)[1] for a in addrs], np.uint64)
    # IPv4 is stored mapped (::ffff:a.b.c.d, inside ::/1 numerically) but an IPv6 prefix
    # never matches an IPv4 packet
    assert s.contains(hi, lo).tolist() == [True, False, True, False, True, False, True]


def test_batch_packet_accessor(tmp_path):
    batch, _ = _fields(tmp_path)
    assert isinstance(batch, Batch) and batch.packet(0) == bytes(PACKETS[0])


def _block(big: bool, btype: int, body: bytes) -> bytes:
    e = ">" if big else "<"
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


@pytest.mark.parametrize("big", [False, True])
def test_pcapng_byte_order_nanosecond_resolution_and_two_interfaces(tmp_path, big):
    e = ">" if big else "<"
    eth = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=7))
    raw = bytes(IP(src="10.0.0.3", dst="10.0.0.4") / TCP(dport=22, flags="S"))
    shb = _block(big, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    tsresol = struct.pack(e + "HH", 9, 1) + b"\x09\0\0\0" + struct.pack(e + "HH", 0, 0)
    idb0 = _block(big, 1, struct.pack(e + "HHI", 1, 0, 65535) + tsresol)  # Ethernet, ns
    idb1 = _block(big, 1, struct.pack(e + "HHI", 101, 0, 65535))          # raw IP, us
    ticks_ns = 1_790_000_000_500_000_000
    epb0 = _block(big, 6, struct.pack(e + "IIIII", 0, ticks_ns >> 32, ticks_ns & 0xFFFFFFFF,
                                      len(eth), len(eth)) + eth)
    ticks_us = 1_790_000_001_250_000
    epb1 = _block(big, 6, struct.pack(e + "IIIII", 1, ticks_us >> 32, ticks_us & 0xFFFFFFFF,
                                      len(raw), len(raw)) + raw)
    custom = _block(big, 0xBAD, b"skipped")
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb + idb0 + idb1 + epb0 + custom + epb1)
    [batch] = list(read_batches(path))
    f = parse(batch)
    assert batch.malformed == 0 and not f.malformed.any()
    assert f.dport.tolist() == [7, 22] and f.tcp_flags.tolist() == [0, 2]
    assert np.allclose(f.ts, [1_790_000_000.5, 1_790_000_001.25])
    assert batch.linktypes.tolist() == [1, 101]


def test_each_packet_parses_the_same_alone_or_after_any_other(tmp_path):
    """No state leaks from one packet to the next (malformed, fragments, early exits)."""
    import random

    from scapy.all import Raw, fuzz

    random.seed(3)
    pkts = timed(PACKETS + [fuzz(Ether() / IP() / TCP()) for _ in range(30)]
                 + [Raw(bytes(PACKETS[0])[:n]) for n in (0, 13, 20, 40)] + PACKETS[::-1])
    path = tmp_path / "all.pcap"
    wrpcap(str(path), pkts, linktype=1)
    [batch] = list(read_batches(path))
    together = parse(batch)
    for i in range(len(batch)):
        alone = parse(Batch(batch.buf, batch.offs[i:i + 1], batch.caps[i:i + 1],
                            batch.wires[i:i + 1], batch.ts[i:i + 1], batch.linktypes[i:i + 1]))
        for name in ("malformed", "ethertype", "family", "proto", "src_lo", "dst_hi", "sport",
                     "dport", "tcp_flags", "icmp_type", "arp_op", "dns_off"):
            assert getattr(alone, name)[0] == getattr(together, name)[i], (i, name)

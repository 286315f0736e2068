"""SYN, ICMP/ICMPv6 and UDP floods: crafted pcaps, positive and negative."""

from __future__ import annotations

from scapy.all import ICMP, IP, TCP, UDP, ICMPv6EchoRequest, ICMPv6ND_NS, IPv6

from .conftest import timed


def _spoofed(i: int) -> str:
    return f"198.51.{(i >> 8) & 255}.{i & 255}"


def test_syn_flood_from_spoofed_sources(run_pcap):
    pkts = [IP(src=_spoofed(i), dst="10.2.0.80") / TCP(sport=1024 + i, dport=80, flags="S")
            for i in range(1500)]
    run = run_pcap(timed(pkts, rate=500))
    [ev] = run.of("syn_flood")
    assert ev.destination == "10.2.0.80" and ev.severity == "high"
    assert ev.evidence["acks"] == 0 and ev.evidence["syns"] >= 1000
    assert ev.count >= 500  # one event for the whole flood, with its size


def test_busy_server_completing_handshakes_is_not_a_flood(run_pcap):
    pkts = []
    for i in range(1500):
        pkts.append(IP(src=_spoofed(i), dst="10.2.0.80") / TCP(sport=1024 + i, dport=80,
                                                                flags="S"))
        pkts.append(IP(src=_spoofed(i), dst="10.2.0.80") / TCP(sport=1024 + i, dport=80,
                                                                flags="A"))
    assert run_pcap(timed(pkts, rate=1000)).of("syn_flood") == []


def test_icmp_and_icmpv6_floods(run_pcap):
    v4 = [IP(src="198.51.100.1", dst="10.2.0.1") / ICMP() for _ in range(1200)]
    v6 = [IPv6(src="2001:db8::1", dst="2001:db8:2::1") / ICMPv6EchoRequest()
          for _ in range(1200)]
    run = run_pcap(timed(v4 + v6, rate=2000))
    assert sorted(e.destination for e in run.of("icmp_flood")) == ["10.2.0.1", "2001:db8:2::1"]


def test_neighbour_discovery_and_light_ping_are_not_icmp_floods(run_pcap):
    nd = [IPv6(src="fe80::1", dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt="2001:db8::1")
          for _ in range(1500)]
    ping = [IP(src="10.1.1.1", dst="10.2.0.1") / ICMP() for _ in range(100)]
    assert run_pcap(timed(nd + ping, rate=2000)).of("icmp_flood") == []


def test_udp_flood_with_custom_threshold(run_pcap):
    pkts = [IP(src="198.51.100.9", dst="10.2.0.53") / UDP(sport=4444, dport=53)
            for _ in range(600)]
    run = run_pcap(timed(pkts), settings={"udp_flood": {"packets": 500},
                                          "dns_tunnel": {"enabled": False}})
    [ev] = run.of("udp_flood")
    assert ev.destination == "10.2.0.53" and ev.evidence["packets"] >= 500


def test_udp_below_threshold_is_quiet(run_pcap):
    pkts = [IP(src="198.51.100.9", dst="10.2.0.53") / UDP(sport=4444, dport=514)
            for _ in range(400)]
    assert run_pcap(timed(pkts), settings={"udp_flood": {"packets": 500}}).of("udp_flood") == []


def test_flood_outlasting_the_window_is_still_one_event(run_pcap):
    pkts = [IP(src="198.51.100.1", dst="10.2.0.1") / ICMP() for _ in range(3000)]
    run = run_pcap(timed(pkts, rate=100), settings={"icmp_flood": {"packets": 200}})
    [ev] = run.of("icmp_flood")  # 30 s of flood, 10 s window: still one event
    assert ev.last_seen - ev.first_seen >= 25
    assert ev.count > 2500

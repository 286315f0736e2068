"""Port scans, address sweeps and brute force: crafted pcaps, positive and negative."""

from __future__ import annotations

from scapy.all import ICMP, IP, TCP, UDP, ICMPv6EchoRequest, IPv6

from .conftest import timed


def test_tcp_port_scan_is_one_event(run_pcap):
    pkts = timed(IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=40000, dport=p, flags="S")
                 for p in range(1, 300))
    run = run_pcap(pkts)
    [ev] = run.of("port_scan")
    assert ev.source == "10.1.1.1" and ev.severity == "medium"
    assert ev.evidence["distinct_ports"] >= 100
    assert run.types() == {"port_scan"}


def test_udp_port_scan_over_ipv6(run_pcap):
    pkts = timed(IPv6(src="2001:db8:1::5", dst="2001:db8:2::9") / UDP(sport=50000, dport=p)
                 for p in range(1000, 1200))
    run = run_pcap(pkts)
    assert [e.source for e in run.of("port_scan")] == ["2001:db8:1::5"]


def test_busy_client_and_dns_server_replies_are_not_scans(run_pcap):
    client = [IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=40000 + i, dport=443, flags="S")
              for i in range(200)]
    # A resolver answers from port 53 to hundreds of client ports: not a scan.
    replies = [IP(src="10.9.9.9", dst="10.1.1.1") / UDP(sport=53, dport=1024 + i)
               for i in range(300)]
    run = run_pcap(timed(client + replies))
    assert run.of("port_scan") == []


def test_scan_below_threshold_or_spread_beyond_window_is_quiet(run_pcap):
    slow = timed((IP(src="10.1.1.1", dst="10.2.2.2") / TCP(sport=40000, dport=p, flags="S")
                  for p in range(1, 200)), rate=5)  # 200 ports over 40 s, window 10 s
    assert run_pcap(slow).of("port_scan") == []


def test_address_sweep_icmp_and_tcp(run_pcap):
    icmp = [IP(src="10.1.1.1", dst=f"10.2.0.{h}") / ICMP() for h in range(1, 120)]
    v6 = [IPv6(src="2001:db8::66", dst=f"2001:db8:5::{h:x}") / ICMPv6EchoRequest()
          for h in range(1, 80)]
    run = run_pcap(timed(icmp + v6))
    assert sorted(e.source for e in run.of("address_sweep")) == ["10.1.1.1", "2001:db8::66"]
    assert all(e.evidence["distinct_hosts"] >= 50 for e in run.of("address_sweep"))


def test_talking_to_a_few_hosts_is_not_a_sweep(run_pcap):
    pkts = [IP(src="10.1.1.1", dst=f"10.2.0.{h % 20}") / TCP(sport=40000 + h, dport=443,
                                                               flags="S") for h in range(400)]
    assert run_pcap(timed(pkts)).of("address_sweep") == []


def test_ssh_brute_force(run_pcap):
    pkts = [IP(src="192.0.2.7", dst="10.2.0.1") / TCP(sport=30000 + i, dport=22, flags="S")
            for i in range(40)]
    run = run_pcap(timed(pkts, rate=2))  # 40 connections in 20 s, window 60 s
    [ev] = run.of("brute_force")
    assert ev.source == "192.0.2.7" and ev.evidence["port"] == 22
    assert ev.severity == "high"


def test_telnet_brute_force_with_custom_threshold(run_pcap):
    pkts = [IP(src="192.0.2.8", dst="10.2.0.1") / TCP(sport=30000 + i, dport=23, flags="S")
            for i in range(6)]
    run = run_pcap(timed(pkts), settings={"brute_force": {"attempts": 5}})
    assert [e.evidence["port"] for e in run.of("brute_force")] == [23]


def test_few_ssh_logins_or_many_https_connections_are_not_brute_force(run_pcap):
    ssh = [IP(src="10.1.1.1", dst="10.2.0.1") / TCP(sport=30000 + i, dport=22, flags="S")
           for i in range(5)]
    https = [IP(src="10.1.1.2", dst="10.2.0.1") / TCP(sport=30000 + i, dport=443, flags="S")
             for i in range(100)]
    established = [IP(src="10.1.1.3", dst="10.2.0.1") / TCP(sport=30000, dport=22, flags="A")
                   for _ in range(100)]
    assert run_pcap(timed(ssh + https + established)).of("brute_force") == []

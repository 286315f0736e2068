"""DNS tunnelling, block-list hits (with reload) and agency segregation."""

from __future__ import annotations

import base64
import os
import random

from scapy.all import DNS, DNSQR, IP, TCP, UDP, IPv6

from monitor.sensor.agency import PrefixResolver
from monitor.sensor.detectors.blocklist import Blocklist, read_blocklist

from .conftest import timed


def _query(src: str, name: str) -> IP:
    return IP(src=src, dst="10.9.9.9") / UDP(sport=33000, dport=53) / DNS(rd=1,
                                                                          qd=DNSQR(qname=name))


def test_dns_tunnel_long_random_names(run_pcap):
    rnd = random.Random(7)
    names = [base64.b32encode(rnd.randbytes(35)).decode().rstrip("=").lower() + ".t.evil.example"
             for _ in range(20)]
    run = run_pcap(timed(_query("10.1.1.50", n) for n in names))
    [ev] = run.of("dns_tunnel")
    assert ev.source == "10.1.1.50" and ev.evidence["reason"] == "suspicious_names"
    assert ev.evidence["qname"].endswith(".t.evil.example.")
    assert ev.evidence["entropy"] >= 3.9


def test_dns_tunnel_high_entropy_medium_names(run_pcap):
    rnd = random.Random(8)
    names = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(30))
             + ".x.io" for _ in range(15)]
    assert [e.source for e in run_pcap(timed(_query("10.1.1.51", n) for n in names)
                                       ).of("dns_tunnel")] == ["10.1.1.51"]


def test_dns_query_volume(run_pcap):
    pkts = timed(_query("10.1.1.52", f"host{i}.example.go.th") for i in range(60))
    run = run_pcap(pkts, settings={"dns_tunnel": {"queries": 50}})
    [ev] = run.of("dns_tunnel")
    assert ev.evidence["reason"] == "query_volume" and ev.evidence["queries"] >= 50


def test_ordinary_dns_is_fine(run_pcap):
    names = ["www.example.go.th", "mail.mof.go.th", "egov.go.th", "ntp.ubuntu.com",
             "updates.example.org", "a.very.ordinary.name.in.thailand.go.th"] * 10
    v6 = [IPv6(src="2001:db8::5", dst="2001:db8::53") / UDP(sport=33000, dport=53)
          / DNS(qd=DNSQR(qname=n)) for n in names]
    assert run_pcap(timed([_query("10.1.1.53", n) for n in names] + v6)).types() == set()


def test_blocklist_hits_both_directions_and_reloads(run_pcap, tmp_path):
    listed = tmp_path / "block.txt"
    listed.write_text("# feed\n203.0.113.0/24\n2001:db8:bad::/48  # v6\nnot-an-ip\n")
    nets, bad = read_blocklist(listed)
    assert len(nets) == 2 and bad == [4]
    pkts = timed([IP(src="10.1.1.1", dst="203.0.113.9") / TCP(dport=443, flags="S"),
                  IPv6(src="2001:db8:bad::1", dst="2001:db8:1::1") / TCP(dport=22),
                  IP(src="10.1.1.1", dst="198.51.100.1") / TCP(dport=443)] * 3)
    run = run_pcap(pkts, settings={"blocklist": {"path": str(listed)}})
    keys = sorted((e.evidence["direction"], e.evidence["listed"], e.count)
                  for e in run.of("blocklist"))
    assert keys == [("from", "2001:db8:bad::1", 3), ("to", "203.0.113.9", 3)]

    det = Blocklist(path=str(listed), reload_s=0)
    assert len(det) == 2
    listed.write_text("198.51.100.1\n")
    os.utime(listed, (1, 1))
    assert det.reload() and len(det) == 1


def test_no_blocklist_no_hits(run_pcap):
    pkts = timed([IP(src="10.1.1.1", dst="203.0.113.9") / TCP(dport=443)])
    assert run_pcap(pkts).types() == set()


RESOLVER = PrefixResolver({"10.1.0.0/16": "MOF", "10.2.0.0/16": "MOI", "10.3.0.0/16": "MOPH",
                           "10.3.7.0/24": "MOPH-LAB", "2001:db8:1::/48": "MOF"})


def test_segregation_forbidden_pairs(run_pcap):
    pkts = timed([IP(src="10.1.0.5", dst="10.2.0.6") / TCP(dport=445)] * 4
                 + [IPv6(src="2001:db8:1::5", dst="2001:db8:1::6") / TCP(dport=80),
                    IP(src="10.1.0.5", dst="10.3.0.9") / TCP(dport=443),      # allowed pair
                    IP(src="10.1.0.5", dst="10.3.7.9") / TCP(dport=443),      # longest match
                    IP(src="198.51.100.1", dst="10.1.0.5") / TCP(dport=443)])  # Internet
    run = run_pcap(pkts, resolver=RESOLVER,
                   settings={"segregation": {"allowed": [("MOPH", "MOF")]}})
    found = sorted((e.key, e.count, e.agency, e.source_agency) for e in run.of("segregation"))
    # the attacked agency is the destination's, the source's its own label
    assert found == [("MOF->MOI", 4, "MOI", "MOF"), ("MOF->MOPH-LAB", 1, "MOPH-LAB", "MOF")]


def test_segregation_off_without_resolver(run_pcap):
    pkts = timed([IP(src="10.1.0.5", dst="10.2.0.6") / TCP(dport=445)])
    assert run_pcap(pkts).types() == set()


def test_prefix_resolver_longest_match():
    assert RESOLVER(4, int.from_bytes(bytes([10, 3, 7, 1]))) == "MOPH-LAB"
    assert RESOLVER(4, int.from_bytes(bytes([10, 3, 8, 1]))) == "MOPH"
    assert RESOLVER(4, int.from_bytes(bytes([10, 4, 8, 1]))) is None
    assert RESOLVER(6, 0x20010DB8000100000000000000000001) == "MOF"

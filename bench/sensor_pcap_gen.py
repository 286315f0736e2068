"""Generate a deterministic mixed pcap for the threat-sensor benchmark (default 1,000,000 packets).

Traffic: agency hosts (10.<agency>.x.x, 2001:db8:<agency>::/48, 200 agencies) talking to
each other and to the Internet over TCP and UDP, IPv4 and IPv6, some VLAN-tagged, with
DNS, ICMP, neighbour discovery and ARP, plus one of each attack the sensor detects:
port scan, address sweep, SYN flood, UDP flood, ICMP flood, DNS tunnel, SSH brute force,
rogue RA, ARP spoofing, gratuitous-ARP storm, block-list hits and forbidden inter-agency
traffic.  Packet templates are crafted with scapy once; the million records are written
with ``struct`` (addresses and ports patched in place; checksums are not recomputed, the
sensor and tshark do not validate them).  The same seed always gives the same file.

    python bench/sensor_pcap_gen.py /tmp/sensor-1m.pcap [--count 1000000] [--rate 100000]
"""

from __future__ import annotations

import argparse
import random
import struct
from pathlib import Path

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
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    IPv6,
)

AGENCIES = 200
T0 = 1_790_000_000
BLOCKED = "203.0.113.66"  # on the benchmark block list
ROGUE_MAC = "02:00:00:00:66:66"
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def agency_prefixes() -> dict[str, str]:
    """The resolver table the benchmark uses: one /16 and one /48 per agency."""
    out = {}
    for a in range(1, AGENCIES + 1):
        out[f"10.{a}.0.0/16"] = f"AG{a:03d}"
        out[f"2001:db8:{a:x}::/48"] = f"AG{a:03d}"
    return out


def blocklist_lines() -> list[str]:
    """1,000 listed addresses/prefixes (one of them appears in the traffic)."""
    rnd = random.Random(99)
    lines = [BLOCKED]
    for _ in range(699):
        lines.append(f"198.18.{rnd.randrange(256)}.{rnd.randrange(256)}")
    for _ in range(300):
        lines.append(f"2001:db8:ffff:{rnd.randrange(65536):x}::/64")
    return lines


class Template:
    """Packet bytes plus where its addresses and ports sit, for patching."""

    def __init__(self, pkt, family: int) -> None:  # type: ignore[no-untyped-def]
        self.raw = bytearray(bytes(pkt))
        l3 = 14 + (4 if Dot1Q in pkt else 0)
        self.family = family
        if family == 4:
            self.src, self.dst, self.alen = l3 + 12, l3 + 16, 4
            l4 = l3 + 20
        elif family == 6:
            self.src, self.dst, self.alen = l3 + 8, l3 + 24, 16
            l4 = l3 + 40
        else:
            self.src = self.dst = self.alen = 0
            l4 = 0
        self.ports = l4 if (TCP in pkt or UDP in pkt) else 0


def v4(agency: int, host: int) -> bytes:
    return bytes([10, agency, (host >> 8) & 255, host & 255])


def v6(agency: int, host: int) -> bytes:
    return bytes.fromhex(f"20010db8{agency:04x}0000") + host.to_bytes(8, "big")


def build_templates() -> dict[str, Template]:
    e = Ether(src=MAC_A, dst=MAC_B)
    pay = b"p" * 600
    t = {
        "tcp4": Template(e / IP(src="10.1.0.1", dst="10.2.0.1") / TCP(flags="PA") / pay, 4),
        "tcp4_ack": Template(e / IP(src="10.1.0.1", dst="10.2.0.1") / TCP(flags="A"), 4),
        "tcp4_syn": Template(e / IP(src="10.1.0.1", dst="10.2.0.1") / TCP(flags="S"), 4),
        "tcp4_vlan": Template(e / Dot1Q(vlan=100) / IP() / TCP(flags="PA") / (b"v" * 1200), 4),
        "tcp6": Template(e / IPv6(src="2001:db8:1::1", dst="2001:db8:2::1") / TCP(flags="PA")
                         / (b"q" * 900), 6),
        "tcp6_syn": Template(e / IPv6() / TCP(flags="S"), 6),
        "udp4": Template(e / IP() / UDP(sport=40000, dport=443) / (b"u" * 1100), 4),
        "udp6": Template(e / IPv6() / UDP(sport=40000, dport=443) / (b"u" * 1100), 6),
        "icmp4": Template(e / IP() / ICMP() / (b"i" * 56), 4),
        "icmp6": Template(e / IPv6() / ICMPv6EchoRequest() / (b"i" * 56), 6),
        "ns6": Template(e / IPv6(src="fe80::2", dst="ff02::1:ff00:1")
                        / ICMPv6ND_NS(tgt="2001:db8:1::1"), 0),
        "arp": Template(e / ARP(op=1, psrc="10.1.0.1", hwsrc=MAC_A, pdst="10.1.0.254"), 0),
        "ra_ok": Template(Ether(src="02:00:00:00:01:01") / IPv6(src="fe80::1", dst="ff02::1")
                          / ICMPv6ND_RA(), 0),
        "ra_rogue": Template(Ether(src=ROGUE_MAC) / IPv6(src="fe80::666", dst="ff02::1")
                             / ICMPv6ND_RA(), 0),
        "arp_spoof": Template(Ether(src=ROGUE_MAC) / ARP(op=2, psrc="10.1.0.1", hwsrc=ROGUE_MAC,
                                                         pdst="10.1.0.9"), 0),
        "garp": Template(Ether(src=ROGUE_MAC) / ARP(op=2, psrc="10.1.0.77", hwsrc=ROGUE_MAC,
                                                    pdst="10.1.0.77"), 0),
    }
    return t


def dns_query(name: str, family: int) -> Template:
    e = Ether(src=MAC_A, dst=MAC_B)
    ip = IP(src="10.1.0.1", dst="10.1.0.53") if family == 4 else IPv6(src="2001:db8:1::1",
                                                                       dst="2001:db8:1::53")
    return Template(e / ip / UDP(sport=33333, dport=53) / DNS(rd=1, qd=DNSQR(qname=name)), family)


def generate(path: Path, count: int, rate: float, seed: int = 7) -> None:
    rnd = random.Random(seed)
    t = build_templates()
    names = [f"{w}.ag{a:03d}.go.th" for w in ("www", "mail", "egov", "api", "intranet")
             for a in range(1, 40)]
    dns_normal = [dns_query(n, 4 if i % 3 else 6) for i, n in enumerate(names)]
    dns_tunnel = [dns_query(rnd.randbytes(30).hex()[:55] + ".t.evil.example", 4)
                  for _ in range(50)]
    normal = [("tcp4", 40), ("tcp4_ack", 12), ("tcp4_syn", 2), ("tcp4_vlan", 5), ("tcp6", 12),
              ("tcp6_syn", 1), ("udp4", 10), ("udp6", 4), ("dns", 5), ("icmp4", 2),
              ("icmp6", 1), ("ns6", 1), ("arp", 1)]
    kinds = [k for k, _ in normal]
    weights = [w for _, w in normal]
    n_attack = count // 10  # 10% of packets belong to attacks
    attack_at = set(rnd.sample(range(count), n_attack))
    attacks = (["syn_flood"] * 30 + ["udp_flood"] * 20 + ["icmp_flood"] * 15
               + ["port_scan"] * 15 + ["sweep"] * 10 + ["dns_tunnel"] * 3 + ["brute"] * 2
               + ["blocked"] * 3 + ["segregation"] * 2)
    scan_port = sweep_host = brute_n = 0
    pk = struct.Struct("<IIII")
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        out = []
        specials = {count // 3: "ra_rogue", count // 2: "arp_spoof"}
        for i in range(count):
            ts = T0 + i / rate
            a1, a2 = rnd.randrange(1, 6), rnd.randrange(1, 6)  # talk within allowed agencies
            h1, h2 = rnd.randrange(1, 4000), rnd.randrange(1, 4000)
            if i in specials:
                tpl, src, dst, ports = t[specials[i]], None, None, None
            elif i % 5000 == 0:
                tpl, src, dst, ports = t["ra_ok"], None, None, None
            elif count // 4 <= i < count // 4 + 40:
                tpl, src, dst, ports = t["garp"], None, None, None
            elif i in attack_at:
                kind = rnd.choice(attacks)
                if kind == "syn_flood":
                    tpl = t["tcp4_syn"]
                    src = bytes([198, 51, rnd.randrange(256), rnd.randrange(256)])
                    dst, ports = v4(3, 80), (rnd.randrange(1024, 65535), 80)
                elif kind == "udp_flood":
                    tpl, src, dst = t["udp4"], bytes([198, 51, 100, 7]), v4(4, 53)
                    ports = (rnd.randrange(1024, 65535), 53)
                elif kind == "icmp_flood":
                    tpl, src, dst, ports = t["icmp6"], v6(150, 7), v6(2, 1), None
                elif kind == "port_scan":
                    scan_port = scan_port % 65535 + 1
                    tpl, src, dst = t["tcp4_syn"], bytes([192, 0, 2, 9]), v4(1, 10)
                    ports = (45000, scan_port)
                elif kind == "sweep":
                    sweep_host = sweep_host % 60000 + 1
                    tpl, src, ports = t["icmp4"], bytes([192, 0, 2, 10]), None
                    dst = v4(2, sweep_host)
                elif kind == "dns_tunnel":
                    tpl, src, dst, ports = rnd.choice(dns_tunnel), v4(5, 66), None, None
                elif kind == "brute":
                    brute_n += 1
                    tpl, src, dst = t["tcp4_syn"], bytes([192, 0, 2, 22]), v4(1, 22)
                    ports = (20000 + brute_n % 40000, 22)
                elif kind == "blocked":
                    tpl, src, dst, ports = t["tcp4"], v4(2, 5), bytes([203, 0, 113, 66]), None
                else:  # segregation: agency 7 reaching agency 9's file server
                    tpl, src, dst, ports = t["tcp4"], v4(7, 5), v4(9, 445), (50000, 445)
            else:
                kind = rnd.choices(kinds, weights)[0]
                if kind == "dns":
                    tpl = rnd.choice(dns_normal)
                    src = v4(a1, h1) if tpl.family == 4 else v6(a1, h1)
                    dst, ports = None, None
                else:
                    tpl = t[kind]
                    if tpl.family == 4:
                        src = v4(a1, h1)
                        dst = v4(a2, h2) if rnd.random() < 0.6 else bytes(
                            [rnd.randrange(11, 200), rnd.randrange(256), rnd.randrange(256), 1])
                    elif tpl.family == 6:
                        src, dst = v6(a1, h1), v6(a2, h2)
                    else:
                        src = dst = None
                    ports = (rnd.randrange(1024, 65535), rnd.choice((80, 443, 8443, 3306))) \
                        if tpl.ports else None
            raw = tpl.raw
            if src is not None or dst is not None or ports is not None:
                raw = bytearray(raw)
                if src is not None:
                    raw[tpl.src:tpl.src + tpl.alen] = src
                if dst is not None:
                    raw[tpl.dst:tpl.dst + tpl.alen] = dst
                if ports is not None and tpl.ports:
                    struct.pack_into(">HH", raw, tpl.ports, *ports)
            sec = int(ts)
            out.append(pk.pack(sec, int((ts - sec) * 1e6), len(raw), len(raw)))
            out.append(raw)
            if len(out) >= 20000:
                fh.write(b"".join(out))
                out.clear()
        fh.write(b"".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=100_000.0,
                    help="packets per second of capture time (timestamps)")
    ap.add_argument("--blocklist", type=Path, help="also write the benchmark block list here")
    args = ap.parse_args()
    generate(args.path, args.count, args.rate)
    if args.blocklist:
        args.blocklist.write_text("\n".join(blocklist_lines()) + "\n")


if __name__ == "__main__":
    main()

"""Fast field extraction: the few header fields the detectors need, for a whole batch.

One compiled pass over the batch fills flat numpy arrays (struct of arrays): link type,
VLAN, IPv4/IPv6 addresses, protocol, ports, TCP flags, ICMP/ICMPv6 type, ARP operation and
addresses, and where a DNS query starts.  No per-packet Python object is ever made, which
is what lets the sensor run at about a million packets per second on one core; scapy is
kept for crafting test traffic and dissecting the few packets behind an alert.

Addresses are two ``uint64`` halves; IPv4 is stored IPv4-mapped (``::ffff:a.b.c.d``) so
IPv4 and IPv6 share one code path.  A packet whose headers are cut short or inconsistent
is flagged ``malformed`` and otherwise ignored: it is counted, never crashes the sensor.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from .batch import (
    LINKTYPE_ETHERNET,
    Batch,
)
from .walk import _u32

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
V4_MAPPED = np.uint64(0xFFFF00000000)


@dataclass
class Fields:
    """Per-packet header fields of one batch (all arrays have the batch's length).

    ``family`` is 4 or 6 for IP packets, 0 otherwise (ARP keeps its sender/target
    protocol addresses in ``src``/``dst``).  ``dns_off`` is the offset in ``buf`` of a DNS
    message sent to UDP port 53, or -1.
    """

    ts: np.ndarray
    wire: np.ndarray
    malformed: np.ndarray
    ethertype: np.ndarray
    vlan: np.ndarray
    src_mac: np.ndarray
    family: np.ndarray
    proto: np.ndarray
    src_hi: np.ndarray
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    tcp_flags: np.ndarray
    icmp_type: np.ndarray
    arp_op: np.ndarray
    arp_sha: np.ndarray
    dns_off: np.ndarray
    dns_end: np.ndarray
    buf: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def slice(self, start: int, stop: int) -> Fields:
        """The packets ``start:stop`` (array views, no copy)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Fields(**{k: (v if k == "buf" else v[start:stop]) for k, v in values.items()})


@njit(cache=True, inline="always")
def _u16(buf, p):  # type: ignore[no-untyped-def]
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@njit(cache=True, inline="always")
def _u64(buf, p, n):  # type: ignore[no-untyped-def]
    v = np.uint64(0)
    for k in range(n):
        v = (v << np.uint64(8)) | np.uint64(buf[p + k])
    return v


@njit(cache=True)
def _parse_range(buf, offs, caps, lts, start, stop, malformed, ethertype, vlan, src_mac,
                 family, proto, src_hi, src_lo, dst_hi, dst_lo, sport, dport, tcp_flags,
                 icmp_type, arp_op, arp_sha, dns_off, dns_end):  # type: ignore[no-untyped-def]
    """Fill rows ``start:stop`` from the packets at ``buf[offs[i]:offs[i] + caps[i]]``.

    The per-packet code is written out in this loop rather than in a helper called per
    packet: numba reference-counts every array argument at each call, and with 18 output
    arrays that cost ~200 ns a packet, more than the parsing itself.
    """
    mapped = np.uint64(0xFFFF00000000)
    for i in range(start, stop):
        o = offs[i]
        end = o + caps[i]
        lt = lts[i]
        dns_off[i] = -1
        dns_end[i] = -1
        et = 0
        p = o
        if lt == 1:
            if end - o < 14:
                malformed[i] = 1
                continue
            src_mac[i] = _u64(buf, o + 6, 6)
            et = _u16(buf, o + 12)
            p = o + 14
            k = 0
            bad = False
            while (et == 0x8100 or et == 0x88A8 or et == 0x9100) and k < 4:
                if p + 4 > end:
                    bad = True
                    break
                if k == 0:
                    vlan[i] = _u16(buf, p) & 0x0FFF
                et = _u16(buf, p + 2)
                p += 4
                k += 1
            if bad:
                malformed[i] = 1
                continue
        elif lt == 113:
            if end - o < 16:
                malformed[i] = 1
                continue
            src_mac[i] = _u64(buf, o + 6, 6)
            et = _u16(buf, o + 14)
            p = o + 16
        elif lt == 101 or lt == 228 or lt == 229:
            if end - o < 1:
                malformed[i] = 1
                continue
            ver = buf[o] >> 4
            et = 0x0800 if ver == 4 else (0x86DD if ver == 6 else 0)
            if et == 0:
                malformed[i] = 1
                continue
        else:
            malformed[i] = 1
            continue
        ethertype[i] = et
        l4 = 0
        l4end = end
        nh = -1
        if et == 0x0800:
            if p + 20 > end:
                malformed[i] = 1
                continue
            ihl = (buf[p] & 0x0F) * 4
            tot = _u16(buf, p + 2)
            if buf[p] >> 4 != 4 or ihl < 20 or p + ihl > end or (tot != 0 and tot < ihl):
                malformed[i] = 1
                continue
            family[i] = 4
            nh = buf[p + 9]
            proto[i] = nh
            src_lo[i] = mapped | _u64(buf, p + 12, 4)
            dst_lo[i] = mapped | _u64(buf, p + 16, 4)
            if _u16(buf, p + 6) & 0x1FFF:
                continue  # a later fragment: no transport header here
            l4 = p + ihl
            if tot != 0:
                l4end = min(end, p + tot)
        elif et == 0x86DD:
            if p + 40 > end or buf[p] >> 4 != 6:
                malformed[i] = 1
                continue
            family[i] = 6
            src_hi[i] = _u64(buf, p + 8, 8)
            src_lo[i] = _u64(buf, p + 16, 8)
            dst_hi[i] = _u64(buf, p + 24, 8)
            dst_lo[i] = _u64(buf, p + 32, 8)
            plen = _u16(buf, p + 4)
            nh = buf[p + 6]
            l4 = p + 40
            if plen != 0:
                l4end = min(end, l4 + plen)
            hops = 0
            bad = False
            later_fragment = False
            while (nh == 0 or nh == 43 or nh == 44 or nh == 60 or nh == 51) and hops < 8:
                if l4 + 8 > l4end:
                    bad = True
                    break
                if nh == 44:
                    if _u16(buf, l4 + 2) >> 3:
                        later_fragment = True
                    size = 8
                elif nh == 51:
                    size = (np.int64(buf[l4 + 1]) + 2) * 4
                else:
                    size = (np.int64(buf[l4 + 1]) + 1) * 8
                nh = buf[l4]
                l4 += size
                hops += 1
            if bad:
                malformed[i] = 1
                continue
            proto[i] = nh
            if later_fragment:
                continue
        elif et == 0x0806:
            if p + 8 > end:
                malformed[i] = 1
                continue
            op = _u16(buf, p + 6)
            arp_op[i] = op
            if buf[p + 4] == 6 and buf[p + 5] == 4 and _u16(buf, p + 2) == 0x0800:
                if p + 28 > end:
                    malformed[i] = 1
                    continue
                arp_sha[i] = _u64(buf, p + 8, 6)
                src_lo[i] = mapped | _u64(buf, p + 14, 4)
                dst_lo[i] = mapped | _u64(buf, p + 24, 4)
            continue
        else:
            continue
        if nh == 6:
            if l4 + 20 > end or (buf[l4 + 12] >> 4) < 5:
                malformed[i] = 1
                continue
            sport[i] = _u16(buf, l4)
            dport[i] = _u16(buf, l4 + 2)
            tcp_flags[i] = buf[l4 + 13]
        elif nh == 17:
            if l4 + 8 > end:
                malformed[i] = 1
                continue
            sport[i] = _u16(buf, l4)
            dp = _u16(buf, l4 + 2)
            dport[i] = dp
            if dp == 53 and l4 + 20 <= l4end:
                dns_off[i] = l4 + 8
                dns_end[i] = l4end
        elif nh == 1 or nh == 58:
            if l4 + 2 > end:
                malformed[i] = 1
                continue
            icmp_type[i] = buf[l4]


@njit(cache=True)
def _parse(buf, offs, caps, lts, malformed, ethertype, vlan, src_mac, family, proto,
           src_hi, src_lo, dst_hi, dst_lo, sport, dport, tcp_flags, icmp_type, arp_op,
           arp_sha, dns_off, dns_end):  # type: ignore[no-untyped-def]
    _parse_range(buf, offs, caps, lts, 0, offs.shape[0], malformed, ethertype, vlan,
                 src_mac, family, proto, src_hi, src_lo, dst_hi, dst_lo, sport, dport,
                 tcp_flags, icmp_type, arp_op, arp_sha, dns_off, dns_end)


@njit(cache=True)
def _walk_parse_pcap(buf, pos, end, big, frac_scale, max_caplen, lts, offs, caps, wires,
                     ts, malformed, ethertype, vlan, src_mac, family, proto, src_hi, src_lo,
                     dst_hi, dst_lo, sport, dport, tcp_flags, icmp_type, arp_op, arp_sha,
                     dns_off, dns_end):  # type: ignore[no-untyped-def]
    """Walk classic pcap records and parse them while their headers are in cache.

    Records are walked 256 at a time, then those 256 are parsed: the headers are still in
    the CPU cache (a chunk is far larger than the caches) and the per-call cost of
    :func:`_parse_range` is shared by 256 packets.  Returns ``(count, next_pos, status)``
    like :func:`.walk.walk_pcapng`.
    """
    n = 0
    cap_out = offs.shape[0]
    status = 0
    while n < cap_out and pos + 16 <= end and status == 0:
        first = n
        while n < cap_out and n - first < 256 and pos + 16 <= end:
            caplen = _u32(buf, pos + 8, big)
            if caplen > max_caplen:
                status = 1
                break
            if pos + 16 + caplen > end:
                break
            offs[n] = pos + 16
            caps[n] = caplen
            wires[n] = _u32(buf, pos + 12, big)
            ts[n] = _u32(buf, pos, big) + _u32(buf, pos + 4, big) * frac_scale
            n += 1
            pos += 16 + caplen
        _parse_range(buf, offs, caps, lts, first, n, malformed, ethertype, vlan, src_mac,
                     family, proto, src_hi, src_lo, dst_hi, dst_lo, sport, dport, tcp_flags,
                     icmp_type, arp_op, arp_sha, dns_off, dns_end)
        if n - first < 256 and status == 0:
            break  # an incomplete record (or the end): stop here
    return n, pos, status


def new_fields(n: int, ts: np.ndarray, wire: np.ndarray, buf: np.ndarray) -> Fields:
    """Zeroed field arrays for ``n`` packets (the kernels fill them)."""
    z8 = lambda: np.zeros(n, np.uint8)  # noqa: E731
    z16 = lambda: np.zeros(n, np.uint16)  # noqa: E731
    z64 = lambda: np.zeros(n, np.uint64)  # noqa: E731
    return Fields(
        ts=ts, wire=wire, malformed=z8(), ethertype=z16(), vlan=z16(), src_mac=z64(),
        family=z8(), proto=z8(), src_hi=z64(), src_lo=z64(), dst_hi=z64(), dst_lo=z64(),
        sport=z16(), dport=z16(), tcp_flags=z8(), icmp_type=z8(), arp_op=z16(), arp_sha=z64(),
        dns_off=np.empty(n, np.int64), dns_end=np.empty(n, np.int64), buf=buf,
    )


def _outs(f: Fields) -> tuple[np.ndarray, ...]:
    return (f.malformed, f.ethertype, f.vlan, f.src_mac, f.family, f.proto, f.src_hi,
            f.src_lo, f.dst_hi, f.dst_lo, f.sport, f.dport, f.tcp_flags, f.icmp_type,
            f.arp_op, f.arp_sha, f.dns_off, f.dns_end)


def parse(batch: Batch) -> Fields:
    """Extract the detector fields of every packet in ``batch`` (already done by readers
    that parse while walking, see :func:`walk_parse_pcap`)."""
    if batch.fields is not None:
        return batch.fields
    n = len(batch)
    out = new_fields(n, batch.ts, batch.wires, batch.buf)
    if n:
        _parse(batch.buf, batch.offs, batch.caps, batch.linktypes, *_outs(out))
    return out


def walk_parse_pcap(buf: np.ndarray, pos: int, end: int, big: bool, frac_scale: float,
                    max_caplen: int, linktype: int, limit: int = 65536
                    ) -> tuple[Batch, int, int]:
    """Walk and parse up to ``limit`` classic-pcap records in ``buf[pos:end]``, one pass.

    Returns the batch (with its fields), the offset of the first record not taken (an
    incomplete one, or the next when ``limit`` was reached), and the walker status (0, or
    1 for an impossible record length).
    """
    cap = max(1, min(limit, (end - pos) // 16))
    offs, caps, wires = (np.empty(cap, np.int64) for _ in range(3))
    ts = np.empty(cap, np.float64)
    lts = np.full(cap, linktype, np.int32)
    f = new_fields(cap, ts, wires, buf)
    n, pos, status = _walk_parse_pcap(buf, pos, end, big, frac_scale, max_caplen, lts,
                                      offs, caps, wires, ts, *_outs(f))
    f = f.slice(0, n)
    return Batch(buf, offs[:n], caps[:n], wires[:n], ts[:n], lts[:n], fields=f), pos, status



def warm_up() -> None:
    """Load (or compile) every kernel now, not on the first live packet: loading one from
    numba's cache costs up to a second on a busy machine, long enough for a capture ring
    to overflow."""
    import ipaddress

    from .dns import name_features
    from .lpm import PrefixTable
    from .walk import walk_tpacket3_block

    buf = np.zeros(128, np.uint8)
    walk_parse_pcap(buf, 0, 0, False, 1e-6, 65535, LINKTYPE_ETHERNET)
    one = np.zeros(1, np.int64)
    parse(Batch(buf, one, np.full(1, 64, np.int64), np.full(1, 64, np.int64), np.zeros(1),
                np.ones(1, np.int32)))
    name_features(buf, one, np.full(1, 64, np.int64))
    table = PrefixTable([(ipaddress.ip_network("10.0.0.0/8"), 1)])
    table.lookup(np.zeros(1, np.uint64), np.zeros(1, np.uint64))
    walk_tpacket3_block(buf, 0, one.copy(), one.copy(), one.copy(), np.zeros(1), 0)

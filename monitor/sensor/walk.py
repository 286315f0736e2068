"""Record walkers: find where each packet starts inside a raw buffer, compiled with numba.

(Classic pcap is walked by :func:`.parse.walk_parse_pcap`, which parses as it walks.)

Why compiled: a pcap file is a chain of length-prefixed records, so finding packet ``n+1``
needs the length of packet ``n``.  That walk cannot be vectorised, and a Python loop over
``struct.unpack_from`` costs ~0.6 s per million packets on this machine, more than the whole
budget of the sensor.  These kernels do the walk at a few nanoseconds per record and hand
back plain arrays (offset, captured length, wire length, timestamp) that the parser uses.

Every kernel stops cleanly at the first record that does not fit in the buffer, and
reports records whose declared length is impossible, so a cut or corrupt file never
reads out of bounds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Status codes returned by the walkers.
OK = 0  # stopped because the buffer (or the output arrays) ran out: read more
CORRUPT = 1  # a record header declares an impossible length: stop reading this file
OTHER_BLOCK = 2  # pcapng: a block the Python side must handle (SHB, IDB)


@njit(cache=True, inline="always")
def _u32(buf, pos, big):  # type: ignore[no-untyped-def]
    a = np.int64(buf[pos])
    b = np.int64(buf[pos + 1])
    c = np.int64(buf[pos + 2])
    d = np.int64(buf[pos + 3])
    if big:
        return (a << 24) | (b << 16) | (c << 8) | d
    return (d << 24) | (c << 16) | (b << 8) | a


@njit(cache=True)
def walk_pcapng(buf, pos, end, big, if_scale, if_linktype, max_caplen,
                offs, caps, wires, ts, lts):  # type: ignore[no-untyped-def]
    """Walk pcapng blocks; packet blocks (EPB, SPB) are collected, others skipped.

    Section and interface blocks return ``OTHER_BLOCK`` so Python can read their options
    (byte order, link type, timestamp resolution) and call again.
    Returns ``(count, next_pos, status)``.
    """
    n = 0
    cap_out = offs.shape[0]
    n_if = if_scale.shape[0]
    while n < cap_out and pos + 12 <= end:
        btype = _u32(buf, pos, big)
        blen = _u32(buf, pos + 4, big)
        if btype == 0x0A0D0D0A:
            return n, pos, OTHER_BLOCK
        if blen < 12 or blen % 4 != 0 or blen > max_caplen + 1024:
            return n, pos, CORRUPT
        if pos + blen > end:
            break
        if btype == 1:
            return n, pos, OTHER_BLOCK
        if btype == 6:  # enhanced packet block
            if blen < 32:
                return n, pos, CORRUPT
            iface = _u32(buf, pos + 8, big)
            caplen = _u32(buf, pos + 20, big)
            if caplen > blen - 32 or iface >= n_if:
                return n, pos, CORRUPT
            ticks = (_u32(buf, pos + 12, big) << 32) | _u32(buf, pos + 16, big)
            offs[n] = pos + 28
            caps[n] = caplen
            wires[n] = _u32(buf, pos + 24, big)
            ts[n] = ticks * if_scale[iface]
            lts[n] = if_linktype[iface]
            n += 1
        elif btype == 3:  # simple packet block: interface 0, no timestamp
            if blen < 16 or n_if == 0:
                return n, pos, CORRUPT
            wire = _u32(buf, pos + 8, big)
            caplen = min(wire, blen - 16)
            offs[n] = pos + 12
            caps[n] = caplen
            wires[n] = wire
            ts[n] = 0.0
            lts[n] = if_linktype[0]
            n += 1
        pos += blen
    return n, pos, OK


@njit(cache=True)
def walk_tpacket3_block(buf, base, offs, caps, wires, ts, start):  # type: ignore[no-untyped-def]
    """Walk the packets of one TPACKET_V3 ring block that starts at ``buf[base]``.

    Layout (linux/if_packet.h): block descriptor ``version, offset_to_priv`` then
    ``block_status, num_pkts, offset_to_first_pkt, blk_len, seq_num, ts_first, ts_last``;
    each packet starts with ``tpacket3_hdr`` (``tp_next_offset, tp_sec, tp_nsec,
    tp_snaplen, tp_len, tp_status, tp_mac, tp_net, ...``).  Returns the new count.
    """
    num = _u32(buf, base + 12, False)
    pos = base + _u32(buf, base + 16, False)
    n = start
    for _ in range(num):
        if n >= offs.shape[0]:
            break
        nxt = _u32(buf, pos, False)
        sec = _u32(buf, pos + 4, False)
        nsec = _u32(buf, pos + 8, False)
        snap = _u32(buf, pos + 12, False)
        wire = _u32(buf, pos + 16, False)
        mac = np.int64(buf[pos + 24]) | (np.int64(buf[pos + 25]) << 8)
        offs[n] = pos + mac
        caps[n] = snap
        wires[n] = wire
        ts[n] = sec + nsec * 1e-9
        n += 1
        if nxt == 0:
            break
        pos += nxt
    return n

"""Read pcap and pcapng files in large chunks, without scapy in the hot path.

A classic pcap is memory-mapped and walked and parsed in one compiled pass
(:func:`.parse.walk_parse_pcap`), 65,536 packets per :class:`~.batch.Batch`; pipes and
pcapng files are read 32 MiB at a time.  Memory stays flat whatever the file size.
A file cut mid-record yields every complete packet and counts the cut one as malformed;
a record with an impossible length stops the file there (counted as malformed too) rather
than guessing where the next record might start.
"""

from __future__ import annotations

import io
import mmap
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import walk
from .batch import LINKTYPE_ETHERNET, Batch, empty_arrays
from .errors import SensorError
from .parse import walk_parse_pcap

CHUNK = 32 << 20  # ~50,000 packets of a typical mix: few slices per second
BATCH = 262_144  # packets per batch at most
BATCH_BYTES = 64 << 20  # file bytes per batch at most (bounds resident memory)
MAX_CAPLEN = 262_144  # libpcap's largest snap length
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": (False, 1e-6),
    b"\xa1\xb2\xc3\xd4": (True, 1e-6),
    b"\x4d\x3c\xb2\xa1": (False, 1e-9),
    b"\xa1\xb2\x3c\x4d": (True, 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


def read_batches(path: str | Path, chunk: int = CHUNK, batch: int = BATCH) -> Iterator[Batch]:
    """Every packet of a pcap or pcapng file (or a FIFO carrying one), in batches of at
    most ``batch`` packets."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally below (generator)
    except OSError as exc:
        raise SensorError(f"cannot read capture file {str(path)!r}: {exc.strerror}") from None
    try:
        head = fh.read(4)
        if head in PCAP_MAGICS:
            yield from _pcap(fh, head, chunk, str(path), batch)
        elif head == PCAPNG_SHB:
            yield from _pcapng(fh, head, chunk)
        else:
            raise SensorError(f"{str(path)!r} is not a pcap or pcapng file "
                              "(convert it with: editcap -F pcap IN OUT)")
    finally:
        fh.close()


def _pcap(fh: BinaryIO, magic: bytes, chunk: int, name: str, limit: int) -> Iterator[Batch]:
    big, scale = PCAP_MAGICS[magic]
    rest = fh.read(20)
    if len(rest) < 20:
        raise SensorError(f"{name!r}: pcap file header is truncated")
    linktype = struct.unpack((">" if big else "<") + "I", rest[16:20])[0] & 0x0FFFFFFF
    try:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation):
        mm = None  # a pipe or an empty file: read it in chunks
    if mm is not None:
        yield from _pcap_mapped(mm, big, scale, linktype, limit)
        return
    carry = b""
    eof = False
    while not eof:
        raw = _read(fh, carry, chunk)
        eof = len(raw) - len(carry) < chunk
        buf = np.frombuffer(raw, np.uint8)
        pos = 0
        while True:
            batch, pos, status = walk_parse_pcap(buf, pos, len(raw), big, scale, MAX_CAPLEN,
                                                 linktype, limit)
            full = len(batch) == limit and status != walk.CORRUPT
            broken = status == walk.CORRUPT or (eof and not full and pos < len(raw))
            batch.malformed = 1 if broken else 0
            yield batch
            if broken:
                return
            if not full:
                break
        carry = bytes(raw[pos:])


def _pcap_mapped(mm: mmap.mmap, big: bool, scale: float, linktype: int, limit: int
                 ) -> Iterator[Batch]:
    """Walk a memory-mapped pcap: no copy at all.  A batch maps at most 64 MiB of file;
    pages already processed are then dropped from the process (``MADV_DONTNEED``: they
    stay in the page cache and fault back in if evidence needs them), so resident memory
    stays flat however large the file."""
    size = len(mm)
    buf = np.frombuffer(mm, np.uint8)
    pos, released = 24, 0
    while True:
        window = min(size, pos + BATCH_BYTES)  # a batch maps at most this much file
        batch, pos, status = walk_parse_pcap(buf, pos, window, big, scale, MAX_CAPLEN,
                                             linktype, limit)
        more = (len(batch) == limit or window < size) and status != walk.CORRUPT \
            and len(batch) > 0
        broken = status == walk.CORRUPT or (not more and pos < size)
        batch.malformed = 1 if broken else 0
        yield batch
        upto = pos - pos % mmap.PAGESIZE
        if upto > released:
            mm.madvise(mmap.MADV_DONTNEED, released, upto - released)
            released = upto
        if broken or not more:
            return


def _read(fh: BinaryIO, carry: bytes, chunk: int) -> bytearray:
    """``carry`` followed by up to ``chunk`` new bytes, read straight into a fresh buffer
    (no copy of the chunk; each batch owns its buffer so batches may be kept)."""
    raw = bytearray(len(carry) + chunk)
    raw[:len(carry)] = carry
    got = fh.readinto(memoryview(raw)[len(carry):])
    del raw[len(carry) + got:]
    return raw


class _Section:
    """pcapng section state: byte order and the interfaces described so far."""

    def __init__(self, big: bool) -> None:
        self.big = big
        self.scale: list[float] = []
        self.linktype: list[int] = []

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.scale, np.float64), np.array(self.linktype, np.int32)


def _shb_order(raw: bytes, pos: int) -> bool | None:
    magic = raw[pos + 8:pos + 12]
    if magic == b"\x1a\x2b\x3c\x4d":
        return True
    if magic == b"\x4d\x3c\x2b\x1a":
        return False
    return None


def _idb(raw: bytes, pos: int, blen: int, sec: _Section) -> None:
    e = ">" if sec.big else "<"
    linktype = struct.unpack_from(e + "H", raw, pos + 8)[0]
    scale = 1e-6
    opt, end = pos + 16, pos + blen - 4
    while opt + 4 <= end:
        code, length = struct.unpack_from(e + "HH", raw, opt)
        if code == 0:
            break
        if code == 9 and length >= 1:
            res = raw[opt + 4]
            scale = 2.0 ** -(res & 0x7F) if res & 0x80 else 10.0 ** -res
        opt += 4 + ((length + 3) & ~3)
    sec.scale.append(scale)
    sec.linktype.append(linktype or LINKTYPE_ETHERNET)


def _pcapng(fh: BinaryIO, head: bytes, chunk: int) -> Iterator[Batch]:
    carry = head
    eof = False
    sec = _Section(big=False)
    while True:
        raw = _read(fh, carry, chunk)
        eof = len(raw) - len(carry) < chunk
        buf = np.frombuffer(raw, np.uint8)
        offs, caps, wires, ts, lts = empty_arrays(max(1, len(raw) // 16))
        pos, n, broken = 0, 0, False
        while True:
            scale, linktype = sec.arrays()
            k, pos, status = walk.walk_pcapng(buf, pos, len(raw), sec.big, scale, linktype,
                                              MAX_CAPLEN, offs[n:], caps[n:], wires[n:],
                                              ts[n:], lts[n:])
            n += k
            if status == walk.CORRUPT:
                broken = True
                break
            if status != walk.OTHER_BLOCK:
                break
            if pos + 12 > len(raw):
                break
            if raw[pos:pos + 4] == PCAPNG_SHB:
                order = _shb_order(raw, pos)
                if order is None:
                    broken = True
                    break
                sec = _Section(order)
            blen = struct.unpack_from((">" if sec.big else "<") + "I", raw, pos + 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_CAPLEN + 1024:
                broken = True
                break
            if pos + blen > len(raw):
                break
            if raw[pos:pos + 4] != PCAPNG_SHB:
                _idb(raw, pos, blen, sec)
            pos += blen
        cut = eof and pos < len(raw)
        yield Batch(buf, offs[:n], caps[:n], wires[:n], ts[:n], lts[:n],
                    malformed=1 if (broken or cut) else 0)
        if broken or eof:
            return
        carry = bytes(raw[pos:])

"""Live capture: an AF_PACKET socket with a TPACKET_V3 ring and a BPF filter.

Why a ring: scapy's ``AsyncSniffer`` drops above ~5-10k packets/s here and one
``recv()`` per packet tops out near 100k; with TPACKET_V3 the kernel fills 1 MiB blocks
of packets in shared memory and the sensor walks whole blocks with a compiled kernel
(:func:`.walk.walk_tpacket3_block`), zero-copy.  Blocks are handed back to the kernel
only after the sensor has processed the batch built on them.  The BPF filter is compiled
by libpcap through scapy (``tcp or udp``, ``not port 22`` ...) and runs in the kernel.
Kernel drops (ring full) are read from ``PACKET_STATISTICS`` and reported with each batch.
"""

from __future__ import annotations

import ctypes
import mmap
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .batch import LINKTYPE_ETHERNET, LINKTYPE_RAW, Batch
from .errors import SensorError
from .walk import walk_tpacket3_block

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
ARPHRD_LINKTYPES = {1: LINKTYPE_ETHERNET, 772: LINKTYPE_ETHERNET, 65534: LINKTYPE_RAW}


def interface_linktype(name: str) -> int:
    """The pcap link type of an interface (Ethernet, loopback, or raw IP for tunnels)."""
    try:
        arphrd = int(Path(f"/sys/class/net/{name}/type").read_text())
    except (OSError, ValueError):
        raise SensorError(f"no such network interface: {name!r} (see: ip link)") from None
    if arphrd not in ARPHRD_LINKTYPES:
        raise SensorError(f"interface {name!r} has link type {arphrd}, which the sensor "
                          "does not parse (Ethernet, loopback and tunnels are supported)")
    return ARPHRD_LINKTYPES[arphrd]


def compile_bpf(expression: str, linktype: int) -> bytes:
    """Classic BPF instructions for a filter expression, compiled by libpcap via scapy."""
    from scapy.arch.common import compile_filter
    from scapy.error import Scapy_Exception

    try:
        prog = compile_filter(expression, linktype=linktype)
    except (Scapy_Exception, ImportError, OSError) as exc:
        raise SensorError(f"BPF filter {expression!r}: {exc}") from None
    return ctypes.string_at(ctypes.addressof(prog.bf_insns.contents), prog.bf_len * 8)


def attach_bpf(sock: socket.socket, insns: bytes) -> None:
    buf = ctypes.create_string_buffer(insns, len(insns))
    fprog = struct.pack("HL", len(insns) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class LiveCapture:
    """Batches of packets from ``interface`` until :meth:`stop` (or ``max_packets``).

    ``block_size * blocks`` is the ring (64 MiB by default: ~100k full-size frames of
    slack); ``block_timeout_ms`` bounds how long a packet can wait in a partly filled
    block; ``idle_s`` is how often an empty batch is yielded when nothing arrives, so the
    sensor can close quiet events; ``min_batch_s`` spaces batches out so that each
    carries enough packets for the per-batch cost of a dozen detectors to stay small
    (at 250k packets/s a batch holds ~25k packets), which matters more than latency.
    """

    def __init__(self, interface: str, bpf: str | None = None, block_size: int = 1 << 20,
                 blocks: int = 64, block_timeout_ms: int = 50, idle_s: float = 0.5,
                 min_batch_s: float = 0.1, max_packets: int | None = None) -> None:
        self.interface = interface
        self.linktype = interface_linktype(interface)
        self.block_size, self.blocks = block_size, blocks
        self.idle_s = idle_s
        self.min_batch_s = min_batch_s
        self.max_packets = max_packets
        self.received = 0
        self.dropped = 0
        self._stop = threading.Event()
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise SensorError("live capture needs root or CAP_NET_RAW "
                              "(or read a pcap file with --pcap)") from None
        try:
            if bpf:
                attach_bpf(self.sock, compile_bpf(bpf, self.linktype))
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            req = struct.pack("7I", block_size, blocks, 2048, block_size * blocks // 2048,
                              block_timeout_ms, 0, 0)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self.ring = mmap.mmap(self.sock.fileno(), block_size * blocks, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
            self.sock.bind((interface, ETH_P_ALL))
        except OSError as exc:
            self.sock.close()
            raise SensorError(f"cannot capture on {interface!r}: {exc.strerror or exc}") from None
        self.buf = np.frombuffer(self.ring, np.uint8)
        self._status = np.frombuffer(self.ring, np.uint32)  # block_status words
        self._next = 0

    def stop(self) -> None:
        """Ask the capture loop to end after the current batch (thread-safe)."""
        self._stop.set()

    def _kernel_drops(self) -> int:
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        _packets, drops, _freeze = struct.unpack("3I", raw)  # reset by the kernel on read
        return drops

    def _ready(self, block: int) -> bool:
        return bool(self._status[block * self.block_size // 4 + 2] & TP_STATUS_USER)

    def __iter__(self) -> Iterator[Batch]:
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        cap = self.block_size * self.blocks // 42 + 1  # smallest frames: 42-byte ARP
        offs, caps = np.empty(cap, np.int64), np.empty(cap, np.int64)
        wires, ts = np.empty(cap, np.int64), np.empty(cap, np.float64)
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                if not self._ready(self._next):
                    poller.poll(int(self.idle_s * 1000))
                wait = self.min_batch_s - (time.monotonic() - last)
                if wait > 0 and self._ready(self._next):
                    time.sleep(wait)  # let a few more blocks fill: fewer, larger batches
                last = time.monotonic()
                taken: list[int] = []
                n = 0
                block = self._next
                while self._ready(block) and len(taken) < self.blocks:
                    n = walk_tpacket3_block(self.buf, block * self.block_size, offs, caps,
                                            wires, ts, n)
                    taken.append(block)
                    block = (block + 1) % self.blocks
                drops = self._kernel_drops()
                self.dropped += drops
                self.received += n
                yield Batch(self.buf, offs[:n].copy(), caps[:n].copy(), wires[:n].copy(),
                            ts[:n].copy(), np.full(n, self.linktype, np.int32), dropped=drops)
                for b in taken:  # the sensor is done with them: back to the kernel
                    self._status[b * self.block_size // 4 + 2] = TP_STATUS_KERNEL
                self._next = block
                if self.max_packets is not None and self.received >= self.max_packets:
                    break
        finally:
            self.close()

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.sock.close()


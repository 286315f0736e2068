"""One UDP socket per address family for all targets, requests matched by id.

Why shared sockets: hundreds of agents answer at once; one socket with a large receive
buffer (LAB-NOTES: the default overflows at 50 agents and stalls 5 s) and one reader
coroutine costs far less than a socket per target.  A response is routed by its msgID /
request-id before any decoding, and only accepted from the address the request went to.
A datagram from a target that cannot be parsed as SNMP fails that target's outstanding
requests at once with reason ``malformed`` instead of letting them time out silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass

from monitor.snmp import ber

log = logging.getLogger("gin.monitor.snmp")

RCVBUF = 16 << 20
MAX_INFLIGHT = 512


class SnmpError(Exception):
    """A request failed; ``reason`` is a bounded label for ``gin_snmp_errors_total``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Stats:
    """Per-target counters for one poll (exported as self-metrics)."""

    packets_sent: int = 0
    packets_received: int = 0
    retries: int = 0


Addr = tuple[str, int]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SnmpTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        self.owner._received(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class SnmpTransport:
    """Shared UDP endpoints; ``request`` sends with retries and awaits the matching reply."""

    def __init__(self, rcvbuf: int = RCVBUF, max_inflight: int = MAX_INFLIGHT) -> None:
        """``max_inflight`` bounds requests awaiting a reply over all targets: a burst of
        thousands of GETBULKs overflows the agents' (or a shared agent's) receive queue
        and turns into timeouts and retries."""
        self.rcvbuf = rcvbuf
        self.max_inflight = max_inflight
        self._inflight: asyncio.Semaphore | None = None
        self._endpoints: dict[int, asyncio.DatagramTransport] = {}
        self._sockets: dict[int, socket.socket] = {}
        self._pending: dict[int, tuple[asyncio.Future[bytes], Addr]] = {}
        self._by_addr: dict[Addr, set[int]] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self.unexpected = 0

    def new_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < 0x7FFFFFFF else 1
        return self._next_id

    async def _endpoint(self, family: int) -> asyncio.DatagramTransport:
        ep = self._endpoints.get(family)
        if ep is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
                if opt is None:
                    continue
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt, self.rcvbuf)
                    break
                except OSError:
                    continue
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            ep, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
            self._endpoints[family] = ep
            self._sockets[id(ep)] = sock
        return ep

    def close(self) -> None:
        for ep in self._endpoints.values():
            try:
                ep.close()
            except RuntimeError:  # its event loop is already closed: close the socket itself
                sock = self._sockets.get(id(ep))
                if sock is not None:
                    sock.close()
        self._endpoints.clear()
        self._sockets.clear()
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()
        self._by_addr.clear()

    def _received(self, data: bytes, addr: Addr) -> None:
        key = ber.message_key(data)
        entry = self._pending.get(key) if key is not None else None
        if entry is not None and _same(entry[1], addr):
            fut = entry[0]
            if not fut.done():
                fut.set_result(data)
            return
        self.unexpected += 1
        if key is None:
            ids = self._find_addr(addr)
            for rid in list(ids or ()):
                pending = self._pending.get(rid)
                if pending and not pending[0].done():
                    pending[0].set_exception(
                        SnmpError("malformed", f"reply from {addr[0]}:{addr[1]} is not SNMP"))

    def _find_addr(self, addr: Addr) -> set[int] | None:
        ids = self._by_addr.get(addr)
        if ids is None:
            for known, known_ids in self._by_addr.items():
                if _same(known, addr):
                    return known_ids
        return ids

    async def request(self, addr: Addr, family: int, build: Callable[[int], bytes],
                      timeout: float, retries: int, stats: Stats) -> bytes:
        """Send ``build(id)`` and return the raw reply; every retry gets a fresh id (and,
        for v3, a fresh timestamp and salt), and a late reply to any try is accepted."""
        if self._inflight is None:
            self._inflight = asyncio.Semaphore(self.max_inflight)
        async with self._inflight:
            return await self._request(addr, family, build, timeout, retries, stats)

    async def _request(self, addr: Addr, family: int, build: Callable[[int], bytes],
                       timeout: float, retries: int, stats: Stats) -> bytes:
        ep = await self._endpoint(family)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()
        ids: list[int] = []
        addr_ids = self._by_addr.setdefault(addr, set())
        try:
            for attempt in range(retries + 1):
                rid = self.new_id()
                ids.append(rid)
                self._pending[rid] = (fut, addr)
                addr_ids.add(rid)
                if attempt:
                    stats.retries += 1
                ep.sendto(build(rid), addr)
                stats.packets_sent += 1
                try:
                    data = await asyncio.wait_for(asyncio.shield(fut), timeout)
                except TimeoutError:
                    continue
                stats.packets_received += 1
                return data
            raise SnmpError("timeout", f"no reply from {addr[0]}:{addr[1]} after "
                                       f"{retries + 1} tries of {timeout:g} s")
        finally:
            for rid in ids:
                self._pending.pop(rid, None)
                addr_ids.discard(rid)
            if not addr_ids:
                self._by_addr.pop(addr, None)
            if not fut.done():
                fut.cancel()


def _same(a: Addr, b: Addr) -> bool:
    if a == b:
        return True
    if a[1] != b[1]:
        return False
    return _canon(a[0]) == _canon(b[0])


def _canon(host: str) -> str:
    import ipaddress

    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).compressed
    except ValueError:
        return host

"""SNMP trap and inform receiver: v2c, and v3 USM (authPriv), on the same fast BER path.

Counted as ``gin_snmp_traps_total{agency,site,device,trap}`` and written to the event log
as one JSON line per notification.  Rejected datagrams (bad community, failed HMAC,
unknown user, replay outside the time window, garbage) are counted by reason in
``gin_snmp_traps_rejected_total`` and logged, never raised.

v3 roles: for a *trap* the sender is the authoritative engine (keys are localised to the
sender's engine id, which arrives in the message); for an *inform* this receiver is
authoritative, so it answers the sender's engine discovery with a Report carrying its own
engine id, boots and time, and acknowledges the inform with an authenticated, encrypted
Response.  SNMPv1 Trap-PDUs are not accepted (the GIN's routers are configured for v2c/v3).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from monitor.snmp import ber, oids, usm
from monitor.snmp.targets import SnmpTarget

log = logging.getLogger("gin.monitor.traps")
events = logging.getLogger("gin.monitor.events")

_TRAP_OID = ber.oid_content(oids.SNMP_TRAP_OID)
_TRAP_NAMES = {ber.oid_content(k): v for k, v in oids.TRAPS.items()}
_IFINDEX = ber.oid_content("1.3.6.1.2.1.2.2.1.1")  # ifIndex column (varbind of linkUp/Down)
_UNKNOWN_ENGINE = ber.oid_content("1.3.6.1.6.3.15.1.1.4.0")
_NOT_IN_TIME = ber.oid_content("1.3.6.1.6.3.15.1.1.2.0")
WINDOW = 150  # seconds, RFC 3414 time window


@dataclass
class Notification:
    """One accepted trap or inform."""

    source: str
    device: str
    agency: str
    site: str
    trap: str
    trap_oid: str
    version: str
    inform: bool
    ifindex: int | None = None

    def event(self) -> dict[str, Any]:
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "kind": "snmp_trap", **self.__dict__}


class TrapReceiver(asyncio.DatagramProtocol, Collector):
    """Receives notifications for the devices in ``targets``; also a Collector."""

    def __init__(self, targets: Iterable[SnmpTarget] = (), event_log: str | None = None,
                 engine_id: bytes | None = None) -> None:
        self.engine_id = engine_id or (b"\x80\x00\x1f\x88\x04gin" + os.urandom(6))
        self.boots = 1
        self.started = time.monotonic()
        self.event_log = event_log
        self.counts: Counter[tuple[str, str, str, str]] = Counter()
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._clock: dict[bytes, tuple[int, int, float]] = {}  # sender engine -> boots,time
        self.transport: asyncio.DatagramTransport | None = None
        self.set_targets(targets)

    def set_targets(self, targets: Iterable[SnmpTarget]) -> None:
        """Who may send: devices by address, v3 users and v2c communities from targets."""
        self.by_addr: dict[str, SnmpTarget] = {}
        self.users: dict[bytes, usm.UsmUser] = {}
        self.communities: set[bytes] = set()
        for t in targets:
            self.by_addr[t.host] = t
            if t.user is not None:
                self.users[t.user.name.encode()] = t.user
            if t.community:
                self.communities.add(t.community[:].encode())

    # ------------------------------------------------------------------ receiving

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[override]
        try:
            note = self._handle(data, (addr[0], addr[1]))
        except (ber.BerError, usm.UsmError, _Reject) as exc:
            reason = getattr(exc, "reason", "malformed")
            with self._lock:
                self.rejected[reason] += 1
            log.warning("trap from %s rejected: %s: %s", addr[0], reason, exc)
            return
        except Exception:  # never let one datagram kill the receiver
            log.exception("trap from %s: unexpected failure", addr[0])
            return
        if note is not None:
            self._record(note)

    def _handle(self, data: bytes, addr: tuple[str, int]) -> Notification | None:
        version = ber.peek_version(data)
        if version == ber.VERSION_3:
            return self._handle_v3(data, addr)
        if version == ber.VERSION_2C:
            _, community, pdu = ber.decode_v2c(data)
            if community not in self.communities:
                raise _Reject("bad_community", "unknown community")
            note = self._notification(pdu, addr, "v2c")
            if pdu.tag == ber.INFORM:
                self._send(ber.encode_v2c(community, _response(pdu)), addr)
            return note
        raise _Reject("unsupported_version", f"SNMP version {version} not accepted")

    def _handle_v3(self, data: bytes, addr: tuple[str, int]) -> Notification | None:
        msg = ber.decode_v3(data)
        if not msg.engine_id and msg.flags & usm.FLAG_REPORTABLE:
            self._report(msg, addr, _UNKNOWN_ENGINE)  # an inform sender discovering us
            return None
        user = self.users.get(msg.user)
        if user is None:
            raise _Reject("unknown_user", "unknown SNMPv3 user")
        if not msg.flags & usm.FLAG_AUTH or (user.priv_protocol and not msg.flags & usm.FLAG_PRIV):
            raise _Reject("unsupported_sec_level", "notification below the user's level")
        context_engine, context_name, pdu = usm.open_scoped(user, msg, data)
        if pdu.tag == ber.INFORM:
            if msg.engine_id != self.engine_id:
                raise _Reject("unknown_engine_id", "inform for another engine")
            if abs(msg.engine_time - self._now()) > WINDOW or msg.engine_boots != self.boots:
                self._report(msg, addr, _NOT_IN_TIME, user)
                raise _Reject("not_in_time_window", "inform outside the time window")
            note = self._notification(pdu, addr, "v3")
            reply = usm.encode_message(user, msg.msg_id, _response(pdu), self.engine_id,
                                       self.boots, self._now(), reportable=False,
                                       context_engine=context_engine,
                                       context_name=context_name)
            self._send(reply, addr)
            return note
        self._check_sender_clock(msg)
        return self._notification(pdu, addr, "v3")

    def _check_sender_clock(self, msg: ber.V3Message) -> None:
        """Replay protection for traps: the sender's clock must not go back (RFC 3414 3.2.7)."""
        known = self._clock.get(msg.engine_id)
        now = time.monotonic()
        if known:
            boots, etime, seen = known
            expected = etime + (now - seen)
            if msg.engine_boots < boots or (msg.engine_boots == boots
                                            and msg.engine_time < expected - WINDOW):
                raise _Reject("not_in_time_window", "trap older than the time window (replay?)")
        self._clock[msg.engine_id] = (msg.engine_boots, msg.engine_time, now)

    def _now(self) -> int:
        return int(time.monotonic() - self.started)

    def _report(self, msg: ber.V3Message, addr: tuple[str, int], oid: bytes,
                user: usm.UsmUser | None = None) -> None:
        # the report carries the usmStats counter as a Counter32 varbind
        vb = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, oid) + ber.enc_int(
            1, ber.COUNTER32))
        pdu = ber.tlv(ber.REPORT, ber.enc_int(0) + ber.enc_int(0) + ber.enc_int(0)
                      + ber.tlv(ber.SEQUENCE, vb))
        report_user = user if user is not None and oid == _NOT_IN_TIME else None
        if report_user is not None:  # authenticated report (no privacy), RFC 3414 3.1.1
            report_user = usm.UsmUser(user.name, user.auth_protocol, user.auth_key, None, "")
        self._send(usm.encode_message(report_user, msg.msg_id, pdu, self.engine_id, self.boots,
                                      self._now(), reportable=False), addr)

    def _notification(self, pdu: ber.Pdu, addr: tuple[str, int], version: str
                      ) -> Notification:
        if pdu.tag not in (ber.TRAP_V2, ber.INFORM):
            raise _Reject("not_a_notification", f"PDU type 0x{pdu.tag:02x}")
        trap_oid = b""
        ifindex = None
        for oid, tag, value in pdu.varbinds:
            if oid == _TRAP_OID and tag == ber.OBJECT_IDENTIFIER and isinstance(value, bytes):
                trap_oid = value
            elif (oid.startswith(_IFINDEX) and len(oid) > len(_IFINDEX)
                  and isinstance(value, int)):
                ifindex = value
        if not trap_oid:
            raise _Reject("malformed", "notification without snmpTrapOID.0")
        target = self.by_addr.get(addr[0]) or self.by_addr.get(addr[0].split("%")[0])
        return Notification(
            source=addr[0], device=target.name if target else "unknown",
            agency=target.agency if target else "", site=target.site if target else "",
            trap=_TRAP_NAMES.get(trap_oid, "other"), trap_oid=ber.oid_str(trap_oid),
            version=version, inform=pdu.tag == ber.INFORM, ifindex=ifindex)

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def _record(self, note: Notification) -> None:
        with self._lock:
            self.counts[(note.agency, note.site, note.device, note.trap)] += 1
        line = json.dumps(note.event(), ensure_ascii=False)
        events.info(line)
        if self.event_log:
            with open(self.event_log, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    # ------------------------------------------------------------------ metrics

    def collect(self) -> Iterator[CounterMetricFamily]:
        with self._lock:
            counts = dict(self.counts)
            rejected = dict(self.rejected)
        c = CounterMetricFamily("gin_snmp_traps", "SNMP traps and informs received.",
                                labels=["agency", "site", "device", "trap"])
        for labels, n in sorted(counts.items()):
            c.add_metric(list(labels), n)
        yield c
        r = CounterMetricFamily("gin_snmp_traps_rejected",
                                "SNMP notifications rejected, by reason.", labels=["reason"])
        for reason, n in sorted(rejected.items()):
            r.add_metric([reason], n)
        yield r


class _Reject(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _response(pdu: ber.Pdu) -> bytes:
    """The Response acknowledging an inform: same request-id, same varbinds."""
    vbs = b"".join(
        ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, oid) + _value_tlv(tag, value))
        for oid, tag, value in pdu.varbinds)
    return ber.tlv(ber.RESPONSE, ber.enc_int(pdu.request_id) + ber.enc_int(0) + ber.enc_int(0)
                   + ber.tlv(ber.SEQUENCE, vbs))


def _value_tlv(tag: int, value: object) -> bytes:
    if value is None:
        return bytes((tag, 0))
    if isinstance(value, int):
        return ber.enc_int(value, tag)
    assert isinstance(value, bytes)
    return ber.tlv(tag, value)


async def start(receiver: TrapReceiver, listen: tuple[str, int]) -> asyncio.DatagramTransport:
    """Bind the receiver's UDP socket (large receive buffer: trap storms come in bursts)."""
    host, port = listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((host, port))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: receiver, sock=sock)
    return transport


def receive(directory: Any, profiles_path: str | None, listen: tuple[str, int],
            event_log: str | None = None) -> None:
    """``gin monitor traps``: receive traps/informs from the directory's devices (v2c
    communities and v3 users from their credentials) until SIGINT/SIGTERM.  Each event
    goes to the ``gin.monitor.events`` logger (and ``event_log``)."""
    import signal

    from devices.errors import ConfigError
    from monitor.snmp.targets import load_profiles, targets_from_directory

    targets, _ = targets_from_directory(directory, load_profiles(profiles_path))
    receiver = TrapReceiver(targets, event_log=event_log)

    async def run() -> None:
        try:
            transport = await start(receiver, listen)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {listen[0]}:{listen[1]}: "
                              f"{exc.strerror}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            transport.close()

    asyncio.run(run())

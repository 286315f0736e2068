"""An SNMP manager session for one target over the shared transport: GET and GETBULK,
v2c or v3 USM (authPriv by default), with engine discovery and time-window tracking.

The fast path (ber + usm) covers everything the poller sends and receives; pysnmp is the
reference the tests compare it with.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.snmp import ber, usm
from monitor.snmp.transport import SnmpError, SnmpTransport, Stats


@dataclass
class EngineState:
    """What v3 learns from the agent: its engine id and clock (boots, time at `mono`)."""

    engine_id: bytes = b""
    boots: int = 0
    etime: int = 0
    mono: float = 0.0

    def now(self) -> int:
        return min(self.etime + int(time.monotonic() - self.mono), 0x7FFFFFFF)


class Session:
    """One target's protocol state; stateless between polls except the v3 engine info."""

    def __init__(self, transport: SnmpTransport, host: str, port: int, *, version: str = "v3",
                 community: str = "", user: usm.UsmUser | None = None,
                 timeout: float = 2.0, retries: int = 1, parallel: int = 4) -> None:
        """``parallel`` caps this target's requests in flight: enough to overlap round
        trips, few enough not to overflow a small agent's receive queue."""
        self.transport = transport
        self.parallel = parallel
        self._slots: asyncio.Semaphore | None = None
        self.addr = (host, port)
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.version = version
        self.community = community[:].encode() if community else b""
        self.user = user
        self.timeout = timeout
        self.retries = retries
        self.engine: EngineState | None = None
        if version == "v3" and user is None:
            raise ValueError("SNMPv3 needs a user")

    async def get(self, oids: Sequence[bytes], stats: Stats) -> list[ber.Varbind]:
        return await self._request(ber.GET, 0, 0, oids, stats)

    async def bulk(self, oids: Sequence[bytes], max_repetitions: int, stats: Stats,
                   non_repeaters: int = 0) -> list[ber.Varbind]:
        return await self._request(ber.GETBULK, non_repeaters, max_repetitions, oids, stats)

    async def _request(self, tag: int, a: int, b: int, oids: Sequence[bytes],
                       stats: Stats) -> list[ber.Varbind]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.parallel)
        async with self._slots:
            return await self._request_now(tag, a, b, oids, stats)

    async def _request_now(self, tag: int, a: int, b: int, oids: Sequence[bytes],
                           stats: Stats) -> list[ber.Varbind]:
        if self.version != "v3":
            community = self.community

            def build(rid: int) -> bytes:
                return ber.encode_v2c(community, ber.encode_pdu(tag, rid, a, b, oids))

            raw = await self.transport.request(self.addr, self.family, build, self.timeout,
                                               self.retries, stats)
            try:
                _, _, pdu = ber.decode_v2c(raw)
            except ber.BerError as exc:
                raise SnmpError("malformed", f"undecodable reply: {exc}") from None
            return self._check(pdu)
        for _ in range(3):  # discovery, then at most one time-window resync
            discovered = self.engine is None
            if discovered:
                await self.discover(stats)
            try:
                pdu = await self._v3_once(tag, a, b, oids, stats)
            except SnmpError as exc:
                if exc.reason != "timeout":
                    raise
                self.engine = None  # rediscover next time (the agent may have restarted)
                if discovered:
                    raise SnmpError("timeout", f"{exc}; the agent answered engine discovery "
                                    "but not the authPriv request (wrong SNMPv3 priv key, "
                                    "or the agent dropped it)") from None
                raise
            if pdu.tag == ber.REPORT:
                reason = usm.report_reason(pdu)
                if reason in ("not_in_time_window", "unknown_engine_id"):
                    continue  # engine state was refreshed from the report's header
                raise SnmpError(reason, _REPORT_TEXT.get(reason, f"agent report: {reason}"))
            return self._check(pdu)
        raise SnmpError("not_in_time_window", "agent keeps rejecting our engine time")

    async def _v3_once(self, tag: int, a: int, b: int, oids: Sequence[bytes],
                       stats: Stats) -> ber.Pdu:
        engine = self.engine
        assert engine is not None and self.user is not None
        user = self.user

        def build(rid: int) -> bytes:
            pdu = ber.encode_pdu(tag, rid, a, b, oids)
            return usm.encode_message(user, rid, pdu, engine.engine_id, engine.boots,
                                      engine.now())

        raw = await self.transport.request(self.addr, self.family, build, self.timeout,
                                           self.retries, stats)
        try:
            msg = ber.decode_v3(raw)
            pdu = usm.open_message(user, msg, raw)
        except ber.BerError as exc:
            raise SnmpError("malformed", f"undecodable v3 reply: {exc}") from None
        except usm.UsmError as exc:
            raise SnmpError(exc.reason, str(exc)) from None
        resync = pdu.tag == ber.REPORT and usm.report_reason(pdu) in ("not_in_time_window",
                                                                      "unknown_engine_id")
        if resync or msg.flags & usm.FLAG_AUTH:
            self._learn(msg)  # authenticated clock, or the agent's correction
        return pdu

    async def discover(self, stats: Stats) -> EngineState:
        """RFC 3414 4: an empty noAuth request draws a Report carrying the engine id."""

        def build(rid: int) -> bytes:
            pdu = ber.encode_pdu(ber.GET, rid, 0, 0, ())
            return usm.encode_message(None, rid, pdu, b"", 0, 0)

        raw = await self.transport.request(self.addr, self.family, build, self.timeout,
                                           self.retries, stats)
        try:
            msg = ber.decode_v3(raw)
        except ber.BerError as exc:
            raise SnmpError("malformed", f"undecodable discovery reply: {exc}") from None
        if not msg.engine_id or len(msg.engine_id) > 32:
            raise SnmpError("malformed", "discovery reply without a valid engine id")
        return self._learn(msg)

    def _learn(self, msg: ber.V3Message) -> EngineState:
        self.engine = EngineState(msg.engine_id, msg.engine_boots, msg.engine_time,
                                  time.monotonic())
        return self.engine

    @staticmethod
    def _check(pdu: ber.Pdu) -> list[ber.Varbind]:
        if pdu.tag != ber.RESPONSE:
            raise SnmpError("malformed", f"unexpected PDU type 0x{pdu.tag:02x}")
        if pdu.error_status:
            raise SnmpError("snmp_error", f"agent error-status {pdu.error_status} at varbind "
                                          f"{pdu.error_index}")
        return pdu.varbinds


_REPORT_TEXT = {
    "auth_failure": "agent rejected our authentication (wrong SNMPv3 auth key?)",
    "unknown_user": "agent does not know our SNMPv3 user",
    "decryption_error": "agent could not decrypt our request (wrong SNMPv3 priv key?)",
    "unsupported_sec_level": "agent does not allow this security level for our user",
}

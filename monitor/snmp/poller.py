"""The asyncio SNMP poller: every target independent, bounded concurrency, one shared socket.

Per target and poll: one GET (sysUpTime + the IPv6 row of IP-MIB ipSystemStats), and
column walks by GETBULK.  Walks are sized from the previous poll's row count so a table
usually comes back in one round trip per request; columns are split into requests that
fit the agent's response limit (``max_varbinds``, net-snmp's maxGetbulkResponses) and
those requests go out concurrently.  Static columns (ifName, ifAlias, ifHighSpeed) are
refreshed every ``static_interval``, after a reboot (sysUpTime went back) or when an
unknown ifIndex appears — the rest of the time they cost nothing.

BGP peer tables (BGP4-MIB, FRR's BGP4V2-MIB, Cisco's cbgpPeer2Table: whichever the
target's ``bgp_mibs`` name, from its platform or profile) are walked with the counters,
every poll, because a session going down is exactly what the SOC must see at once.  They
cost one more GETBULK per poll and only on routers; a device without the MIB answers
"end of subtree" and simply has no BGP samples.

A target that is dead, slow, lies about its keys or answers garbage yields a
:class:`PollResult` with ``ok=False`` and a bounded ``reason``; it never delays or stops
the others (each has its own deadline).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from monitor.snmp import ber, oids
from monitor.snmp.client import Session
from monitor.snmp.targets import SnmpTarget
from monitor.snmp.transport import SnmpError, SnmpTransport, Stats

log = logging.getLogger("gin.monitor.snmp")

_COUNTERS = oids.encoded(oids.IF_COUNTERS)
_STATIC = oids.encoded(oids.IF_STATIC)
_IP6 = oids.encoded(oids.IP6_STATS)
_HR_STORAGE = oids.encoded(oids.HR_STORAGE)
_HR_CPU = ber.oid_content(oids.HR_PROCESSOR_LOAD)
_UPTIME = ber.oid_content(oids.SYS_UPTIME)
_BGP = {mib: oids.encoded(cols) for mib, cols in oids.BGP_TABLES.items()}
MAX_ROWS = 100_000
MAX_BGP_PEERS = 4096  # keeps the `peer` label bounded even against a hostile agent


@dataclass
class PollResult:
    """The latest poll of one target; what the collector exports."""

    target: SnmpTarget
    ok: bool
    reason: str | None = None
    error: str | None = None
    finished: float = 0.0  # unix time
    duration: float = 0.0
    stats: Stats = field(default_factory=Stats)
    uptime: float | None = None
    ifnames: dict[int, str] = field(default_factory=dict)
    ifalias: dict[int, str] = field(default_factory=dict)
    speed_bps: dict[int, int] = field(default_factory=dict)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)
    ip6: dict[str, int] = field(default_factory=dict)
    cpu_load: float | None = None
    mem_total: int | None = None
    mem_used: int | None = None
    #: BGP peer address -> (FSM state 1-6, remote AS or None)
    bgp: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    varbinds: int = 0


@dataclass
class _State:
    """What a target keeps between polls."""

    session: Session
    rows_hint: int = 32
    cpu_hint: int = 4
    storage_hint: int = 16
    bgp_hint: int = 4
    static_at: float = -1e18
    uptime: float | None = None
    ifnames: dict[int, str] = field(default_factory=dict)
    ifalias: dict[int, str] = field(default_factory=dict)
    speed_bps: dict[int, int] = field(default_factory=dict)
    has_ip6: bool = True
    has_hr: bool = True
    last_reason: str | None = "first poll"


_INDEX_CACHE: dict[bytes, int] = {}


def _ifindex(suffix: bytes) -> int:
    idx = _INDEX_CACHE.get(suffix)
    if idx is None:
        subs = ber.subids(suffix)
        if len(subs) != 1:
            raise SnmpError("malformed", "ifTable index is not one sub-identifier")
        idx = subs[0]
        if len(_INDEX_CACHE) < 65536:
            _INDEX_CACHE[suffix] = idx
    return idx


async def walk(session: Session, columns: list[bytes], stats: Stats, rows_hint: int,
               max_varbinds: int) -> tuple[list[dict[bytes, object]], int]:
    """Walk table columns with GETBULK; ([{index suffix: value} per column], varbinds).

    Columns are grouped so one request's answer fits ``max_varbinds``; groups run
    concurrently.  A column ends when the agent leaves its subtree or the MIB view.
    """
    reps = max(1, min(rows_hint + 1, max_varbinds))
    per_req = max(1, max_varbinds // reps)
    groups = [list(range(i, min(i + per_req, len(columns))))
              for i in range(0, len(columns), per_req)]
    out: list[dict[bytes, object]] = [{} for _ in columns]
    counts = await asyncio.gather(*(_walk_group(session, columns, g, out, stats, reps,
                                                max_varbinds) for g in groups))
    return out, sum(counts)


async def _walk_group(session: Session, columns: list[bytes], group: list[int],
                      out: list[dict[bytes, object]], stats: Stats, reps: int,
                      max_varbinds: int) -> int:
    active = list(group)
    cursor = {c: columns[c] for c in group}
    seen = 0
    rounds = 0
    while active:
        rounds += 1
        if rounds > MAX_ROWS:
            raise SnmpError("malformed", "column walk does not end (agent loop?)")
        reps_now = max(1, min(reps, max_varbinds // len(active)))
        vbs = await session.bulk([cursor[c] for c in active], reps_now, stats)
        seen += len(vbs)
        n = len(active)
        if len(vbs) < n:
            raise SnmpError("malformed", "GETBULK reply with fewer varbinds than asked")
        done: set[int] = set()
        for pos, (oid, tag, value) in enumerate(vbs):
            c = active[pos % n]
            if c in done:
                continue
            prefix = columns[c]
            if tag == ber.END_OF_MIB_VIEW or not oid.startswith(prefix) or len(oid) == len(
                    prefix):
                done.add(c)
                continue
            if tag in ber.EXCEPTIONS:
                done.add(c)
                continue
            if oid == cursor[c]:
                raise SnmpError("malformed", "agent returned the same OID twice (loop)")
            out[c][oid[len(prefix):]] = value
            cursor[c] = oid
        for c in active:
            if c not in done and len(out[c]) > MAX_ROWS:
                raise SnmpError("malformed", "table larger than 100000 rows (agent loop?)")
        active = [c for c in active if c not in done]
    return seen


def _peer_address(suffix: bytes, mib: str) -> str:
    """The peer address a BGP table row is indexed by (BGP4-MIB: 4 sub-ids; BGP4V2 and
    cbgpPeer2: the InetAddress at the end of the index, after its type and length)."""
    try:
        subs = ber.subids(suffix)
    except ber.BerError:
        subs = ()
    if mib == "bgp4":
        raw = subs if len(subs) == 4 else None
    else:
        raw = subs[-16:] if len(subs) >= 17 else subs[-4:] if len(subs) >= 5 else None
    if raw is None or any(x > 255 for x in raw):
        raise SnmpError("malformed", f"{mib} peer table index is not an IP address")
    return ipaddress.ip_address(bytes(raw)).compressed


def _bgp_peers(mibs: tuple[str, ...], tables: list[dict[bytes, object]]
               ) -> dict[str, tuple[int, int | None]]:
    """Peer address -> (state, remote AS) from the walked columns of ``mibs`` (in order;
    a peer listed by two MIBs, e.g. BGP4 and BGP4V2 for an IPv4 peer, is one peer).
    Hostile values (a state outside 1-6, an AS that is no 32-bit number, a non-address
    index) raise ``malformed``: the poll is then counted as an error with that reason."""
    peers: dict[str, tuple[int, int | None]] = {}
    pos = 0
    for mib in mibs:
        state_col, as_col = tables[pos], tables[pos + 1]
        pos += 2
        for suffix, state in state_col.items():
            if type(state) is not int or not 1 <= state <= 6:
                raise SnmpError("malformed", f"{mib} peer state is not a BGP FSM state 1-6")
            remote_as = as_col.get(suffix)
            if type(remote_as) is int and -2**31 <= remote_as < 0:
                # BGP4-MIB's bgpPeerRemoteAs is an Integer32: FRR puts a 4-byte AS
                # (e.g. a private 42xxxxxxxx) there as is, so it arrives wrapped negative
                remote_as += 2**32
            if remote_as is not None and (type(remote_as) is not int
                                          or not 0 <= remote_as < 2**32):
                raise SnmpError("malformed", f"{mib} peer remote AS is not a 32-bit number")
            peers[_peer_address(suffix, mib)] = (state, remote_as)
            if len(peers) > MAX_BGP_PEERS:
                raise SnmpError("malformed", f"more than {MAX_BGP_PEERS} BGP peers")
    return peers


def _text(value: object, limit: int = 128) -> str:
    if not isinstance(value, bytes):
        return ""
    text = value.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text)[:limit].strip()


class Poller:
    """Holds per-target state and polls targets concurrently (at most ``concurrency``)."""

    def __init__(self, targets: Iterable[SnmpTarget] = (), *, concurrency: int = 256,
                 deadline: float | None = None, transport: SnmpTransport | None = None) -> None:
        self.transport = transport or SnmpTransport()
        self.concurrency = concurrency
        self.deadline = deadline
        self._sem: asyncio.Semaphore | None = None
        self._states: dict[str, _State] = {}
        self.targets: dict[str, SnmpTarget] = {}
        self.set_targets(targets)

    def set_targets(self, targets: Iterable[SnmpTarget]) -> None:
        """Replace the target list; unchanged targets keep their state (engine, names)."""
        new = {t.name: t for t in targets}
        for name in list(self._states):
            if name not in new or new[name] != self.targets.get(name):
                del self._states[name]
        self.targets = new

    def _state(self, target: SnmpTarget) -> _State:
        st = self._states.get(target.name)
        if st is None:
            session = Session(self.transport, target.host, target.port, version=target.version,
                              community=target.community, user=target.user,
                              timeout=target.timeout, retries=target.retries)
            st = self._states[target.name] = _State(session)
        return st

    async def poll_all(self, on_result: Callable[[PollResult], None] | None = None
                       ) -> dict[str, PollResult]:
        """Poll every target once; ``on_result`` sees each result as soon as it is ready."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        results: dict[str, PollResult] = {}

        async def one(t: SnmpTarget) -> None:
            assert self._sem is not None
            async with self._sem:
                res = await self.poll(t)
            results[t.name] = res
            if on_result:
                on_result(res)

        await asyncio.gather(*(one(t) for t in list(self.targets.values())))
        return results

    async def poll(self, target: SnmpTarget) -> PollResult:
        """One target, never raising: failures become ``ok=False`` with a reason."""
        started = time.monotonic()
        res = PollResult(target=target, ok=False)
        if target.config_error:
            res.reason, res.error = "config", target.config_error
        else:
            st = self._state(target)
            deadline = self.deadline or max(
                5.0, target.timeout * (target.retries + 1) * 4)
            try:
                await asyncio.wait_for(self._poll(target, st, res), deadline)
                res.ok = True
            except SnmpError as exc:
                res.reason, res.error = exc.reason, str(exc)
            except TimeoutError:
                res.reason, res.error = "timeout", f"poll exceeded its {deadline:g} s deadline"
            except Exception as exc:  # a bug must not stop the agent
                log.exception("poll of %s failed unexpectedly", target.name)
                res.reason, res.error = "internal", f"{type(exc).__name__}: {exc}"
            self._log_transition(target, st, res)
        res.duration = time.monotonic() - started
        res.finished = time.time()
        return res

    def _log_transition(self, target: SnmpTarget, st: _State, res: PollResult) -> None:
        reason = None if res.ok else res.reason
        if reason == st.last_reason:
            return
        if res.ok:
            log.info("snmp target %s (%s) is up", target.name, target.address)
        else:
            log.warning("snmp target %s (%s) is down: %s: %s", target.name, target.address,
                        res.reason, res.error)
        st.last_reason = reason

    async def _poll(self, t: SnmpTarget, st: _State, res: PollResult) -> None:
        stats = res.stats
        session = st.session
        scalar_oids = [_UPTIME] + (list(_IP6.values()) if st.has_ip6 else [])
        static_due = time.monotonic() - st.static_at > t.static_interval
        counter_cols = list(_COUNTERS.values())
        static_cols = list(_STATIC.values()) if static_due else []
        cols = counter_cols + static_cols
        # one walk per table, each sized by its own row count from the last poll: a short
        # table walked with the interface table's repetitions would drag in junk rows
        jobs = [session.get(scalar_oids, stats),
                walk(session, cols, stats, st.rows_hint, t.max_varbinds)]
        bgp_cols = [col for mib in t.bgp_mibs for col in _BGP[mib].values()]
        if bgp_cols:  # all the MIBs' columns in one walk: usually one round trip
            jobs.append(walk(session, bgp_cols, stats, st.bgp_hint, t.max_varbinds))
        if st.has_hr:
            jobs.append(walk(session, [_HR_CPU], stats, st.cpu_hint, t.max_varbinds))
            jobs.append(walk(session, list(_HR_STORAGE.values()), stats, st.storage_hint,
                             t.max_varbinds))
        done = await asyncio.gather(*jobs)
        scalars, (tables, nvb) = done[0], done[1]
        if bgp_cols:
            bgp_tables, n = done[2]
            nvb += n
            res.bgp = _bgp_peers(t.bgp_mibs, bgp_tables)
            st.bgp_hint = max(1, *(len(col) for col in bgp_tables))
        hr_tables: list[dict[bytes, object]] = []
        for more, n in done[3 if bgp_cols else 2:]:
            hr_tables.extend(more)
            nvb += n
        res.varbinds = len(scalars) + nvb
        self._scalars(st, res, scalars)
        ncnt = len(counter_cols)
        counters: dict[str, dict[int, int]] = {}
        rows = 0
        for key, table in zip(_COUNTERS, tables[:ncnt], strict=True):
            col = {_ifindex(k): v for k, v in table.items() if type(v) is int}
            counters[key] = col
            rows = max(rows, len(col))
        st.rows_hint = max(rows, 1)
        res.counters = counters
        known = counters.get("oper_status", {})
        rebooted = (res.uptime is not None and st.uptime is not None and res.uptime < st.uptime)
        if static_cols:
            self._static(st, tables[ncnt:ncnt + len(static_cols)])
            st.static_at = time.monotonic()
        elif rebooted or any(i not in st.ifnames for i in known):
            more, n = await walk(session, list(_STATIC.values()), stats, st.rows_hint,
                                 t.max_varbinds)
            res.varbinds += n
            self._static(st, more)
            st.static_at = time.monotonic()
        if hr_tables:
            self._host(st, res, hr_tables)
        st.uptime = res.uptime
        res.ifnames, res.ifalias, res.speed_bps = st.ifnames, st.ifalias, st.speed_bps

    @staticmethod
    def _scalars(st: _State, res: PollResult, vbs: list[ber.Varbind]) -> None:
        for i, (_, tag, value) in enumerate(vbs):
            if i == 0:
                if tag == ber.TIMETICKS and isinstance(value, int):
                    res.uptime = value / 100.0
                continue
            key = list(_IP6)[i - 1] if i - 1 < len(_IP6) else None
            if key and isinstance(value, int) and tag not in ber.EXCEPTIONS:
                res.ip6[key] = value
        if len(vbs) > 1 and not res.ip6:
            st.has_ip6 = False  # agent has no IPv6 ipSystemStats row: stop asking

    @staticmethod
    def _static(st: _State, tables: list[dict[bytes, object]]) -> None:
        names, aliases, speeds = tables
        st.ifnames = {_ifindex(k): _text(v, 64) for k, v in names.items()}
        st.ifalias = {_ifindex(k): _text(v, 128) for k, v in aliases.items()}
        st.speed_bps = {_ifindex(k): int(v) * 1_000_000 for k, v in speeds.items()
                        if type(v) is int}

    @staticmethod
    def _host(st: _State, res: PollResult, tables: list[dict[bytes, object]]) -> None:
        cpu, stype, units, size, used = tables
        st.cpu_hint, st.storage_hint = max(len(cpu), 1), max(len(stype), 1)
        loads = [v for v in cpu.values() if type(v) is int]
        if loads:
            res.cpu_load = sum(loads) / len(loads)
        for idx, kind in stype.items():
            if kind == oids.HR_STORAGE_RAM:
                u, s_, us = units.get(idx), size.get(idx), used.get(idx)
                if type(u) is int and type(s_) is int and type(us) is int:
                    res.mem_total, res.mem_used = s_ * u, us * u
                break
        if not cpu and not stype:
            st.has_hr = False

    def close(self) -> None:
        self.transport.close()

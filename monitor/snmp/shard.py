"""Poll across several processes: one asyncio Poller per worker, targets split by hash.

Why: one Python process decodes and renders on one core; at hundreds of agents (or on a
busy box, where a multi-threaded exporter simply gets more CPU share) the wall time of a
poll cycle is bound by that core.  Each worker polls its share of the targets and renders
their exposition chunks itself (monitor.exposition), so the parent only copies results.

Workers are forked (they inherit the resolved targets, so no secret crosses the pipe) and
stay up between polls, keeping their v3 engine state and static-column caches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import zlib
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any

from monitor.collector import SnmpCollector
from monitor.snmp.poller import Poller, PollResult
from monitor.snmp.targets import SnmpTarget

log = logging.getLogger("gin.monitor.snmp")


def shard_of(name: str, shards: int) -> int:
    """Stable assignment (same target, same worker, across reloads)."""
    return zlib.crc32(name.encode()) % shards


def _worker(conn: Connection, targets: list[SnmpTarget], concurrency: int,
            counts: tuple[dict, dict]) -> None:
    """Serve "poll" requests until "stop" (or the parent goes away)."""
    by_name = {t.name: t for t in targets}
    collector = SnmpCollector()
    collector.seed(*counts)  # cumulative counters survive a worker restart
    loop = asyncio.new_event_loop()
    poller = Poller(targets, concurrency=concurrency)
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                break
            if msg == "stop":
                break
            results = loop.run_until_complete(poller.poll_all(on_result=collector.update))
            out = []
            for name, res in results.items():
                res.target = None  # type: ignore[assignment]  # the parent has it
                out.append((name, res, collector.chunk(name)))
            conn.send(out)
            for name in results:
                res = results[name]
                res.target = by_name[name]
    finally:
        poller.close()
        loop.close()
        conn.close()


class ShardedPoller:
    """Same contract as :meth:`Poller.poll_all`, over ``processes`` forked workers."""

    def __init__(self, targets: Iterable[SnmpTarget], processes: int = 2,
                 concurrency: int = 256) -> None:
        self.targets = {t.name: t for t in targets}
        self.processes = max(1, processes)
        self.concurrency = concurrency
        self._workers: list[tuple[Any, Connection]] = []

    def start(self, collector: SnmpCollector | None = None) -> None:
        """Fork the workers (``collector``: where the cumulative counters live)."""
        counts = collector.counts() if collector is not None else ({}, {})
        ctx = mp.get_context("fork")
        shards: list[list[SnmpTarget]] = [[] for _ in range(self.processes)]
        for t in self.targets.values():
            shards[shard_of(t.name, self.processes)].append(t)
        for share in shards:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, share, self.concurrency, counts),
                               daemon=True)
            proc.start()
            child.close()
            self._workers.append((proc, parent))

    def set_targets(self, targets: Iterable[SnmpTarget]) -> None:
        """Restart the workers when the list changed (reloads are rare)."""
        new = {t.name: t for t in targets}
        if new == self.targets:
            return
        self.close()
        self.targets = new

    async def poll_all(self, on_result: Callable[[PollResult], None] | None = None,
                       collector: SnmpCollector | None = None) -> dict[str, PollResult]:
        """Poll every target once; with ``collector`` the workers' rendered chunks are
        stored in it directly (no second rendering in this process)."""
        if not self._workers:
            self.start(collector)
        loop = asyncio.get_running_loop()
        for _, conn in self._workers:
            conn.send("poll")
        replies = await asyncio.gather(*(loop.run_in_executor(None, conn.recv)
                                         for _, conn in self._workers),
                                       return_exceptions=True)
        results: dict[str, PollResult] = {}
        if any(isinstance(r, BaseException) for r in replies):
            log.error("a poll worker died; restarting the workers next poll")
            self.close()
        for reply in replies:
            if isinstance(reply, BaseException):
                continue
            for name, res, chunk in reply:
                res.target = self.targets[name]
                results[name] = res
                if collector is not None:
                    collector.store(res, chunk)
                if on_result:
                    on_result(res)
        return results

    def pids(self) -> list[int]:
        """Worker process ids (the benchmark adds their CPU time)."""
        return [proc.pid for proc, _ in self._workers]

    def close(self) -> None:
        for proc, conn in self._workers:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send("stop")
            conn.close()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        self._workers.clear()


def default_processes() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))

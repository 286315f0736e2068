"""``gin monitor agent``: one long-running asyncio process that polls the directory's
devices over SNMP and serves ``/metrics``.

Lifecycle: targets are (re)loaded from the directory at start, on SIGHUP and every
``reload_interval``; a failed reload keeps the previous list (the directory may be briefly
unreachable).  SIGTERM/SIGINT stop the poll loop, close the sockets and the HTTP server.

Extending the agent (VPN tunnels, threat sensor, ...): other packages add Collectors to the
same registry, so one scrape carries everything.  Three ways, all equivalent:

* the ``extra_collectors`` argument of :class:`Agent` (a list of factories);
* ``--collector module:factory`` on the command line (repeatable);
* an entry point in the group ``gin.monitor.collectors`` (found at start).

A factory is a callable ``factory(agent) -> prometheus_client.registry.Collector``; it
may read ``agent.directory_url`` and must not block (do slow work in ``collect`` or in
its own thread/task).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.collector import SnmpCollector
from monitor.snmp.poller import Poller
from monitor.snmp.targets import SnmpTarget, load_profiles, targets_from_directory

log = logging.getLogger("gin.monitor.agent")

ENTRY_POINT_GROUP = "gin.monitor.collectors"
CollectorFactory = Callable[["Agent"], Collector]


def load_factory(spec: str) -> CollectorFactory:
    """``module:attr`` -> the factory it names."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"collector {spec!r}: expected module:factory")
    return getattr(importlib.import_module(module), attr)


def entry_point_factories() -> list[CollectorFactory]:
    """Factories registered by installed packages under ``gin.monitor.collectors``."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append(ep.load())
        except Exception as exc:  # one broken plug-in must not stop SNMP monitoring
            log.error("collector entry point %s failed to load: %s", ep.name, exc)
    return found


def directory_targets(db_url: str | None, profiles_path: str | None,
                      agencies: set[str] | None = None) -> Callable[[], list[SnmpTarget]]:
    """A target source reading the directory anew on every call (only ``agencies``' devices
    when given: one agent per region)."""

    def load() -> list[SnmpTarget]:
        from directory.store import Directory

        profiles = load_profiles(profiles_path)
        d = Directory(db_url, actor="gin-monitor-agent")
        try:
            targets, skipped = targets_from_directory(d, profiles, agencies=agencies)
        finally:
            d.close()
        for why in skipped:
            log.info("not polled: %s", why)
        return targets

    return load


class _AgentCollector(Collector):
    """The agent's own health: targets, cycle time, reloads."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def collect(self) -> Iterable[Any]:
        a = self.agent
        g = GaugeMetricFamily("gin_monitor_targets", "Devices the agent polls.")
        g.add_metric([], len(a.poller.targets))
        yield g
        c = GaugeMetricFamily("gin_monitor_poll_cycle_seconds",
                              "Wall time of the last full poll cycle.")
        c.add_metric([], a.last_cycle)
        yield c
        r = CounterMetricFamily("gin_monitor_target_reloads", "Target list reloads.",
                                labels=["result"])
        r.add_metric(["ok"], a.reloads_ok)
        r.add_metric(["failed"], a.reloads_failed)
        yield r


@dataclass
class Agent:
    """Poll loop + HTTP exposition. ``target_source`` returns the current target list."""

    target_source: Callable[[], list[SnmpTarget]]
    listen: tuple[str, int] = ("127.0.0.1", 9436)
    interval: float = 30.0
    reload_interval: float = 300.0
    concurrency: int = 256
    processes: int = 1
    extra_collectors: list[CollectorFactory] = field(default_factory=list)
    directory_url: str | None = None
    traps_listen: tuple[str, int] | None = None
    event_log: str | None = None
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry())
    snmp: SnmpCollector = field(default_factory=SnmpCollector)

    def __post_init__(self) -> None:
        if self.processes > 1:
            from monitor.snmp.shard import ShardedPoller

            self.poller: Any = ShardedPoller((), self.processes, self.concurrency)
        else:
            self.poller = Poller(concurrency=self.concurrency)
        self.last_cycle = 0.0
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.cycles = 0
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._server: Any = None
        self._unpollable: dict[str, str] = {}  # target -> config error already logged
        self.traps: Any = None
        self._traps_transport: Any = None
        if self.traps_listen:
            from monitor.snmp.traps import TrapReceiver

            self.traps = TrapReceiver(event_log=self.event_log)
            self.registry.register(self.traps)
        for standard in (ProcessCollector, PlatformCollector, GCCollector):
            standard(registry=self.registry)  # process_*, python_info, python_gc_*
        # self.snmp is not in the registry: its (large) output is rendered by the fast
        # path in monitor.exposition and appended to the registry's in metrics_text()
        self.registry.register(_AgentCollector(self))
        for factory in [*self.extra_collectors, *entry_point_factories()]:
            try:
                self.registry.register(factory(self))
            except Exception as exc:
                log.error("extra collector %r not registered: %s", factory, exc)

    def reload_targets(self) -> bool:
        """Re-read targets; keep the previous list when the source fails."""
        try:
            targets = self.target_source()
        except Exception as exc:
            self.reloads_failed += 1
            log.error("target reload failed, keeping %d targets: %s",
                      len(self.poller.targets), exc)
            return False
        self.poller.set_targets(targets)
        self._log_unpollable(targets)
        self.snmp.retain({t.name for t in targets})
        if self.traps is not None:
            self.traps.set_targets(targets)
        self.reloads_ok += 1
        log.info("polling %d targets", len(targets))
        return True

    def _log_unpollable(self, targets: list[SnmpTarget]) -> None:
        """Say in words, once per target (not every poll), why a device shows
        ``reason="config"``: its SNMP credentials or profile cannot be used.  Logged again
        only when the problem changes, and forgotten once it is fixed."""
        now = {t.name: t for t in targets if t.config_error}
        for name, t in sorted(now.items()):
            if self._unpollable.get(name) != t.config_error:
                log.warning("snmp target %s (%s) cannot be polled: %s; fix the device's "
                            "credential reference or its SNMP profile", name, t.address,
                            t.config_error)
        self._unpollable = {name: str(t.config_error) for name, t in now.items()}

    def request_reload(self) -> None:
        self._reload.set()

    def stop(self) -> None:
        self._stop.set()

    def metrics_text(self, query: dict[str, str] | None = None) -> bytes | None:
        """What /metrics returns: the registry (process, agent, extra collectors) + SNMP.

        ``?device=NAME``: that device's SNMP metrics only (Prometheus multi-target jobs;
        None -> 404 when this agent does not poll it); ``?devices=none``: no SNMP devices.
        """
        query = query or {}
        if "device" in query:
            return self.snmp.render(query["device"])
        if query.get("devices") == "none":
            return generate_latest(self.registry)
        return generate_latest(self.registry) + (self.snmp.render() or b"")

    def start_http(self) -> tuple[str, int]:
        """Serve /metrics from a thread; returns the bound address."""
        from monitor.http import serve

        self._server = serve(self.listen, self.metrics_text)
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    async def poll_once(self) -> None:
        started = time.monotonic()
        if self.processes > 1:
            await self.poller.poll_all(collector=self.snmp)
        else:
            await self.poller.poll_all(on_result=self.snmp.update)
        self.last_cycle = time.monotonic() - started
        self.cycles += 1

    async def run(self, install_signals: bool = True) -> None:
        """Until stop(): reload when due, poll, sleep to the next interval."""
        loop = asyncio.get_running_loop()
        if install_signals:
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
        self.reload_targets()
        next_reload = time.monotonic() + self.reload_interval
        if self.traps is not None and self.traps_listen:
            from monitor.snmp.traps import start

            self._traps_transport = await start(self.traps, self.traps_listen)
            log.info("receiving traps on %s:%d", *self.traps_listen)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                if self._reload.is_set() or started >= next_reload:
                    self._reload.clear()
                    self.reload_targets()
                    next_reload = started + self.reload_interval
                poll = asyncio.create_task(self.poll_once())
                stop = asyncio.create_task(self._stop.wait())
                await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not poll.done():
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await poll
                    break
                stop.cancel()
                poll.result()
                if self.last_cycle > self.interval:
                    log.warning("poll cycle took %.1f s, longer than the %.0f s interval",
                                self.last_cycle, self.interval)
                delay = max(0.0, self.interval - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_stop_or_reload(), delay)
        finally:
            if install_signals:
                for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            self.close()
            log.info("agent stopped")

    async def _wait_stop_or_reload(self) -> None:
        stop = asyncio.create_task(self._stop.wait())
        reload = asyncio.create_task(self._reload.wait())
        try:
            await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            reload.cancel()

    def close(self) -> None:
        self.poller.close()
        if self._traps_transport is not None:
            self._traps_transport.close()
            self._traps_transport = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def run_agent(db_url: str | None, profiles_path: str | None, *,
              listen: tuple[str, int] = ("127.0.0.1", 9436), interval: float = 30.0,
              reload_interval: float = 300.0, concurrency: int = 256, processes: int = 1,
              agencies: set[str] | None = None, collectors: Iterable[str] = (),
              traps_listen: tuple[str, int] | None = None,
              event_log: str | None = None) -> None:
    """``gin monitor agent``: build the agent from the directory (only ``agencies``' devices
    when given), serve /metrics and poll until SIGTERM/SIGINT.  ``collectors`` are
    ``module:factory`` specs of extra collectors."""
    from devices.errors import ConfigError

    try:
        factories = [load_factory(spec) for spec in collectors]
    except (ValueError, ImportError, AttributeError) as exc:
        raise ConfigError(f"--collector: {exc}") from None
    agent = Agent(directory_targets(db_url, profiles_path, agencies or None), listen=listen,
                  interval=interval, reload_interval=reload_interval,
                  concurrency=concurrency, processes=processes,
                  extra_collectors=factories, directory_url=db_url,
                  traps_listen=traps_listen, event_log=event_log)
    try:
        host, port = agent.start_http()
    except OSError as exc:
        agent.close()
        raise ConfigError(f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror}") \
            from None
    log.info("serving /metrics on http://%s:%d/metrics", host, port)
    asyncio.run(agent.run())

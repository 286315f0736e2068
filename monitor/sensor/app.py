"""The sensor application: what ``gin monitor sensor run`` does, callable without the CLI.

Wires the directory (agency labels, segregation, the routers allowed to send IPv6 RAs),
the detectors' settings, the opt-in automatic GSI cut-off, the Prometheus /metrics
server, and the capture loop (pcap files or a live interface until SIGTERM, Ctrl-C or a
duration); returns a report of what was seen.  The command module only parses and prints.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import SensorError


def load_settings(path: str | None) -> dict[str, Any]:
    """The YAML settings file: ``{detectors: {...}, events: {quiet_s, max_age_s}}``."""
    if not path:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SensorError(f"sensor settings {path!r}: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {"detectors", "events"}:
        raise SensorError(f"sensor settings {path!r}: expected a mapping with 'detectors' "
                          "and/or 'events'")
    return data


@dataclass
class SensorOptions:
    """Everything a sensor run takes; exactly one of ``pcaps`` / ``interface``."""

    pcaps: Sequence[str] = ()
    interface: str | None = None
    bpf: str | None = None
    events_path: str | None = None
    settings_path: str | None = None
    blocklist: str | None = None
    listen: tuple[str, int] | None = None
    duration: float | None = None
    ring_mb: int = 64
    auto_types: Sequence[str] = ()
    block_netns: str | None = None
    block_ttl: int = 3600
    agencies_from_directory: bool = True  # False: no agency labels, no segregation
    home_agency: str | None = None  # the agency whose LAN this sensor watches


@dataclass
class SensorReport:
    """What a run saw: totals, the closed events, and the automatic blocks."""

    summary: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


def run(opts: SensorOptions, directory: Any | None) -> SensorReport:
    """Run the sensor to the end of the pcaps, or live until stopped.  The directory gives
    agency labels, segregation and the router list (unless
    ``opts.agencies_from_directory`` is off) and records automatic blocks; it may be None
    when neither is wanted."""
    from .agency import directory_resolver, directory_routers
    from .detectors import TYPES
    from .sensor import build_sensor

    if bool(opts.pcaps) == bool(opts.interface):
        raise SensorError("give either pcap files or an interface")
    unknown = [t for t in opts.auto_types if t not in TYPES]
    if unknown:
        raise SensorError(f"auto-block: {', '.join(unknown)} is not a detector "
                          f"({', '.join(TYPES)})")
    settings = load_settings(opts.settings_path)
    detectors = dict(settings.get("detectors") or {})
    if opts.blocklist:
        detectors["blocklist"] = {**(detectors.get("blocklist") or {}), "path": opts.blocklist}
    resolver = routers = None
    if opts.agencies_from_directory and directory is not None:
        resolver = directory_resolver(directory)
        routers = directory_routers(directory)
        if opts.home_agency:
            _check_agency(directory, opts.home_agency)
    auto = None
    if opts.auto_types:
        from .respond import AutoBlock, NftGateway, Responder

        auto = AutoBlock(Responder(directory, NftGateway(opts.block_netns)), opts.auto_types,
                         opts.block_ttl)
    ev_opts = settings.get("events") or {}
    snsr = build_sensor(detectors, resolver=resolver, routers=routers,
                        events_path=opts.events_path,
                        quiet_s=float(ev_opts.get("quiet_s", 10)),
                        max_age_s=float(ev_opts.get("max_age_s", 300)),
                        live=bool(opts.interface), on_event=auto,
                        home_agency=opts.home_agency)
    cap = None
    if opts.interface:  # open the socket first: once /metrics answers, nothing is missed
        from .live import LiveCapture

        cap = LiveCapture(opts.interface, bpf=opts.bpf, blocks=opts.ring_mb)  # 1 MiB blocks
    if opts.listen:
        serve_metrics(snsr.stats, opts.interface or "pcap", opts.listen)
    started = time.perf_counter()
    try:
        if cap is not None:
            _run_live(snsr, cap, opts.duration)
        else:
            from .pcapfile import read_batches

            for path in opts.pcaps:
                for batch in read_batches(path):
                    snsr.process(batch)
    except KeyboardInterrupt:
        pass
    finally:
        snsr.finish()
        snsr.events.close()
    return _report(snsr, time.perf_counter() - started, auto)


def _check_agency(directory: Any, code: str) -> None:
    from directory.errors import DirectoryError
    from directory.store import get_agency

    try:
        with directory.transaction() as s:
            get_agency(s, code)
    except DirectoryError:
        raise SensorError(f"--agency {code!r}: no such agency in the directory (see: gin "
                          "directory agency list)") from None


def serve_metrics(stats: Any, interface: str, listen: tuple[str, int]) -> None:
    """Serve the sensor's Prometheus /metrics from a thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    from .metrics import SensorCollector

    registry = CollectorRegistry()
    registry.register(SensorCollector(stats, interface))
    host, port = listen
    try:
        start_http_server(port, host, registry=registry)
    except OSError as exc:
        raise SensorError(f"cannot serve metrics on {host}:{port}: "
                          f"{exc.strerror or exc}") from None


def _run_live(snsr: Any, cap: Any, duration: float | None) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: cap.stop())
    if duration:
        timer = threading.Timer(duration, cap.stop)
        timer.daemon = True
        timer.start()
    for batch in cap:
        snsr.process(batch)
        if not len(batch):
            snsr.tick()


def _report(snsr: Any, elapsed: float, auto: Any) -> SensorReport:
    snap = snsr.stats.snapshot()
    events = [e.record() for e in snsr.events.closed]
    summary: dict[str, Any] = {
        "packets": snap["packets"], "bytes": snap["bytes"], "malformed": snap["malformed"],
        "dropped": snap["dropped"], "seconds": round(elapsed, 3),
        "packets_per_second": round(snap["packets"] / elapsed) if elapsed > 0 else None,
        "events": len(events)}
    if auto is not None:
        summary["blocked"] = [b.source for b in auto.blocked]
        summary["block_refused"] = [t for t, _ in auto.refused]
    return SensorReport(summary, events)

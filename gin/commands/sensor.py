"""``gin monitor sensor`` and ``gin monitor respond``: the threat sensor and the GSI cut-off.

Thin: parse, call :mod:`monitor.sensor`, print.  Agencies (for metric labels and the
segregation policy), the routers allowed to send IPv6 RAs and the addresses that must
never be blocked all come from the directory.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from pathlib import Path
from typing import Any

import click
import yaml

from devices.errors import ConfigError
from gin.choices import transport_choice
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows, print_json

EVENT_COLUMNS = ["time", "type", "severity", "source", "destination", "agency", "count"]


def _load_settings(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"sensor settings {path!r}: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {"detectors", "events"}:
        raise ConfigError(f"sensor settings {path!r}: expected a mapping with 'detectors' "
                          "and/or 'events'")
    return data


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.group()
def sensor() -> None:
    """Network threat sensor: scans, floods, rogue RAs, ARP spoofing, DNS tunnels, brute
    force, block-list hits and forbidden inter-agency traffic, from a pcap or live.

    Events go to a JSON-lines log (one line per deduplicated event) and to Prometheus as
    gin_threat_events_total{type,severity,agency}.
    """


@sensor.command("run")
@click.option("--pcap", "pcaps", multiple=True, type=click.Path(dir_okay=False),
              help="Read a pcap/pcapng file (repeatable; files are read in order).")
@click.option("--interface", "-i", metavar="IF", help="Capture live on this interface.")
@click.option("--bpf", metavar="EXPR", help="BPF filter for live capture, e.g. 'not port 22'.")
@click.option("--events", "events_path", type=click.Path(dir_okay=False),
              help="Append events as JSON lines to this file (for a SIEM to tail).")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False),
              help="YAML: {detectors: {port_scan: {ports: 50}, ...}, events: {quiet_s: 10}}.")
@click.option("--blocklist", type=click.Path(dir_okay=False),
              help="Threat-intelligence block list (one IP/prefix per line; reloaded on "
                   "change).")
@click.option("--listen", metavar="HOST:PORT", help="Serve Prometheus /metrics here.")
@click.option("--duration", type=click.FloatRange(0.1), help="Live: stop after N seconds.")
@click.option("--ring-mb", default=64, show_default=True, type=click.IntRange(4, 4096),
              help="Live: capture ring size in MiB (slack while the sensor is busy).")
@click.option("--no-directory", is_flag=True,
              help="Do not read agencies/routers from the directory: no agency labels, no "
                   "segregation, and every IPv6 RA is rogue unless --settings lists "
                   "rogue_ra routers.")
@click.option("--auto-block", "auto_types", multiple=True, metavar="TYPE",
              help="Opt-in GSI cut-off: block the source of events of this type "
                   "(repeatable, e.g. port_scan, brute_force, blocklist) on the gateway; "
                   "'gin monitor respond --expire' carries them to the edge routers.")
@click.option("--block-netns", metavar="NS", help="Auto-block: run nft in this namespace.")
@click.option("--block-ttl", default=3600, show_default=True, type=click.IntRange(1),
              help="Auto-block: seconds until a block expires.")
@json_option
@pass_ctx
def run(ctx: Context, pcaps: tuple[str, ...], interface: str | None, bpf: str | None,
        events_path: str | None, settings_path: str | None, blocklist: str | None,
        listen: str | None, duration: float | None, ring_mb: int, no_directory: bool,
        auto_types: tuple[str, ...], block_netns: str | None, block_ttl: int,
        as_json: bool) -> None:
    """Inspect packets from pcap files (--pcap) or an interface (--interface).

    Live capture runs until Ctrl-C, SIGTERM or --duration; open events are written
    when it stops.
    """
    from monitor.sensor.agency import directory_resolver, directory_routers
    from monitor.sensor.detectors import TYPES
    from monitor.sensor.sensor import build_sensor

    if bool(pcaps) == bool(interface):
        raise click.UsageError("give either --pcap FILE or --interface IF")
    if bpf and not interface:
        raise click.UsageError("--bpf applies to live capture (--interface)")
    for t in auto_types:
        if t not in TYPES:
            raise click.BadParameter(f"{t!r} is not a detector ({', '.join(TYPES)})",
                                     param_hint="--auto-block")
    settings = _load_settings(settings_path)
    detectors = dict(settings.get("detectors") or {})
    if blocklist:
        detectors["blocklist"] = {**(detectors.get("blocklist") or {}), "path": blocklist}
    resolver = routers = None
    if not no_directory:
        resolver = directory_resolver(ctx.directory)
        routers = directory_routers(ctx.directory)
    on_event = None
    if auto_types:
        from monitor.sensor.respond import AutoBlock, NftGateway, Responder

        on_event = AutoBlock(Responder(ctx.directory, NftGateway(block_netns)), auto_types,
                             block_ttl)
    ev_opts = settings.get("events") or {}
    snsr = build_sensor(detectors, resolver=resolver, routers=routers, events_path=events_path,
                        quiet_s=float(ev_opts.get("quiet_s", 10)),
                        max_age_s=float(ev_opts.get("max_age_s", 300)),
                        live=bool(interface), on_event=on_event)
    cap = None
    if interface:  # open the socket first: once /metrics answers, nothing is missed
        from monitor.sensor.live import LiveCapture

        cap = LiveCapture(interface, bpf=bpf, blocks=ring_mb)  # 1 MiB blocks
    if listen:
        from prometheus_client import CollectorRegistry, start_http_server

        from monitor.sensor.metrics import SensorCollector

        registry = CollectorRegistry()
        registry.register(SensorCollector(snsr.stats, interface or "pcap"))
        host, port = _host_port(listen)
        try:
            start_http_server(port, host, registry=registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {listen}: {exc.strerror or exc}") \
                from None
    started = time.perf_counter()
    try:
        if cap is not None:
            _run_live(snsr, cap, duration)
        else:
            from monitor.sensor.pcapfile import read_batches

            for path in pcaps:
                for batch in read_batches(path):
                    snsr.process(batch)
    except KeyboardInterrupt:
        pass
    finally:
        snsr.finish()
        snsr.events.close()
    elapsed = time.perf_counter() - started
    _report(snsr, elapsed, as_json, on_event)


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


def _report(snsr: Any, elapsed: float, as_json: bool, auto: Any) -> None:
    snap = snsr.stats.snapshot()
    events = [e.record() for e in snsr.events.closed]
    summary = {"packets": snap["packets"], "bytes": snap["bytes"],
               "malformed": snap["malformed"], "dropped": snap["dropped"],
               "seconds": round(elapsed, 3),
               "packets_per_second": round(snap["packets"] / elapsed) if elapsed > 0 else None,
               "events": len(events)}
    if auto is not None:
        summary["blocked"] = [b.source for b in auto.blocked]
        summary["block_refused"] = [t for t, _ in auto.refused]
    if as_json:
        print_json({"summary": summary, "events": events})
        return
    emit_object(summary, False)
    emit_rows(events, EVENT_COLUMNS, False, title="threat events")


@sensor.command("detectors")
@json_option
def detectors_cmd(as_json: bool) -> None:
    """List the detectors with their default thresholds (override with --settings)."""
    from monitor.sensor.detectors import CLASSES

    rows = []
    for name, cls in CLASSES.items():
        params = {f.name: f.default for f in dataclasses.fields(cls)
                  if f.init and f.name not in ("type", "severity", "resolver")
                  and f.default is not dataclasses.MISSING}
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
        default_sev = next(f.default for f in dataclasses.fields(cls) if f.name == "severity")
        rows.append({"type": name, "severity": default_sev,
                     "settings": ", ".join(f"{k}={v}" for k, v in params.items()),
                     "doc": (cls.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip()})
    if as_json:
        print_json(rows)
        return
    emit_rows(rows, ["type", "severity", "settings"], False, title="detectors")


@click.group("respond", invoke_without_command=True)
@click.option("--block", "block_src", metavar="SOURCE", help="Block an address or prefix.")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1),
              help="Seconds until the block expires (the gateway lifts it by itself; "
                   "routers at the next --expire).")
@click.option("--reason", default="manual", show_default=True, help="Why (change log).")
@click.option("--lift", "lift_src", metavar="SOURCE", help="Lift a block.")
@click.option("--expire", "do_expire", is_flag=True,
              help="Bring the edge routers to the active blocks: expired ones off, "
                   "automatic ones on (run it from a timer: "
                   "monitor/sensor/gin-gsi-expire.timer).")
@click.option("--list", "do_list", is_flag=True, help="List active blocks.")
@click.option("--netns", metavar="NS", help="Gateway: run nft inside this network namespace.")
@click.option("--no-gateway", is_flag=True,
              help="Do not touch nftables on this host.")
@click.option("--no-routers", is_flag=True,
              help="Do not push to the edge routers (the directory's PEs).")
@click.option("--via", type=transport_choice(), default="netmiko",
              show_default=True, help="Transport to the edge routers.")
@click.option("--acl", "acl_platform", metavar="PLATFORM",
              help="Print the active blocks as an edge router of this platform carries "
                   "them (any registered platform with a gsi_block.j2 template).")
@json_option
@pass_ctx
@click.pass_context
def respond(click_ctx: click.Context, ctx: Context, block_src: str | None, ttl: int,
            reason: str, lift_src: str | None, do_expire: bool, do_list: bool,
            netns: str | None, no_gateway: bool, no_routers: bool, via: str,
            acl_platform: str | None, as_json: bool) -> None:
    """GSI cut-off: block a source on the gateway (nftables, expiring) and on the edge
    routers (the directory's PEs: FRR blackhole routes, IOS ACLs, Junos filters); every
    block, lift and router change is in the directory's change log.

    The management network and the directory's own devices are never blocked.  A router
    that refuses the change is rolled back to its exact previous config and reported
    (exit 3); the other routers keep the block.
    """
    from monitor.sensor.edge import EdgeRouters, render
    from monitor.sensor.respond import NftGateway, Responder

    if click_ctx.invoked_subcommand:
        return
    chosen = [x for x in (block_src, lift_src, do_expire or None, do_list or None,
                          acl_platform) if x]
    if len(chosen) != 1:
        raise click.UsageError("give one of --block SOURCE, --lift SOURCE, --expire, --list, "
                               "--acl PLATFORM")
    gateway = None if no_gateway or do_expire else NftGateway(netns)
    edge = None
    if not no_routers and (block_src or lift_src or do_expire):
        from devices import transport as transports

        edge = EdgeRouters(ctx.directory, transports.get(via))
    responder = Responder(ctx.directory, gateway, edge)
    if block_src or lift_src or do_expire:
        if block_src:
            done: dict[str, Any] = responder.block(block_src, ttl, reason).record()
            line = f"blocked {done['source']} until {done['expires']}"
        elif lift_src:
            responder.lift(lift_src)
            done, line = {"lifted": lift_src}, f"lifted {lift_src}"
        else:
            responder.expire()
            done, line = {"expired": True}, "edge routers brought to the active blocks"
        _report_routers(responder.routers, done, line, as_json)
        return
    blocks = responder.list()
    if acl_platform:
        from devices import platforms

        text = render(platforms.get(acl_platform).name, [b.source for b in blocks])
        if as_json:
            print_json({"platform": acl_platform, "config": text})
        else:
            click.echo(text, nl=False)
        return
    enforced = gateway.list() if gateway is not None else {}
    rows = [{**b.record(), "enforced": (b.source in enforced) if gateway else None}
            for b in blocks]
    emit_rows(rows, ["source", "expires", "reason", "actor", "enforced"], as_json,
              title="active blocks")


def _report_routers(results: list[Any], done: dict[str, Any], line: str,
                    as_json: bool) -> None:
    """Print what the block/lift did and each router's result; exit 3 if one failed."""
    if as_json:
        print_json({**done, "routers": [r.as_dict() for r in results]})
    else:
        console.print(line)
        if results:
            emit_rows([{"router": r.router, "status": r.status, "lines": len(r.lines),
                        "message": r.message} for r in results],
                      ["router", "status", "lines", "message"], False, title="edge routers")
    if any(r.status == "failed" for r in results):
        raise click.exceptions.Exit(3)

"""``gin monitor sensor`` and ``gin monitor respond``: the threat sensor and the GSI cut-off.

Thin: parse, call :mod:`monitor.sensor`, print.  Agencies (for metric labels and the
segregation policy), the routers allowed to send IPv6 RAs and the addresses that must
never be blocked all come from the directory.
"""

from __future__ import annotations

from typing import Any

import click

from gin.choices import transport_choice
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_object, emit_rows, print_json

EVENT_COLUMNS = ["time", "type", "severity", "source", "destination", "agency",
                 "source_agency", "count"]


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
    gin_threat_events_total{type,severity,agency,source_agency}: agency is the attacked
    agency, source_agency the source address's ("unknown" outside the GIN).
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
@click.option("--listen", metavar="HOST:PORT",
              help="Serve Prometheus /metrics here (gin monitor prometheus-config scrapes "
                   "the directory's sensors at their mgmt_address, port 9437 by default).")
@click.option("--duration", type=click.FloatRange(0.1), help="Live: stop after N seconds.")
@click.option("--ring-mb", default=64, show_default=True, type=click.IntRange(4, 4096),
              help="Live: capture ring size in MiB (slack while the sensor is busy).")
@click.option("--no-directory", is_flag=True,
              help="Do not read agencies/routers from the directory: no agency labels, no "
                   "segregation, and every IPv6 RA is rogue unless --settings lists "
                   "rogue_ra routers.")
@click.option("--agency", "home_agency", metavar="CODE",
              help="The agency whose LAN this sensor watches: the attacked agency of events "
                   "whose destination belongs to no agency (link-local RAs, ARP), so alerts "
                   "name it.")
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
        home_agency: str | None, auto_types: tuple[str, ...], block_netns: str | None,
        block_ttl: int, as_json: bool) -> None:
    """Inspect packets from pcap files (--pcap) or an interface (--interface).

    Live capture runs until Ctrl-C, SIGTERM or --duration; open events are written
    when it stops.
    """
    from monitor.sensor.app import SensorOptions
    from monitor.sensor.app import run as run_sensor
    from monitor.sensor.detectors import TYPES

    if bool(pcaps) == bool(interface):
        raise click.UsageError("give either --pcap FILE or --interface IF")
    if bpf and not interface:
        raise click.UsageError("--bpf applies to live capture (--interface)")
    for t in auto_types:
        if t not in TYPES:
            raise click.BadParameter(f"{t!r} is not a detector ({', '.join(TYPES)})",
                                     param_hint="--auto-block")
    opts = SensorOptions(pcaps=pcaps, interface=interface, bpf=bpf, events_path=events_path,
                         settings_path=settings_path, blocklist=blocklist,
                         listen=_host_port(listen) if listen else None, duration=duration,
                         ring_mb=ring_mb, auto_types=auto_types, block_netns=block_netns,
                         block_ttl=block_ttl, agencies_from_directory=not no_directory,
                         home_agency=home_agency)
    wanted = not no_directory or auto_types  # the directory is opened only when needed
    report = run_sensor(opts, ctx.directory if wanted else None)
    if as_json:
        print_json({"summary": report.summary, "events": report.events})
        return
    emit_object(report.summary, False)
    emit_rows(report.events, EVENT_COLUMNS, False, title="threat events")


@sensor.command("detectors")
@json_option
def detectors_cmd(as_json: bool) -> None:
    """List the detectors with their default thresholds (override with --settings)."""
    from monitor.sensor.detectors import describe

    rows = describe()
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
    from monitor.sensor.respond import active_blocks, edge_config, respond

    if click_ctx.invoked_subcommand:
        return
    chosen = [x for x in (block_src, lift_src, do_expire or None, do_list or None,
                          acl_platform) if x]
    if len(chosen) != 1:
        raise click.UsageError("give one of --block SOURCE, --lift SOURCE, --expire, --list, "
                               "--acl PLATFORM")
    if block_src or lift_src or do_expire:
        done = respond(ctx.directory, block=block_src, lift=lift_src, expire=do_expire,
                       ttl=ttl, reason=reason, netns=netns, gateway=not no_gateway,
                       routers_via=None if no_routers else via)
        _report_routers(done.routers, done.done, done.line, as_json)
    elif acl_platform:
        text = edge_config(ctx.directory, acl_platform)
        if as_json:
            print_json({"platform": acl_platform, "config": text})
        else:
            click.echo(text, nl=False)
    else:
        rows = active_blocks(ctx.directory, netns=netns, gateway=not no_gateway)
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

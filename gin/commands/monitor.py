"""``gin monitor``: the SNMP agent, one-shot polls, Prometheus/Grafana generation, traps.

Thin: parse, call ``monitor``, print.  The threat sensor's ``sensor`` and ``respond``
groups live in gin.commands.sensor and are added here.
"""

from __future__ import annotations

import logging

import click

from devices.errors import ConfigError
from gin.commands import sensor
from gin.context import Context, pass_ctx
from gin.output import console, emit_rows, print_json

profiles_option = click.option(
    "--profiles", "profiles_path", envvar="GIN_SNMP_PROFILES", type=click.Path(dir_okay=False),
    help="SNMP profiles YAML (default: built-in v3 authPriv, keys from each device's "
         "credential reference). Env: GIN_SNMP_PROFILES.")


@click.group()
def monitor() -> None:
    """SNMP health to Prometheus: the agent, one-shot polls, scrape config, rules, dashboards.

    Devices, addresses, labels (agency, site) and credential references come from the
    directory; SNMP keys are resolved at poll time and never printed.
    """


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema check chatter


@monitor.command("agent")
@profiles_option
@click.option("--listen", default="127.0.0.1:9436", show_default=True, metavar="HOST:PORT",
              help="Address /metrics is served on.")
@click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between polls of each device.")
@click.option("--reload-interval", default=300.0, show_default=True,
              type=click.FloatRange(1, 86400),
              help="Seconds between target reloads from the directory (SIGHUP reloads now).")
@click.option("--concurrency", default=256, show_default=True, type=click.IntRange(1, 10000),
              help="Devices polled at the same time (per process).")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Poll worker processes (targets split between them; for hundreds of "
                   "devices or a busy host).")
@click.option("--traps", "traps_listen", metavar="HOST:PORT",
              help="Also receive SNMP traps/informs here (e.g. [::]:162).")
@click.option("--event-log", type=click.Path(dir_okay=False),
              help="Append one JSON line per received trap to this file.")
@click.option("--agency", "agencies", multiple=True, metavar="CODE",
              help="Poll only this agency's devices (repeatable; one agent per region).")
@click.option("--collector", "collectors", multiple=True, metavar="MODULE:FACTORY",
              help="Extra Prometheus collector factory to register (repeatable).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
@pass_ctx
def agent_cmd(ctx: Context, profiles_path: str | None, listen: str, interval: float,
              reload_interval: float, concurrency: int, processes: int,
              traps_listen: str | None,
              event_log: str | None, agencies: tuple[str, ...],
              collectors: tuple[str, ...], log_level: str) -> None:
    """Run the monitoring agent: poll every device, serve /metrics, until SIGTERM."""
    from monitor.agent import run_agent

    _setup_logging(log_level)
    run_agent(ctx.db, profiles_path, listen=_host_port(listen), interval=interval,
              reload_interval=reload_interval, concurrency=concurrency, processes=processes,
              agencies=set(agencies), collectors=collectors,
              traps_listen=_host_port(traps_listen) if traps_listen else None,
              event_log=event_log)


@monitor.command("poll")
@profiles_option
@click.option("--device", "devices", multiple=True, help="Only this device (repeatable).")
@click.option("--interfaces", is_flag=True, help="One row per interface instead of per device.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def poll_cmd(ctx: Context, profiles_path: str | None, devices: tuple[str, ...],
             interfaces: bool, as_json: bool) -> None:
    """Poll the directory's devices once and print what the agent would export.

    Exits 3 when any device could not be polled.
    """
    from monitor.poll import poll_directory, poll_rows

    results, skipped = poll_directory(ctx.directory, profiles_path, set(devices) or None)
    rows = poll_rows(results, interfaces)
    if as_json:
        print_json(rows if interfaces else {"devices": rows, "skipped": skipped})
    elif interfaces:
        emit_rows(rows, ["device", "ifindex", "ifname", "oper_status", "admin_status",
                         "in_octets", "out_octets", "in_errors", "out_errors", "speed_bps"],
                  False)
    else:
        emit_rows(rows, ["device", "agency", "site", "address", "version", "up", "reason",
                         "duration_s", "interfaces", "uptime_s"], False)
        for row in rows:
            if row["error"]:
                console.print(f"{row['device']}: {row['error']}", markup=False)
        for why in skipped:
            console.print(f"skipped {why}", markup=False)
    if any(not r.ok for r in results):
        raise click.exceptions.Exit(3)


@monitor.command("prometheus-config")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory to write prometheus.yml, file_sd/, rules/, alertmanager.yml.")
@click.option("--agent", "agents", multiple=True, metavar="NAME=HOST:PORT[@AGENCY,...]",
              help="A monitor agent and (optionally) the agencies it polls; repeatable. "
                   "Default: local=127.0.0.1:9436 for every agency.")
@click.option("--sensor-port", default=9437, show_default=True, type=click.IntRange(1, 65535),
              help="Port the threat sensors serve /metrics on (the directory's devices of "
                   "role sensor are scraped at their mgmt_address and this port).")
@click.option("--scrape-interval", default="30s", show_default=True,
              help="Prometheus scrape and rule evaluation interval.")
@click.option("--alertmanager", default="127.0.0.1:9093", show_default=True,
              metavar="HOST:PORT|none", help="Alertmanager to send alerts to.")
@click.option("--webhook", default="http://127.0.0.1:5001/gin", show_default=True,
              metavar="URL", help="Alertmanager's SOC webhook (critical alerts go to URL/page).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Run promtool check config / amtool check-config when installed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_ctx
def prometheus_config_cmd(ctx: Context, out_dir: str, agents: tuple[str, ...],
                          sensor_port: int, scrape_interval: str, alertmanager: str,
                          webhook: str, check: bool, as_json: bool) -> None:
    """Generate Prometheus scrape config (agents and threat sensors), rules and an
    Alertmanager example from the directory (rerun after directory changes: Prometheus
    re-reads file_sd by itself)."""
    from pathlib import Path

    from monitor.prometheus.config import generate, parse_agent

    try:
        specs = [parse_agent(a) for a in agents] or [parse_agent("local=127.0.0.1:9436")]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    done = generate(ctx.directory, Path(out_dir), specs, scrape_interval=scrape_interval,
                    alertmanager=None if alertmanager == "none" else alertmanager,
                    sensor_port=sensor_port, webhook=webhook, check=check)
    if as_json:
        print_json({"written": [str(p) for p in done.written], "devices": done.devices,
                    "sensors": done.sensors, "skipped": done.skipped, "checks": done.checks})
    else:
        for p in done.written:
            console.print(str(p), markup=False)
        console.print(f"{done.devices} devices over {len(specs)} agent(s), "
                      f"{len(done.sensors)} threat sensor(s)")
        for why in done.skipped:
            console.print(f"skipped {why}", markup=False)
        for c in done.checks:
            console.print(f"{c['tool']}: {'ok' if c['ok'] else 'FAILED'}", markup=False)
    failed = [c for c in done.checks if not c["ok"]]
    if failed:
        raise ConfigError(f"{failed[0]['tool']} rejected the generated file: "
                          f"{failed[0]['output'].splitlines()[-1:]}")


@monitor.command("traps")
@profiles_option
@click.option("--listen", default="127.0.0.1:9162", show_default=True, metavar="HOST:PORT",
              help="UDP address to receive on (162 needs root).")
@click.option("--event-log", type=click.Path(dir_okay=False),
              help="Also append the JSON lines to this file.")
@pass_ctx
def traps_cmd(ctx: Context, profiles_path: str | None, listen: str,
              event_log: str | None) -> None:
    """Receive SNMP traps/informs from the directory's devices and print one JSON line each
    (v2c communities and v3 users come from the devices' credentials), until Ctrl-C."""
    import sys

    from monitor.snmp.traps import events, receive

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    events.propagate = False
    _setup_logging("warning")
    receive(ctx.directory, profiles_path, _host_port(listen), event_log)


@monitor.command("dashboards")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for gin-overview.json, gin-agency.json, gin-vpn.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def dashboards_cmd(out_dir: str, as_json: bool) -> None:
    """Write the SOC's Grafana dashboards (import them; pick the Prometheus datasource)."""
    from pathlib import Path

    from monitor.prometheus.dashboards import write

    paths = write(Path(out_dir))
    if as_json:
        print_json({"written": [str(p) for p in paths]})
    else:
        for p in paths:
            console.print(str(p), markup=False)


for _group in (sensor.sensor, sensor.respond):
    monitor.add_command(_group)

"""``gin serve``: run the shared service (REST API over the directory) on uvicorn.

Plain HTTP is allowed on loopback only (a reverse proxy or a local test); anywhere else
tokens and passwords would cross the network in clear, so TLS is required.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

import click

from gin.context import Context, pass_ctx

if TYPE_CHECKING:
    from directory.store import Directory


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise click.BadParameter(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:8443 or "
                                 "[::1]:8443", param_hint="--listen")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), envvar="GIN_DATA_DIR",
    help="The team's one data directory (config backups and host files, web evidence, the "
         "VPN sealing key; the SQLite directory by default): give the service and its "
         "workers the same one. Default: the user's ~/.local/share/gin. Env: GIN_DATA_DIR.")


def use_data_dir(data_dir: str | None) -> None:
    """Make ``--data-dir`` this process's (and its children's) data directory."""
    if data_dir:
        from directory.db import set_data_dir

        try:
            set_data_dir(data_dir)
        except OSError as exc:
            raise click.BadParameter(f"{data_dir}: {exc.strerror}",
                                     param_hint="--data-dir") from None


@click.command("serve")
@click.option("--listen", default=["127.0.0.1:8443"], show_default=True, metavar="HOST:PORT",
              multiple=True,
              help="Address and port to serve on ([::1]:8443 for IPv6); repeat it to serve on "
                   "several, e.g. 127.0.0.1:8443 and [::1]:8443 (one worker then).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False),
              help="PEM certificate (chain) for HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False),
              help="PEM private key of --tls-cert.")
@click.option("--ldap-config", type=click.Path(exists=True, dir_okay=False),
              help="YAML file of NetBox-style AUTH_LDAP_* settings: log users in against LDAP, "
                   "roles from their groups (see the README).")
@click.option("--gsi-netns", metavar="NS",
              help="GSI blocks: run nft inside this network namespace (default: this host).")
@click.option("--gsi-gateway/--no-gsi-gateway", default=True, show_default=True,
              help="GSI blocks: enforce them with nftables on the gateway.")
@click.option("--gsi-routers-via", default="netmiko", show_default=True,
              help="GSI blocks: transport to the edge routers ('none': not the routers).")
@click.option("--prometheus", metavar="URL",
              help="The console's live state (links, tunnels, threat events) from this "
                   "Prometheus, e.g. http://127.0.0.1:9090.")
@click.option("--alertmanager", metavar="URL",
              help="The SOC board's firing alerts from this Alertmanager, e.g. "
                   "http://127.0.0.1:9093.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info"]),
              default="info", show_default=True)
@data_dir_option
@click.option("--jobs", "job_runner", type=click.Choice(["in-process", "procrastinate"]),
              help="Who runs long operations (provision, deploy, backup, audit, web scan): "
                   "procrastinate = `gin worker` processes (default on PostgreSQL), "
                   "in-process = this process (default on SQLite).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (one per CPU core is a good start; the directory must be "
                   "PostgreSQL: SQLite allows one writer).")
@pass_ctx
def serve(ctx: Context, listen: tuple[str, ...], tls_cert: str | None, tls_key: str | None,
          ldap_config: str | None, gsi_netns: str | None, gsi_gateway: bool,
          gsi_routers_via: str, prometheus: str | None, alertmanager: str | None,
          log_level: str, data_dir: str | None, job_runner: str | None, workers: int) -> None:
    """Serve the directory's API to the whole GIN team (users and tokens: gin user --help)."""
    addresses = [parse_listen(text) for text in listen]
    host, port = addresses[0]
    use_data_dir(data_dir)
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    for where, _ in addresses:
        if not tls_cert and not is_loopback(where):
            raise click.UsageError(f"serving on {where} without TLS would send tokens in clear: "
                                   "give --tls-cert and --tls-key (plain HTTP is for loopback "
                                   "only)")
    for name, url in (("--prometheus", prometheus), ("--alertmanager", alertmanager)):
        if url and not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{url!r}: expected an http:// or https:// URL, e.g. "
                                     "http://127.0.0.1:9090", param_hint=name)
    if len(addresses) > 1 and workers > 1:
        raise click.UsageError("several --listen addresses are served by one worker: give one "
                               "--listen with --workers, or drop --workers")
    if ldap_config:
        from gin.server.ldap import LdapConfigError, load_config

        try:
            load_config(ldap_config)
        except LdapConfigError as exc:
            raise click.UsageError(str(exc)) from None
    settings = {"db": ctx.db, "actor": ctx.actor, "ldap_config": ldap_config,
                "gsi_gateway": gsi_gateway, "gsi_netns": gsi_netns,
                "gsi_routers_via": None if gsi_routers_via == "none" else gsi_routers_via,
                "prometheus": prometheus, "alertmanager": alertmanager, "jobs": job_runner}
    if workers > 1 and ctx.directory.engine.dialect.name == "sqlite":
        raise click.UsageError("--workers above 1 needs a PostgreSQL directory (--db / GIN_DB): "
                               "SQLite takes one writer at a time")
    if workers > 1:
        ctx.directory.close()  # each worker opens its own
    import uvicorn

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    common = {"host": host, "port": port, "ssl_certfile": tls_cert, "ssl_keyfile": tls_key,
              "ssl_ciphers": TLS12_CIPHERS, "log_level": log_level, "server_header": False,
              "proxy_headers": False}
    if workers == 1:
        app = settled(build_app(settings, ctx.directory))
        try:
            if len(addresses) > 1:
                config = uvicorn.Config(app, **common)
                uvicorn.Server(config).run(sockets=[bound(where, at) for where, at in addresses])
            else:
                uvicorn.run(app, **common)
        finally:
            app.state.runner.close()
        return
    # Each worker process builds its own app (and database pool) from the settings.
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, **common)


SETTINGS_ENV = "GIN_SERVE_SETTINGS"
#: TLS 1.2 suites offered (1.3's are all AEAD): forward secret and AEAD only.  uvicorn's
#: default ("TLSv1") also offers CBC suites, which ``gin audit web`` rightly fails.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def bound(host: str, port: int) -> socket.socket:
    """A listening socket on one address (IPv6 sockets only IPv6: no surprise dual stack)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.UsageError(f"--listen {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def build_app(settings: dict[str, Any], directory: Directory | None = None) -> Any:
    """The service app for ``settings`` (what ``gin serve`` was given)."""
    from devices.errors import GinError
    from directory.store import Directory
    from gin.server.app import create_app
    from gin.server.jobs_runner import make_runner
    from gin.server.ldap import load_config
    from gin.server.routes.gsi import GsiSettings
    from gin.server.snapshots import WhoisCache
    from gin.server.web.telemetry import Telemetry

    directory = directory or Directory(settings["db"], settings["actor"])
    app = create_app(directory)
    app.state.whois = WhoisCache()
    app.state.whois.warm(directory)  # before serving: the first whois need not wait for it
    app.state.ldap = load_config(settings["ldap_config"]) if settings["ldap_config"] else None
    app.state.gsi = GsiSettings(gateway=settings["gsi_gateway"], netns=settings["gsi_netns"],
                                routers_via=settings["gsi_routers_via"])
    app.state.telemetry = Telemetry(prometheus=settings["prometheus"],
                                    alertmanager=settings["alertmanager"])
    try:  # a worker process of --workers keeps its runner until the process ends
        app.state.runner = make_runner(directory, settings["jobs"])
    except GinError as exc:
        raise click.UsageError(str(exc)) from None
    return app


def app_from_environment() -> Any:
    """uvicorn's factory in each ``--workers`` process."""
    return settled(build_app(json.loads(os.environ[SETTINGS_ENV])))


def settled(app: Any) -> Any:
    """``app`` with everything built so far (modules, routes, the whois snapshot) moved out
    of the garbage collector's sight: under load, requests in flight get promoted to the
    oldest generation, whose collections then walked the whole heap about every two seconds,
    pausing the process for 40-270 ms (every request waiting then: the p99).  Frozen
    objects are still freed when unreferenced; only the cyclic collector skips them."""
    gc.collect()
    gc.freeze()
    return app

"""``gin serve``: run the shared service (REST API over the directory) on uvicorn.

Plain HTTP is allowed on loopback only (a reverse proxy or a local test); anywhere else
tokens and passwords would cross the network in clear, so TLS is required.
"""

from __future__ import annotations

import ipaddress

import click

from gin.context import Context, pass_ctx


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
@click.option("--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT",
              help="Address and port to serve on ([::1]:8443 for IPv6).")
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
@pass_ctx
def serve(ctx: Context, listen: str, tls_cert: str | None, tls_key: str | None,
          ldap_config: str | None, gsi_netns: str | None, gsi_gateway: bool,
          gsi_routers_via: str, prometheus: str | None, alertmanager: str | None,
          log_level: str, data_dir: str | None, job_runner: str | None) -> None:
    """Serve the directory's API to the whole GIN team (users and tokens: gin user --help)."""
    host, port = parse_listen(listen)
    use_data_dir(data_dir)
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    if not tls_cert and not is_loopback(host):
        raise click.UsageError(f"serving on {host} without TLS would send tokens in clear: "
                               "give --tls-cert and --tls-key (plain HTTP is for loopback only)")
    for name, url in (("--prometheus", prometheus), ("--alertmanager", alertmanager)):
        if url and not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{url!r}: expected an http:// or https:// URL, e.g. "
                                     "http://127.0.0.1:9090", param_hint=name)
    ldap = None
    if ldap_config:
        from gin.server.ldap import LdapConfigError, load_config

        try:
            ldap = load_config(ldap_config)
        except LdapConfigError as exc:
            raise click.UsageError(str(exc)) from None
    import logging

    import uvicorn

    from gin.server.app import create_app
    from gin.server.routes.gsi import GsiSettings
    from gin.server.web.telemetry import Telemetry

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from devices.errors import GinError
    from gin.server.jobs_runner import make_runner

    app = create_app(ctx.directory)
    app.state.ldap = ldap
    app.state.gsi = GsiSettings(gateway=gsi_gateway, netns=gsi_netns,
                                routers_via=None if gsi_routers_via == "none" else gsi_routers_via)
    app.state.telemetry = Telemetry(prometheus=prometheus, alertmanager=alertmanager)
    try:
        app.state.runner = make_runner(ctx.directory, job_runner)
    except GinError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        uvicorn.run(app, host=host, port=port, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                    log_level=log_level, server_header=False, proxy_headers=False)
    finally:
        app.state.runner.close()

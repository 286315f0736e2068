"""``gin lab``: a real GIN in network namespaces — thin: parse, call gin.lab, print."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gin import lab as labapi
from gin.output import console, err_console, print_json

name_option = click.option("--name", default=labapi.DEFAULT_NAME, show_default=True,
                           envvar="GIN_LAB_NAME",
                           help="Lab name (1-8 chars a-z0-9): prefixes namespaces and "
                                "interfaces, so labs side by side never collide.")
state_option = click.option("--state-dir", type=click.Path(file_okay=False),
                            envvar="GIN_LAB_STATE_DIR",
                            help="Base directory for lab state (default /var/lib/gin/lab).")


@click.group()
def lab() -> None:
    """Real FRR routers in Linux network namespaces, reachable over SSH and SNMPv3.

    Needs root and the Debian packages frr, openssh-server, snmpd (preflight says what
    is missing).
    """


@contextmanager
def _spinner(text: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on a TTY (bring-up of 50 routers takes ~10 s); silent otherwise."""
    if quiet or not err_console.is_terminal:
        yield
        return
    with err_console.status(text):
        yield


def _register(state: labapi.LabState) -> str | None:
    """Record the lab's devices in the directory, if the directory package is usable."""
    from gin.context import Context
    from gin.lab.register import register

    ctx = click.get_current_context().find_object(Context)
    if ctx is None:  # run outside the `gin` root (no directory configured)
        return None
    register(state, ctx.directory)
    return "registered in the directory"


@lab.command("up")
@click.argument("topology", required=False, type=click.Path(dir_okay=False))
@name_option
@state_option
@click.option("--no-clean", is_flag=True,
              help="Refuse (instead of cleaning up) when a lab of this name was left behind.")
@click.option("--no-register", is_flag=True, help="Do not record the lab in the directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the lab status as JSON.")
def up(topology: str | None, name: str, state_dir: str | None, no_clean: bool,
       no_register: bool, as_json: bool) -> None:
    """Bring a lab up from TOPOLOGY (default: 2 core PEs, 3 agency CEs with LAN hosts)."""
    with _spinner(f"bringing lab {name} up", quiet=as_json):
        state = labapi.up(topology, name=name, state_dir=state_dir, clean=not no_clean)
    try:
        note = None if no_register else _register(state)
    except Exception:  # e.g. a real device of the same name: leave nothing half-made
        labapi.down(name, state_dir)
        raise
    if as_json:
        print_json(labapi.status(name, state_dir, bgp=False))
        return
    routers = len(state.routers)
    console.print(f"lab [bold]{name}[/] up: {routers} routers, {len(state.nodes) - routers} "
                  f"hosts, state in {state.dir}" + (f"; {note}" if note else ""))
    console.print(f"credentials: {state.credentials_ref}")
    console.print(f"see `gin lab status --name {name}`; stop with `gin lab down --name {name}`")


def _daemons(entry: dict[str, Any]) -> str:
    daemons = entry["daemons"]
    if not daemons:
        return "-"
    dead = [d for d, alive in daemons.items() if not alive]
    return "all up" if not dead else "DOWN: " + ",".join(dead)


@lab.command("status")
@name_option
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(name: str, state_dir: str | None, as_json: bool) -> None:
    """Per node: namespace, daemons, SSH port, management address, BGP (PEs)."""
    data = labapi.status(name, state_dir)
    if as_json:
        print_json(data)
        return
    from rich.table import Table

    health = "[green]healthy[/]" if data["healthy"] else "[red]degraded[/]"
    table = Table(title=f"lab {name} ({data['status']}, {health}) mgmt {data['mgmt_prefix']}")
    columns = ("node", "role", "agency", "namespace", "daemons", "ssh port", "mgmt address", "bgp")
    for col in columns:
        table.add_column(col)
    for n in data["nodes"]:
        states = list(n.get("bgp", {}).values())
        up_count = states.count("Established")
        bgp = f"{up_count}/{len(states)} established" if states else ""
        table.add_row(n["name"], n["role"], n["agency"],
                      n["netns"] if n["netns_present"] else f"[red]{n['netns']} missing[/]",
                      _daemons(n), str(n["ssh_port"] or "-"),
                      n["mgmt_address"] or "-", bgp or "-")
    console.print(table)


@lab.command("down")
@name_option
@state_option
def down(name: str, state_dir: str | None) -> None:
    """Stop every daemon and remove every namespace, link and file of the lab."""
    with _spinner(f"tearing lab {name} down"):
        removed = labapi.down(name, state_dir)
    console.print(f"lab {name}: " + ("removed " + str(len(removed)) + " item(s)"
                                     if removed else "nothing to remove"))


@lab.command("exec", context_settings={"ignore_unknown_options": True})
@name_option
@state_option
@click.argument("node")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(name: str, state_dir: str | None, node: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside NODE's namespace (`vtysh ...` talks to the router's FRR)."""
    proc = labapi.exec_node(node, list(command), name=name, state_dir=state_dir)
    if proc.returncode:
        click.get_current_context().exit(proc.returncode)

"""FRR per router: render configs from templates, start and wait for the daemons.

Each router has its own directory (etc/, run/, log/) and its daemons run inside the
router's namespace with their own UTS namespace (FRR 8.4's `hostname` command does not
reach the daemons, the kernel hostname does). Paths follow LAB-NOTES.md.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gin.lab.errors import LabError
from gin.lab.proc import run, wait_pidfile
from gin.lab.render import render
from gin.lab.state import FRR_DAEMONS, LabState, NodeState

FRR_BIN = Path("/usr/lib/frr")
LIMIT_FDS = "1024"  # FRR sizes per-fd tables by `ulimit -n`; 1024 keeps RSS small


def render_node(state: LabState, node: NodeState) -> dict[str, str]:
    """File name -> text of every FRR config file of a router (pure, no I/O)."""
    interfaces = []
    if node.mgmt_ifname:
        interfaces.append({"name": node.mgmt_ifname, "address": None,
                           "description": "oob-management (gin lab)"})
    for iface in node.interfaces:
        interfaces.append({"name": iface.name, "address": iface.address,
                           "description": f"to {iface.peer_node} {iface.peer_ifname}"})
    core = [i for i in node.interfaces if i.core]
    peers = []
    if node.role == "pe":
        for other in state.routers:
            if other.role == "pe" and other.name != node.name and other.asn == node.asn:
                addr = str(ipaddress.IPv6Interface(other.loopback).ip)
                peers.append({"name": other.name, "address": addr})
    ctx = {"node": node, "interfaces": interfaces, "core_interfaces": core,
           "ibgp_peers": peers}
    files = {f"{d}.conf": render(f"{d}.conf.j2", **ctx) for d in FRR_DAEMONS}
    files["vtysh.conf"] = render("vtysh.conf.j2", **ctx)
    return files


def write_configs(state: LabState, node: NodeState) -> None:
    """Create the router's FRR directories and config files, owned as FRR needs."""
    uid, gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    vty_gid = grp.getgrnam("frrvty").gr_gid
    base = Path(node.dir)
    for sub, group, mode in (("etc", gid, 0o755), ("run", vty_gid, 0o775), ("log", gid, 0o755)):
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, group)
        os.chmod(path, mode)
    os.chmod(base, 0o755)
    for name, text in render_node(state, node).items():
        path = node.etc_dir / name
        path.write_text(text)
        os.chown(path, uid, gid)
        os.chmod(path, 0o640 if name != "vtysh.conf" else 0o644)


def in_namespace(node: NodeState, argv: list[str]) -> list[str]:
    """Wrap argv to run inside the node's namespace with its own hostname."""
    return ["ip", "netns", "exec", node.netns, "unshare", "--uts", "sh", "-c",
            'hostname "$0" && exec "$@"', node.name, *argv]


def daemon_argv(node: NodeState, daemon: str) -> list[str]:
    """Command line of one FRR daemon of a router (daemonizes; pidfile in run/)."""
    run_dir, etc, log = node.run_dir, node.etc_dir, Path(node.dir) / "log"
    return [str(FRR_BIN / daemon), "-d", "-f", str(etc / f"{daemon}.conf"),
            "-i", str(run_dir / f"{daemon}.pid"), "-z", str(run_dir / "zserv.api"),
            "--vty_socket", str(run_dir), "-P", "0", "-u", "frr", "-g", "frr",
            "--limit-fds", LIMIT_FDS, "--log", f"file:{log / daemon}.log"]


def start_daemon(node: NodeState, daemon: str) -> None:
    """Start one daemon; FRR's `-d` returns once the daemon is initialised."""
    run(in_namespace(node, daemon_argv(node, daemon)), timeout=30,
        what=f"start {daemon} on {node.name}")
    wait_pidfile(node.run_dir / f"{daemon}.pid", f"{daemon} on {node.name}",
                 f"{node.dir}/log/{daemon}.log")


def wait_zebra(node: NodeState, timeout: float = 20) -> None:
    """Wait until zebra's zserv socket exists (other daemons connect to it)."""
    sock = node.run_dir / "zserv.api"
    deadline = time.monotonic() + timeout
    while not sock.exists():
        if time.monotonic() > deadline:
            raise LabError(f"zebra on {node.name} did not open {sock} within {timeout:.0f}s; "
                           f"see {node.dir}/log/zebra.log")
        time.sleep(0.05)


def start_all(state: LabState, pool: ThreadPoolExecutor) -> None:
    """Start every router's daemons: all zebras first, then the rest in parallel."""
    routers = state.routers
    list(pool.map(lambda n: start_daemon(n, "zebra"), routers))
    list(pool.map(wait_zebra, routers))
    jobs = [(n, d) for n in routers for d in FRR_DAEMONS if d != "zebra"]
    list(pool.map(lambda job: start_daemon(*job), jobs))


def vtysh(node: NodeState, *commands: str, timeout: float = 30) -> str:
    """Run vtysh commands against a router (from the root namespace) and return stdout."""
    argv = node.vtysh_argv()
    for cmd in commands:
        argv += ["-c", cmd]
    return run(argv, timeout=timeout, what=f"vtysh on {node.name}").stdout

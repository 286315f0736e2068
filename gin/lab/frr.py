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
import shlex
from collections.abc import Sequence
from pathlib import Path

from gin.lab.errors import LabError
from gin.lab.proc import run, wait_pidfile
from gin.lab.render import render
from gin.lab.snmpd import frr_snmp_available, subagent_env
from gin.lab.state import FRR_DAEMONS, LabState, NodeState

FRR_BIN = Path("/usr/lib/frr")
LIMIT_FDS = "1024"  # FRR sizes per-fd tables by `ulimit -n`; 1024 keeps RSS small


CORE_V4 = ipaddress.IPv4Network("10.254.0.0/16")  # one /31 per PE-PE core link


def core_v4(state: LabState) -> dict[tuple[str, str], ipaddress.IPv4Interface]:
    """(node, ifname) -> IPv4 /31 of each end of a core link.

    Why IPv4 in an IPv6 core: FRR 8.4's BGP4-MIB (the only BGP MIB it serves over
    AgentX; BGP4V2-MIB came in 8.5) lists IPv4 peers only, so an IPv4 iBGP session
    beside the IPv6 one lets the SOC's SNMP poller see a PE session's real state.
    """
    links = sorted({tuple(sorted(((n.name, i.name), (i.peer_node, i.peer_ifname))))
                    for n in state.routers for i in n.interfaces if i.core})
    out = {}
    for k, (a, b) in enumerate(links):
        base = CORE_V4.network_address + 2 * k
        out[a] = ipaddress.IPv4Interface(f"{base}/31")
        out[b] = ipaddress.IPv4Interface(f"{base + 1}/31")
    return out


def render_node(state: LabState, node: NodeState) -> dict[str, str]:
    """File name -> text of every FRR config file of a router (pure, no I/O)."""
    v4 = core_v4(state)
    interfaces = []
    if node.mgmt_ifname:
        interfaces.append({"name": node.mgmt_ifname, "address": None, "address_v4": None,
                           "description": "oob-management (gin lab)"})
    for iface in node.interfaces:
        v4_addr = v4.get((node.name, iface.name))
        interfaces.append({"name": iface.name, "address": iface.address,
                           "address_v4": str(v4_addr) if v4_addr else None,
                           "description": f"to {iface.peer_node} {iface.peer_ifname}"})
    core = [i for i in node.interfaces if i.core]
    peers, peers_v4 = [], []
    if node.role == "pe":
        asn = {n.name: n.asn for n in state.routers if n.role == "pe"}
        for other in state.routers:
            if other.role == "pe" and other.name != node.name and other.asn == node.asn:
                addr = str(ipaddress.IPv6Interface(other.loopback).ip)
                peers.append({"name": other.name, "address": addr})
        for iface in core:
            far = v4.get((iface.peer_node, iface.peer_ifname))
            if far and asn.get(iface.peer_node) == node.asn:
                peers_v4.append({"name": iface.peer_node, "address": str(far.ip)})
    ctx = {"node": node, "interfaces": interfaces, "core_interfaces": core,
           "ibgp_peers": peers, "ibgp_peers_v4": peers_v4, "agentx": frr_snmp_available()}
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
    # bgpd serves BGP4-MIB over AgentX to the router's snmpd (see gin.lab.snmpd)
    module = ["-M", "snmp"] if daemon == "bgpd" and frr_snmp_available() else []
    return [str(FRR_BIN / daemon), "-d", "-f", str(etc / f"{daemon}.conf"),
            "-i", str(run_dir / f"{daemon}.pid"), "-z", str(run_dir / "zserv.api"),
            "--vty_socket", str(run_dir), "-P", "0", "-u", "frr", "-g", "frr",
            "--limit-fds", LIMIT_FDS, "--log", f"file:{log / daemon}.log", *module]


def router_script(node: NodeState, extra: Sequence[list[str]] = ()) -> str:
    """Shell script run once per router inside its namespace: hostname, zebra, wait, the rest.

    One `ip netns exec` + `unshare` per router instead of one per daemon: on 2 cores the
    wrappers cost as much as the daemons' own start-up. staticd, bgpd and ospf6d start
    side by side once zebra's socket exists; `extra` commands (snmpd) follow. The exit
    status names the step that failed (see STEP_EXIT).
    """
    sock = shlex.quote(str(node.run_dir / "zserv.api"))
    lines = ['hostname "$0" || exit 9',
             shlex.join(daemon_argv(node, "zebra")) + " || exit 10",
             "n=0",
             f"while [ ! -S {sock} ]; do n=$((n+1)); [ $n -gt 400 ] && exit 11; sleep 0.05; done"]
    others = [d for d in FRR_DAEMONS if d != "zebra"]
    for i, daemon in enumerate(others):
        lines.append(f"{shlex.join(daemon_argv(node, daemon))} & p{i}=$!")
    for i in range(len(others)):
        lines.append(f"wait $p{i} || exit {12 + i}")
    for i, argv in enumerate(extra):
        lines.append(f"{shlex.join(argv)} || exit {20 + i}")
    return "\n".join(lines) + "\n"


STEP_EXIT = {9: "hostname", 10: "zebra", 11: "zebra socket", 12: "staticd", 13: "bgpd",
             14: "ospf6d", 20: "snmpd"}


def start_router(node: NodeState, extra: Sequence[list[str]] = ()) -> None:
    """Start a router's FRR daemons (and `extra` commands) in its namespace; wait for pidfiles."""
    argv = ["ip", "netns", "exec", node.netns, "env", *subagent_env(node), "unshare", "--uts",
            "sh", "-c", router_script(node, extra), node.name]
    proc = run(argv, timeout=60, check=False)
    if proc.returncode != 0:
        step = STEP_EXIT.get(proc.returncode, f"exit {proc.returncode}")
        detail = " ".join((proc.stderr or "").split())[-200:]  # one line, whatever FRR said
        raise LabError(f"starting {step} on router {node.name} failed; see {node.dir}/log/ "
                       f"({detail})")
    for daemon in FRR_DAEMONS:
        wait_pidfile(node.run_dir / f"{daemon}.pid", f"{daemon} on {node.name}",
                     f"{node.dir}/log/{daemon}.log")


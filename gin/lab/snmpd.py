"""net-snmp snmpd inside each router's namespace, so IF-MIB is the router's real interfaces.

It listens on the router's management address (udp6:[addr]:161), reached from the
root namespace over the lab bridge; SNMPv3 authPriv (SHA/AES) user from the lab's
credentials.

It is also each router's AgentX master: FRR's bgpd, started with ``-M snmp`` (Debian
``frr-snmp``), serves BGP4-MIB through it, so the SOC sees BGP session state over the same
SNMPv3 agent.  Several routers run side by side, so each has its own AgentX socket
(``run/agentx.sock``); FRR's net-snmp subagent reads ``frr.conf`` from ``SNMPCONFPATH``
(``etc/snmp/``), where :func:`write_subagent_config` names that socket.  Without
``frr-snmp`` installed the lab runs as before, only without the BGP MIB.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
from functools import cache
from pathlib import Path

from gin.lab.proc import wait_pidfile
from gin.lab.render import render
from gin.lab.state import LabState, NodeState

SNMPD = "/usr/sbin/snmpd"
#: FRR's module directory is per architecture (e.g. /usr/lib/x86_64-linux-gnu/frr/modules)
BGPD_SNMP_GLOB = "/usr/lib/*/frr/modules/bgpd_snmp.so"


@cache
def frr_snmp_available() -> bool:
    """Is FRR's AgentX module for bgpd (Debian frr-snmp) installed?"""
    return bool(glob.glob(BGPD_SNMP_GLOB))


def agentx_socket(node: NodeState) -> Path | None:
    """The router's AgentX socket, or None when bgpd cannot serve SNMP here."""
    return node.run_dir / "agentx.sock" if frr_snmp_available() else None


def subagent_env(node: NodeState) -> list[str]:
    """``VAR=value`` words pointing FRR's net-snmp subagent at this router's own files
    (config naming the AgentX socket; persistent state not in the shared /var/lib/snmp)."""
    base = Path(node.dir)
    return ["MIBS=", f"SNMPCONFPATH={node.etc_dir / 'snmp'}",
            f"SNMP_PERSISTENT_DIR={base / 'snmp-frr'}"]


def write_subagent_config(node: NodeState) -> None:
    """etc/snmp/frr.conf for bgpd's AgentX subagent, owned by frr (it reads it after
    dropping root).  The ping interval makes bgpd reconnect when snmpd starts after it (the
    launcher starts snmpd last) or restarts."""
    sock = agentx_socket(node)
    if sock is None:
        return
    uid, gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    base = Path(node.dir)
    for path in (node.etc_dir / "snmp", base / "snmp-frr"):
        path.mkdir(mode=0o755, exist_ok=True)
        os.chown(path, uid, gid)
    conf = node.etc_dir / "snmp" / "frr.conf"
    conf.write_text(f"agentXSocket unix:{sock}\nagentXPingInterval 1\n")
    os.chown(conf, uid, gid)


def render_config(state: LabState, node: NodeState, snmp: dict[str, str]) -> str:
    """snmpd.conf text for a router (pure; contains secrets, so written 0600)."""
    sock = agentx_socket(node)
    return render("snmpd.conf.j2", node=node, snmp=snmp, lab=state.name,
                  persistent_dir=str(Path(node.dir) / "snmp"),
                  agentx_socket=str(sock) if sock else None)


def write_config(state: LabState, node: NodeState, snmp: dict[str, str]) -> None:
    """Write snmpd.conf (mode 0600: it holds the SNMPv3 passphrases) and its state dir."""
    base = Path(node.dir)
    (base / "snmp").mkdir(mode=0o700, exist_ok=True)
    fd = os.open(base / "snmpd.conf", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(render_config(state, node, snmp))
    write_subagent_config(node)


def argv(node: NodeState) -> list[str]:
    """snmpd command line, to run inside the router's namespace (daemonizes, pidfile in run/)."""
    base = Path(node.dir)
    return ["env", "MIBS=", SNMPD, "-C", "-c", str(base / "snmpd.conf"),
            "-p", str(node.run_dir / "snmpd.pid"), "-Lf", str(base / "log" / "snmpd.log")]


def wait_ready(node: NodeState) -> None:
    """Wait for snmpd's pidfile (written after it bound udp6:[mgmt]:161)."""
    wait_pidfile(node.run_dir / "snmpd.pid", f"snmpd on {node.name}",
                 f"{node.dir}/log/snmpd.log")

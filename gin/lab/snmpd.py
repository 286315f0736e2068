"""net-snmp snmpd inside each router's namespace, so IF-MIB is the router's real interfaces.

It listens on the router's management address (udp6:[addr]:161), reached from the
root namespace over the lab bridge; SNMPv3 authPriv (SHA/AES) user from the lab's
credentials.
"""

from __future__ import annotations

import os
from pathlib import Path

from gin.lab.proc import wait_pidfile
from gin.lab.render import render
from gin.lab.state import LabState, NodeState

SNMPD = "/usr/sbin/snmpd"


def render_config(state: LabState, node: NodeState, snmp: dict[str, str]) -> str:
    """snmpd.conf text for a router (pure; contains secrets, so written 0600)."""
    return render("snmpd.conf.j2", node=node, snmp=snmp, lab=state.name,
                  persistent_dir=str(Path(node.dir) / "snmp"))


def write_config(state: LabState, node: NodeState, snmp: dict[str, str]) -> None:
    """Write snmpd.conf (mode 0600: it holds the SNMPv3 passphrases) and its state dir."""
    base = Path(node.dir)
    (base / "snmp").mkdir(mode=0o700, exist_ok=True)
    fd = os.open(base / "snmpd.conf", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(render_config(state, node, snmp))


def argv(node: NodeState) -> list[str]:
    """snmpd command line, to run inside the router's namespace (daemonizes, pidfile in run/)."""
    base = Path(node.dir)
    return ["env", "MIBS=", SNMPD, "-C", "-c", str(base / "snmpd.conf"),
            "-p", str(node.run_dir / "snmpd.pid"), "-Lf", str(base / "log" / "snmpd.log")]


def wait_ready(node: NodeState) -> None:
    """Wait for snmpd's pidfile (written after it bound udp6:[mgmt]:161)."""
    wait_pidfile(node.run_dir / "snmpd.pid", f"snmpd on {node.name}",
                 f"{node.dir}/log/snmpd.log")

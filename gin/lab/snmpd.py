"""net-snmp snmpd inside each router's namespace, so IF-MIB is the router's real interfaces.

It listens on the router's management address (udp6:[addr]:161), reached from the
root namespace over the lab bridge; SNMPv3 authPriv (SHA/AES) user from the lab's
credentials.
"""

from __future__ import annotations

import os
from pathlib import Path

from gin.lab import frr
from gin.lab.proc import run, wait_pidfile
from gin.lab.render import render
from gin.lab.state import LabState, NodeState

SNMPD = "/usr/sbin/snmpd"


def render_config(state: LabState, node: NodeState, snmp: dict[str, str]) -> str:
    """snmpd.conf text for a router (pure; contains secrets, so written 0600)."""
    return render("snmpd.conf.j2", node=node, snmp=snmp, lab=state.name,
                  persistent_dir=str(Path(node.dir) / "snmp"))


def start(state: LabState, node: NodeState, snmp: dict[str, str]) -> None:
    """Write config and start snmpd in the namespace (daemonizes, pidfile in run/)."""
    base = Path(node.dir)
    (base / "snmp").mkdir(mode=0o700, exist_ok=True)
    conf = base / "snmpd.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(render_config(state, node, snmp))
    pidfile = node.run_dir / "snmpd.pid"
    argv = ["env", "MIBS=", SNMPD, "-C", "-c", str(conf), "-p", str(pidfile),
            "-Lf", str(base / "log" / "snmpd.log")]
    run(frr.in_namespace(node, argv), timeout=20, what=f"start snmpd on {node.name}")
    wait_pidfile(pidfile, f"snmpd on {node.name}", f"{base}/log/snmpd.log")

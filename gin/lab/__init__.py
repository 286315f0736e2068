"""`gin lab`: a real GIN in Linux network namespaces (FRR routers, sshd, snmpd).

Public API (everything importable without root; running needs root + Debian packages):

- `up(topology=None, name="gin", state_dir=None, clean=True) -> LabState`
- `down(name="gin", state_dir=None) -> list[str]`
- `status(name="gin", state_dir=None) -> dict`
- `exec_node(node, argv, name="gin", state_dir=None, capture=False)`
- `load_state(name, state_dir) -> LabState | None`, `load_topology(path)`,
  `generate_topology(routers)`
- `wait_bgp_established(state, node, timeout=30)`; `LabState.vtysh(node, *cmds)`,
  `LabState.exec(node, argv)`, `LabState.netmiko_params(node)`, `LabState.credentials()`
- `LabError` (exit_code 3), `TopologyError` (exit_code 1)
"""

from gin.lab.errors import LabError, LabNotFound, TopologyError
from gin.lab.lab import (
    DEFAULT_NAME,
    down,
    exec_node,
    healthy,
    leftovers,
    status,
    up,
    wait_bgp_established,
)
from gin.lab.state import LabState, NodeState, load_state, require_state
from gin.lab.topology import Topology, generate_topology, load_topology, parse_topology

__all__ = [
    "DEFAULT_NAME", "LabError", "LabNotFound", "LabState", "NodeState", "Topology",
    "TopologyError", "down", "exec_node", "generate_topology", "healthy", "leftovers",
    "load_state", "load_topology", "parse_topology", "require_state", "status", "up",
    "wait_bgp_established",
]

"""The lab's state file: what `up` made, so `status`, `exec`, `down` and tests can find it.

Written before anything is created (status "starting") and rewritten when the lab is
up, so a crash half-way through still leaves enough behind for `down` to clean up.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gin.lab.errors import LabError, LabNotFound
from gin.lab.proc import run

DEFAULT_STATE_BASE = Path(os.environ.get("GIN_LAB_STATE_DIR", "/var/lib/gin/lab"))
STATE_FILE = "state.json"
FRR_DAEMONS = ("zebra", "staticd", "bgpd", "ospf6d")


@dataclass
class InterfaceState:
    """One interface of a node, and what is at the other end of its cable."""

    name: str
    port: int
    peer_node: str
    peer_ifname: str
    address: str | None = None
    core: bool = False


@dataclass
class NodeState:
    """A node as built: namespace, directories, ports, addresses."""

    name: str
    role: str
    index: int
    netns: str
    agency_code: str
    agency_name: str
    site: str
    dir: str
    asn: int | None = None
    router_id: str | None = None
    loopback: str | None = None
    address: str | None = None
    gateway: str | None = None
    mgmt_ifname: str | None = None
    mgmt_address: str | None = None
    ssh_port: int | None = None
    interfaces: list[InterfaceState] = field(default_factory=list)

    @property
    def is_router(self) -> bool:
        return self.role in ("pe", "ce")

    @property
    def run_dir(self) -> Path:
        return Path(self.dir) / "run"

    @property
    def etc_dir(self) -> Path:
        return Path(self.dir) / "etc"

    def pidfiles(self) -> dict[str, Path]:
        """Daemon name -> pidfile, for every daemon a router runs."""
        if self.role == "gw":  # VPN gateway: strongSwan (wireguard-go starts at deploy)
            return {"charon": self.run_dir / "charon.pid"}
        if not self.is_router:
            return {}
        files = {d: self.run_dir / f"{d}.pid" for d in FRR_DAEMONS}
        files["sshd"] = self.run_dir / "sshd.pid"
        files["snmpd"] = self.run_dir / "snmpd.pid"
        return files

    def vtysh_argv(self) -> list[str]:
        """vtysh talking to this router's daemons (works from the root namespace)."""
        return ["vtysh", "--vty_socket", str(self.run_dir), "--config_dir", str(self.etc_dir)]

    def vtysh(self, *commands: str, timeout: float = 30) -> str:
        """Run vtysh commands against this router (from the root namespace); its stdout."""
        argv = self.vtysh_argv()
        for cmd in commands:
            argv += ["-c", cmd]
        return run(argv, timeout=timeout, what=f"vtysh on {self.name}").stdout


@dataclass
class LabState:
    """Everything about one running (or half-built) lab."""

    name: str
    dir: str
    status: str
    topology_source: str
    ula_prefix: str
    bridge: str
    mgmt_gateway: str
    credentials_file: str
    created: float
    topology_digest: str = ""
    nodes: dict[str, NodeState] = field(default_factory=dict)

    @property
    def credentials_ref(self) -> str:
        """Credential reference for the directory: `file:<abs path of the JSON file>`."""
        return f"file:{self.credentials_file}"

    @property
    def routers(self) -> list[NodeState]:
        return [n for n in self.nodes.values() if n.is_router]

    def node(self, name: str) -> NodeState:
        try:
            return self.nodes[name]
        except KeyError:
            raise LabNotFound(
                f"lab {self.name!r} has no node {name!r}; nodes: {', '.join(self.nodes)}"
            ) from None

    def credentials(self) -> dict[str, Any]:
        """The lab's secrets (username, key file, SNMPv3 user and keys). Never print them."""
        return json.loads(Path(self.credentials_file).read_text())

    def netmiko_params(self, node: str) -> dict[str, Any]:
        """Keyword arguments for netmiko.ConnectHandler to log in to a router's vtysh."""
        from devices import platforms

        n = self.node(node)
        creds = self.credentials()
        device_type = platforms.get("frr").netmiko_device_type
        return {"device_type": device_type, "host": "127.0.0.1", "port": n.ssh_port,
                "username": creds["username"], "key_file": creds["key_file"],
                "use_keys": True, "allow_agent": False}

    def vtysh(self, node: str, *commands: str, timeout: float = 30) -> str:
        """Output of vtysh commands on a router of this lab."""
        return self.node(node).vtysh(*commands, timeout=timeout)

    def exec_argv(self, node_name: str, argv: list[str]) -> list[str]:
        """Command line running argv inside a node's namespace (`vtysh` gets the router's
        paths)."""
        node = self.node(node_name)
        if not argv:
            raise LabError("nothing to run; give a command, e.g. `gin lab exec pe1 vtysh`")
        if argv[0] == "vtysh" and node.is_router:
            return node.vtysh_argv() + argv[1:]
        return ["ip", "netns", "exec", node.netns, *argv]

    def exec(self, node: str, argv: list[str],
             timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run argv inside a node's namespace and capture its output (no check)."""
        return subprocess.run(self.exec_argv(node, argv), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self) -> None:
        path = Path(self.dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        os.chmod(tmp, 0o644)
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabState:
        nodes = {}
        for name, raw in data.get("nodes", {}).items():
            ifaces = [InterfaceState(**i) for i in raw.pop("interfaces", [])]
            nodes[name] = NodeState(**raw, interfaces=ifaces)
        data = {k: v for k, v in data.items() if k != "nodes"}
        return cls(**data, nodes=nodes)


def lab_dir(name: str, state_dir: str | Path | None = None) -> Path:
    """Directory of lab `name` under the state base directory."""
    return Path(state_dir or DEFAULT_STATE_BASE).absolute() / name


def load_state(name: str, state_dir: str | Path | None = None) -> LabState | None:
    """The saved state of lab `name`, or None if there is none (or it is unreadable)."""
    path = lab_dir(name, state_dir) / STATE_FILE
    try:
        return LabState.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def require_state(name: str, state_dir: str | Path | None = None) -> LabState:
    """Like load_state, but a missing lab is an error with a hint."""
    state = load_state(name, state_dir)
    if state is None:
        where = lab_dir(name, state_dir)
        raise LabNotFound(f"no lab {name!r} (no state in {where}); start one with `gin lab up`")
    return state

"""The lab orchestrator: up, status, exec, down — and recovery from a lab left behind.

`up` plans the whole lab (names, addresses, ports) into a state file before creating
anything, so `down` can always find what to remove, even after a crash or SIGKILL.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gin.lab import credentials, frr, gateway, names, netns, preflight, snmpd, sshd
from gin.lab.errors import LabError
from gin.lab.proc import (
    kill_all,
    pid_alive,
    pids_in_netns,
    pids_mentioning,
    read_pid,
    remove_frr_crash_dirs,
)
from gin.lab.state import (
    STATE_FILE,
    InterfaceState,
    LabState,
    NodeState,
    lab_dir,
    load_state,
    require_state,
)
from gin.lab.topology import Topology, load_topology, validate_lab_name

DEFAULT_NAME = "gin"
WORKERS = 8


def topology_digest(topo: Topology) -> str:
    """Stable digest of a topology, to tell whether a running lab matches a request."""
    blob = json.dumps(dataclasses.asdict(topo), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def plan(topo: Topology, name: str, directory: Path, creds_file: Path,
         source: str = "") -> LabState:
    """Decide every name, address and port of the lab (no side effects but port probing)."""
    prefix = names.ula_prefix()
    ports = iter(sshd.free_ports(len(topo.routers)))
    port_of: dict[tuple[str, int], int] = {}
    for node in topo.nodes:
        for port, link, _own, _peer in topo.links_of(node.name):
            port_of[(node.name, id(link))] = port
    state = LabState(
        name=name, dir=str(directory), status="starting", topology_source=source,
        ula_prefix=str(prefix), bridge=names.bridge_name(name),
        mgmt_gateway=str(names.mgmt_gateway(prefix)), credentials_file=str(creds_file),
        created=time.time(), topology_digest=topology_digest(topo))
    for node in topo.nodes:
        ifaces = []
        for port, link, own, peer in topo.links_of(node.name):
            peer_index = topo.node(peer.node).index
            address = own.address or (node.address if node.role == "host" else None)
            ifaces.append(InterfaceState(
                name=names.ifname(name, node.index, port), port=port, peer_node=peer.node,
                peer_ifname=names.ifname(name, peer_index, port_of[(peer.node, id(link))]),
                address=address, core=link.core))
        router = node.is_router
        state.nodes[node.name] = NodeState(
            name=node.name, role=node.role, index=node.index,
            netns=names.netns_name(name, node.name), agency_code=node.agency.code,
            agency_name=node.agency.name, site=node.site,
            dir=str(directory / "nodes" / node.name), asn=node.asn, router_id=node.router_id,
            loopback=node.loopback, address=node.address, gateway=node.gateway,
            mgmt_ifname=names.ifname(name, node.index, 0) if router else None,
            mgmt_address=str(names.mgmt_address(prefix, node.index)) if router else None,
            ssh_port=next(ports) if router else None, interfaces=ifaces)
    return state


def leftovers(name: str, state_dir: str | Path | None = None) -> list[str]:
    """What of lab `name` exists on this machine (state dir, namespaces, root links)."""
    found = []
    directory = lab_dir(name, state_dir)
    if directory.exists():
        found.append(f"state dir {directory}")
    found += [f"namespace {ns}" for ns in netns.list_lab_namespaces(name)]
    found += [f"link {link}" for link in netns.list_lab_root_links(name)]
    return found


def daemons_alive(node: NodeState) -> dict[str, bool]:
    """Daemon name -> running, judged by pidfile and the PID's command line."""
    out = {}
    for daemon, pidfile in node.pidfiles().items():
        pid = read_pid(pidfile)
        out[daemon] = bool(pid and pid_alive(pid))
    return out


def healthy(state: LabState) -> bool:
    """True if the lab is fully up: every namespace exists and every daemon runs."""
    if state.status != "up":
        return False
    present = set(netns.list_lab_namespaces(state.name))
    return all(n.netns in present and all(daemons_alive(n).values())
               for n in state.nodes.values())


def _check_traversable(directory: Path) -> None:
    """FRR daemons run as user frr: every parent of the lab dir must be world-searchable."""
    for parent in directory.parents:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            raise LabError(
                f"state dir {directory}: {parent} is not searchable by the frr user "
                f"(mode {stat.filemode(parent.stat().st_mode)}); use another --state-dir")


_held = threading.local()


@contextmanager
def exclusive(name: str, state_dir: str | Path | None = None) -> Iterator[None]:
    """One `up`/`down` of a lab name at a time across processes (an flock beside the lab
    dir), so two engineers or two test runs never build and tear down the same lab at
    once; re-entrant within a thread (`up` calls `down` on a lab left behind)."""
    path = lab_dir(name, state_dir).parent / f".{name}.lock"
    held = getattr(_held, "paths", set())
    if path in held:
        yield
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        os.chmod(path.parent, 0o755)  # frr must traverse it whatever the umask
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(f"lab {name!r} is being brought up or down by another gin "
                           "process: wait for it to finish") from None
        _held.paths = held | {path}
        try:
            yield
        finally:
            _held.paths = held
    finally:
        os.close(fd)  # closing releases the lock


def up(topology: Topology | str | Path | None = None, name: str = DEFAULT_NAME,
       state_dir: str | Path | None = None, clean: bool = True,
       workers: int = WORKERS) -> LabState:
    """Bring a lab up and return its state; a healthy lab of the same topology is reused.

    A lab of that name left behind (crash, SIGKILLed daemons, other topology) is torn
    down first, or refused when `clean` is False.
    """
    preflight.check()
    validate_lab_name(name)
    with exclusive(name, state_dir):
        return _up(topology, name, state_dir, clean, workers)


def _up(topology: Topology | str | Path | None, name: str, state_dir: str | Path | None,
        clean: bool, workers: int) -> LabState:
    source = "" if isinstance(topology, Topology) else str(topology or "default")
    topo = topology if isinstance(topology, Topology) else load_topology(topology)
    directory = lab_dir(name, state_dir)
    if leftovers(name, state_dir):
        old = load_state(name, state_dir)
        if old and old.topology_digest == topology_digest(topo) and healthy(old):
            return old
        if not clean:
            raise LabError(
                f"lab {name!r} was left behind ({', '.join(leftovers(name, state_dir)[:3])}); "
                f"run `gin lab down --name {name}` or drop --no-clean to replace it")
        down(name, state_dir)
    _check_traversable(directory)
    for path in [*reversed(directory.parents), directory]:
        if not path.exists():  # created world-searchable whatever the umask: frr must pass
            path.mkdir()
            os.chmod(path, 0o755)
    os.chmod(directory, 0o755)
    creds_file = credentials.create(directory / "secrets", name)
    state = plan(topo, name, directory, creds_file, source)
    state.save()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for path in [directory / "nodes", *(Path(n.dir) for n in state.nodes.values())]:
                path.mkdir(exist_ok=True)
                os.chmod(path, 0o755)  # whatever the umask: FRR runs as frr
            netns.create(state, pool)
            snmp = credentials.load(creds_file)["snmp"]
            for node in state.routers:
                frr.write_configs(state, node)
                snmpd.write_config(state, node, snmp)
            # FRR+snmpd launchers (in the namespaces) and sshds (root namespace) are
            # independent: one queue, so sshd starts fill the launchers' waits.
            jobs = [pool.submit(frr.start_router, n, [snmpd.argv(n)]) for n in state.routers]
            jobs += [pool.submit(sshd.start, state, n) for n in state.routers]
            for job in jobs:
                job.result()
            list(pool.map(snmpd.wait_ready, state.routers))
            gateways = [n for n in state.nodes.values() if n.role == "gw"]
            if gateways:  # strongSwan per gateway; kernel IPsec when this kernel has it
                kernel_ipsec = gateway.kernel_esp(gateways[0].netns)
                list(pool.map(lambda n: gateway.start_charon(n, kernel_ipsec), gateways))
        state.status = "up"
        state.save()
    except BaseException:
        down(name, state_dir)
        raise
    return state


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def down(name: str = DEFAULT_NAME, state_dir: str | Path | None = None) -> list[str]:
    """Remove everything lab `name` made; return a description of what was removed.

    Works without a state file: processes are found by pidfile, by the lab dir in
    their command line and by namespace membership; namespaces and links by prefix.
    """
    validate_lab_name(name)
    with exclusive(name, state_dir):
        return _down(name, state_dir)


def _down(name: str, state_dir: str | Path | None) -> list[str]:
    directory = lab_dir(name, state_dir)
    removed = leftovers(name, state_dir)
    marker = str(directory) + "/"
    recorded = {p for f in directory.glob("nodes/*/run/*.pid") if (p := read_pid(f))}
    namespaces = netns.list_lab_namespaces(name)
    ours = (pids_mentioning(marker) | pids_in_netns(namespaces)) - _ancestors()
    killed = kill_all(ours)
    killed |= kill_all(pids_mentioning(marker) - _ancestors(), grace=1)
    remove_frr_crash_dirs({p for p in recorded | killed if p in killed or not pid_alive(p)})
    netns.destroy(name, namespaces)
    shutil.rmtree(directory, ignore_errors=True)
    if killed:
        removed.append(f"{len(killed)} processes")
    return removed


def status(name: str = DEFAULT_NAME, state_dir: str | Path | None = None,
           bgp: bool = True) -> dict[str, Any]:
    """Per node: namespace present, daemons alive, ssh port, mgmt address, BGP peers (PEs)."""
    if load_state(name, state_dir) is None and leftovers(name, state_dir):
        raise LabError(f"lab {name!r} has no usable state but left things behind "
                       f"({', '.join(leftovers(name, state_dir)[:3])}); run `gin lab down "
                       f"--name {name}` to clean up")
    state = require_state(name, state_dir)
    present = set(netns.list_lab_namespaces(name))
    nodes = []
    for node in state.nodes.values():
        alive = daemons_alive(node)
        entry: dict[str, Any] = {
            "name": node.name, "role": node.role, "netns": node.netns,
            "netns_present": node.netns in present, "daemons": alive,
            "ssh_port": node.ssh_port, "mgmt_address": node.mgmt_address,
            "agency": node.agency_code, "site": node.site,
            "interfaces": [{"name": i.name, "peer": f"{i.peer_node}:{i.peer_ifname}",
                            "address": i.address} for i in node.interfaces],
        }
        if bgp and node.role == "pe":
            entry["bgp"] = bgp_peers(node) if alive.get("bgpd") else {}
        nodes.append(entry)
    return {"name": state.name, "status": state.status, "healthy": healthy(state),
            "dir": state.dir, "mgmt_prefix": state.ula_prefix, "bridge": state.bridge,
            "credentials_ref": state.credentials_ref, "nodes": nodes}


def bgp_peers(node: NodeState) -> dict[str, str]:
    """Peer address -> BGP state from `show bgp ipv6 unicast summary json`."""
    try:
        out = node.vtysh("show bgp ipv6 unicast summary json", timeout=10)
        data = json.loads(out or "{}")
    except (LabError, ValueError):
        return {}
    return {peer: info.get("state", "?") for peer, info in data.get("peers", {}).items()}


def wait_bgp_established(state: LabState, node: str, timeout: float = 30) -> dict[str, str]:
    """Poll a router until all its BGP peers are Established; LabError on timeout."""
    deadline = time.monotonic() + timeout
    peers: dict[str, str] = {}
    while time.monotonic() < deadline:
        peers = bgp_peers(state.node(node))
        if peers and all(s == "Established" for s in peers.values()):
            return peers
        time.sleep(0.5)
    raise LabError(f"BGP on {node} (lab {state.name}) not established after {timeout:.0f}s: "
                   f"{peers or 'no peers'}; see {state.node(node).dir}/log/bgpd.log")


def exec_node(node_name: str, argv: list[str], name: str = DEFAULT_NAME,
              state_dir: str | Path | None = None, capture: bool = False,
              timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command in a node's namespace; capture output or pass the terminal through."""
    state = require_state(name, state_dir)
    full = state.exec_argv(node_name, argv)
    try:
        return subprocess.run(full, capture_output=capture, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as exc:
        raise LabError(f"{full[0]}: command not found (in lab {name!r})") from exc


__all__ = ["DEFAULT_NAME", "STATE_FILE", "bgp_peers", "down", "exec_node", "healthy",
           "leftovers", "plan", "status", "up", "wait_bgp_established"]

"""Network namespaces, veths and addresses of a lab, made with `ip`.

DAD is switched off in each namespace before any veth exists (and every address we
add carries `nodad`), so link-local addresses are usable at once and OSPFv3/BGP come
up in seconds. Commands are batched per namespace (`ip -n NS -batch -`) and run on a
thread pool: process start-up dominates, not the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from gin.lab import names
from gin.lab.proc import run
from gin.lab.state import LabState, NodeState

NETNS_DIR = "/run/netns"

ROUTER_SYSCTLS = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                  "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1",
                  "net.ipv6.conf.all.keep_addr_on_down=1")
#: VPN gateways forward both families between their LAN and the tunnels
GW_SYSCTLS = (*ROUTER_SYSCTLS, "net.ipv4.ip_forward=1")
HOST_SYSCTLS = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.default.accept_ra=0", "net.ipv6.conf.all.accept_ra=0")


def list_lab_namespaces(lab: str) -> list[str]:
    """Named namespaces belonging to lab `lab` (by prefix)."""
    try:
        entries = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    prefix = names.netns_prefix(lab)
    return sorted(e for e in entries if e.startswith(prefix))


def list_lab_root_links(lab: str) -> list[str]:
    """Root-namespace links of lab `lab` (bridge and management veth ends)."""
    prefix = names.netns_prefix(lab)
    return sorted(e for e in os.listdir("/sys/class/net") if e.startswith(prefix))


def _make_namespace(node: NodeState) -> None:
    run(["ip", "netns", "add", node.netns], what=f"create namespace {node.netns}")
    sysctls = {"host": HOST_SYSCTLS, "gw": GW_SYSCTLS}.get(node.role, ROUTER_SYSCTLS)
    run(["ip", "netns", "exec", node.netns, "sysctl", "-q", "-w", *sysctls],
        what=f"sysctl in {node.netns}")


def _configure_node(node: NodeState, prefixlen: int) -> None:
    """Bring links up and add the addresses that are not router config (mgmt, hosts)."""
    lines = ["link set lo up"]
    for iface in node.interfaces:
        lines.append(f"link set {iface.name} up")
    if node.mgmt_ifname:
        lines.append(f"link set {node.mgmt_ifname} up")
        lines.append(f"address add {node.mgmt_address}/{prefixlen} dev {node.mgmt_ifname} nodad")
    if not node.is_router:  # hosts and gws: addresses are not FRR config here
        for iface in node.interfaces:
            if iface.address:
                lines.append(f"address add {iface.address} dev {iface.name} nodad")
        if node.gateway:
            lines.append(f"route add default via {node.gateway}")
    run(["ip", "-n", node.netns, "-batch", "-"], input="\n".join(lines) + "\n",
        what=f"configure links in {node.netns}")


def create(state: LabState, pool: ThreadPoolExecutor) -> None:
    """Create the bridge, every namespace, every veth and the non-router addresses."""
    prefixlen = int(state.ula_prefix.split("/")[1])
    run(["ip", "link", "add", state.bridge, "type", "bridge"], what="create lab bridge")
    run(["ip", "link", "set", state.bridge, "up"], what="bring up lab bridge")
    run(["ip", "address", "add", f"{state.mgmt_gateway}/{prefixlen}", "dev", state.bridge,
         "nodad"], what="address lab bridge")
    list(pool.map(_make_namespace, state.nodes.values()))
    batch: list[str] = []
    done: set[tuple[str, str]] = set()
    for node in state.nodes.values():
        for iface in node.interfaces:
            peer = state.nodes[iface.peer_node]
            key = tuple(sorted(((node.name, iface.name), (peer.name, iface.peer_ifname))))
            if key in done:
                continue
            done.add(key)  # type: ignore[arg-type]
            batch.append(f"link add name {iface.name} netns {node.netns} type veth "
                         f"peer name {iface.peer_ifname} netns {peer.netns}")
        if node.mgmt_ifname:
            root_end = names.mgmt_root_ifname(state.name, node.index)
            batch.append(f"link add name {root_end} type veth peer name {node.mgmt_ifname} "
                         f"netns {node.netns}")
            batch.append(f"link set {root_end} master {state.bridge} up")
    if batch:
        run(["ip", "-batch", "-"], input="\n".join(batch) + "\n", what="create veths")
    list(pool.map(lambda n: _configure_node(n, prefixlen), state.nodes.values()))


def destroy(lab: str, namespaces: Iterable[str] = ()) -> None:
    """Delete the lab's namespaces (their veths go with them) and root-namespace links."""
    batch = [f"netns delete {ns}" for ns in sorted(set(namespaces) | set(list_lab_namespaces(lab)))]
    batch += [f"link delete {link}" for link in list_lab_root_links(lab)]
    if batch:  # -force: go on past errors (something already gone)
        run(["ip", "-force", "-batch", "-"], input="\n".join(batch) + "\n", check=False)
    for ns in list_lab_namespaces(lab):  # anything the batch could not remove, one by one
        run(["ip", "netns", "delete", ns], check=False)

"""Record a lab in the directory, so every other gin command works on it as on a real GIN.

Each router becomes a Device (platform "frr", SSH at 127.0.0.1:<port>, SNMP at its
management IPv6 address, credential reference `file:<lab credentials.json>`) in a site
of its agency: the core under the lab agency "LAB", each CE under its topology agency.
Interfaces are recorded; the core PE-PE link is recorded as active. PE-CE cables are
left unrecorded: recording them is the provisioning's job (plan -> push -> record).

Each ``gw`` node becomes a ``vpn-gateway`` device (platform "linux") of its agency whose
``credential_ref`` is ``file:<node>/gateway.json``: how ``gin vpn deploy/status`` reach its
charon (VICI socket, swanctl dir) and run ``wg`` there (:mod:`gin.lab.gateway`).  Its
``mgmt_address`` is its first link address, the tunnel's outer address by default.

Idempotent: a re-run after `up` (new ports, new credentials) updates the devices.  A device
of the same host name that this lab did not register (a real router, or another lab's) is
never overwritten: registration refuses, naming it, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from directory import store
from directory.errors import Conflict, NotFound
from directory.store import Directory
from gin.lab.gateway import paths as gateway_paths
from gin.lab.state import LabState, NodeState

LAB_AGENCY = "LAB"
SNMP_PROFILE = "v3-authpriv-sha-aes"


def _ensure_agency(session: Any, code: str, name: str) -> None:
    try:
        store.get_agency(session, code)
    except NotFound:
        kind = "gin" if code == LAB_AGENCY else "department"
        store.add_agency(session, code=code, name_en=name, kind=kind,
                         description="created by gin lab")


def _ensure_site(session: Any, agency: str, code: str) -> None:
    try:
        store.get_site(session, agency, code)
    except NotFound:
        store.add_site(session, agency, code=code, name=f"lab site {code}")


def device_fields(state: LabState, node: NodeState) -> dict[str, Any]:
    """Directory fields of a lab router (no secrets: only the credential reference)."""
    return {"role": node.role, "platform": "frr", "mgmt_address": "127.0.0.1",
            "mgmt_port": node.ssh_port, "snmp_profile": SNMP_PROFILE,
            "snmp_address": node.mgmt_address, "credential_ref": state.credentials_ref,
            "asn": node.asn}


def gateway_fields(node: NodeState) -> dict[str, Any]:
    """Directory fields of a lab VPN gateway: its outer address and its access reference."""
    first = next((i.address for i in node.interfaces if i.address), None)
    return {"role": "vpn-gateway", "platform": "linux",
            "mgmt_address": first.split("/")[0] if first else None,
            "credential_ref": f"file:{gateway_paths(node)['access']}"}


def _agency_of(node: NodeState) -> str:
    return LAB_AGENCY if node.role == "pe" else node.agency_code


def _owned(lab_state: LabState, credential_ref: str | None) -> bool:
    """Was this device registered by this lab (its credentials live in the lab's dir)?"""
    return bool(credential_ref) and str(credential_ref).startswith(
        f"file:{lab_state.dir.rstrip('/')}/")


def register(lab_state: LabState, store_: Directory) -> None:
    """Write (or refresh) the lab's agencies, sites, devices, interfaces and core links."""
    routers = lab_state.routers
    gateways = [n for n in lab_state.nodes.values() if n.role == "gw"]
    with store_.transaction() as session:
        names = {LAB_AGENCY: f"GIN lab {lab_state.name}"}
        for node in [*routers, *gateways]:
            names.setdefault(_agency_of(node), node.agency_name)
        for code, name in names.items():
            _ensure_agency(session, code, name)
        for node in [*routers, *gateways]:
            agency = _agency_of(node)
            _ensure_site(session, agency, node.site)
            fields = (device_fields(lab_state, node) if node.is_router
                      else gateway_fields(node))
            try:
                device = store.get_device(session, node.name)
                if not _owned(lab_state, device.credential_ref):
                    raise Conflict(
                        f"device {node.name} is already in the directory and is not lab "
                        f"{lab_state.name}'s: not overwriting it; give the lab its own "
                        "directory (gin --db lab.sqlite lab up ...)")
                store.update(session, device, **fields)
            except NotFound:
                store.add_device(session, agency, node.site, hostname=node.name, **fields)
            for iface in node.interfaces:
                obj = store.ensure_interface(session, node.name, iface.name)
                obj.description = f"to {iface.peer_node} {iface.peer_ifname}"
            if node.mgmt_ifname:
                obj = store.ensure_interface(session, node.name, node.mgmt_ifname)
                obj.description = "oob-management (gin lab)"
        for node in routers:
            for iface in node.interfaces:
                if not iface.core or node.name > iface.peer_node:
                    continue
                name = f"{node.name}:{iface.name}--{iface.peer_node}:{iface.peer_ifname}"
                try:
                    store.get_link(session, name)
                except NotFound:
                    store.add_link(session, name, (node.name, iface.name),
                                   (iface.peer_node, iface.peer_ifname), agency=LAB_AGENCY,
                                   status="active", description="GIN core (gin lab)")

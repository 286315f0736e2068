"""Exports of the directory for other tools: Ansible inventories and Prometheus file_sd.

Why here: Ansible (gin's own playbooks, AWX) and Prometheus must see the same
devices as the directory, the single source of truth; generating their inputs from it (a
dynamic inventory, a file_sd file rewritten on change) keeps them from drifting.

- :func:`ansible_inventory` builds the ``ansible-inventory --list`` JSON structure
  (``_meta.hostvars`` plus groups), which :func:`ansible_yaml` turns into a static YAML
  inventory.  Groups: ``role_<role>``, ``agency_<code>``, ``platform_<platform>``, gathered
  under the parent groups ``roles``, ``agencies`` and ``platforms``.  Host variables:
  ``ansible_host``, ``ansible_port``, ``ansible_network_os`` (from the platform table the
  caller passes: ``directory`` may not import ``gin``, where that table lives),
  ``ansible_connection: ansible.netcommon.network_cli`` for network platforms,
  ``gin_credential_ref`` (a reference such as ``vault:gin/pe``: never the secret), and
  ``gin_agency``, ``gin_site``, ``gin_role``, ``gin_platform``, ``gin_snmp_profile``.
- :func:`file_sd` builds Prometheus ``file_sd_configs`` JSON: one target group per device
  with an SNMP (else management) address, labelled ``agency``, ``site``, ``device``,
  ``role``, ``platform``: a bounded label set, one series per device.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m

NETWORK_CLI = "ansible.netcommon.network_cli"
_GROUP_UNSAFE = re.compile(r"[^a-z0-9_]")


def group_name(prefix: str, value: str) -> str:
    """An Ansible-safe group name: ``agency_dopa``, ``role_vpn_gateway`` (letters, _, digits)."""
    return f"{prefix}_{_GROUP_UNSAFE.sub('_', value.lower())}"


def _devices(session: Session) -> list[tuple[m.Device, str, str]]:
    """Devices with their agency and site codes, by hostname (one query, no lazy loads)."""
    stmt = (select(m.Device, m.Agency.code, m.Site.code)
            .join(m.Site, m.Device.site_id == m.Site.id)
            .join(m.Agency, m.Site.agency_id == m.Agency.id)
            .order_by(m.Device.hostname))
    return [(d, a, s) for d, a, s in session.execute(stmt).unique()]


def hostvars(device: m.Device, agency: str, site: str,
             network_os: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Ansible host variables of one device (no secrets: only the credential reference)."""
    os_name = (network_os or {}).get(device.platform)
    out: dict[str, Any] = {}
    if device.mgmt_address:
        out["ansible_host"] = device.mgmt_address
    if device.mgmt_port:
        out["ansible_port"] = device.mgmt_port
    if os_name:
        out["ansible_network_os"] = os_name
        out["ansible_connection"] = NETWORK_CLI
    if device.credential_ref:
        out["gin_credential_ref"] = device.credential_ref
    out.update({"gin_agency": agency, "gin_site": site, "gin_role": device.role,
                "gin_platform": device.platform})
    if device.snmp_profile:
        out["gin_snmp_profile"] = device.snmp_profile
    return out


def ansible_inventory(session: Session,
                      network_os: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """The whole inventory in ``ansible-inventory --list`` form (what a dynamic script prints)."""
    groups: dict[str, set[str]] = {}
    parents: dict[str, set[str]] = {"roles": set(), "agencies": set(), "platforms": set()}
    meta: dict[str, dict[str, Any]] = {}
    for device, agency, site in _devices(session):
        meta[device.hostname] = hostvars(device, agency, site, network_os)
        for parent, prefix, value in (("roles", "role", device.role),
                                      ("agencies", "agency", agency),
                                      ("platforms", "platform", device.platform)):
            name = group_name(prefix, value)
            groups.setdefault(name, set()).add(device.hostname)
            parents[parent].add(name)
    out: dict[str, Any] = {"_meta": {"hostvars": meta},
                           "all": {"children": ["ungrouped", *sorted(parents)]},
                           "ungrouped": {"hosts": []}}
    for parent, children in sorted(parents.items()):
        out[parent] = {"children": sorted(children)}
    for name, hosts in sorted(groups.items()):
        out[name] = {"hosts": sorted(hosts)}
    return out


def host(session: Session, hostname: str,
         network_os: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Variables of one host (``--host``); empty if the directory does not know it."""
    for device, agency, site in _devices(session):
        if device.hostname == hostname:
            return hostvars(device, agency, site, network_os)
    return {}


def ansible_yaml(inventory: dict[str, Any]) -> str:
    """A static YAML inventory (``-i inventory.yml``) from :func:`ansible_inventory`'s dict."""
    hostvars_ = inventory["_meta"]["hostvars"]
    children: dict[str, Any] = {}
    for parent in ("roles", "agencies", "platforms"):
        if parent not in inventory:
            continue
        children[parent] = {"children": {
            name: {"hosts": {h: None for h in inventory[name]["hosts"]}}
            for name in inventory[parent]["children"]}}
    doc = {"all": {"hosts": {h: v for h, v in sorted(hostvars_.items())},
                   "children": children}}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=False)


def _target(address: str, port: int | None) -> str:
    ip = ipaddress.ip_address(address)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{host}:{port}" if port else host


def file_sd(session: Session, port: int | None = None) -> list[dict[str, Any]]:
    """Prometheus file_sd target groups, one per addressable device.

    ``port`` (e.g. 161 for snmp_exporter) is appended to each target; without it targets are
    bare addresses (IPv6 in brackets, so Prometheus can add the scheme's port).
    """
    out = []
    for device, agency, site in _devices(session):
        address = device.snmp_address or device.mgmt_address
        if not address:
            continue
        out.append({"targets": [_target(address, port)],
                    "labels": {"agency": agency, "site": site, "device": device.hostname,
                               "role": device.role, "platform": device.platform}})
    return out


def file_sd_json(groups: list[dict[str, Any]]) -> str:
    return json.dumps(groups, ensure_ascii=False, indent=2) + "\n"

"""Helpers for the import/export tests (kept out of conftest.py, which another suite owns)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from directory import models as m
from directory.store import Directory

TABLES = (m.Agency, m.Site, m.Device, m.Interface, m.Prefix, m.Link, m.Contact, m.Service,
          m.Change)

SAMPLE_YAML = """\
format: gin-directory
version: 1
agencies:
  - code: MOI
    name_en: Ministry of Interior
    name_th: กระทรวงมหาดไทย
    kind: ministry
  - code: DOPA
    name_en: Department of Provincial Administration
    name_th: กรมการปกครอง
    kind: department
    parent: MOI
  - code: GIN
    name_en: GIN operator
    kind: gin
sites:
  - {agency: DOPA, code: CMI, name: ศาลากลางจังหวัดเชียงใหม่, province: เชียงใหม่,
     latitude: 18.7883, longitude: 98.9853}
  - {agency: GIN, code: NOC, name: GIN NOC, province: Bangkok}
devices:
  - {hostname: dopa-cmi-ce1, agency: DOPA, site: CMI, role: ce, platform: frr,
     mgmt_address: 192.0.2.10, snmp_address: 192.0.2.10, credential_ref: vault:dopa}
  - {hostname: gin-pe1, agency: GIN, site: NOC, role: pe, platform: cisco_xe,
     mgmt_address: "2001:db8::1", mgmt_port: 22}
interfaces:
  - {device: dopa-cmi-ce1, name: eth0, description: uplink to GIN, speed_mbps: 1000}
  - {device: dopa-cmi-ce1, name: eth1, enabled: false}
links:
  - {name: GIN-DOPA-CMI, a_device: gin-pe1, a_interface: Gi0/0/1, b_device: dopa-cmi-ce1,
     b_interface: eth0, agency: DOPA, site: CMI, status: active, bandwidth_mbps: 100}
contacts:
  - {agency: DOPA, name: สมชาย ใจดี, role: noc, email: noc@dopa.go.th, phone: "+66 2 000 0000"}
services:
  - {agency: DOPA, name: portal, url: "https://www.dopa.example.go.th/e-service?lang=th",
     hosts: [dopa.example.go.th, บริการ.example.go.th], description: e-Service portal}
  - {agency: MOI, name: www, url: "http://moi.example.go.th/"}
"""


def open_directory(path: Path) -> Directory:
    return Directory(str(path), actor="tester")


def counts(d: Directory) -> dict[str, int]:
    """Rows per table, change log included: equal before and after means nothing was written."""
    with d.transaction() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)

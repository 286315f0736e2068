"""Export the whole directory as JSON, YAML or CSV, in the layout the importer reads.

Rows use natural keys (agency code, hostname, link name...) rather than database ids, so an
export can be read into another directory, reviewed in a diff, or edited in a spreadsheet.
Output is deterministic (sorted by key, stable column order): exporting, importing into an
empty directory and exporting again gives the same bytes, which is what the round-trip test
checks.

Layouts:

- JSON / YAML: one document ``{"format": "gin-directory", "version": 1, "agencies": [...],
  "sites": [...], ...}``; empty fields are left out;
- CSV: one file per kind in a folder (``agencies.csv``, ``sites.csv``, ...), a header row of
  field names, as NetBox's bulk import expects one object type per table; every column is
  present, an empty cell is an empty field.  A list field (a service's ``hosts``) is one
  cell, its items separated by a space (:data:`~directory.readers.LIST_SEPARATOR`: host names
  hold none).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from .errors import DirectoryError, Invalid
from .importer import FIELDS, KEYS
from .readers import FORMAT_TAG, FORMAT_VERSION, KINDS, LIST_SEPARATOR

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def export_data(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every object of the directory as plain rows, per kind, sorted by natural key."""
    agencies = {a.id: a for a in session.scalars(select(m.Agency)).unique()}
    sites = {s.id: s for s in session.scalars(select(m.Site)).unique()}
    devices = {d.id: d for d in session.scalars(select(m.Device)).unique()}
    ifaces = {i.id: i for i in session.scalars(select(m.Interface)).unique()}
    links = {lk.id: lk for lk in session.scalars(select(m.Link)).unique()}

    def code(agency_id: int | None) -> str | None:
        return agencies[agency_id].code if agency_id is not None else None

    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for a in agencies.values():
        out["agencies"].append({"code": a.code, "name_en": a.name_en, "name_th": a.name_th,
                                "kind": a.kind, "parent": code(a.parent_id), "asn": a.asn,
                                "description": a.description})
    for s in sites.values():
        out["sites"].append({"agency": code(s.agency_id), "code": s.code, "name": s.name,
                             "province": s.province, "address": s.address,
                             "latitude": s.latitude, "longitude": s.longitude})
    for d in devices.values():
        site = sites[d.site_id]
        out["devices"].append({
            "hostname": d.hostname, "agency": code(site.agency_id), "site": site.code,
            "role": d.role, "platform": d.platform, "mgmt_address": d.mgmt_address,
            "mgmt_port": d.mgmt_port, "snmp_address": d.snmp_address,
            "snmp_profile": d.snmp_profile, "credential_ref": d.credential_ref, "asn": d.asn})
    for i in ifaces.values():
        out["interfaces"].append({"device": devices[i.device_id].hostname, "name": i.name,
                                  "description": i.description, "enabled": i.enabled,
                                  "speed_mbps": i.speed_mbps})
    for lk in links.values():
        a, b = ifaces[lk.a_interface_id], ifaces[lk.b_interface_id]
        site = sites[lk.site_id] if lk.site_id is not None else None
        out["links"].append({
            "name": lk.name, "a_device": devices[a.device_id].hostname, "a_interface": a.name,
            "b_device": devices[b.device_id].hostname, "b_interface": b.name,
            "agency": code(lk.agency_id) if lk.agency_id else (code(site.agency_id)
                                                                if site else None),
            "site": site.code if site else None, "status": lk.status,
            "bandwidth_mbps": lk.bandwidth_mbps, "description": lk.description})
    prefixes = session.execute(
        select(m.Prefix.cidr, m.Prefix.status, m.Prefix.role, m.Prefix.agency_id,
               m.Prefix.site_id, m.Prefix.device_id, m.Prefix.interface_id, m.Prefix.link_id,
               m.Prefix.description))
    for cidr, status, role, agency_id, site_id, device_id, if_id, link_id, desc in prefixes:
        site = sites[site_id] if site_id is not None else None
        iface = ifaces[if_id] if if_id is not None else None
        out["prefixes"].append({
            "prefix": cidr, "status": status, "role": role,
            "agency": code(agency_id) if agency_id else (code(site.agency_id) if site else None),
            "site": site.code if site else None,
            "device": devices[device_id].hostname if device_id is not None else None,
            "interface": (f"{devices[iface.device_id].hostname}:{iface.name}"
                          if iface is not None else None),
            "link": links[link_id].name if link_id is not None else None, "description": desc})
    for c in session.scalars(select(m.Contact)).unique():
        out["contacts"].append({"agency": code(c.agency_id), "name": c.name, "role": c.role,
                                "email": c.email, "phone": c.phone})
    for sv in session.scalars(select(m.Service)).unique():
        out["services"].append({"agency": code(sv.agency_id), "name": sv.name, "url": sv.url,
                                "hosts": list(sv.hosts), "description": sv.description})
    return sort_rows(out)


def sort_rows(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Sort rows the way an export does: by natural key; prefixes by address, then length."""
    for kind in KINDS:
        rows = data.setdefault(kind, [])
        if kind == "prefixes":  # parents before children
            rows.sort(key=lambda r: _prefix_order(r["prefix"]))
        else:
            rows.sort(key=lambda r, k=KEYS[kind]: tuple(str(r.get(f) or "") for f in k))
    return data


def _prefix_order(cidr: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(cidr)
    return net.version, int(net.network_address), net.prefixlen


def _compact(data: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"format": FORMAT_TAG, "version": FORMAT_VERSION}
    for kind in KINDS:
        doc[kind] = [{k: v for k, v in row.items() if v is not None} for row in data[kind]]
    return doc


def to_json(data: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps(_compact(data), ensure_ascii=False, indent=1) + "\n"


def to_yaml(data: dict[str, list[dict[str, Any]]]) -> str:
    return yaml.dump(_compact(data), Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=False, width=1000)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(value)
    return str(value)


def to_csv(rows: list[dict[str, Any]], kind: str) -> str:
    """One kind as CSV text: header of every field, then one line per row."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    columns = list(FIELDS[kind])
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def write_export(data: dict[str, list[dict[str, Any]]], fmt: str,
                 dest: str | os.PathLike[str] | None) -> list[str]:
    """Write an export; returns the files written.  ``dest`` None means stdout (JSON/YAML).

    CSV needs a folder (one file per kind); it is created if missing.  Problems (no such
    folder, no permission, a file where a folder should be) raise :class:`DirectoryError`
    naming the path.
    """
    if fmt not in ("json", "yaml", "csv"):
        raise Invalid(f"format: {fmt!r} is not one of json, yaml, csv")
    if fmt == "csv" and dest is None:
        raise Invalid("format: csv export writes one file per kind: give a folder with -o DIR")
    try:
        return _write(data, fmt, dest)
    except (FileExistsError, NotADirectoryError) as exc:
        hint = " (csv export writes one file per kind into a folder)" if fmt == "csv" else ""
        raise DirectoryError(f"export: {exc.filename or dest} is not a folder{hint}") from None
    except OSError as exc:
        where = exc.filename or dest
        raise DirectoryError(f"export: cannot write {where}: {exc.strerror or exc}") from None


def _write(data: dict[str, list[dict[str, Any]]], fmt: str,
           dest: str | os.PathLike[str] | None) -> list[str]:
    if fmt == "csv":
        assert dest is not None
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind in KINDS:
            path = folder / f"{kind}.csv"
            path.write_text(to_csv(data[kind], kind), encoding="utf-8", newline="")
            written.append(str(path))
        return written
    text = to_json(data) if fmt == "json" else to_yaml(data)
    if dest is None or str(dest) == "-":
        sys.stdout.write(text)
        return []
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    Path(dest).write_text(text, encoding="utf-8")
    return [str(dest)]

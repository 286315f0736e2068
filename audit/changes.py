"""Change management evidence (10.1.2): every configuration change has a change-log entry.

A change is what two successive stored versions of a device's config differ by (the
backups, :mod:`audit.evidence`).  It is *logged* when the directory's change log holds an
entry about that device between the two backups: the device itself, one of its
interfaces, or a link, tunnel or prefix whose ends name it (ids in the entry's before/after
snapshot are resolved to hostnames).  A change with no such entry is an unrecorded change:
someone configured the router outside gin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from audit.evidence import BackupStore, Version
from devices.errors import ConfigError
from directory import models as m
from directory import store as dstore
from directory.store import Directory

#: Only changes seen in this many days are judged (older ones were judged by older audits).
WINDOW_DAYS = 90
DEVICE_KEYS = ("device_id", "a_device_id", "b_device_id")
INTERFACE_KEYS = ("interface_id", "a_interface_id", "b_interface_id")
DIFF_LINES = 6
#: Change-log objects that can change a router's configuration (``sensor_block_push``: a
#: GSI block or lift ``gin monitor respond`` put on an edge router, keyed by its hostname).
OBJECTS = ("device", "interface", "link", "tunnel", "prefix", "tunnel_rotation",
           "sensor_block_push")


@dataclass(frozen=True)
class Change:
    """Two successive versions of a config and the change-log entries between them."""

    older: str
    newer: str
    older_time: dt.datetime
    newer_time: dt.datetime
    diff: tuple[str, ...]
    entries: tuple[str, ...]


@dataclass(frozen=True)
class ChangeFacts:
    """The changes of one device's config in the window; ``versions``: backups seen."""

    versions: int
    changes: list[Change] = field(default_factory=list)

    @property
    def unlogged(self) -> list[Change]:
        return [c for c in self.changes if not c.entries]


def _hostnames(session: object) -> tuple[dict[int, str], dict[int, str]]:
    devices = {d.id: d.hostname for d in dstore.list_all(session, m.Device)}  # type: ignore[arg-type]
    interfaces = {i.id: devices.get(i.device_id, "") for i in
                  dstore.list_all(session, m.Interface)}  # type: ignore[arg-type]
    return devices, interfaces


def touched(change: m.Change, devices: dict[int, str], interfaces: dict[int, str]) -> set[str]:
    """Hostnames a change-log entry is about."""
    out: set[str] = set()
    if change.object_type in ("device", "sensor_block_push"):
        out.add(change.object_key)
    elif change.object_type == "interface":
        out.add(change.object_key.split(":", 1)[0])
    for snap in (change.before or {}, change.after or {}):
        for key in DEVICE_KEYS:
            if isinstance(snap.get(key), int) and snap[key] in devices:
                out.add(devices[snap[key]])
        for key in INTERFACE_KEYS:
            if isinstance(snap.get(key), int) and snap[key] in interfaces:
                out.add(interfaces[snap[key]])
    out.discard("")
    return out


def change_facts(store: BackupStore, directory: Directory, devices: Iterable[str],
                 now: dt.datetime | None = None, window_days: int = WINDOW_DAYS
                 ) -> dict[str, ChangeFacts]:
    """For each device with backups: its config changes in the window and the change-log
    entries about it between the two versions of each change."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=window_days)
    pairs: dict[str, list[tuple[Version, Version]]] = {}
    counts: dict[str, int] = {}
    for device in devices:
        try:
            versions = [v for v in store.versions(device) if v.changed]
        except ConfigError:  # a name that cannot be a backup folder has no backups
            continue
        if versions:
            counts[device] = len(versions)
            pairs[device] = [(old, new) for old, new in zip(versions, versions[1:],
                                                               strict=False)
                             if new.time >= since]
    starts = [old.time for p in pairs.values() for old, _ in p]
    entries: list[tuple[dt.datetime, str, set[str]]] = []
    if starts:
        with directory.transaction() as s:
            devs, ifaces = _hostnames(s)
            rows = s.scalars(select(m.Change).where(m.Change.time >= min(starts),
                                                    m.Change.object_type.in_(OBJECTS))
                             .order_by(m.Change.time))
            entries = [(_utc(c.time), f"{c.time.isoformat(timespec='seconds')} {c.actor} "
                        f"{c.action} {c.object_type} {c.object_key}", touched(c, devs, ifaces))
                       for c in rows]
    out: dict[str, ChangeFacts] = {}
    for device, todo in pairs.items():
        found = []
        for old, new in todo:
            logged = tuple(text for t, text, hosts in entries
                           if device in hosts and old.time < t <= new.time)
            diff = [ln for ln in store.diff(device, old.sha256, new.sha256, context=0)
                    if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
            found.append(Change(old.sha256[:12], new.sha256[:12], old.time, new.time,
                                tuple(diff[:DIFF_LINES]), logged))
        out[device] = ChangeFacts(counts[device], found)
    return out


def _utc(time: dt.datetime) -> dt.datetime:
    return time if time.tzinfo else time.replace(tzinfo=dt.UTC)  # SQLite keeps naive UTC

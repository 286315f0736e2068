"""Where configs to audit come from: gin's backups or a folder an auditor received, with
each device's platform, role and agency taken from the directory when it knows the device.

A device whose platform cannot be determined is still audited (as platform "unknown"):
every check then reads "unknown", so it shows up in the report instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from audit import changes, gsi, host, monitoring, outages
from audit.evidence import BackupStore, guess_platform, read_folder
from audit.parse import MAX_BYTES
from audit.runner import ConfigSource
from devices.errors import ConfigError
from directory import models as m
from directory import store as dstore
from directory.store import Directory

UNKNOWN_PLATFORM = "unknown"


@dataclass(frozen=True)
class DeviceFacts:
    """What the directory (or a ``devices.yaml``) says about a device."""

    platform: str | None = None
    role: str | None = None
    agency: str | None = None


def directory_facts(directory: Directory) -> dict[str, DeviceFacts]:
    """Platform, role and agency code of every device in the directory."""
    with directory.transaction() as s:
        return {d.hostname: DeviceFacts(d.platform, d.role,
                                        d.site.agency.code if d.site and d.site.agency else None)
                for d in dstore.list_all(s, m.Device)}


def agencies_under(directory: Directory, code: str) -> set[str]:
    """The agency ``code`` and every agency below it, recursively (a ministry's departments
    and their offices): the scope of a ministry's report."""
    with directory.transaction() as s:
        rows = [(a.code, a.parent.code if a.parent else None)
                for a in dstore.list_all(s, m.Agency)]
    children: dict[str | None, list[str]] = {}
    for child, parent in rows:
        children.setdefault(parent, []).append(child)
    wanted = code.upper()
    top = next((c for c, _ in rows if c.upper() == wanted), None)
    if top is None:
        raise ConfigError(f"no agency {code!r} in the directory; "
                          "see 'gin directory agency list'")
    seen: set[str] = set()
    todo = [top]
    while todo:  # iterative, and a loop in the parent links cannot spin
        here = todo.pop()
        if here not in seen:
            seen.add(here)
            todo.extend(children.get(here, ()))
    return seen


def _yaml_facts(folder: Path) -> dict[str, DeviceFacts]:
    path = folder / "devices.yaml"
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of device -> platform/role/agency")
    return {str(k): DeviceFacts(v.get("platform"), v.get("role"), v.get("agency"))
            for k, v in raw.items() if isinstance(v, dict)}


def _read_capped(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(MAX_BYTES + 1)  # the parser refuses anything longer, unread


def from_folder(folder: Path | str, facts: dict[str, DeviceFacts] | None = None,
                store: BackupStore | None = None) -> list[ConfigSource]:
    """Sources for every config file in ``folder`` (see :func:`audit.evidence.read_folder`).

    ``facts`` are the directory's (None: no directory consulted, so whether a device is
    registered stays unknown); a ``devices.yaml`` in the folder adds to them.  A device
    they name with no file in the folder is still a source, with no configuration: its
    config checks read "unknown" (missing evidence), rather than the device vanishing from
    the score."""
    root = Path(folder)
    files = read_folder(root)
    known = None if facts is None else set(facts)
    table = dict(facts or {})
    table.update(_yaml_facts(root))
    out = []
    for device in sorted(set(files) | set(table)):
        fact = table.get(device, DeviceFacts())
        registered = None if known is None else device in known
        backed = _last_backup(store, device)
        if device not in files:
            out.append(ConfigSource(device, fact.platform or UNKNOWN_PLATFORM, None,
                                    fact.role, fact.agency, backed, registered,
                                    f"no config file for {device} in {root}"))
            continue
        path, named_platform = files[device]
        try:
            data = _read_capped(path)
        except OSError as exc:  # named in the report as unreadable, never dropped
            out.append(ConfigSource(device, named_platform or fact.platform or UNKNOWN_PLATFORM,
                                    None, fact.role, fact.agency, backed, registered,
                                    f"{path} could not be read: {exc.strerror or exc}"))
            continue
        platform = (named_platform or fact.platform
                    or guess_platform(data[:4096].decode("utf-8", "replace"))
                    or UNKNOWN_PLATFORM)
        out.append(ConfigSource(device, platform, data, fact.role, fact.agency, backed,
                                registered, str(path)))
    return out


def with_host_evidence(sources: Sequence[ConfigSource], folder: Path | str
                       ) -> list[ConfigSource]:
    """``sources`` with each device's host files from an evidence folder
    (``<folder>/<device>/etc/...``, see :mod:`audit.host`); a device with no folder there
    keeps none, so its host checks read "unknown"."""
    files = host.read_folder(folder)
    return [replace(s, host=files.get(s.device)) for s in sources]


def with_change_log(sources: Sequence[ConfigSource], store: BackupStore,
                    directory: Directory, now: dt.datetime | None = None
                    ) -> list[ConfigSource]:
    """``sources`` with each backed-up device's config changes checked against the
    directory's change log (:mod:`audit.changes`)."""
    facts = changes.change_facts(store, directory, [s.device for s in sources], now)
    return [replace(s, changes=facts.get(s.device)) for s in sources]


def with_monitoring(sources: Sequence[ConfigSource], prometheus: str,
                    now: dt.datetime | None = None) -> list[ConfigSource]:
    """``sources`` with what Prometheus at ``prometheus`` says of each device (at ``now``,
    and its link outages over the audit window before it)."""
    facts = monitoring.monitor_facts(prometheus, {s.device: s.agency for s in sources}, now)
    return [replace(s, monitor=facts.get(s.device)) for s in sources]


def with_blocks(sources: Sequence[ConfigSource], directory: Directory,
                now: dt.datetime | None = None,
                window: dt.timedelta = outages.WINDOW) -> list[ConfigSource]:
    """``sources`` with the GSI blocks (:mod:`audit.gsi`) of sources in each device's
    agency, added or in force in the window before ``now``."""
    since = (now or dt.datetime.now(dt.UTC)) - window
    with directory.transaction() as s:
        filed = gsi.by_agency(s, gsi.blocks(s, since))
    return [replace(src, blocks=tuple(filed.get(src.agency or "", ()))) for src in sources]


def _last_backup(store: BackupStore | None, device: str) -> dt.datetime | None:
    if store is None:
        return None
    try:
        versions = store.versions(device)
    except ConfigError:
        return None
    return versions[-1].time if versions else None


def from_backups(store: BackupStore, facts: dict[str, DeviceFacts] | None = None,
                 devices: list[str] | None = None) -> list[ConfigSource]:
    """The newest backup of each device (default: every device known to the directory or
    the store), with its newest collected host files (``gin audit backup --host-files``;
    none collected: its host checks read "unknown"; :func:`with_host_evidence` replaces
    them).  A directory device with no backup is audited as "unknown" everywhere,
    with "no backup" as the reason, rather than left out."""
    table = facts or {}
    names = devices or sorted(set(table) | set(store.devices()))
    known = None if facts is None else set(facts)
    out = []
    for device in names:
        fact = table.get(device, DeviceFacts())
        latest = store.latest(device)
        if latest is None:
            out.append(ConfigSource(device, fact.platform or UNKNOWN_PLATFORM, None,
                                    fact.role, fact.agency, None,
                                    None if known is None else device in known, "no backup"))
            continue
        version, text = latest
        out.append(ConfigSource(device, fact.platform or version.platform, text, fact.role,
                                fact.agency, version.time,
                                None if known is None else device in known,
                                f"backup {version.file}", host=store.latest_host(device)))
    return out

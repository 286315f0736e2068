"""Evidence: configuration backups (what RANCID and Oxidized do) and config folders.

``backup`` collects running configs from the directory's devices through the provisioning
transport (Netmiko or Ansible), concurrently, and stores each *version* once: a file named
by time and SHA-256 under ``<backup dir>/<device>/``, listed in that device's
``index.jsonl``.  A backup that finds the config unchanged stores no new file but records
the check (time, same hash), so "backed up in the last N days" stays true without copies.
Volatile lines (last-change stamps) are dropped first, or every backup would be "new".
A device that cannot be reached is reported as failed: never silently skipped.

``backup(..., host_files=True)`` (``gin audit backup --host-files``) also collects the host
files of Linux routers (FRR: sshd, rsyslog, chrony, snmpd, nftables under /etc, see
:mod:`audit.host`) over the transport's read-only SFTP channel, redacted (no SNMP key or
community is ever stored), as versions beside the configs: a folder per distinct set under
``<device>/host/`` laid out like an evidence folder (``etc/...``;
:meth:`BackupStore.host_diff` compares two), listed in ``host.jsonl`` with a hash per
file.  A router whose files cannot be read is reported as failed, and its host checks stay
"unknown".

Plain files plus a JSON-lines index keep this usable without the database (an auditor can
copy the folder) and keep many writers safe: each device's files are its own.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from audit import host
from devices import platforms
from devices.converge import read
from devices.errors import ConfigError, GinError
from devices.sessions import Sessions
from devices.targets import DeviceTarget, target_of
from devices.transport import DeviceTransport, HostFileReader
from directory import models as m
from directory import store as dstore
from directory.db import user_data_path
from directory.store import Directory

#: Lines that change without a configuration change (RANCID drops them too).
VOLATILE = re.compile(
    r"^(! Last configuration change|! NVRAM config last updated|## Last commit|"
    r"ntp clock-period|Current configuration ?:|Building configuration)")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def default_root() -> Path:
    """``$GIN_BACKUP_DIR``, else ``$XDG_DATA_HOME/gin/backups`` (beside the directory)."""
    return user_data_path("GIN_BACKUP_DIR", "backups")


def normalise(text: str) -> str:
    """Config text without volatile stamps, with Unix newlines and one final newline."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    kept = [ln for ln in lines if not VOLATILE.match(ln)]
    return "\n".join(kept).strip("\n") + "\n"


@dataclass(frozen=True)
class Version:
    """One record of a device's index: a backup taken at ``time`` with hash ``sha256``."""

    device: str
    time: dt.datetime
    sha256: str
    file: str
    platform: str
    changed: bool


class BackupStore:
    """Versions of each device's config under one root folder (mode 0700, files 0600)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_root()

    def _dir(self, device: str) -> Path:
        if not SAFE_NAME.match(device):
            raise ConfigError(f"device name {device!r} cannot name a backup folder")
        return self.root / device

    def versions(self, device: str) -> list[Version]:
        """Every backup record of ``device``, oldest first (empty when never backed up)."""
        index = self._dir(device) / "index.jsonl"
        if not index.is_file():
            return []
        out = []
        for line in index.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            out.append(Version(device, dt.datetime.fromisoformat(rec["time"]), rec["sha256"],
                               rec["file"], rec["platform"], rec["changed"]))
        return out

    def devices(self) -> list[str]:
        """Devices that have at least one backup."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/index.jsonl"))

    def latest(self, device: str) -> tuple[Version, str] | None:
        """The newest record and its config text (None when never backed up)."""
        versions = self.versions(device)
        if not versions:
            return None
        last = versions[-1]
        return last, self.read(last)

    def read(self, version: Version) -> str:
        return (self._dir(version.device) / version.file).read_text(encoding="utf-8")

    def save(self, device: str, platform: str, text: str,
             now: dt.datetime | None = None) -> Version:
        """Store ``text`` if it differs from the newest version; record the backup either way."""
        now = now or dt.datetime.now(dt.UTC)
        body = normalise(text)
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        folder = self._dir(device)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        previous = self.versions(device)
        changed = not previous or previous[-1].sha256 != digest
        if changed:
            name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{digest[:12]}.cfg"
            path = folder / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
        else:
            name = previous[-1].file
        version = Version(device, now, digest, name, platform, changed)
        record = {"time": now.isoformat(), "sha256": digest, "file": name,
                  "platform": platform, "changed": changed}
        fd = os.open(folder / "index.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        return version

    def host_versions(self, device: str) -> list[Version]:
        """Every host-file collection of ``device``, oldest first (``file``: its folder)."""
        index = self._dir(device) / "host.jsonl"
        if not index.is_file():
            return []
        recs = [json.loads(ln) for ln in index.read_text(encoding="utf-8").splitlines()
                if ln.strip()]
        return [Version(device, dt.datetime.fromisoformat(r["time"]), r["sha256"], r["file"],
                        r["platform"], r["changed"]) for r in recs]

    def latest_host(self, device: str) -> host.HostFiles | None:
        """The newest collected host files, read as an evidence folder (None: never)."""
        try:
            versions = self.host_versions(device)
        except ConfigError:  # a name that cannot be a folder was never collected
            return None
        if not versions:
            return None
        return host.read_device(self._dir(device) / "host" / versions[-1].file)

    def save_host(self, device: str, platform: str, files: dict[str, str],
                  now: dt.datetime | None = None) -> Version:
        """Store redacted host files (``{"etc/...": text}``) if they differ from the newest
        collection; record the collection either way."""
        now = now or dt.datetime.now(dt.UTC)
        body = {}
        for rel, text in files.items():
            parts = rel.split("/")
            if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise ConfigError(f"{device}: host file name {rel!r} is not a relative path")
            body[rel] = "".join(host.redact(ln) + "\n" for ln in text.splitlines())
        sums = {rel: hashlib.sha256(txt.encode("utf-8")).hexdigest()
                for rel, txt in sorted(body.items())}
        digest = hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()
        folder = self._dir(device)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        previous = self.host_versions(device)
        changed = not previous or previous[-1].sha256 != digest
        name = previous[-1].file if not changed else \
            f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{digest[:12]}"
        if changed:
            for rel, txt in body.items():
                path = folder / "host" / name / rel
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(txt)
        record = {"time": now.isoformat(), "sha256": digest, "file": name,
                  "platform": platform, "changed": changed, "files": sums}
        fd = os.open(folder / "host.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        return Version(device, now, digest, name, platform, changed)

    def host_diff(self, device: str, context: int = 3) -> list[str]:
        """Unified diff of every host file between the two newest distinct collections
        (empty with one collection only)."""
        distinct = [v for v in self.host_versions(device) if v.changed]
        if not distinct:
            raise ConfigError(f"no host files of {device}; "
                              f"run 'gin audit backup --host-files {device}'")
        old, new = (distinct[-2] if len(distinct) > 1 else distinct[-1]), distinct[-1]
        before = host.read_device(self._dir(device) / "host" / old.file).files
        after = host.read_device(self._dir(device) / "host" / new.file).files
        out: list[str] = []
        for rel in sorted(set(before) | set(after)):
            out += difflib.unified_diff(
                before.get(rel, "").splitlines(), after.get(rel, "").splitlines(),
                f"{device}@{old.time.isoformat(timespec='seconds')}:{rel}",
                f"{device}@{new.time.isoformat(timespec='seconds')}:{rel}",
                n=context, lineterm="")
        return out

    def diff(self, device: str, older: str | None = None, newer: str | None = None,
             context: int = 3) -> list[str]:
        """Unified diff between two stored versions (default: the two newest distinct ones).

        ``older``/``newer`` are SHA-256 prefixes.  With one version only, the diff is empty.
        """
        distinct: list[Version] = []
        for v in self.versions(device):
            if v.changed:
                distinct.append(v)
        if not distinct:
            raise ConfigError(f"no backup of {device}; run 'gin audit backup {device}'")

        def pick(prefix: str) -> Version:
            hits = [v for v in distinct if v.sha256.startswith(prefix)]
            if len(hits) != 1:
                raise ConfigError(f"{device}: {len(hits)} versions match {prefix!r}")
            return hits[0]

        new = pick(newer) if newer else distinct[-1]
        if older:
            old = pick(older)
        else:
            before = [v for v in distinct if v.time < new.time]
            old = before[-1] if before else new
        return list(difflib.unified_diff(
            self.read(old).splitlines(), self.read(new).splitlines(),
            f"{device}@{old.time.isoformat(timespec='seconds')} {old.sha256[:12]}",
            f"{device}@{new.time.isoformat(timespec='seconds')} {new.sha256[:12]}",
            n=context, lineterm=""))


@dataclass(frozen=True)
class BackupResult:
    """What happened to one device: ``new``, ``unchanged`` or ``failed`` (with why)."""

    device: str
    status: str
    sha256: str | None = None
    time: dt.datetime | None = None
    error: str | None = None
    what: str = "config"


def _collect(sessions: Sessions, target: DeviceTarget, store: BackupStore) -> BackupResult:
    device, platform = target.hostname, target.platform
    try:
        text = read(sessions, target, release=True)
        if not text.strip():
            return BackupResult(device, "failed", error="the device returned an empty config")
        version = store.save(device, platform, text)
    except GinError as exc:
        return BackupResult(device, "failed", error=str(exc))
    except Exception as exc:  # one device's surprise must not stop the others
        return BackupResult(device, "failed", error=f"{type(exc).__name__}: {exc}")
    return BackupResult(device, "new" if version.changed else "unchanged", version.sha256,
                        version.time)


def _collect_host(transport: DeviceTransport, target: DeviceTarget, store: BackupStore
                  ) -> BackupResult:
    """One router's host files through the transport's SFTP channel (see the module doc)."""
    device, platform = target.hostname, target.platform
    try:
        if not isinstance(transport, HostFileReader):
            raise ConfigError(f"the {transport.name} transport cannot read host files; "
                              "use --via netmiko")
        got = transport.read_host_files(target, ["/" + p for p in host.FILES],
                                        host.MAX_FILE)
        files: dict[str, str] = {}
        for path, data in got.files.items():
            if b"\x00" in data:
                got.unreadable[path] = "binary data, not a configuration file"
            else:
                files[path.lstrip("/")] = data.decode("utf-8", errors="replace")
        if got.unreadable:
            why = "; ".join(f"{p}: {e}" for p, e in sorted(got.unreadable.items()))
            return BackupResult(device, "failed", error=f"unreadable host files: {why}",
                                what="host")
        if not files:
            return BackupResult(device, "failed", error="no host file found under /etc",
                                what="host")
        version = store.save_host(device, platform, files)
    except GinError as exc:
        return BackupResult(device, "failed", error=str(exc), what="host")
    except Exception as exc:  # one device's surprise must not stop the others
        return BackupResult(device, "failed", error=f"{type(exc).__name__}: {exc}",
                            what="host")
    return BackupResult(device, "new" if version.changed else "unchanged", version.sha256,
                        version.time, what="host")


def backup(directory: Directory, transport: DeviceTransport, devices: Sequence[str] = (),
           store: BackupStore | None = None, workers: int = 8,
           advance: Callable[[], None] | None = None,
           host_files: bool = False) -> list[BackupResult]:
    """Back up ``devices`` (default: every device in the directory), concurrently.

    Names not in the directory come back as failed results, in the order asked.  With
    ``host_files``, each Linux router (:func:`audit.host.collects`) also has its host
    files collected: a second result (``what="host"``) after its config's.
    """
    store = store or BackupStore()
    with directory.transaction() as s:
        table = {d.hostname: target_of(d)
                 for d in dstore.list_all(s, m.Device, m.Device.hostname)}
    names = list(devices) or list(table)
    results: dict[str, BackupResult] = {}
    jobs = []
    for name in names:
        if name not in table:
            results[name] = BackupResult(name, "failed", error="not in the directory")
        else:
            jobs.append(name)
    hosts: dict[str, BackupResult] = {}
    if jobs:
        with Sessions(transport) as sessions, ThreadPoolExecutor(
                max_workers=max(1, min(workers, len(jobs)))) as pool:
            futures = {n: pool.submit(_collect, sessions, table[n], store) for n in jobs}
            host_jobs = {n: pool.submit(_collect_host, transport, table[n], store)
                         for n in jobs if host_files and host.collects(table[n].platform)}
            for name, fut in futures.items():
                results[name] = fut.result()
                if name in host_jobs:
                    hosts[name] = host_jobs[name].result()
                if advance:
                    advance()
    return [r for n in names for r in (results[n], hosts.get(n)) if r is not None]


#: File names read as configs: these extensions, or none at all (RANCID and many backup
#: tools write ``<device>`` with no extension).
CONFIG_SUFFIXES = (".cfg", ".conf", ".txt", "")
#: Read for facts, not as a config (see :mod:`audit.sources`).
FACTS_FILE = "devices.yaml"


@dataclass(frozen=True)
class ConfigFolder:
    """What a folder of configs holds: ``{device: (path, platform or None)}`` to read, and
    every other entry with the reason it is not read (so nothing is skipped silently)."""

    files: dict[str, tuple[Path, str | None]]
    skipped: tuple[tuple[Path, str], ...] = ()


def list_folder(folder: Path | str) -> ConfigFolder:
    """Configs an auditor received (see :func:`read_folder`) and the entries skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder of configurations")
    known = set(platforms.registry())
    out: dict[str, tuple[Path, str | None]] = {}
    skipped: list[tuple[Path, str]] = []
    wanted = ", ".join(f"*{x}" for x in CONFIG_SUFFIXES if x) + " or no extension"
    for path in sorted(root.iterdir()):
        if path.name == FACTS_FILE:
            continue
        if path.name.startswith("."):
            skipped.append((path, "hidden file"))
        elif not path.is_file():
            skipped.append((path, "not a regular file (configs are files in the folder "
                                  "itself)"))
        elif path.suffix not in CONFIG_SUFFIXES:
            skipped.append((path, f"not a config file name ({wanted})"))
        else:
            stem = path.stem
            platform = None
            head, _, tail = stem.rpartition(".")
            if head and tail in known:
                stem, platform = head, tail
            if stem in out:
                skipped.append((path, f"{out[stem][0].name} already gives {stem}'s config"))
                continue
            out[stem] = (path, platform)
    return ConfigFolder(out, tuple(skipped))


def read_folder(folder: Path | str) -> dict[str, tuple[Path, str | None]]:
    """Configs an auditor received: ``{device: (path, platform or None)}``.

    The device is the file name's stem; ``<device>.<platform>.cfg`` names the platform,
    and a ``devices.yaml`` beside the files may give platform, role and agency per device.
    What is not read is named by :func:`list_folder`.
    """
    return list_folder(folder).files


def guess_platform(text: str) -> str | None:
    """A best guess from the text itself; None when there is nothing to go on.

    Each platform says how to recognise its config (``recognise:`` in its platform.yaml);
    the more specific ones are tried first (their ``precedence``)."""
    head = text[:4096]
    for name, patterns in _recognisers():
        if any(p.search(head) for p in patterns):
            return name
    return None


@cache
def _recognisers() -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    table = platforms.registry()
    order = sorted(table, key=lambda n: (table[n].recognise_precedence, n))
    return tuple((n, tuple(re.compile(p, re.M) for p in table[n].recognise))
                 for n in order if table[n].recognise)

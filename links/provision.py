"""Provision links: read running config, push only the difference, save, verify, record.

Each link is one unit.  Device by device, under that device's configuration lock, the
running config is read, the missing lines pushed, read back and saved; then the link is
verified without holding any lock.  On a failed push or verification the link is undone
on every device it changed: the exact pre-change config when nothing else touched the
device since, else only this link's lines (see :func:`_undo`); the link is marked failed.
Links run concurrently; one failing device never stops or corrupts the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from devices import configtree, platforms
from devices.errors import GinError, TransportError
from devices.transport import Connection, Target, Transport, show_all
from directory import models as m
from directory import store
from directory.changelog import log_event
from directory.store import Directory
from links.build import build_intent
from links.intent import Baseline, LinkIntent
from links.render import render
from links.verify import Verification, verify_link

#: Result states, and the exit code each one implies for the CLI.
EXIT = {"changed": 0, "no change": 0, "dry-run": 0, "rolled back": 4, "failed": 3}


@dataclass
class LinkResult:
    link: str
    status: str = "failed"
    message: str = ""
    diff: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    restored: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {"link": self.link, "status": self.status, "message": self.message,
                "diff": self.diff, "checks": self.checks, "restored": self.restored}


def target_of(device: m.Device) -> Target:
    host = device.mgmt_address or device.hostname
    return Target(device.hostname, device.platform, host, device.mgmt_port or 22,
                  device.credential_ref)


class LockedConnection:
    """A connection several threads may share: one command at a time on the wire."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._io = threading.Lock()

    def show(self, command: str) -> str:
        with self._io:
            return self._conn.show(command)

    def show_many(self, commands: list[str]) -> list[str]:
        with self._io:
            return show_all(self._conn, commands)

    def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
        with self._io:
            return self._conn.configure(lines, tolerate_errors)

    def save(self) -> None:
        with self._io:
            self._conn.save()

    def close(self) -> None:
        with self._io:
            self._conn.close()


class Sessions:
    """One shared connection and one configuration lock per device, for a whole run.

    The configuration lock is held only while a link reads, changes and saves a device;
    verification (which waits seconds for BGP) runs without it, so ten links on one PE
    are pushed one after another but verified side by side.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._locks: dict[str, threading.Lock] = {}
        self._conns: dict[str, LockedConnection] = {}
        self._guard = threading.Lock()

    def lock(self, hostname: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(hostname, threading.Lock())

    def get(self, target: Target) -> LockedConnection:
        """Call with the device's configuration lock held (connecting is not shared)."""
        conn = self._conns.get(target.hostname)
        if conn is None:
            conn = LockedConnection(self.transport.connect(target))
            self._conns[target.hostname] = conn
        return conn

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()


@dataclass
class _Job:
    name: str
    intent: LinkIntent
    targets: dict[str, Target]
    configs: dict[str, str]


def _prepare(directory: Directory, names: Iterable[str], baseline: Baseline | None) -> list[_Job]:
    jobs = []
    with directory.transaction() as s:
        for name in names:
            link = store.get_link(s, name)
            intent = build_intent(s, link, baseline)
            devices = {link.a_interface.device, link.b_interface.device}
            jobs.append(_Job(link.name, intent, {d.hostname: target_of(d) for d in devices},
                             render(intent)))
    return jobs


def _check_taken(conn: Connection, target: Target, intended: str) -> str:
    """Read the config back: a line the device silently refused is a failed push.

    Not every refusal is reported as an error (FRR's "BGP is already running" has no
    ``%``; Ansible's cli_config does not return the device's replies), so the running
    config itself is the proof.
    """
    platform = platforms.get(target.platform)
    running = conn.show(platform.show_running)
    still = configtree.missing(platform, running, intended)
    if still:
        shown = "; ".join(line.strip() for line in still[:3])
        raise TransportError(f"{target.hostname}: the device did not take {len(still)} "
                             f"line(s): {shown}")
    return running


def restore(conn: Connection, platform_name: str, before: str, passes: int = 3) -> bool:
    """Put the exact pre-change config back; True when the running text matches again.

    Remediation lines may be refused once an earlier line removed their parent (FRR
    rejects ``no neighbor X description`` after ``no neighbor X remote-as``), so errors
    are tolerated and the remaining difference is recomputed, up to ``passes`` times.
    """
    platform = platforms.get(platform_name)
    for _ in range(passes):
        now = conn.show(platform.show_running)
        if now == before:
            return True
        lines = configtree.remediation(platform, now, before)
        if not lines:
            break
        conn.configure(lines, tolerate_errors=True)
    conn.save()
    return conn.show(platform.show_running) == before


def _rollback(job: _Job, sessions: Sessions, conns: dict[str, Connection],
              pushed: dict[str, str], after: dict[str, str], diff: dict[str, list[str]],
              others: dict[str, list[str]]) -> bool:
    """Undo this link's push on every device it changed.

    When nothing else touched a device since our push, restore its exact previous running
    config; when another link has been pushed there meanwhile, remove only our lines,
    keeping what was there before us and what the run's other links need there, so one
    link's failure never undoes another's.
    """
    restored = True
    for host, before in pushed.items():
        platform = platforms.get(job.targets[host].platform)
        try:
            with sessions.lock(host):
                restored = _undo(job, conns[host], host, platform, before, after, diff,
                                 others) and restored
        except GinError:
            restored = False
    return restored


def _undo(job: _Job, conn: Connection, host: str, platform: platforms.Platform, before: str,
          after: dict[str, str], diff: dict[str, list[str]],
          others: dict[str, list[str]]) -> bool:
    """Undo one device (its configuration lock held): exact restore, or our lines only."""
    now = conn.show(platform.show_running)
    if now == after.get(host):
        return restore(conn, platform.name, before)
    mine = "\n".join(diff[host]) + "\n"
    keep = [before, *others.get(host, [])]
    for _ in range(3):
        lines = configtree.removal(platform, now, mine, keep)
        if not lines:
            break
        conn.configure(lines, tolerate_errors=True)
        now = conn.show(platform.show_running)
    conn.save()
    return not configtree.removal(platform, now, mine, keep)


def _run_one(job: _Job, sessions: Sessions, dry_run: bool, verify_timeout: float,
             with_ping: bool, jobs: list[_Job]) -> LinkResult:
    result = LinkResult(job.name)
    hosts = sorted(job.targets)
    pushed: dict[str, str] = {}
    after: dict[str, str] = {}
    conns: dict[str, Connection] = {}
    others = {h: [j.configs[h] for j in jobs if j is not job and h in j.configs] for h in hosts}
    try:
        # One device at a time, each under its own configuration lock: a link never holds
        # the PE while it configures the CE, so links sharing a PE queue only for the PE.
        for host in hosts:
            target = job.targets[host]
            platform = platforms.get(target.platform)
            with sessions.lock(host):
                conns[host] = sessions.get(target)
                before = conns[host].show(platform.show_running)
                result.diff[host] = configtree.missing(platform, before, job.configs[host])
                if dry_run or not result.diff[host]:
                    continue
                pushed[host] = before
                try:
                    conns[host].configure(result.diff[host])
                    after[host] = _check_taken(conns[host], target, job.configs[host])
                    conns[host].save()
                except TransportError as exc:
                    failure = exc
                else:
                    continue
            # the push failed: undo what this link changed anywhere, then report
            result.status, result.message = "failed", str(failure)
            result.restored = _rollback(job, sessions, conns, pushed, after, result.diff,
                                        others)
            if not result.restored:
                result.message += "; ROLLBACK INCOMPLETE: check the devices"
            return result
        if dry_run:
            result.status, result.message = "dry-run", "nothing pushed (--dry-run)"
            return result
        try:
            check = verify_link(job.intent, conns[job.intent.pe.hostname],
                                conns[job.intent.ce.hostname], verify_timeout, with_ping)
        except GinError as exc:  # the device stopped answering mid-verification
            check = Verification()
            check.add("verification", False, f"verification could not run: {exc}")
        result.checks = check.checks
        if check.ok:
            result.status = "changed" if pushed else "no change"
            result.message = "verified" if pushed else "no change: already as intended"
            return result
        result.restored = _rollback(job, sessions, conns, pushed, after, result.diff, others)
        result.status = "rolled back" if pushed else "failed"
        result.message = "; ".join(check.reasons)
        if pushed:
            result.message += ("; restored the previous running config" if result.restored
                               else "; ROLLBACK INCOMPLETE: check the devices")
        return result
    except GinError as exc:  # a device unreachable or unreadable midway
        result.status, result.message = "failed", str(exc)
        if pushed:
            result.restored = _rollback(job, sessions, conns, pushed, after, result.diff,
                                        others)
        return result


def _record(directory: Directory, results: list[LinkResult]) -> None:
    """Link state and prefixes: planned -> provisioned/active, or failed; log every push."""
    with directory.transaction() as s:
        for res in results:
            if res.status == "dry-run":
                continue
            link = store.get_link(s, res.link)
            pushed = any(res.diff.values()) and res.status != "no change"
            if pushed:
                log_event(s, "push", link, {"diff": res.diff, "status": res.status})
            log_event(s, "verify", link, {"checks": res.checks, "ok": res.status in
                                          ("changed", "no change")})
            if res.restored is not None:
                log_event(s, "rollback", link, {"restored": res.restored,
                                                "reason": res.message})
            if res.status in ("changed", "no change"):
                link.status = "active"
                for p in s.scalars(select(m.Prefix).where(m.Prefix.link_id == link.id,
                                                          m.Prefix.status == "planned")):
                    p.status = "active"
            elif link.status != "active":
                link.status = "failed"


def provision(directory: Directory, names: list[str], transport: Transport,
              dry_run: bool = False, workers: int = 8, verify_timeout: float = 45,
              with_ping: bool = True, baseline: Baseline | None = None,
              on_done: Callable[[LinkResult], None] | None = None) -> list[LinkResult]:
    """Provision the named links concurrently; returns one result per link, in order."""
    jobs = _prepare(directory, names, baseline)
    sessions = Sessions(transport)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
            futures = [pool.submit(_run_one, j, sessions, dry_run, verify_timeout, with_ping,
                                   jobs) for j in jobs]
            results = []
            for fut in futures:
                res = fut.result()
                results.append(res)
                if on_done:
                    on_done(res)
    finally:
        sessions.close()
    _record(directory, results)
    return results

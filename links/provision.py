"""Provision links: each link is one :func:`devices.converge.converge` over its two routers.

Device by device, under that device's change lock, the running config is read, only the
missing lines pushed, read back and saved; then the link is verified (interfaces, BGP,
the agency's route) without holding any lock.  On a failed push or verification the link
is undone on every device it changed: the exact pre-change config when nothing else
touched the device since, else only this link's lines (what the run's other links need
there stays); the link is marked failed.  Links run concurrently; one failing device never
stops or corrupts the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from devices.baseline import Baseline
from devices.converge import Convergence, DeviceChange, Observer, converge
from devices.journal import Journal
from devices.sessions import Sessions
from devices.targets import DeviceTarget, target_of
from devices.transport import DeviceTransport
from directory import models as m
from directory import store
from directory.changelog import log_event
from directory.store import Directory
from links.build import build_intent
from links.intent import LinkIntent
from links.render import render
from links.verify import verify_link

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


@dataclass
class _Job:
    name: str
    intent: LinkIntent
    targets: dict[str, DeviceTarget]
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


def _run_one(job: _Job, sessions: Sessions, dry_run: bool, verify_timeout: float,
             with_ping: bool, jobs: list[_Job], observer: Observer | None) -> LinkResult:
    """One link: both routers (in host-name order, so links sharing routers queue the same
    way), verified together."""
    changes = [DeviceChange.toward(job.targets[host], job.configs[host],
                                   keep=[j.configs[host] for j in jobs
                                         if j is not job and host in j.configs])
               for host in sorted(job.targets)]
    pe, ce = job.intent.pe.hostname, job.intent.ce.hostname
    done = converge(sessions, changes, dry_run=dry_run, observer=observer,
                    verify=lambda conns: verify_link(job.intent, conns[pe], conns[ce],
                                                     verify_timeout, with_ping))
    return _result(job.name, done)


def _result(name: str, done: Convergence) -> LinkResult:
    message = {"dry-run": "nothing pushed (--dry-run)",
               "no change": "no change: already as intended"}.get(done.status, done.message)
    return LinkResult(name, done.status, message, done.diff, done.checks, done.restored)


def _record(directory: Directory, results: list[LinkResult], journal: Journal) -> None:
    """Link state and prefixes: planned -> provisioned/active, or failed; log every push.
    The journal's entries end in the same transaction (a crash leaves both or neither)."""
    with directory.transaction() as s:
        journal.finish(s)
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


def provision(directory: Directory, names: list[str], transport: DeviceTransport,
              dry_run: bool = False, workers: int = 8, verify_timeout: float = 45,
              with_ping: bool = True, baseline: Baseline | None = None,
              on_done: Callable[[LinkResult], None] | None = None,
              observer: Observer | None = None) -> list[LinkResult]:
    """Provision the named links concurrently; returns one result per link, in order.
    ``observer`` is told of every step on every device (see :mod:`devices.converge`)."""
    jobs = _prepare(directory, names, baseline)
    with Sessions(transport, db=directory.engine) as sessions, ThreadPoolExecutor(
            max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = [pool.submit(_run_one, j, sessions, dry_run, verify_timeout, with_ping,
                               jobs, observer) for j in jobs]
        results = []
        for fut in futures:
            res = fut.result()
            results.append(res)
            if on_done:
                on_done(res)
        _record(directory, results, sessions.journal)
    return results

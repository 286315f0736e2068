"""The audit, as one call: a scope and the evidence at hand -> every finding in scope.

:func:`assess` gathers the devices' configs (gin's backups or a folder an auditor
received), attaches the other evidence (host files, the change log, Prometheus), runs every
registered check (:mod:`audit.runner`) on the configs and on the directory's records, and
adds the stored web/TLS scans (:func:`scan_web` makes them).  :func:`record` stores the
result once in the directory (:mod:`audit.history`); :func:`stored` gives a stored run
back, so every report format renders the same run.  The CLI and any service call these;
nothing here prints.

Evidence is honest: a device the directory (or ``devices.yaml``) expects but whose config
is missing is audited with no configuration, so its config checks read "unknown" and count
against the score; every entry of a config folder is read or named in
:attr:`Assessment.skipped`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from audit import acceptance, catalogue, history, monitoring, runner, sources
from audit import report as reports
from audit.checks import records, tunnels
from audit.checks.base import Status
from audit.evidence import BackupStore, list_folder
from audit.findings import DeviceAudit, Finding, findings_of, merge
from audit.web import scan as web_scan
from audit.web.checks import stored_subjects
from audit.web.checks import subjects as web_subjects
from audit.web.evidence import WebEvidence
from devices.errors import ConfigError
from directory.store import Directory

#: Severities from least to most severe (``--fail-on``).
SEVERITIES = ("low", "medium", "high", "critical")
#: Processes that parse configs pay off from this many configs on.
PARALLEL_FROM = 200

Progress = Callable[[int], AbstractContextManager[Callable[[], None]]]


@dataclass(frozen=True)
class Scope:
    """What an audit covers: its name (the trend compares runs of one name) and the agency
    codes in it (upper case; None: the whole GIN)."""

    name: str = "GIN"
    agencies: frozenset[str] | None = None


def scope_of(directory: Directory | None, agency: str | None = None,
             ministry: str | None = None) -> Scope:
    """The scope of one agency, of a ministry and every agency under it (needs the
    directory), or the whole GIN."""
    if agency and ministry:
        raise ConfigError("give --agency or --ministry, not both")
    if agency:
        return Scope(agency.upper(), frozenset({agency.upper()}))
    if ministry:
        if directory is None:
            raise ConfigError("--ministry needs the directory (which agencies are under it); "
                              "give --db or GIN_DB")
        under = sources.agencies_under(directory, ministry)
        return Scope(f"{ministry.upper()}/*", frozenset(c.upper() for c in under))
    return Scope()


@dataclass(frozen=True)
class Evidence:
    """Where the evidence comes from.  ``directory`` None: no directory consulted (then
    whether a device is registered, the change log and the records stay unknown)."""

    directory: Directory | None = None
    #: gin's config backups (None: the default store).
    backups: BackupStore | None = None
    #: A folder of configs to audit instead of the backups.
    configs: Path | str | None = None
    #: A folder of Linux routers' /etc files, one sub-folder per device.
    host_dir: Path | str | None = None
    #: The SOC's Prometheus URL.
    prometheus: str | None = None
    #: Where ``gin audit web`` keeps its scans (None: its default).
    web_dir: Path | str | None = None
    max_age_days: int = 7


@dataclass
class Assessment:
    """One audit's result: the findings per device, the evidence not read, and, once
    recorded, the run's id in the directory."""

    scope: Scope
    audits: list[DeviceAudit]
    generated_at: dt.datetime
    framework: str
    skipped: tuple[tuple[str, str], ...] = ()
    run_id: int | None = None
    #: The previous run of the same scope, as a :func:`audit.history.summary` (the trend).
    prior: dict[str, Any] | None = field(default=None, repr=False)

    def failing(self, severity: str) -> list[Finding]:
        """Failing findings at or above ``severity`` (one of :data:`SEVERITIES`)."""
        if severity not in SEVERITIES:
            raise ConfigError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
        floor = SEVERITIES.index(severity)
        return [f for f in findings_of(self.audits) if f.status is Status.FAIL
                and f.severity in SEVERITIES and SEVERITIES.index(f.severity) >= floor]

    def data(self, lang: str = "en") -> dict[str, Any]:
        """The report data (:func:`audit.report.to_data`) of this run, with its trend."""
        return reports.to_data(self.audits, scope=self.scope.name, lang=lang,
                               generated=self.generated_at, prior=self.prior,
                               run=self.run_id, skipped=self.skipped)

    def write(self, path: Path | str, fmt: str, lang: str = "en",
              show_all: bool = False, **render: Any) -> None:
        """Render this run as ``fmt`` (one of :data:`audit.report.FORMATS`) to ``path``;
        ``render``: the page's options (``classification``, ``ministries``, ``signoff``)."""
        reports.write(Path(path), self.audits, fmt, scope=self.scope.name, lang=lang,
                      prior=self.prior, show_all=show_all, generated=self.generated_at,
                      run=self.run_id, skipped=self.skipped, **render)


@contextlib.contextmanager
def _quiet(_total: int) -> Iterator[Callable[[], None]]:
    yield lambda: None


def _config_sources(scope: Scope, ev: Evidence, store: BackupStore,
                    facts: dict[str, sources.DeviceFacts] | None,
                    now: dt.datetime | None = None
                    ) -> tuple[list[runner.ConfigSource], tuple[tuple[str, str], ...]]:
    skipped: tuple[tuple[str, str], ...] = ()
    if ev.configs is not None:
        srcs = sources.from_folder(ev.configs, facts, store)
        skipped = tuple((str(p), why) for p, why in list_folder(ev.configs).skipped)
    else:
        srcs = sources.from_backups(store, facts)
    if scope.agencies is not None:
        srcs = [s for s in srcs if (s.agency or "").upper() in scope.agencies]
    if ev.host_dir is not None:
        srcs = sources.with_host_evidence(srcs, ev.host_dir)
    if ev.directory is not None:
        srcs = sources.with_change_log(srcs, store, ev.directory)
        srcs = sources.with_blocks(srcs, ev.directory, now)
    if ev.prometheus:
        srcs = sources.with_monitoring(srcs, ev.prometheus, now)
    return srcs, skipped


def assess(scope: Scope, evidence: Evidence, *, store: bool = False,
           workers: int | None = None, progress: Progress | None = None,
           now: dt.datetime | None = None,
           framework: catalogue.Framework | None = None) -> Assessment:
    """Audit everything in ``scope`` from ``evidence``; with ``store``, the run is recorded
    once in the evidence's directory (:func:`record`; no directory: not recorded, its
    ``run_id`` stays None).

    ``workers``: processes that parse configs (default: the CPUs from
    :data:`PARALLEL_FROM` configs on); ``progress(total)`` is a context manager yielding a
    callable called once per config audited."""
    framework = framework or catalogue.load()
    now = now or dt.datetime.now(dt.UTC)
    backups = evidence.backups or BackupStore()
    facts = (sources.directory_facts(evidence.directory)
             if evidence.directory is not None else None)
    srcs, skipped = _config_sources(scope, evidence, backups, facts, now)
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if len(srcs) >= PARALLEL_FROM else 1
    with (progress or _quiet)(len(srcs)) as advance:
        audits = runner.run(srcs, framework=framework, now=now, advance=advance,
                            workers=workers, backup_max_age_days=evidence.max_age_days)
    agencies = set(scope.agencies) if scope.agencies is not None else None
    if evidence.directory is not None:
        with evidence.directory.transaction() as s:
            subjects = records.directory_subjects(s, agencies)
        if evidence.prometheus:
            subjects = tunnels.with_live(subjects,
                                         monitoring.tunnel_states(evidence.prometheus, now))
    else:
        subjects = records.unconsulted_subjects([(c.device, c.agency, c.platform)
                                                 for c in srcs])
    services = ([(t.agency, t.host) for t in web_scan.targets_from_directory(evidence.directory)]
                if evidence.directory is not None else [])
    subjects += stored_subjects(evidence.web_dir, agencies, services)
    audits = merge(audits, runner.judge(subjects, framework, now))
    if evidence.directory is not None:  # accepted risks stay listed, out of the score
        audits = acceptance.applied(evidence.directory, audits, now)
    result = Assessment(scope, audits, now, framework.name, skipped)
    if store and evidence.directory is not None:
        return record(evidence.directory, result)
    return result


def record(directory: Directory, assessment: Assessment) -> Assessment:
    """Store ``assessment`` once in the directory; returns it with its run id and the
    previous run of its scope (the trend)."""
    run_id = history.record(directory, assessment.audits, scope=assessment.scope.name,
                            generated_at=assessment.generated_at,
                            framework=assessment.framework, skipped=assessment.skipped)
    return replace(assessment, run_id=run_id,
                   prior=_prior(directory, assessment.scope.name,
                                assessment.generated_at, run_id))


def _prior(directory: Directory, scope: str, before: dt.datetime,
           run_id: int | None) -> dict[str, Any] | None:
    prior = history.previous(directory, scope, before, run_id)
    if prior is None:
        return None
    return history.summary(reports.to_data(prior.audits, scope=prior.scope,
                                           generated=prior.generated_at))


def stored(directory: Directory, run: int | str = history.LATEST,
           scope: str | None = None) -> Assessment:
    """A run stored by :func:`record` (an id or ``"latest"``, of ``scope`` when given),
    with the run before it as its trend and the risks accepted now marked: rendering it
    records nothing."""
    got = history.load(directory, run, scope)
    audits = acceptance.applied(directory, got.audits)  # those in force now: expired count
    return Assessment(Scope(got.scope), audits, got.generated_at, got.framework,
                      got.skipped, got.id,
                      _prior(directory, got.scope, got.generated_at, got.id))


@dataclass
class WebScan:
    """One ``gin audit web`` run: the hosts' records, their findings, where they are kept."""

    records: list[dict[str, Any]]
    audits: list[DeviceAudit]
    stored_in: Path

    @property
    def unreachable(self) -> list[str]:
        """Hosts that did not answer."""
        return [str(r.get("host")) for r in self.records if r.get("error")]


def scan_web(directory: Directory, agency: str | None = None, nameserver: str | None = None,
             ca_file: Path | str | None = None, workers: int = 16,
             evidence_dir: Path | str | None = None, progress: Progress | None = None
             ) -> WebScan:
    """Scan every public service the directory records (or one agency's), keep the records
    as evidence for later reports, and judge them with the registered web checks."""
    targets = web_scan.targets_from_directory(directory, agency)
    if not targets:
        raise ConfigError("no public services recorded"
                          f"{' for ' + agency.upper() if agency else ''}; add one with "
                          "'gin directory service add AGENCY NAME URL'")
    with (progress or _quiet)(len(targets)) as advance:
        records = web_scan.scan(targets, nameserver, Path(ca_file) if ca_file else None,
                                workers, advance)
    store = WebEvidence(evidence_dir)
    store.save(records, scope=agency)
    return WebScan(records, runner.judge(web_subjects(records)), store.root)

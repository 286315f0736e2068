"""Run every check over many configurations, parsing each configuration once.

Parsing is the expensive part (hier_config builds a tree); the checks are cheap walks over
that tree.  So the runner parses a config once and hands the same tree to every check, and
a config that cannot be parsed still gets a finding per check ("unknown", with the parse
error as the reason): nothing is skipped and nothing passes by default.

The runner also judges the subjects that are not configs (directory records, VPN
gateways: :func:`judge`): every check module only describes checks and registers them
(:mod:`audit.checks.registry`); running them is done here, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from audit import catalogue
from audit.changes import ChangeFacts
from audit.checks import registry
from audit.checks.base import Check, Context, Status, Subject
from audit.findings import DeviceAudit, Finding, combine, finding, findings_of, merge
from audit.gsi import BlockRecord
from audit.host import HostFiles
from audit.monitoring import MonitorFact
from audit.parse import AuditParseError, ParsedConfig, parse


@dataclass(frozen=True)
class ConfigSource:
    """One device's configuration and the facts about it that are not in the text."""

    device: str
    platform: str
    #: None: there is no configuration to read (e.g. the device was never backed up).
    text: bytes | str | None
    role: str | None = None
    agency: str | None = None
    backed_up_at: dt.datetime | None = None
    #: Is the device in the directory?  None: no directory was consulted.
    in_directory: bool | None = None
    #: Where the text came from (a file path, a backup version): shown with the evidence.
    origin: str = ""
    #: The host's /etc files (Linux routers); None: no host evidence for this device.
    host: HostFiles | None = None
    #: Config changes against the change log (None: not compared).
    changes: ChangeFacts | None = None
    #: Prometheus' view of the device (None: not consulted).
    monitor: MonitorFact | None = None
    #: GSI blocks of sources in the device's agency (None: the change log not consulted).
    blocks: tuple[BlockRecord, ...] | None = None


#: The checks of a device's config, found in the registry.
ALL: tuple[Check, ...] = registry.of("config")
__all__ = ["ALL", "ConfigSource", "DeviceAudit", "Finding", "audit_one", "combine", "finding",
           "findings_of", "judge", "merge", "run"]


def audit_one(source: ConfigSource, checks: Sequence[Check] = ALL,
              framework: catalogue.Framework | None = None,
              now: dt.datetime | None = None, **limits: int) -> DeviceAudit:
    """Parse ``source`` once and run every check on the shared tree."""
    framework = framework or catalogue.load()
    ctx = Context(device=source.device, role=source.role, agency=source.agency,
                  backed_up_at=source.backed_up_at, in_directory=source.in_directory,
                  now=now or dt.datetime.now(dt.UTC), host=source.host,
                  changes=source.changes, monitor=source.monitor,
                  blocks=source.blocks, **limits)
    result = DeviceAudit(source.device, source.agency, source.platform)
    config: ParsedConfig | None = None
    if source.text is None:
        result.error = f"no configuration ({source.origin or 'none given'})"
    else:
        try:
            config = parse(source.text, source.platform)
        except AuditParseError as exc:
            result.error = str(exc)
    if config is not None and config.incomplete:
        result.warnings.append(config.incomplete)
    for check in checks:
        verdict = check.run(config, source.platform, ctx)
        status, reason = verdict.status, verdict.reason
        if result.error and status is Status.UNKNOWN and not check.context_only:
            reason = f"configuration could not be read: {result.error}"
        elif (config is not None and config.incomplete and not check.context_only
              and status in (Status.PASS, Status.NOT_APPLICABLE)
              and check.applies(source.platform)):
            # what passed on half a config proves nothing about the missing half
            status = Status.UNKNOWN
            reason = f"configuration incomplete ({config.incomplete}); not trusted: {reason}"
        fix = check.fix(source.platform, ctx, config) if status is Status.FAIL else ()
        result.findings.append(Finding(
            device=source.device, agency=source.agency, platform=source.platform,
            check=check.id, title=check.title,
            controls=tuple(c.id for c in framework.controls_of(check.id)),
            status=status, severity=check.severity, reason=reason,
            evidence=verdict.evidence, remediation=fix, origin=source.origin))
    return result


def run(sources: Iterable[ConfigSource], checks: Sequence[Check] = ALL,
        framework: catalogue.Framework | None = None, now: dt.datetime | None = None,
        advance: Callable[[], None] | None = None, workers: int = 1,
        **limits: int) -> list[DeviceAudit]:
    """Audit many configs, in order.

    Parsing is CPU-bound Python, so ``workers > 1`` spreads chunks of configs over that
    many processes (the built-in checks and framework only: they are found again by name
    in each process); ``workers=1`` stays in this process.
    """
    framework = framework or catalogue.load()
    now = now or dt.datetime.now(dt.UTC)
    items = list(sources)
    if workers > 1 and len(items) > 1 and checks is ALL:
        return _run_parallel(items, framework.name, now, advance, workers, limits)
    out = []
    for source in items:
        out.append(audit_one(source, checks, framework, now, **limits))
        if advance:
            advance()
    return out


def _chunk(items: list[ConfigSource], framework: str, now: dt.datetime,
           limits: dict[str, int]) -> list[DeviceAudit]:
    fw = catalogue.load(framework)
    return [audit_one(s, ALL, fw, now, **limits) for s in items]


def _run_parallel(items: list[ConfigSource], framework: str, now: dt.datetime,
                  advance: Callable[[], None] | None, workers: int,
                  limits: dict[str, int]) -> list[DeviceAudit]:
    size = max(1, min(64, len(items) // (workers * 4) or 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    out: list[DeviceAudit] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(_chunk, chunks, [framework] * len(chunks), [now] * len(chunks),
                             [limits] * len(chunks)):
            out.extend(done)
            if advance:
                for _ in done:
                    advance()
    return out




def judge(subjects: Iterable[Subject], framework: catalogue.Framework | None = None,
          now: dt.datetime | None = None) -> list[DeviceAudit]:
    """Every registered check of each subject's kind over that subject (a directory record,
    a VPN gateway, a scanned web host): one :class:`DeviceAudit` per subject name, in
    first-seen order."""
    framework = framework or catalogue.load()
    now = now or dt.datetime.now(dt.UTC)
    out: dict[str, DeviceAudit] = {}
    for subject in subjects:
        ctx = replace(subject.ctx, now=now)
        entry = out.setdefault(subject.name,
                               DeviceAudit(subject.name, subject.agency, subject.platform))
        entry.error = entry.error or subject.error
        for check in registry.of(subject.kind):
            verdict = check.run(None, subject.platform, ctx)
            entry.findings.append(finding(
                subject.name, check.id, check.title, verdict.status, check.severity,
                verdict.reason, agency=subject.agency, platform=subject.platform,
                evidence=verdict.evidence,
                remediation=(check.fix(subject.platform, ctx)
                             if verdict.status is Status.FAIL else ()),
                origin=subject.origin,
                framework=framework))
    return list(out.values())

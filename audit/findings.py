"""What every audit produces, whatever the evidence: findings, grouped per device.

The config runner, the directory-record checks, the VPN gateways' checks and the web audit
all make :class:`Finding` objects through :func:`finding` (controls from the framework file),
so every report format and the stored runs treat them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit import catalogue
from audit.checks.base import Status


@dataclass(frozen=True)
class Acceptance:
    """A risk accepted on one finding: who accepted it, why, and until when (ISO time)."""

    by: str
    until: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"by": self.by, "until": self.until, "reason": self.reason}


@dataclass(frozen=True)
class Finding:
    """One check's verdict on one device, with the controls it evidences."""

    device: str
    agency: str | None
    platform: str
    check: str
    title: str
    controls: tuple[str, ...]
    status: Status
    severity: str
    reason: str
    evidence: tuple[tuple[int | None, str], ...] = ()
    remediation: tuple[str, ...] = ()
    origin: str = ""
    #: In force when the report was made: the finding stays listed, out of the score.
    accepted: Acceptance | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON and CSV (status as its string value)."""
        return {"device": self.device, "agency": self.agency, "platform": self.platform,
                "check": self.check, "title": self.title, "controls": list(self.controls),
                "status": self.status.value, "severity": self.severity, "reason": self.reason,
                "evidence": [{"line": ln, "text": tx} for ln, tx in self.evidence],
                "remediation": list(self.remediation), "origin": self.origin,
                "accepted": self.accepted.as_dict() if self.accepted else None}


@dataclass
class DeviceAudit:
    """All findings for one device, plus why its config could not be read (if so)."""

    device: str
    agency: str | None
    platform: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def finding(device: str, check: str, title: str, status: Status, severity: str, reason: str,
            *, agency: str | None = None, platform: str = "-",
            evidence: Sequence[tuple[int | None, str]] = (), remediation: Sequence[str] = (),
            origin: str = "", framework: catalogue.Framework | None = None) -> Finding:
    """A finding from any evidence source (a config check, the web/TLS audit, monitoring),
    with the controls the framework maps ``check`` to: the one way findings are made outside
    the config runner, so every report format treats them alike."""
    framework = framework or catalogue.load()
    return Finding(device=device, agency=agency, platform=platform, check=check, title=title,
                   controls=tuple(c.id for c in framework.controls_of(check)), status=status,
                   severity=severity, reason=reason, evidence=tuple(evidence),
                   remediation=tuple(remediation) if status is Status.FAIL else (),
                   origin=origin)


def merge(*groups: Iterable[DeviceAudit]) -> list[DeviceAudit]:
    """Audits of several evidence sources as one list: a device seen by two sources gets
    both's findings (and the first reason its evidence could not be read), in first-seen
    order."""
    out: dict[str, DeviceAudit] = {}
    for group in groups:
        for a in group:
            entry = out.get(a.device)
            if entry is None:
                out[a.device] = DeviceAudit(a.device, a.agency, a.platform, list(a.findings),
                                            a.error, list(a.warnings))
                continue
            entry.findings.extend(a.findings)
            entry.error = entry.error or a.error
            entry.warnings.extend(a.warnings)
    return list(out.values())


def combine(audits: Iterable[DeviceAudit], findings: Iterable[Finding]) -> list[DeviceAudit]:
    """``audits`` with more findings added to their device (a device or service the config
    audit did not see gets an entry of its own), in first-seen order."""
    return merge(audits, [DeviceAudit(f.device, f.agency, f.platform, [f]) for f in findings])


def findings_of(audits: Iterable[DeviceAudit]) -> list[Finding]:
    """Every finding of every device, in device order."""
    return [f for a in audits for f in a.findings]

"""What a check is: a small data-driven definition, and what it returns.

A check names the platforms it has a predicate for, the platforms where it does not apply
(with the reason), and the remediation lines per platform.  Entries are keyed by dialect: a
platform whose ``audit.dialect`` (platform.yaml) is another's (IOS-XE speaks IOS) reads that
dialect's entries unless it has its own, so nothing is written twice.  A platform the check
knows nothing about gives "unknown", never a pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TypeVar

from audit.changes import ChangeFacts
from audit.gsi import BlockRecord
from audit.host import HostFiles
from audit.monitoring import MonitorFact
from audit.parse import Node, ParsedConfig
from devices import platforms
from devices.errors import GinError

T = TypeVar("T")

Evidence = tuple[int | None, str]


class Status(StrEnum):
    """Outcome of one check on one device."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Result:
    """A predicate's verdict with the config lines (and line numbers) it rests on."""

    status: Status
    reason: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Context:
    """Facts about the device that are not in its config text."""

    device: str
    role: str | None = None
    agency: str | None = None
    backed_up_at: dt.datetime | None = None
    #: True/False when the directory was consulted; None when it was not.
    in_directory: bool | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    backup_max_age_days: int = 7
    max_idle_minutes: int = 15
    #: The host's /etc files (Linux routers: sshd, rsyslog...); None: no host evidence.
    host: HostFiles | None = None
    #: Config changes between backups against the change log; None: not compared.
    changes: ChangeFacts | None = None
    #: What Prometheus says about the device; None: no Prometheus consulted.
    monitor: MonitorFact | None = None
    #: GSI blocks of sources in the device's agency (the change log); None: not consulted.
    blocks: tuple[BlockRecord, ...] | None = None


Predicate = Callable[[ParsedConfig, Context], Result]
#: A remedy worked out from the subject (a record's own names), instead of fixed lines.
Remedy = Callable[[Context], Sequence[str]]

#: What a check can judge: a device's config with its context ("config"), or a record of
#: the directory (a device's inventory entry, an agency, an agency link, a VPN gateway's
#: tunnels and certificates), or a public service's stored web/TLS scan ("web").  The
#: runner gives each subject the checks registered for its kind.
SUBJECTS = ("config", "device-record", "agency-record", "link-record", "gateway", "web")


@dataclass(frozen=True)
class Subject:
    """One thing the runner judges that is not a config text: a directory record, a VPN
    gateway, a public service.  ``kind`` (one of :data:`SUBJECTS`) picks the checks; ``ctx``
    carries the facts (the runner sets its clock)."""

    name: str
    kind: str
    platform: str
    ctx: Context
    agency: str | None = None
    origin: str = ""
    #: Why the subject's evidence could not be read (a host that did not answer).
    error: str | None = None


@dataclass(frozen=True)
class Check:
    """One audit check; controls come from the framework data files (many-to-many)."""

    id: str
    title: str
    severity: str
    #: platform name -> predicate over the parsed config.
    rules: Mapping[str, Predicate]
    #: platform name -> why the check does not apply there.
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    #: platform name -> config lines that fix a failure.
    remediation: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: True when the check reads only the context, not the config (it runs even when the
    #: config could not be parsed).
    context_only: bool = False
    #: What the check judges (one of :data:`SUBJECTS`).
    subject: str = "config"
    #: Remediation computed from the context (overrides ``remediation`` when set).
    remedy: Remedy | None = None

    def applies(self, platform: str) -> bool:
        """False when the check is "not applicable" on ``platform``."""
        return _entry(self.not_applicable, platform) is None

    def fix(self, platform: str, ctx: Context | None = None,
            config: ParsedConfig | None = None) -> tuple[str, ...]:
        """The remediation lines for ``platform`` (its dialect's, else the generic ones),
        or the ones :attr:`remedy` works out from ``ctx``; with the judged ``config``, a
        ``line vty 0 15`` reaches every VTY line the device has (IOS-XE prints
        ``line vty 16 31`` and beyond), so the fix covers every line it cited."""
        if self.remedy is not None and ctx is not None:
            return tuple(self.remedy(ctx))
        lines = tuple(_entry(self.remediation, platform) or self.remediation.get("*") or ())
        last = _last_vty(config) if config is not None else None
        if last is not None and last > 15:
            lines = tuple(f"line vty 0 {last}" if ln == "line vty 0 15" else ln
                          for ln in lines)
        return lines

    def run(self, config: ParsedConfig | None, platform: str, ctx: Context) -> Result:
        """Apply the rule for ``platform``; a missing rule or a crash is "unknown"."""
        why = _entry(self.not_applicable, platform)
        if why is not None:
            return Result(Status.NOT_APPLICABLE, why)
        rule = _entry(self.rules, platform) or self.rules.get("*")
        if rule is None:
            return Result(Status.UNKNOWN, f"no rule for platform {platform!r}")
        if config is None and not self.context_only:
            return Result(Status.UNKNOWN, "configuration could not be parsed")
        try:
            return rule(config, ctx)  # type: ignore[arg-type]
        except Exception as exc:  # a rule bug must never read as a pass
            return Result(Status.UNKNOWN, f"check error: {type(exc).__name__}: {exc}")


def _last_vty(config: ParsedConfig) -> int | None:
    """The highest VTY line number the config prints (None: no ``line vty`` section)."""
    last: int | None = None
    for node in config.top("line vty "):
        words = node.text.split()
        try:
            end = int(words[3] if len(words) > 3 else words[2])
        except (IndexError, ValueError):
            continue
        last = end if last is None else max(last, end)
    return last


@cache
def dialect(platform: str) -> str | None:
    """The dialect whose rules read ``platform``'s config, when that is another name:
    ``cisco_xe`` -> ``cisco_ios``.  Data from the platform table (``audit.dialect``)."""
    try:
        base = platforms.get(platform).audit_dialect
    except GinError:
        return None
    return base if base != platform else None


def _entry(table: Mapping[str, T], platform: str) -> T | None:
    if platform in table:
        return table[platform]
    base = dialect(platform)
    return table.get(base) if base else None


#: A secret's value after its keyword (an optional type digit first).  Reports leave the
#: device, so evidence shows that a secret is there, never the secret.
SECRET = re.compile(
    r"\b(password|secret|key-string|encrypted-password|authentication-key|pre-shared-key"
    r"|ascii-text|community|key)(\s+\d{1,2})?\s+(?!(?:ascii-text|hexadecimal)\b)"
    r"(\"[^\"]*\"|\S+)", re.I)
KNOWN_DEFAULTS = {"public", "private"}


def redact(text: str) -> str:
    """``text`` with secret values replaced (default communities stay: they are evidence)."""
    def hide(m: re.Match[str]) -> str:
        value = m.group(3)
        if value.lower() in KNOWN_DEFAULTS:
            return m.group(0)
        return f"{m.group(1)}{m.group(2) or ''} <redacted>"

    return SECRET.sub(hide, text)


def cite(nodes: Sequence[Node]) -> tuple[Evidence, ...]:
    """Evidence lines in config order, each once, with secret values redacted."""
    seen = {id(n): n for n in nodes if n is not None}
    cited = {(ln, redact(tx)) for ln, tx in (n.cite() for n in seen.values())}
    return tuple(sorted(cited, key=lambda e: (e[0] or 0, e[1])))


def ok(reason: str, nodes: Sequence[Node] = ()) -> Result:
    return Result(Status.PASS, reason, cite(nodes))


def bad(reason: str, nodes: Sequence[Node] = ()) -> Result:
    return Result(Status.FAIL, reason, cite(nodes))


def unknown(reason: str, nodes: Sequence[Node] = ()) -> Result:
    return Result(Status.UNKNOWN, reason, cite(nodes))


def na(reason: str) -> Result:
    return Result(Status.NOT_APPLICABLE, reason)


def active(config: ParsedConfig, prefix: str) -> list[Node]:
    """Top-level lines starting with ``prefix`` (IOS/FRR): ``no ...`` lines never match."""
    return config.top(prefix)


def junos_active(config: ParsedConfig, *prefix: str) -> list[tuple[Node, list[str]]]:
    """Junos ``set`` lines under ``prefix`` (``delete`` lines are commands, not state)."""
    return list(config.set_lines(*prefix))


def per_ios(rule: Predicate, **others: Predicate) -> dict[str, Predicate]:
    """The IOS rule (IOS-XE reads it too: :func:`dialect`) plus other platforms' rules."""
    return {"cisco_ios": rule, **others}

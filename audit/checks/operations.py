"""Operations facts that are not in a config: changes recorded (10.1.2) and devices
monitored (10.10.2, 7.1.1).

Both read the context (the backups against the change log; Prometheus), so both run even
when a config could not be parsed, and both are "unknown" when their evidence was not
consulted: no change log or fewer backups than a change needs; no ``--prometheus``.
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, Status
from audit.checks.registry import register
from audit.parse import ParsedConfig

SHOWN = 5


def changes_logged(config: ParsedConfig | None, ctx: Context) -> Result:
    facts = ctx.changes
    if facts is None:
        return Result(Status.UNKNOWN, "no backups compared with the directory's change log "
                                      "(needs 'gin audit backup' history and the directory)")
    if not facts.changes:
        return Result(Status.PASS, f"no configuration change between the device's "
                                   f"{facts.versions} stored version(s) in the window")
    missing = facts.unlogged
    if not missing:
        return Result(Status.PASS, f"all {len(facts.changes)} configuration change(s) have "
                                   "change-log entries",
                      tuple((None, f"{c.older}->{c.newer}: {c.entries[0]}")
                            for c in facts.changes[:SHOWN]))
    evidence: list[tuple[int | None, str]] = []
    for c in missing[:SHOWN]:
        evidence.append((None, f"{c.older_time.isoformat(timespec='seconds')} {c.older} -> "
                               f"{c.newer_time.isoformat(timespec='seconds')} {c.newer}: "
                               "no change-log entry for this device in between"))
        evidence += [(None, line) for line in c.diff]
    return Result(Status.FAIL, f"{len(missing)} of {len(facts.changes)} configuration "
                               "change(s) are not in the change log (made outside gin?)",
                  tuple(evidence))


CHANGES = Check(
    id="ops.changes_logged",
    title="Every configuration change is in the change log",
    severity="medium",
    rules={"*": changes_logged},  # type: ignore[dict-item]
    remediation={"*": ["gin audit diff <device>  # review the change",
                       "record it: gin link provision / gin vpn ... (changes go through gin)"]},
    context_only=True,
)


def monitored(config: ParsedConfig | None, ctx: Context) -> Result:
    fact = ctx.monitor
    if fact is None:
        return Result(Status.UNKNOWN, "no Prometheus consulted (give --prometheus URL)")
    threats = tuple((None, t) for t in fact.threats)
    if fact.up is None:
        return Result(Status.FAIL, f"not monitored: {fact.source} has no gin_snmp_up series "
                                   "for this device", threats)
    line = (None, f"gin_snmp_up{{device={ctx.device!r}}} = {fact.up:g}")
    if fact.up >= 1:
        return Result(Status.PASS, "scraped by Prometheus and answering SNMP",
                      (line, *threats))
    return Result(Status.FAIL, "scraped, but SNMP does not answer (gin_snmp_up 0): the "
                               "device is not watched", (line, *threats))


MONITORED = Check(
    id="mon.monitored",
    title="Device monitored (scraped by Prometheus and up)",
    severity="medium",
    rules={"*": monitored},  # type: ignore[dict-item]
    remediation={"*": ["gin monitor prometheus-config --out prom/  # scrape every device",
                       "gin monitor poll  # check the device answers SNMP v3"]},
    context_only=True,
)

CHECKS = register(CHANGES, MONITORED)

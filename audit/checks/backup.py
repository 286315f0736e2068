"""Back-up (10.5.1): the device's configuration was backed up in the last N days.

This check reads the backup record (the context), not the config text: a device never
backed up is "unknown" when no record could be consulted and "fail" when the record says
the last backup is too old.
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, Status
from audit.checks.registry import register
from audit.parse import ParsedConfig


def backup_age(config: ParsedConfig | None, ctx: Context) -> Result:
    if ctx.backed_up_at is None:
        return Result(Status.UNKNOWN, "no backup record for this device")
    age = ctx.now - ctx.backed_up_at
    days = age.total_seconds() / 86400
    when = ctx.backed_up_at.isoformat(timespec="seconds")
    if days <= ctx.backup_max_age_days:
        return Result(Status.PASS, f"last backup {when} ({days:.1f} days ago)")
    return Result(Status.FAIL, f"last backup {when} is {days:.1f} days old "
                               f"(limit {ctx.backup_max_age_days})")


BACKUP = Check(
    id="ops.backup_recent",
    title="Configuration backed up recently",
    severity="medium",
    rules={"*": backup_age},  # type: ignore[dict-item]
    remediation={"*": ["gin audit backup <device>"]},
    context_only=True,
)

CHECKS = register(BACKUP)

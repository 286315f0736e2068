"""Inventory (7.1.1): every device whose config is audited is registered in the directory.

A router that runs in the GIN but is missing from the directory has no owner, no contact
and no monitoring: the audit finds it through its config (a backup or a received file).
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, Status
from audit.checks.registry import register
from audit.parse import ParsedConfig


def registered(config: ParsedConfig | None, ctx: Context) -> Result:
    if ctx.in_directory is None:
        return Result(Status.UNKNOWN, "no directory was consulted")
    if ctx.in_directory:
        return Result(Status.PASS, "registered in the directory")
    return Result(Status.FAIL, "not in the directory: an unmanaged device")


IN_DIRECTORY = Check(
    id="inv.in_directory",
    title="Device registered in the directory",
    severity="medium",
    rules={"*": registered},  # type: ignore[dict-item]
    remediation={"*": ["gin directory device add <hostname> ..."]},
    context_only=True,
)

CHECKS = register(IN_DIRECTORY)

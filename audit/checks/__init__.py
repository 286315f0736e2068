"""All audit checks, one module per family; :data:`ALL` is the registry the runner uses."""

from __future__ import annotations

from audit.checks import (
    accounts,
    backup,
    crypto,
    host,
    inventory,
    logging,
    management,
    operations,
    records,
    references,
    routing,
    services,
    vpn,
)
from audit.checks.base import Check, Context, Result, Status

ALL: tuple[Check, ...] = (*management.CHECKS, *accounts.CHECKS, *logging.CHECKS,
                          *services.CHECKS, *routing.CHECKS, *crypto.CHECKS, *backup.CHECKS,
                          *inventory.CHECKS, *host.CHECKS,
                          *operations.CHECKS, *references.CHECKS)
#: Every check by id; the VPN and directory-record checks read the directory, not configs
#: (run by :func:`audit.checks.records.directory_findings`), so they are not in ALL.
BY_ID: dict[str, Check] = {c.id: c for c in (*ALL, *vpn.CHECKS, *records.CHECKS)}

__all__ = ["ALL", "BY_ID", "Check", "Context", "Result", "Status"]

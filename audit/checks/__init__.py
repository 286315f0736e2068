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
    routing,
    services,
)
from audit.checks.base import Check, Context, Result, Status

ALL: tuple[Check, ...] = (*management.CHECKS, *accounts.CHECKS, *logging.CHECKS,
                          *services.CHECKS, *routing.CHECKS, *crypto.CHECKS, *backup.CHECKS,
                          *inventory.CHECKS, *host.CHECKS,
                          *operations.CHECKS)
BY_ID: dict[str, Check] = {c.id: c for c in ALL}

__all__ = ["ALL", "BY_ID", "Check", "Context", "Result", "Status"]

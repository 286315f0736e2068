"""All audit checks, one module per family; each module registers its checks in
:mod:`audit.checks.registry`, which finds every module of this package by itself.

:data:`ALL` (the checks of a device's config) and :data:`BY_ID` (every check, whatever it
judges) are views of that registry.
"""

from __future__ import annotations

from audit.checks import registry
from audit.checks.base import Check, Context, Result, Status, Subject

#: The checks the runner applies to every device's config (and its context).
ALL: tuple[Check, ...] = registry.of("config")
#: Every check by id: configs, directory records, VPN gateways.
BY_ID: dict[str, Check] = registry.by_id()

__all__ = ["ALL", "BY_ID", "Check", "Context", "Result", "Status", "Subject"]

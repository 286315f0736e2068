"""The one list of checks: every check module registers its checks here, the runner reads it.

A check module calls :func:`register` at import time; :func:`discover` imports every module
of the :mod:`audit.checks` package, so adding a family of checks is adding one file (no list
to edit anywhere else).  Each check names the *subject* it judges (see
:data:`audit.checks.base.SUBJECTS`), and the runner applies to a subject every check
registered for its kind: check modules describe, the runner runs.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from audit.checks.base import SUBJECTS, Check

#: Modules of the package that hold no checks.
NOT_CHECKS = frozenset({"base", "registry"})

_checks: dict[str, Check] = {}


def register(*checks: Check) -> tuple[Check, ...]:
    """Add ``checks`` to the registry (an id registered twice is a programming error)."""
    for check in checks:
        if check.subject not in SUBJECTS:
            raise ValueError(f"check {check.id}: unknown subject {check.subject!r}; "
                             f"one of {', '.join(SUBJECTS)}")
        known = _checks.get(check.id)
        if known is not None and known is not check:
            raise ValueError(f"check id {check.id!r} registered twice")
        _checks[check.id] = check
    return checks


@cache
def discover() -> None:
    """Import every check module of :mod:`audit.checks` (each registers itself); once."""
    package = importlib.import_module("audit.checks")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name not in NOT_CHECKS and not info.name.startswith("_"):
            importlib.import_module(f"audit.checks.{info.name}")


def of(subject: str) -> tuple[Check, ...]:
    """The checks judging ``subject`` ("config", "device-record", ...), in registration
    order (modules are discovered by name, so the order never depends on who imported
    what first)."""
    discover()
    return tuple(c for c in _checks.values() if c.subject == subject)


def by_id() -> dict[str, Check]:
    """Every registered check, whatever its subject."""
    discover()
    return dict(_checks)

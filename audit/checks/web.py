"""The web/TLS checks of the agencies' public services (:mod:`audit.web.checks`), registered
for "web" subjects: the runner judges each scanned host's stored record with them."""

from __future__ import annotations

from audit.checks.base import Check
from audit.checks.registry import register
from audit.web.checks import CHECKS as WEB_CHECKS
from audit.web.checks import as_check

CHECKS: tuple[Check, ...] = register(*(as_check(c) for c in WEB_CHECKS))

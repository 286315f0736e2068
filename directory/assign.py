"""Allocating prefixes the way people ask for them: under a parent, or for an agency/site.

For an agency the space comes from its /48 (allocated from the addressing plan's supernet when
it has none yet), for a site from the site's /56; asking for exactly that length returns the
agency's or site's own prefix.  The CLI and the service both call :func:`allocate`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import allocator as al
from . import models as m
from .errors import Invalid
from .plan import Plan, load_plan
from .store import get_site


def allocate(session: Session, plan: Plan | None, length: int, count: int = 1, *,
             parent: str | None = None, agency: str | None = None, site: str | None = None,
             **attrs: Any) -> list[m.Prefix]:
    """Allocate ``count`` prefixes of ``length`` under ``parent``, or for ``agency`` (and
    ``site``).  ``plan`` defaults to the configured addressing plan; ``attrs`` are the new
    prefixes' fields (role, status, device, description)."""
    if bool(parent) == bool(agency):
        raise Invalid("allocate: give exactly one of a parent prefix or an agency")
    if site and not agency:
        raise Invalid("allocate: a site needs its agency")
    if parent:
        return al.allocate_many(session, parent, length, count,
                                **{**attrs, "role": attrs.get("role") or "other"})
    assert agency is not None
    plan = plan or load_plan()
    v6 = plan.ipv6
    if site:
        get_site(session, agency, site)
        if length == v6.site_length and count == 1:
            return [al.site_prefix(session, agency, site, plan)]
        under = al.site_prefix(session, agency, site, plan)
        role = attrs.pop("role", None) or ("lan" if length == v6.lan_length else "other")
        return al.allocate_many(session, under, length, count, role=role, agency=agency,
                                site=site, **attrs)
    if length == v6.agency_length and count == 1:
        return [al.agency_prefix(session, agency, plan)]
    under = al.agency_prefix(session, agency, plan)
    default = {v6.site_length: "site", v6.lan_length: "lan"}.get(length, "other")
    role = attrs.pop("role", None) or default
    return al.allocate_many(session, under, length, count, role=role, agency=agency, **attrs)

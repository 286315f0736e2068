"""Who is calling: the authenticated principal and what its grants allow (kept apart from
the route declarations in :mod:`.permissions`, which authentication itself does not need)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from sqlalchemy import false
from sqlalchemy.orm import Session

from directory import store
from directory.identity import Identity
from directory.store import Directory

from .metrics import REFUSALS

log = logging.getLogger("gin.server.access")


class Refused(HTTPException):
    """403 with one line saying what was missing (never what exists beyond the caller)."""

    def __init__(self, who: Identity, detail: str) -> None:
        super().__init__(status_code=403, detail=detail)
        log.warning("refused %s: %s", who.actor, detail)
        REFUSALS.labels("403").inc()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and what their grants allow."""

    identity: Identity
    directory: Directory

    @property
    def actor(self) -> str:
        return self.identity.actor

    def _grants(self, permission: str) -> list[tuple[str, int | None]]:
        return [(scope, agency) for scope, perms, agency in self.identity.grants
                if permission in perms]

    def holds(self, permission: str, gin_wide: bool = False) -> bool:
        grants = self._grants(permission)
        return any(scope == "gin" for scope, _ in grants) if gin_wide else bool(grants)

    def allows(self, session: Session, permission: str, agency: str) -> bool:
        """Whether a grant with ``permission`` covers ``agency`` (its code)."""
        grants = self._grants(permission)
        if any(scope == "gin" for scope, _ in grants):
            return True
        if not grants:
            return False
        lineage = store.lineage_ids(session, agency)  # the agency, its parent, ... up
        return any((scope == "agency" and lineage[:1] == [root])
                   or (scope == "ministry" and root in lineage) for scope, root in grants)

    def require(self, session: Session, permission: str, agency: str) -> None:
        """Refuse (403) unless ``permission`` is held over ``agency``."""
        if not self.allows(session, permission, agency):
            raise Refused(self.identity, f"{permission} is not granted over agency "
                                         f"{str(agency).upper()}")

    def require_gin(self, permission: str, what: str) -> None:
        """Refuse (403) unless ``permission`` is held over the whole GIN."""
        if not self.holds(permission, gin_wide=True):
            raise Refused(self.identity, f"{permission} over the whole GIN is needed for {what}")

    def visible(self, session: Session, permission: str) -> set[int] | None:
        """The agency ids the caller may see with ``permission``; None means every one."""
        grants = self._grants(permission)
        if any(scope == "gin" for scope, _ in grants):
            return None
        agencies = {root for scope, root in grants if scope == "agency" and root is not None}
        trees = [root for scope, root in grants if scope == "ministry" and root is not None]
        return agencies | store.subtree_ids(session, trees)

    def confine(self, session: Session, stmt: Any, permission: str, agency_column: Any) -> Any:
        """``stmt`` limited to the rows whose ``agency_column`` the caller's grants for
        ``permission`` cover: unchanged for a GIN-wide grant, nothing for no grant."""
        visible = self.visible(session, permission)
        if visible is None:
            return stmt
        return stmt.where(agency_column.in_(visible) if visible else false())

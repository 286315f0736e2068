"""Review of access rights: who has which role over which scope, and their tokens (never a
secret or a hash).  Read-only here; accounts are managed with ``gin user``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from directory import identity

from ..permissions import Principal, requires

router = APIRouter(tags=["identity"])


@router.get("/users")
def list_users(who: Principal = requires("identity.read", gin_wide=True)) -> dict[str, Any]:
    """Every account with its grants and tokens (state, expiry, last use)."""
    with who.directory.transaction(who.actor) as s:
        tokens: dict[str, list[dict[str, Any]]] = {}
        for t in identity.list_tokens(s):
            tokens.setdefault(t.user.name, []).append({
                "name": t.name, "state": identity.token_state(t), "read_only": t.read_only,
                "expires_at": t.expires_at, "last_used_at": t.last_used_at})
        items = [{"name": u.name, "full_name": u.full_name, "disabled": u.disabled,
                  "password": identity.has_password(u), "ldap": identity.is_ldap(u),
                  "grants": [identity.describe_grant(g) for g in u.grants],
                  "tokens": tokens.get(u.name, [])} for u in identity.list_users(s)]
    return {"items": items}

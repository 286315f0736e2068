"""The header's links to each role's pages, shown only to those holding the page's
permission (the pages check it again: hiding a link is a courtesy, not the control)."""

from __future__ import annotations

from ..principal import Principal

#: (path, word key, permission the page declares, whether over the whole GIN)
ENTRIES = (("/ui/soc", "soc_board", "monitor.read", True),
           ("/ui/map", "map", "directory.read", False),
           ("/ui/audit", "nav_audit", "audit.read", False),
           ("/ui/engineer", "nav_engineer", "network.provision", False))


def menu(who: Principal | None, said: dict[str, str]) -> list[tuple[str, str]]:
    """(path, label) of the pages ``who`` may open."""
    if who is None:
        return []
    return [(path, said[key]) for path, key, permission, gin_wide in ENTRIES
            if who.holds(permission, gin_wide=gin_wide)]

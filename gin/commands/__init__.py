"""Sub-command groups of the ``gin`` CLI, one module each, registered on the root."""

from __future__ import annotations

import click


def COMMANDS() -> list[click.Command]:  # noqa: N802 - a constant-like registry
    """The root's groups, imported only when the CLI runs (not when the API is imported)."""
    from gin.commands.audit import audit
    from gin.commands.directory import directory
    from gin.commands.lab import lab
    from gin.commands.link import link
    from gin.commands.monitor import monitor
    from gin.commands.serve import serve
    from gin.commands.user import user
    from gin.commands.vpn import vpn

    return [directory, lab, link, vpn, monitor, audit, serve, user]

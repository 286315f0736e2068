"""Sub-command groups of the ``gin`` CLI, each in its own module.

Imported lazily by :func:`gin.cli.main`; a group whose optional dependencies are missing
is simply not offered.
"""

from __future__ import annotations

import importlib

import click

GROUPS = [
    ("gin.commands.directory", "directory"),
    ("gin.commands.lab", "lab"),
    ("gin.commands.link", "link"),
]


def COMMANDS() -> list[click.Command]:  # noqa: N802 - a constant-like registry
    found = []
    for module, name in GROUPS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(("gin", "directory")):
                continue  # the group is not built yet
            raise
    return found

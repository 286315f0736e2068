"""Command-line choices read from gin's registries, not written into the commands.

``--platform`` offers every registered platform (``gin.platforms``: gin's own and any
installed plug-in's) and ``--via``/``--transport`` every registered transport
(``gin.transports``).  The names are read when a command first needs them (parsing its
options or printing its help), so loading the CLI reads no registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices come from ``names()``, read once, on first use."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        self._read: tuple[str, ...] | None = None
        super().__init__((), case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        if self._read is None:
            self._read = tuple(self._names())
        return self._read

    @choices.setter
    def choices(self, value: Any) -> None:
        """click's constructor assigns the (empty) choices; the registry is the source."""


def _platform_names() -> Sequence[str]:
    from devices import platforms

    return platforms.names()


def _transport_names() -> Sequence[str]:
    from devices import transport

    return transport.names()


def platform_choice() -> RegistryChoice:
    """Every registered router platform."""
    return RegistryChoice(_platform_names)


def transport_choice() -> RegistryChoice:
    """Every registered transport (netmiko, ansible, plug-ins)."""
    return RegistryChoice(_transport_names)

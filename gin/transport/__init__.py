"""One transport interface, several implementations (Netmiko direct, Ansible via runner).

Provisioning, backups and audits talk to a :class:`Transport`; they do not know which one
they got.  Implementations register under the ``gin.transports`` entry-point group (the
built-in ones are listed here), so a new transport touches no caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from gin.errors import ConfigError


@dataclass(frozen=True)
class Target:
    """What a transport needs to reach one device (no secret: only its reference)."""

    hostname: str
    platform: str
    host: str
    port: int
    credential_ref: str | None


@runtime_checkable
class Connection(Protocol):
    """An open session to one device; used by one thread at a time."""

    def show(self, command: str) -> str:
        """Run a show command and return its output."""

    def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
        """Enter configuration mode, send lines, leave; raise TransportError on any error
        unless ``tolerate_errors`` (used by rollback, which checks the result itself)."""

    def save(self) -> None:
        """Make the running configuration the startup configuration."""

    def close(self) -> None:
        """End the session."""


@runtime_checkable
class Transport(Protocol):
    """Opens connections to targets."""

    name: str

    def connect(self, target: Target) -> Connection:
        """Open a session; raise TransportError when the device cannot be reached."""


def show_all(conn: Connection, commands: list[str]) -> list[str]:
    """Several show commands, in one round trip where the connection can batch them
    (an optional ``show_many``: the Ansible transport runs one playbook for all)."""
    many = getattr(conn, "show_many", None)
    if many is not None:
        return list(many(commands))
    return [conn.show(command) for command in commands]


BUILTIN = {"netmiko": "gin.transport.netmiko:NetmikoTransport",
           "ansible": "gin.transport.ansible:AnsibleTransport"}


def get(name: str, **options: object) -> Transport:
    """Instantiate the transport called ``name`` (``netmiko``, ``ansible``, or a plugin)."""
    table = dict(BUILTIN)
    table.update({ep.name: ep.value for ep in entry_points(group="gin.transports")})
    if name not in table:
        raise ConfigError(f"unknown transport {name!r}; known: {', '.join(sorted(table))}")
    module, _, attr = table[name].partition(":")
    return getattr(import_module(module), attr)(**options)

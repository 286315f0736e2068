"""One transport interface, several implementations (Netmiko direct, Ansible via runner).

Provisioning, backups and audits talk to a :class:`DeviceTransport`; they do not know
which one they got.  Implementations register under the ``gin.transports`` entry-point group (the
built-in ones are listed here), so a new transport touches no caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from devices.errors import ConfigError
from devices.targets import DeviceTarget


@runtime_checkable
class Connection(Protocol):
    """An open session to one device; used by one thread at a time."""

    def show(self, command: str) -> str:
        """Run a show command and return its output."""

    def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
        """Enter configuration mode, send lines, leave; raise TransportError on any error
        unless ``tolerate_errors`` (used by rollback, which checks the result itself).
        A connection that can also send exec commands (below) takes ``enter=``: the
        command that opens configuration mode (a commit-confirmed push's revert timer)."""

    def save(self) -> None:
        """Make the running configuration the startup configuration."""

    def close(self) -> None:
        """End the session."""


@runtime_checkable
class DeviceTransport(Protocol):
    """Opens connections to devices (Netmiko, Ansible, or a plugin)."""

    name: str

    def connect(self, target: DeviceTarget) -> Connection:
        """Open a session; raise TransportError when the device cannot be reached."""


@dataclass
class RawHostFiles:
    """Files as read off a device's host, before any parsing: ``{path: bytes}`` and
    ``{path: why not}`` (the audit turns them into its own parsed evidence)."""

    files: dict[str, bytes] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class HostFileReader(Protocol):
    """Optional, beside :class:`DeviceTransport`: read a Linux router's host files (its /etc)
    over a second, read-only channel (SFTP), since its login lands in vtysh, not a shell.
    A transport that cannot refuses with a ConfigError naming the one that can."""

    def read_host_files(self, target: DeviceTarget, patterns: Sequence[str],
                        max_bytes: int) -> RawHostFiles:
        """Every regular file matching ``patterns`` (absolute paths; ``*`` only in the last
        part) of at most ``max_bytes``; a path that is not there is left out; raise
        TransportError when the channel cannot be opened."""


def runs_commands(conn: object) -> bool:
    """Whether ``conn`` offers the optional ``command(text) -> str`` (an exec command that
    changes state: confirming or reverting a commit-confirmed change) and ``configure(...,
    enter=...)``; without them a platform's commit-confirmed is not used."""
    flag = getattr(conn, "runs_commands", None)
    return flag if isinstance(flag, bool) else callable(getattr(conn, "command", None))


def show_all(conn: Connection, commands: list[str]) -> list[str]:
    """Several show commands, in one round trip where the connection can batch them
    (an optional ``show_many``: the Ansible transport runs one playbook for all)."""
    many = getattr(conn, "show_many", None)
    if many is not None:
        return list(many(commands))
    return [conn.show(command) for command in commands]


BUILTIN = {"netmiko": "devices.transport.netmiko:NetmikoTransport",
           "ansible": "devices.transport.ansible:AnsibleTransport"}


def names() -> tuple[str, ...]:
    """The registered transports' names, sorted (built-in and ``gin.transports`` plug-ins)."""
    return tuple(sorted(set(BUILTIN) | {ep.name for ep in entry_points(group="gin.transports")}))


def get(name: str, **options: object) -> DeviceTransport:
    """Instantiate the transport called ``name`` (``netmiko``, ``ansible``, or a plugin)."""
    table = dict(BUILTIN)
    table.update({ep.name: ep.value for ep in entry_points(group="gin.transports")})
    if name not in table:
        raise ConfigError(f"unknown transport {name!r}; known: {', '.join(sorted(table))}")
    module, _, attr = table[name].partition(":")
    return getattr(import_module(module), attr)(**options)

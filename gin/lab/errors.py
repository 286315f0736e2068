"""Errors raised by `gin lab`.

One exception class so the CLI can print a single clear line and exit with the
"device or transport failure" code of the house rules.
"""

from __future__ import annotations

from devices.errors import GinError


class LabError(GinError):
    """A lab operation failed; the message says what, where, and how to fix it."""

    exit_code = 3


class TopologyError(LabError):
    """The topology file is invalid (a user/input error, so exit code 1)."""

    exit_code = 1


class LabNotFound(LabError):
    """No such lab or node (the user named something that does not exist: exit code 1)."""

    exit_code = 1

"""Errors the directory raises.  Each carries one line a person can act on.

The CLI maps them to exit code 1 (user or input error); ``directory`` imports nothing
from the rest of gin, so these live here rather than in ``devices.errors``.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base class: a problem with what the user asked of the directory."""

    exit_code = 1


class NotFound(DirectoryError):
    """The named object does not exist."""


class Conflict(DirectoryError):
    """The change would break a rule: duplicate code, overlapping prefix, object in use."""


class Invalid(DirectoryError):
    """A field value is malformed (bad code, newline in a name, bad prefix...)."""


class Exhausted(DirectoryError):
    """No free prefix of the asked size is left in the parent."""


class ImportFailed(DirectoryError):
    """A file was rejected; ``errors`` lists the problems as ``file:line: field: what``.

    ``total`` counts every error; ``errors`` may be shorter (a problem met on many lines is
    listed once with a count).
    """

    def __init__(self, errors: list[str], limit: int = 20, total: int | None = None) -> None:
        self.errors = errors
        self.total = len(errors) if total is None else total
        shown = "\n".join(errors[:limit])
        more = f"\n... and {len(errors) - limit} more" if len(errors) > limit else ""
        noun = "error" if self.total == 1 else "errors"
        super().__init__(f"import rejected, nothing written ({self.total:,} {noun}):\n"
                         f"{shown}{more}")

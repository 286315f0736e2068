"""Errors every gin package shares, with the exit codes the design promises.

1 user/input error, 2 usage, 3 device or transport failure, 4 verification failed and the
change was rolled back.  ``directory`` raises its own :class:`directory.errors.DirectoryError`
(exit 1), since it may not import from ``gin``.
"""

from __future__ import annotations


class GinError(Exception):
    """A problem the user can act on; printed as one line."""

    exit_code = 1


class ConfigError(GinError):
    """Settings, secrets or a credential reference are missing or wrong."""


class TransportError(GinError):
    """A device could not be reached or refused the change."""

    exit_code = 3


class VerificationFailed(GinError):
    """The change was pushed but did not verify, and was rolled back."""

    exit_code = 4

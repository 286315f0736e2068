"""Sensor errors: user-fixable problems printed as one line by the CLI."""

from __future__ import annotations

from devices.errors import GinError


class SensorError(GinError):
    """A capture file, interface, filter or setting the sensor cannot use."""


class RespondError(GinError):
    """A block that must not be applied (protected address) or could not be applied."""

"""How to reach a device: what a transport needs, taken from the directory's record.

A :class:`DeviceTarget` carries no secret, only the credential's reference, so it can be
passed between threads, logged and journaled freely; the transport resolves the secret
at the last moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read attributes of the record: no database code loaded here
    from directory import models as m


@dataclass(frozen=True)
class DeviceTarget:
    """What a transport needs to reach one device (no secret: only its reference)."""

    hostname: str
    platform: str
    host: str
    port: int
    credential_ref: str | None


def target_of(device: m.Device) -> DeviceTarget:
    """The target of a directory device: its management address (else its host name)."""
    host = device.mgmt_address or device.hostname
    return DeviceTarget(device.hostname, device.platform, host, device.mgmt_port or 22,
                        device.credential_ref)

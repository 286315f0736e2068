"""What a link should look like on both routers, independent of any platform's syntax.

The intent is built from the directory (link, its /127 and /31, the agency's prefixes,
the routers' AS numbers) and handed to the platform templates.  Keeping it a frozen,
plain dataclass makes rendering a pure function: easy to test, cheap to run for every
link of the GIN at once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from devices.baseline import Baseline

IPv6If = ipaddress.IPv6Interface
IPv4If = ipaddress.IPv4Interface


@dataclass(frozen=True)
class End:
    """One router's side of a link."""

    hostname: str
    platform: str
    ifname: str
    address6: IPv6If
    asn: int
    address4: IPv4If | None = None
    router_id: str | None = None


@dataclass(frozen=True)
class LinkIntent:
    """A PE <-> CE link of an agency, dual-stack, eBGP, only the agency's own prefixes."""

    name: str
    agency_code: str
    agency_name: str
    pe: End
    ce: End
    agency_prefixes6: tuple[ipaddress.IPv6Network, ...]
    agency_prefixes4: tuple[ipaddress.IPv4Network, ...] = ()
    lan_ifname: str | None = None
    lan6: IPv6If | None = None
    lan4: IPv4If | None = None
    bandwidth_mbps: int | None = None
    baseline: Baseline = field(default_factory=Baseline)

    def __post_init__(self) -> None:
        if self.pe.address6.network != self.ce.address6.network:
            raise ValueError(f"link {self.name}: ends are not on one IPv6 subnet")
        if (self.pe.address4 is None) != (self.ce.address4 is None):
            raise ValueError(f"link {self.name}: IPv4 on one end only")

    @property
    def policy_name(self) -> str:
        """Name of the per-agency prefix list / policy (agency codes are safe identifiers)."""
        return f"GIN-IN-{self.agency_code}"

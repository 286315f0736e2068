"""The detectors, one module each, and :func:`build` to make them from settings.

Every detector is a small dataclass whose fields are its documented thresholds and window;
settings (YAML or a dict) override them by name, e.g.
``{"port_scan": {"ports": 50}, "udp_flood": {"enabled": False}}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import SensorError
from .address_sweep import AddressSweep
from .arp import ArpSpoof, ArpStorm
from .base import Detector, Finding, Slice
from .blocklist import Blocklist
from .brute_force import BruteForce
from .dns_tunnel import DnsTunnel
from .icmp_flood import IcmpFlood
from .port_scan import PortScan
from .rogue_ra import RogueRA
from .segregation import Resolver, Segregation
from .syn_flood import SynFlood
from .udp_flood import UdpFlood

CLASSES: dict[str, type] = {
    "port_scan": PortScan,
    "address_sweep": AddressSweep,
    "syn_flood": SynFlood,
    "icmp_flood": IcmpFlood,
    "udp_flood": UdpFlood,
    "rogue_ra": RogueRA,
    "arp_spoof": ArpSpoof,
    "arp_storm": ArpStorm,
    "dns_tunnel": DnsTunnel,
    "brute_force": BruteForce,
    "blocklist": Blocklist,
    "segregation": Segregation,
}
TYPES = tuple(CLASSES)


def build(settings: Mapping[str, Mapping[str, Any]] | None = None,
          resolver: Resolver | None = None, routers: list[str] | None = None
          ) -> list[Detector]:
    """All enabled detectors with their settings applied.

    ``resolver`` (address -> agency) feeds segregation; ``routers`` (the directory's
    device addresses) feeds the rogue-RA allow list and the gateways whose ARP spoofing
    is critical, unless settings name routers.
    """
    settings = settings or {}
    unknown = set(settings) - set(CLASSES)
    if unknown:
        raise SensorError(f"unknown detector(s) in settings: {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(TYPES)})")
    out: list[Detector] = []
    for name, cls in CLASSES.items():
        opts = dict(settings.get(name) or {})
        if not opts.pop("enabled", True):
            continue
        if name == "segregation":
            opts.setdefault("resolver", resolver)
        if name in ("rogue_ra", "arp_spoof") and routers is not None:
            opts.setdefault("routers", routers)
        try:
            out.append(cls(**opts))
        except (TypeError, ValueError) as exc:
            raise SensorError(f"detector {name}: bad settings: {exc}") from None
    return out


def severities() -> dict[str, set[str]]:
    """Detector type -> every severity it can report with its default settings (its
    ``severity`` and ``*_severity`` fields): what the alert rules may match on."""
    out: dict[str, set[str]] = {}
    for name, cls in CLASSES.items():
        out[name] = {f.default for f in dataclasses.fields(cls)
                     if f.name == "severity" or f.name.endswith("_severity")}
    return out


def describe() -> list[dict[str, Any]]:
    """Each detector's type, default severity, settings with defaults, and first doc
    paragraph (``gin monitor sensor detectors``)."""
    rows = []
    for name, cls in CLASSES.items():
        fields = dataclasses.fields(cls)
        params = {f.name: f.default for f in fields
                  if f.init and f.name not in ("type", "severity", "resolver")
                  and f.default is not dataclasses.MISSING}
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
        default_sev = next(f.default for f in fields if f.name == "severity")
        rows.append({"type": name, "severity": default_sev,
                     "settings": ", ".join(f"{k}={v}" for k, v in params.items()),
                     "doc": (cls.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip()})
    return rows


__all__ = ["CLASSES", "TYPES", "Detector", "Finding", "Slice", "build", "describe", "severities"]

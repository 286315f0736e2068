"""Poll targets from the directory: address, labels, and SNMP settings from a profile.

A *profile* (YAML, ``--profiles`` / ``GIN_SNMP_PROFILES``) names how to talk to a class
of devices; the device's ``snmp_profile`` picks one.  Secrets are never in the profile
itself, only references::

    defaults: {timeout: 2.0, retries: 1}
    profiles:
      v3-authpriv-sha-aes:          # the default: credentials from the device's
        version: v3                 # credential_ref `snmp` section (what `gin lab` writes)
        auth_protocol: SHA
        priv_protocol: AES
      noc-v3:
        version: v3
        user: noc
        auth_protocol: SHA-256
        priv_protocol: AES
        auth_key_ref: env:GIN_SNMP_AUTH
        priv_key_ref: file:/etc/gin/snmp-priv
        timeout: 1.5
        retries: 2
        port: 161
        max_varbinds: 100           # agent's maxGetbulkResponses (net-snmp default 100)
        static_interval: 600        # seconds between ifName/ifAlias/speed refreshes
        bgp: [bgp4, cisco]          # BGP peer MIBs to walk (false: none); default: by the
                                    # device's platform (its platform.yaml's snmp.bgp_mibs)
      legacy-v2c:
        version: v2c                # allowed, flagged by the audit
        community_ref: env:GIN_SNMP_COMMUNITY

A device whose profile is not in the file gets the built-in default (v3 authPriv, keys
from its credential reference).  A device whose credentials cannot be resolved still
becomes a target, with ``config_error`` set, so it shows up as ``gin_snmp_up 0`` with
reason ``config`` rather than silently vanishing from the SOC's view.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from devices import platforms
from devices.errors import ConfigError, GinError
from devices.secrets import resolve
from monitor.snmp import oids, usm

DEFAULT_PROFILE = "v3-authpriv-sha-aes"
PROFILE_KEYS = {"version", "user", "auth_protocol", "priv_protocol", "auth_key_ref",
                "priv_key_ref", "community_ref", "timeout", "retries", "port",
                "max_varbinds", "static_interval", "context", "bgp"}


@dataclass(frozen=True)
class Profile:
    name: str = DEFAULT_PROFILE
    version: str = "v3"
    user: str | None = None
    auth_protocol: str | None = "SHA"
    priv_protocol: str | None = "AES"
    auth_key_ref: str | None = None
    priv_key_ref: str | None = None
    community_ref: str | None = None
    timeout: float = 2.0
    retries: int = 1
    port: int = 161
    max_varbinds: int = 100
    static_interval: float = 600.0
    bgp: tuple[str, ...] | None = None  # None: by platform


def bgp_mibs(profile: Profile, platform: str | None) -> tuple[str, ...]:
    """The BGP MIBs to walk on a device: the profile's choice, else its platform's."""
    if profile.bgp is not None:
        return profile.bgp
    return platform_bgp_mibs(platform or "")


def platform_bgp_mibs(platform: str) -> tuple[str, ...]:
    """The BGP MIBs ``platform`` may serve, from the platform table (an unregistered
    platform: none); a MIB name the poller does not know is an error naming the platform."""
    try:
        mibs = platforms.get(platform).bgp_mibs
    except GinError:
        return ()
    unknown = [n for n in mibs if n not in oids.BGP_TABLES]
    if unknown:
        raise ConfigError(f"platform {platform}: snmp.bgp_mibs names unknown MIB "
                          f"{', '.join(unknown)} (known: {', '.join(oids.BGP_TABLES)})")
    return mibs


@dataclass(frozen=True)
class SnmpTarget:
    """One device to poll. ``community`` and ``user`` hold Secrets (repr shows ***)."""

    name: str
    host: str
    port: int
    agency: str = ""
    site: str = ""
    version: str = "v3"
    community: str = field(default="", repr=False)
    user: usm.UsmUser | None = None
    timeout: float = 2.0
    retries: int = 1
    max_varbinds: int = 100
    static_interval: float = 600.0
    profile: str = DEFAULT_PROFILE
    config_error: str | None = None
    bgp_mibs: tuple[str, ...] = ()  # BGP peer tables polled with the counters

    @property
    def labels(self) -> dict[str, str]:
        return {"agency": self.agency, "site": self.site, "device": self.name}

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def load_profiles(path: str | os.PathLike[str] | None) -> dict[str, Profile]:
    """Profiles from YAML (an absent path means built-in defaults only)."""
    profiles = {DEFAULT_PROFILE: Profile()}
    if path is None:
        return profiles
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"SNMP profiles {p}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ConfigError(f"SNMP profiles {p}: not valid YAML") from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise ConfigError(f"SNMP profiles {p}: expected a mapping with 'profiles:'")
    defaults = data.get("defaults") or {}
    for name, body in (data.get("profiles") or {}).items():
        merged = {**defaults, **(body or {})}
        if "bgp" in merged:
            merged["bgp"] = _bgp_setting(merged["bgp"])
        unknown = set(merged) - PROFILE_KEYS
        if unknown:
            raise ConfigError(f"SNMP profile {name!r} in {p}: unknown keys "
                              f"{', '.join(sorted(unknown))}")
        try:
            prof = Profile(name=str(name), **merged)
            _check_profile(prof)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"SNMP profile {name!r} in {p}: {exc}") from None
        profiles[str(name)] = prof
    return profiles


def _bgp_setting(value: Any) -> tuple[str, ...] | None:
    """``bgp:`` of a profile: false (none), true (by platform) or a list of MIB names."""
    if value is True or value is None:
        return None
    if value is False:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    unknown = [n for n in names if n not in oids.BGP_TABLES]
    if unknown:
        raise ValueError(f"bgp: unknown MIB {', '.join(map(str, unknown))} (known: "
                         f"{', '.join(oids.BGP_TABLES)})")
    return names


def _check_profile(prof: Profile) -> None:
    if prof.version not in ("v3", "v2c"):
        raise ValueError(f"version must be v3 or v2c, not {prof.version!r}")
    usm.normalize_auth(prof.auth_protocol)
    usm.normalize_priv(prof.priv_protocol)
    if not 0.05 <= float(prof.timeout) <= 60 or not 0 <= int(prof.retries) <= 10:
        raise ValueError("timeout must be 0.05-60 s and retries 0-10")
    if not 1 <= int(prof.port) <= 65535 or not 1 <= int(prof.max_varbinds) <= 10000:
        raise ValueError("port must be 1-65535 and max_varbinds 1-10000")


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """"host", "v4:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif text.count(":") == 1:
        host, port_s = text.split(":")
        port = int(port_s)
    else:
        host, port = text, default_port
    host = host.split("/", 1)[0]
    try:
        host = ipaddress.ip_address(host.split("%", 1)[0]).compressed + (
            "%" + host.split("%", 1)[1] if "%" in host else "")
    except ValueError:
        raise ValueError(f"SNMP address {text!r} is not an IP address") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"SNMP port {port} out of range")
    return host, port


def _snmp_section(ref: str | None) -> dict[str, Any]:
    if not ref:
        return {}
    value = resolve(ref)
    if isinstance(value, dict):
        snmp = value.get("snmp")
        return dict(snmp) if isinstance(snmp, dict) else {}
    return {}


def build_target(name: str, address: str, profile: Profile, *, agency: str = "",
                 site: str = "", credential_ref: str | None = None,
                 platform: str | None = None) -> SnmpTarget:
    """A SnmpTarget with credentials resolved; a credential problem becomes ``config_error``."""
    host, port = split_address(address, profile.port)
    base = SnmpTarget(name=name, host=host, port=port, agency=agency, site=site,
                  version=profile.version, timeout=float(profile.timeout),
                  retries=int(profile.retries), max_varbinds=int(profile.max_varbinds),
                  static_interval=float(profile.static_interval), profile=profile.name,
                  bgp_mibs=bgp_mibs(profile, platform))
    try:
        snmp = _snmp_section(credential_ref)
        if profile.version == "v2c":
            community = (resolve(profile.community_ref) if profile.community_ref
                         else snmp.get("community"))
            if not community or not isinstance(community, str):
                raise ConfigError("no SNMP community (community_ref in the profile or "
                                  "snmp.community in the credential reference)")
            return replace(base, community=community)
        user = profile.user or snmp.get("user")
        auth_proto = usm.normalize_auth(snmp.get("auth_protocol") or profile.auth_protocol)
        priv_proto = usm.normalize_priv(snmp.get("priv_protocol") or profile.priv_protocol)
        auth_key = resolve(profile.auth_key_ref) if profile.auth_key_ref else snmp.get("auth_key")
        priv_key = resolve(profile.priv_key_ref) if profile.priv_key_ref else snmp.get("priv_key")
        if not user:
            raise ConfigError("no SNMPv3 user (profile user or snmp.user in the credential "
                              "reference)")
        if auth_proto and not auth_key or priv_proto and not priv_key:
            raise ConfigError("SNMPv3 auth/priv key missing (snmp.auth_key / snmp.priv_key "
                              "in the credential reference, or *_key_ref in the profile)")
        if priv_proto and not auth_proto:
            raise ConfigError("SNMPv3 privacy needs authentication")
        return replace(base, user=usm.UsmUser(str(user[:]), auth_proto, auth_key or "",
                                              priv_proto, priv_key or ""))
    except (ConfigError, ValueError) as exc:
        return replace(base, config_error=str(exc))


#: devices of this role serve their own metrics over HTTP (the ``gin-sensor`` scrape job)
SENSOR_ROLE = "sensor"


def polled_address(device: Any) -> tuple[str | None, str | None]:
    """(address to poll over SNMP, None) or (None, why the device is not polled).

    A threat sensor is scraped over HTTP for its own metrics, not polled by SNMP: polling
    its management address would only raise GinDeviceUnreachable for a host that runs no
    SNMP agent.  A sensor whose directory entry names an ``snmp_address`` does run one (its
    host is watched like any device) and is polled there.  Every other device is polled
    at its SNMP address, else its management address.
    """
    if device.role == SENSOR_ROLE and not device.snmp_address:
        return None, ("a threat sensor, scraped over HTTP by the gin-sensor job; give it an "
                      "snmp_address to poll its host too")
    address = device.snmp_address or device.mgmt_address
    if not address:
        return None, "no snmp_address or mgmt_address"
    return address, None


def targets_from_directory(directory: Any, profiles: dict[str, Profile],
                           only: set[str] | None = None, agencies: set[str] | None = None
                           ) -> tuple[list[SnmpTarget], list[str]]:
    """Every device :func:`polled_address` gives an address (of ``only`` hostnames / of
    ``agencies`` when given); (targets, skipped-with-why)."""
    from directory import models as m
    from directory.store import list_all

    targets: list[SnmpTarget] = []
    skipped: list[str] = []
    with directory.transaction() as s:
        for dev in list_all(s, m.Device):
            if only and dev.hostname not in only:
                continue
            if agencies and dev.site.agency.code not in agencies:
                continue
            address, why = polled_address(dev)
            if address is None:
                skipped.append(f"{dev.hostname}: {why}")
                continue
            profile = profiles.get(dev.snmp_profile or DEFAULT_PROFILE,
                                   profiles[DEFAULT_PROFILE])
            try:
                targets.append(build_target(
                    dev.hostname, address, profile, agency=dev.site.agency.code,
                    site=dev.site.code, credential_ref=dev.credential_ref,
                    platform=dev.platform))
            except ValueError as exc:
                skipped.append(f"{dev.hostname}: {exc}")
    return targets, skipped

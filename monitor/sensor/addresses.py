"""Addresses as two uint64 halves: keys, text, and vectorised prefix membership.

IPv4 is kept IPv4-mapped (``::ffff:a.b.c.d``) so one representation serves both families.
Detectors group by a single 64-bit *key* per address (``lo ^ hi * K``): exact for IPv4,
and for IPv6 a collision needs two addresses colliding in a 64-bit mix, which windows of a
few seconds will not meet in practice.
"""

from __future__ import annotations

import ipaddress

import numpy as np

MIX = np.uint64(0x9E3779B97F4A7C15)
MAPPED = 0xFFFF00000000
Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def key64(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """One uint64 per address (see module docstring)."""
    with np.errstate(over="ignore"):
        return lo ^ (hi * MIX)


def pair64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One uint64 per (a, b) pair of keys/values, for distinct counting."""
    with np.errstate(over="ignore"):
        return (a * np.uint64(0xC2B2AE3D27D4EB4F)) ^ (b.astype(np.uint64) + MIX)


def halves(addr: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[int, int]:
    """``(hi, lo)`` of an address, IPv4 mapped."""
    ip = ipaddress.ip_address(addr) if isinstance(addr, str) else addr
    if ip.version == 4:
        return 0, MAPPED | int(ip)
    value = int(ip)
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF


def to_ip(hi: int, lo: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address object for ``(hi, lo)``."""
    hi, lo = int(hi), int(lo)
    if hi == 0 and lo >> 32 == 0xFFFF:
        return ipaddress.IPv4Address(lo & 0xFFFFFFFF)
    return ipaddress.IPv6Address((hi << 64) | lo)


def to_text(hi: int, lo: int) -> str:
    return str(to_ip(hi, lo))


def family_int(hi: int, lo: int) -> tuple[int, int]:
    """``(family, integer)`` as the directory's longest-prefix match takes it."""
    ip = to_ip(hi, lo)
    return ip.version, int(ip)


def mac_text(value: int) -> str:
    raw = int(value).to_bytes(6, "big")
    return ":".join(f"{b:02x}" for b in raw)


def mapped_network(net: Net) -> tuple[int, int, int]:
    """``(hi, lo, prefixlen)`` of a network in the 128-bit mapped space."""
    if net.version == 4:
        return 0, MAPPED | int(net.network_address), 96 + net.prefixlen
    value = int(net.network_address)
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF, net.prefixlen

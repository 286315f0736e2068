"""Names of everything a lab creates, derived from the lab name so labs never collide.

Lab names are [a-z][a-z0-9]{0,7} (no '-'), so `<lab>-...` can never be confused
between two labs, and interface names stay within Linux's 15 characters:
`<lab>-<node index>-<port>` is at most 8 + 1 + 3 + 1 + 2 = 15.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import time


def netns_name(lab: str, node: str) -> str:
    """Network namespace of a node."""
    return f"{lab}-{node}"


def netns_prefix(lab: str) -> str:
    """Every namespace of a lab starts with this."""
    return f"{lab}-"


def ifname(lab: str, index: int, port: int) -> str:
    """Interface `port` of node number `index` (port 0 is the router's management port)."""
    return f"{lab}-{index}-{port}"


def mgmt_root_ifname(lab: str, index: int) -> str:
    """Root-namespace end of a router's management veth (a port of the lab bridge)."""
    return f"{lab}-{index}m"


def bridge_name(lab: str) -> str:
    """The lab's management bridge in the root namespace."""
    return f"{lab}-br"


def ula_prefix() -> ipaddress.IPv6Network:
    """A random unique-local /64 per RFC 4193 section 3.2.2.

    SHA-1 over the time of day and an EUI-64-sized random value; the low 40 bits of
    the digest are the Global ID. Lives only on the lab's own veths.
    """
    ntp = int((time.time() + 2208988800) * (1 << 32)).to_bytes(8, "big")
    digest = hashlib.sha1(ntp + os.urandom(8)).digest()
    global_id = int.from_bytes(digest[-5:], "big")
    value = (0xFD << 120) | (global_id << 80)  # subnet ID 0
    return ipaddress.IPv6Network((value, 64))


def mgmt_address(prefix: ipaddress.IPv6Network, index: int) -> ipaddress.IPv6Address:
    """Management address of node number `index` (the root namespace has ::1)."""
    return prefix[0x100 + index]


def mgmt_gateway(prefix: ipaddress.IPv6Network) -> ipaddress.IPv6Address:
    """Root namespace address on the lab bridge."""
    return prefix[1]

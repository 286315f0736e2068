"""Two network namespaces joined by a veth pair: an attacker and the sensor/gateway.

Names are ``gs`` + 4 random hex digits per run (parallel runs never collide) and are
deleted afterwards, also on failure.  Needs root (network namespaces, AF_PACKET, nft);
without it the tests skip, or fail under GIN_REQUIRE_INTEGRATION=1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[3]


def sh(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, **kw)


@dataclass
class Pair:
    """``a`` (attacker, .1) and ``b`` (sensor/gateway, .2) with IPv4 and IPv6 on a veth."""

    a: str
    b: str
    if_a: str
    if_b: str
    v4_a: str = "10.77.0.1"
    v4_b: str = "10.77.0.2"
    v6_a: str = "2001:db8:77::1"
    v6_b: str = "2001:db8:77::2"

    def run(self, ns: str, *argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", ns, *argv, check=check, **kw)

    def python(self, ns: str, script: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run(ns, sys.executable, "-c", script, *args, **kw)


def require_root_tools() -> None:
    need(os.geteuid() == 0, "needs root/network namespaces: run as root")
    need(shutil.which("ip") is not None, "needs root/iproute2 (apt-get install -y iproute2)")


@pytest.fixture
def netns_pair() -> Iterator[Pair]:
    require_root_tools()
    tag = "gs" + secrets.token_hex(2)
    pair = Pair(a=f"{tag}a", b=f"{tag}b", if_a=f"{tag}x", if_b=f"{tag}y")
    try:
        sh("ip", "netns", "add", pair.a)
        sh("ip", "netns", "add", pair.b)
        sh("ip", "link", "add", pair.if_a, "type", "veth", "peer", "name", pair.if_b)
        sh("ip", "link", "set", pair.if_a, "netns", pair.a)
        sh("ip", "link", "set", pair.if_b, "netns", pair.b)
        for ns, ifname, v4, v6 in ((pair.a, pair.if_a, pair.v4_a, pair.v6_a),
                                   (pair.b, pair.if_b, pair.v4_b, pair.v6_b)):
            pair.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            pair.run(ns, "sysctl", "-qw", f"net.ipv6.conf.{ifname}.accept_dad=0")
            pair.run(ns, "ip", "addr", "add", f"{v4}/24", "dev", ifname)
            pair.run(ns, "ip", "-6", "addr", "add", f"{v6}/64", "dev", ifname, "nodad")
            pair.run(ns, "ip", "link", "set", "lo", "up")
            pair.run(ns, "ip", "link", "set", ifname, "up")
        yield pair
    finally:
        sh("ip", "netns", "del", pair.a, check=False)
        sh("ip", "netns", "del", pair.b, check=False)
        sh("ip", "link", "del", pair.if_a, check=False)


@dataclass
class Chain:
    """``a`` -- ``gw`` -- ``c``: two LANs routed by a Linux gateway (IPv4 only)."""

    a: str
    gw: str
    c: str
    v4_a: str = "10.78.1.1"
    v4_c: str = "10.78.2.1"

    def run(self, ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", ns, *argv, check=check)


@pytest.fixture
def netns_chain() -> Iterator[Chain]:
    require_root_tools()
    tag = "gs" + secrets.token_hex(2)
    ch = Chain(a=f"{tag}a", gw=f"{tag}g", c=f"{tag}c")
    links = ((ch.a, f"{tag}a0", "10.78.1.1/24", f"{tag}g1", "10.78.1.254/24"),
             (ch.c, f"{tag}c0", "10.78.2.1/24", f"{tag}g2", "10.78.2.254/24"))
    try:
        for ns in (ch.a, ch.gw, ch.c):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for host, h_if, h_addr, g_if, g_addr in links:
            sh("ip", "link", "add", h_if, "type", "veth", "peer", "name", g_if)
            sh("ip", "link", "set", h_if, "netns", host)
            sh("ip", "link", "set", g_if, "netns", ch.gw)
            sh("ip", "-n", host, "addr", "add", h_addr, "dev", h_if)
            sh("ip", "-n", ch.gw, "addr", "add", g_addr, "dev", g_if)
            sh("ip", "-n", host, "link", "set", h_if, "up")
            sh("ip", "-n", ch.gw, "link", "set", g_if, "up")
            sh("ip", "-n", host, "route", "add", "default", "via", g_addr.split("/")[0])
        ch.run(ch.gw, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield ch
    finally:
        for ns in (ch.a, ch.gw, ch.c):
            sh("ip", "netns", "del", ns, check=False)

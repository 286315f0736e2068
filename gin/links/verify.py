"""Did the link come up?  Interface state, BGP session, the agency's route, ping6.

Checks poll until a deadline rather than sleeping a fixed time: with the GIN's fast BGP
timers a session is up in a few seconds, and a broken one is reported at the deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gin import platforms
from gin.links.intent import LinkIntent
from gin.transport import Connection

ESTABLISHED = re.compile(r"BGP state\s*=\s*Established|Established", re.I)
PING_OK = re.compile(r"\b([1-9]\d*) (packets )?received|Success rate is [1-9]", re.I)


@dataclass
class Verification:
    ok: bool = True
    checks: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def add(self, name: str, passed: bool, reason: str) -> None:
        self.checks[name] = passed
        if not passed:
            self.ok = False
            self.reasons.append(reason)


def _json(output: str) -> dict:
    try:
        data = json.loads(output)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def interface_up(platform: str, conn: Connection, ifname: str) -> bool:
    out = conn.show(platforms.get(platform).verify["interface"].format(ifname=ifname))
    data = _json(out)
    if data:
        return data.get(ifname, {}).get("operationalStatus") == "up"
    return bool(re.search(r"line protocol is up|Physical link is Up", out, re.I))


def bgp_established(platform: str, conn: Connection, peer: str) -> bool:
    out = conn.show(platforms.get(platform).verify["bgp_neighbors"].format(peer=peer))
    data = _json(out)
    if data:
        return data.get(peer, {}).get("bgpState") == "Established"
    return bool(ESTABLISHED.search(out))


def ping(platform: str, conn: Connection, address: str) -> bool:
    out = conn.show(platforms.get(platform).verify["ping"].format(address=address))
    return bool(PING_OK.search(out))


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def verify_link(intent: LinkIntent, pe: Connection, ce: Connection, timeout: float = 45,
                with_ping: bool = True) -> Verification:
    """Both interfaces up, every BGP session Established, and (optionally) ping6 answers."""
    result = Verification()
    for end, conn in ((intent.pe, pe), (intent.ce, ce)):
        up = wait_for(lambda e=end, c=conn: interface_up(e.platform, c, e.ifname), 10)
        result.add(f"{end.hostname}:{end.ifname} up", up,
                   f"interface {end.hostname}:{end.ifname} is not up")
    peers = [str(intent.ce.address6.ip)]
    if intent.ce.address4 is not None:
        peers.append(str(intent.ce.address4.ip))
    for peer in peers:
        est = wait_for(lambda p=peer: bgp_established(intent.pe.platform, pe, p), timeout)
        result.add(f"bgp {intent.pe.hostname}->{peer}", est,
                   f"BGP session {intent.pe.hostname} -> {peer} ({intent.ce.hostname}) "
                   f"not Established after {timeout:.0f} s: check the peer address and AS")
    if with_ping and result.ok:
        far = str(intent.ce.address6.ip)
        result.add(f"ping6 {far}", wait_for(lambda: ping(intent.pe.platform, pe, far), 10),
                   f"{far} does not answer ping6 from {intent.pe.hostname}")
        if intent.lan6 is not None:
            lan = str(intent.lan6.ip)
            result.add(f"ping6 {lan}", wait_for(lambda: ping(intent.pe.platform, pe, lan), 10),
                       f"the agency LAN gateway {lan} does not answer ping6")
    return result

"""Did the link come up?  Interface state, BGP session, the agency's route, ping6.

Checks poll until a deadline rather than sleeping a fixed time: with the GIN's fast BGP
timers a session is up in a few seconds, and a broken one is reported at the deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from devices import platforms
from devices.converge import Verification
from devices.transport import Connection, show_all
from links.intent import LinkIntent

ESTABLISHED = re.compile(r"BGP state\s*=\s*Established|Established", re.I)
PING_OK = re.compile(r"\b([1-9]\d*) (packets )?received|Success rate is [1-9]", re.I)


def _json(output: str) -> dict:
    try:
        data = json.loads(output)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Probe:
    """One show command on one device and how to judge its output.

    Checks are data rather than closures so that a polling round can send all the
    commands pending on one device at once (``show_all``): over Ansible each round trip is
    a playbook run of seconds, over Netmiko it changes nothing.
    """

    conn: Connection
    command: str
    judge: Callable[[str], bool]


def interface_up(platform: str, conn: Connection, ifname: str) -> Probe:
    def judge(out: str) -> bool:
        data = _json(out)
        if data:
            return data.get(ifname, {}).get("operationalStatus") == "up"
        return bool(re.search(r"line protocol is up|Physical link is Up", out, re.I))
    return Probe(conn, platforms.get(platform).verify["interface"].format(ifname=ifname), judge)


def bgp_established(platform: str, conn: Connection, peer: str) -> Probe:
    def judge(out: str) -> bool:
        data = _json(out)
        if data:
            return data.get(peer, {}).get("bgpState") == "Established"
        return bool(ESTABLISHED.search(out))
    return Probe(conn, platforms.get(platform).verify["bgp_neighbors"].format(peer=peer), judge)


ROUTE_OK = re.compile(r"Paths: \(\d+ available, best|\[BGP/", re.I)


def route_received(platform: str, conn: Connection, prefix: str) -> Probe:
    """The PE holds a BGP path for the agency's prefix (so traffic to it is routed)."""
    def judge(out: str) -> bool:
        data = _json(out)
        if data:
            return bool(data.get("paths"))
        return bool(ROUTE_OK.search(out))
    return Probe(conn, platforms.get(platform).verify["route"].format(prefix=prefix), judge)


def ping(platform: str, conn: Connection, address: str) -> Probe:
    return Probe(conn, platforms.get(platform).verify["ping"].format(address=address),
                 lambda out: bool(PING_OK.search(out)))


def wait_all(probes: dict[str, Probe], timeout: float,
             interval: float = 1.0) -> dict[str, bool]:
    """Poll every probe until all pass or the deadline: one deadline, not one per check;
    per round, one batch of commands per device."""
    deadline = time.monotonic() + timeout
    passed = {name: False for name in probes}
    while True:
        by_conn: dict[int, list[str]] = {}
        for name, probe in probes.items():
            if not passed[name]:
                by_conn.setdefault(id(probe.conn), []).append(name)
        for names in by_conn.values():
            conn = probes[names[0]].conn
            outputs = show_all(conn, [probes[n].command for n in names])
            for name, out in zip(names, outputs, strict=True):
                passed[name] = probes[name].judge(out)
        if all(passed.values()) or time.monotonic() >= deadline:
            return passed
        time.sleep(interval)


def verify_link(intent: LinkIntent, pe: Connection, ce: Connection, timeout: float = 45,
                with_ping: bool = True) -> Verification:
    """Both interfaces up, every BGP session Established, the agency's prefix received,
    and ping6 to the far end and the LAN gateway (where the platform can ping).

    Later stages run only when earlier ones passed: a BGP session cannot come up over a
    down interface, so waiting for it would only delay the rollback.
    """
    result = Verification()
    ends = {f"{e.hostname}:{e.ifname} up": (e, c) for e, c in ((intent.pe, pe), (intent.ce, ce))}
    up = wait_all({k: interface_up(e.platform, c, e.ifname) for k, (e, c) in ends.items()},
                  min(timeout, 10))
    for name, ok in up.items():
        result.add(name, ok, f"interface {name.removesuffix(' up')} is not up")
    if not result.ok:
        return result
    peers = [str(intent.ce.address6.ip)]
    if intent.ce.address4 is not None:
        peers.append(str(intent.ce.address4.ip))
    bgp = wait_all({p: bgp_established(intent.pe.platform, pe, p) for p in peers}, timeout)
    for peer, ok in bgp.items():
        result.add(f"bgp {intent.pe.hostname}->{peer}", ok,
                   f"BGP session {intent.pe.hostname} -> {peer} ({intent.ce.hostname}) "
                   f"not Established after {timeout:.0f} s: check the peer address and AS")
    if not result.ok:
        return result
    routes = wait_all({str(p): route_received(intent.pe.platform, pe, str(p))
                       for p in intent.agency_prefixes6}, timeout)
    for prefix, ok in routes.items():
        result.add(f"route {prefix}", ok, f"{intent.pe.hostname} has no BGP route to the "
                   f"agency prefix {prefix} from {intent.ce.hostname}")
    if not (with_ping and result.ok and "ping" in platforms.get(intent.pe.platform).verify):
        return result
    targets = {f"ping6 {intent.ce.address6.ip}": str(intent.ce.address6.ip)}
    if intent.lan6 is not None:
        targets[f"ping6 {intent.lan6.ip}"] = str(intent.lan6.ip)
    pings = wait_all({k: ping(intent.pe.platform, pe, a) for k, a in targets.items()},
                     min(timeout, 10))
    for name, ok in pings.items():
        result.add(name, ok, f"{name.removeprefix('ping6 ')} does not answer ping6 from "
                             f"{intent.pe.hostname}")
    return result

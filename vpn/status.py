"""Live state of tunnels, read from the gateways, and the reason in words when one is down.

- strongSwan over VICI: one ``get-conns`` and one ``list-sas`` per gateway (whatever the
  number of tunnels): IKE and CHILD SA state, bytes, packets, rekey times.  A tunnel is up
  only when its CHILD_SA is ``INSTALLED`` (an IKE SA alone carries no traffic).
- WireGuard: one ``wg show all dump`` per gateway: latest handshake age and transfer; up while
  the last handshake is younger than 180 s (WireGuard's REJECT_AFTER_TIME).  The dump's
  private keys are dropped as the lines are read.

When a tunnel's state differs from the directory's (``deployed``/``up``/``down``), the new
state is written through the store, so every transition is in the change log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vici.exception import CommandException, SessionException

from devices.errors import GinError
from directory import models as m
from directory.store import Directory
from vpn import reasons
from vpn.deploy import conn_name, wg_ifname
from vpn.gateway import Gateway
from vpn.render import linux_gateway
from vpn.tunnels import get_tunnel, list_tunnels

WG_REJECT_AFTER = 180  # seconds: WireGuard drops a session this long after its handshake
LIVE_STATES = ("deployed", "up", "down")
WORKERS = 8


@dataclass
class TunnelStatus:
    """One tunnel as its initiator (side a) sees it, or side b when a is not readable."""

    tunnel: str
    type: str
    agency: str
    up: bool = False
    reason: str | None = None
    seen_from: str | None = None
    ike_state: str | None = None
    child_state: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    packets_out: int = 0
    ike_rekey_seconds: int | None = None
    child_rekey_seconds: int | None = None
    handshake_age_seconds: int | None = None
    recorded: str = ""
    sides: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(_text(value))
    except (TypeError, ValueError):
        return None


# --- reading one gateway --------------------------------------------------------------------

def read_strongswan(gw: Gateway) -> dict[str, Any]:
    """``{"conns": {names}, "sas": {ike name: [SA dicts]}}`` from one charon, or ``error``."""
    try:
        with gw.session() as s:
            conns = {_text(c) for c in s.get_conns().get("conns", [])}
            sas: dict[str, list[dict[str, Any]]] = {}
            for event in s.list_sas():
                for name, sa in event.items():
                    sas.setdefault(name, []).append(sa)
    except (GinError, CommandException, SessionException, OSError) as exc:
        return {"error": str(exc)}
    return {"conns": conns, "sas": sas}


def parse_wg_dump(text: str) -> dict[str, dict[str, Any]]:
    """``wg show all dump`` -> interface -> its (first) peer; private keys are never kept.

    Interface lines have 5 fields (if, private key, public key, port, fwmark); peer lines 9
    (if, public key, preshared key, endpoint, allowed ips, handshake, rx, tx, keepalive).
    """
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) == 5:
            out.setdefault(f[0], {"public_key": f[2], "listen_port": _int(f[3])})
        elif len(f) == 9:
            out.setdefault(f[0], {}).setdefault("peer", {
                "public_key": f[1], "endpoint": f[3], "allowed_ips": f[4],
                "latest_handshake": _int(f[5]) or 0, "rx": _int(f[6]) or 0,
                "tx": _int(f[7]) or 0})
    return out


def read_wireguard(gw: Gateway) -> dict[str, Any]:
    """``{"ifaces": {...}}`` from ``wg show all dump`` on one gateway, or ``error``."""
    try:
        proc = gw.run(["wg", "show", "all", "dump"], check=False)
    except GinError as exc:
        return {"error": str(exc)}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["wg failed"])[-1]}
    return {"ifaces": parse_wg_dump(proc.stdout)}


# --- one tunnel from the gateways' readings --------------------------------------------------

def ike_status(st: TunnelStatus, name: str, seen: dict[str, Any], log: Any = None) -> None:
    """Fill ``st`` from one gateway's strongSwan reading."""
    conn = conn_name(name)
    if "error" in seen:
        st.reason = seen["error"]
        return
    if conn not in seen["conns"]:
        st.reason = reasons.NOT_LOADED
        return
    ike_sas = seen["sas"].get(conn, [])
    best = None
    for sa in ike_sas:
        children = [c for c in (sa.get("child-sas") or {}).values()
                    if _text(c.get("name", b"")) == conn]
        installed = [c for c in children if _text(c.get("state", b"")) == "INSTALLED"]
        if installed or best is None:
            best = (sa, installed or children)
        if installed:
            break
    if best is None:
        st.reason = (reasons.from_log(log, conn) if log else None) or "no IKE SA (not " \
            "initiated, or closed)"
        return
    sa, children = best
    st.ike_state = _text(sa.get("state", b""))
    st.ike_rekey_seconds = _int(sa.get("rekey-time"))
    for child in children:
        st.child_state = _text(child.get("state", b""))
        st.bytes_in += _int(child.get("bytes-in")) or 0
        st.bytes_out += _int(child.get("bytes-out")) or 0
        st.packets_in += _int(child.get("packets-in")) or 0
        st.packets_out += _int(child.get("packets-out")) or 0
        st.child_rekey_seconds = _int(child.get("rekey-time"))
    st.up = st.child_state == "INSTALLED"
    if st.up:
        return
    logged = reasons.from_log(log, conn) if log else None
    if st.ike_state == "CONNECTING":
        st.reason = logged or reasons.UNREACHABLE
    elif st.ike_state == "ESTABLISHED":
        st.reason = logged or reasons.NO_CHILD
    else:
        st.reason = logged or f"IKE SA {st.ike_state}"


def wg_status(st: TunnelStatus, name: str, seen: dict[str, Any], now: float) -> None:
    """Fill ``st`` from one gateway's WireGuard reading."""
    if "error" in seen:
        st.reason = seen["error"]
        return
    iface = seen["ifaces"].get(wg_ifname(name))
    if iface is None or "peer" not in iface:
        st.reason = reasons.NOT_LOADED
        return
    peer = iface["peer"]
    st.bytes_in, st.bytes_out = peer["rx"], peer["tx"]
    if not peer["latest_handshake"]:
        st.reason = reasons.NO_HANDSHAKE
        return
    st.handshake_age_seconds = max(0, int(now - peer["latest_handshake"]))
    st.up = st.handshake_age_seconds < WG_REJECT_AFTER
    if not st.up:
        st.reason = f"handshake stale ({st.handshake_age_seconds} s ago): peer unreachable " \
            "or its key changed"


# --- many tunnels ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Want:
    name: str
    type: str
    agency: str
    recorded: str
    sides: tuple[tuple[str, str, Gateway | None], ...]  # (key, hostname, gateway), a first


def _wants(tunnels: Iterable[m.Tunnel],
           gateway_of: Callable[[m.Device], Gateway]) -> list[_Want]:
    out = []
    for t in tunnels:
        sides = []
        for key, dev in (("a", t.a_device), ("b", t.b_device)):
            gw = None
            if linux_gateway(dev.platform):
                try:
                    gw = gateway_of(dev)
                except GinError:
                    gw = None
            sides.append((key, dev.hostname, gw))
        out.append(_Want(t.name, t.type, t.a_device.site.agency.code, t.status, tuple(sides)))
    return out


def collect(wants: Sequence[_Want], workers: int = WORKERS) -> list[TunnelStatus]:
    """Read every gateway involved once (in parallel), then judge each tunnel."""
    jobs: dict[tuple[str, str], tuple[Callable[[Gateway], dict[str, Any]], Gateway]] = {}
    for w in wants:
        for _key, host, gw in w.sides:
            if gw is not None:
                jobs[(host, w.type)] = (read_strongswan if w.type == "ikev2"
                                        else read_wireguard, gw)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1))) as pool:
        keys = list(jobs)
        readings = dict(zip(keys, pool.map(lambda k: jobs[k][0](jobs[k][1]), keys),
                            strict=True))
    now = time.time()
    out = []
    for w in wants:
        st = TunnelStatus(w.name, w.type, w.agency, recorded=w.recorded)
        views = []
        for _key, host, gw in w.sides:  # side a (the initiator) first
            if gw is None:
                st.sides[host] = "not readable (router: see its show commands)"
                continue
            one = TunnelStatus(w.name, w.type, w.agency)
            reading = readings[(host, w.type)]
            if w.type == "ikev2":
                ike_status(one, w.name, reading, gw.log)
            else:
                wg_status(one, w.name, reading, now)
            st.sides[host] = "up" if one.up else (one.reason or "down")
            views.append((host, one, "error" in reading))
        pick = next((v for v in views if not v[2]), views[0] if views else None)
        if pick is not None:
            host, one, _ = pick
            for k in one.__dataclass_fields__:
                if k not in ("tunnel", "type", "agency", "recorded", "sides"):
                    setattr(st, k, getattr(one, k))
            st.seen_from = host
        if st.seen_from is None:
            st.reason = "no side is a readable Linux gateway"
        out.append(st)
    return out


def status(directory: Directory, names: Sequence[str] = (), record: bool = True,
           gateway_of: Callable[[m.Device], Gateway] = Gateway.of) -> list[TunnelStatus]:
    """Status of the named tunnels (all deployed ones when none is named)."""
    with directory.transaction() as s:
        if names:
            chosen = [get_tunnel(s, n) for n in dict.fromkeys(names)]
        else:
            chosen = [t for t in list_tunnels(s) if t.status in LIVE_STATES]
        wants = _wants(chosen, gateway_of)
    results = collect(wants)
    if record:
        _record(directory, results)
    return results


def _record(directory: Directory, results: Sequence[TunnelStatus]) -> None:
    changed = [r for r in results if r.recorded in LIVE_STATES
               and r.recorded != ("up" if r.up else "down")
               and not (r.recorded == "deployed" and r.reason == reasons.NOT_LOADED)]
    if not changed:
        return
    with directory.transaction() as s:
        for r in changed:
            get_tunnel(s, r.tunnel).status = "up" if r.up else "down"

"""VPN protection in force (10.6.1): a tunnel the directory counts on is deployed and carries
traffic.

``vpn.link_protected`` credits an agency link to a tunnel the directory records as up or
deployed; this check says whether that record holds: the tunnel was deployed through gin
(the change log's ``vpn-deploy`` record: when, by whom, with what result) and the SOC's
Prometheus sees it carrying traffic now (``gin_vpn_tunnel_up`` 1, exported by the monitor
agent from the gateways' live state).  A tunnel still planned protects nothing and is not
judged here.  Without Prometheus whether it carries traffic is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from audit.checks.base import Check, Context, Result, Status, Subject
from audit.checks.registry import register
from audit.checks.vpn import NO_FACTS, VpnContext
from audit.parse import ParsedConfig

#: Tunnel statuses the directory counts as protecting (as ``vpn.link_protected`` does).
IN_FORCE = ("up", "deployed")
SHOWN = 10


def in_force(config: ParsedConfig | None, ctx: Context) -> Result:
    """10.6.1: every tunnel in force on this gateway was deployed through gin and carries
    traffic now."""
    facts = getattr(ctx, "vpn", None)
    if facts is None:
        return Result(Status.UNKNOWN, NO_FACTS)
    tunnels = [t for t in facts.tunnels if t.status in IN_FORCE]
    if not tunnels:
        return Result(Status.NOT_APPLICABLE, "no VPN tunnel in force on this device")
    live: Mapping[str, float] | None = getattr(ctx, "live", None)
    evidence: list[tuple[int | None, str]] = []
    undeployed, down = [], []
    for t in tunnels[:SHOWN]:
        evidence.append((None, f"tunnel {t.name} ({t.status}): "
                               + (t.deployed or "no deploy through gin recorded")))
        if t.deployed is None:
            undeployed.append(t.name)
        if live is not None:
            value = live.get(t.name)
            evidence.append((None, f"gin_vpn_tunnel_up{{tunnel={t.name!r}}} = {value:g}"
                                   if value is not None else
                                   f"gin_vpn_tunnel_up{{tunnel={t.name!r}}}: no series"))
            if value is None or value < 1:
                down.append(t.name)
    if down:
        return Result(Status.FAIL, f"{len(down)} tunnel(s) recorded in force carry no traffic "
                                   f"({', '.join(down)})", tuple(evidence))
    if undeployed:
        return Result(Status.FAIL, f"{len(undeployed)} tunnel(s) recorded in force were never "
                                   f"deployed through gin ({', '.join(undeployed)})",
                      tuple(evidence))
    if live is None:
        return Result(Status.UNKNOWN, "no Prometheus consulted (give --prometheus URL): "
                                      "whether the tunnels carry traffic is not known",
                      tuple(evidence))
    return Result(Status.PASS, f"{len(tunnels)} tunnel(s) deployed and carrying traffic",
                  tuple(evidence))


def with_live(subjects: Iterable[Subject], live: Mapping[str, float]) -> list[Subject]:
    """``subjects`` with Prometheus' tunnel states on each gateway's context."""
    return [replace(s, ctx=replace(s.ctx, live=dict(live)))
            if s.kind == "gateway" and isinstance(s.ctx, VpnContext) else s
            for s in subjects]


IN_FORCE_CHECK = Check(
    id="vpn.tunnel_in_force", title="VPN tunnels in force are deployed and carry traffic",
    severity="medium", rules={"*": in_force},  # type: ignore[dict-item]
    remediation={"*": ["gin vpn deploy <tunnel>", "gin vpn status <tunnel>  # why it is down"]},
    context_only=True, subject="gateway")

CHECKS: tuple[Check, ...] = register(IN_FORCE_CHECK)

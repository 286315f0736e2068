"""VPN tunnels and their certificates, from the directory (12.3.1, 12.3.2, 11.4.2).

These checks judge what the directory records about a VPN gateway, not its config text: the
crypto policy stored on each tunnel (with the weaknesses accepted through ``--allow-weak``),
how each tunnel authenticates its peer, and the gateway's certificates (expiry, revocation,
whether a revoked one is still deployed).  The facts are read once per audit straight from
the ``tunnel`` and ``certificate`` tables (:func:`vpn_facts`; ``audit`` does not import the
``vpn`` package), one :class:`VpnFacts` per device that ends a tunnel or holds a certificate.

They judge "gateway" subjects (:func:`subjects`), not configs: the runner applies them to
each gateway's facts and returns the same ``DeviceAudit``/``Finding`` objects the reports
take, with controls from the framework file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checks.base import Check, Context, Result, Status, Subject
from audit.checks.registry import register
from audit.parse import ParsedConfig
from directory import models as m

EXPIRING_DAYS = 30
SHOWN = 10


@dataclass(frozen=True)
class TunnelFact:
    """One tunnel as the directory records it, seen from one of its gateways."""

    name: str
    peer: str
    type: str
    auth: str
    status: str
    weak: tuple[str, ...] = ()
    #: Is the tunnel's secret (PSK, WireGuard keys) stored sealed?
    sealed: bool = False
    #: Its latest deploy through gin (the change log's ``vpn-deploy``): when, by whom,
    #: with what result, in words; None: never deployed through gin.
    deployed: str | None = None


@dataclass(frozen=True)
class CertFact:
    """One of the gateway's certificates."""

    serial: str
    status: str  # valid | revoked
    not_after: dt.datetime
    deployed: bool
    reason: str | None = None


@dataclass(frozen=True)
class VpnFacts:
    """What the directory says about one VPN gateway."""

    device: str
    agency: str | None
    platform: str
    tunnels: tuple[TunnelFact, ...] = ()
    certificates: tuple[CertFact, ...] = ()
    #: The GIN VPN CA's expiry (None: no CA in the directory).
    ca_not_after: dt.datetime | None = None


@dataclass(frozen=True)
class VpnContext(Context):
    """A check context that carries the gateway's VPN facts."""

    vpn: VpnFacts | None = None
    #: Prometheus' ``gin_vpn_tunnel_up`` per tunnel name (None: no Prometheus consulted).
    live: Mapping[str, float] | None = None


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def vpn_facts(session: Session) -> dict[str, VpnFacts]:
    """Facts of every device that ends a tunnel or holds a certificate, by host name."""
    tunnels: dict[int, list[TunnelFact]] = {}
    devices: dict[int, m.Device] = {}
    deploys: dict[str, str] = {}
    for ch in session.scalars(select(m.Change).where(m.Change.object_type == "tunnel",
                                                     m.Change.action == "vpn-deploy")
                              .order_by(m.Change.id)):
        result = (ch.after or {}).get("result") or "?"
        deploys[ch.object_key] = (f"deployed {_utc(ch.time):%Y-%m-%dT%H:%M:%SZ} by "
                                  f"{ch.actor} ({result})")
    for t in session.scalars(select(m.Tunnel).order_by(m.Tunnel.name)):
        crypto = (t.policy or {}).get("crypto") or {}
        weak = tuple(str(w) for w in crypto.get("weak") or ())
        sealed = bool(t.secret_ref) and str(t.secret_ref).startswith("sealed:")
        for me, peer in ((t.a_device, t.b_device), (t.b_device, t.a_device)):
            devices[me.id] = me
            tunnels.setdefault(me.id, []).append(TunnelFact(
                t.name, peer.hostname, t.type, t.auth or "", t.status, weak, sealed,
                deploys.get(t.name)))
    certs: dict[int, list[CertFact]] = {}
    ca_end: dt.datetime | None = None
    for c in session.scalars(select(m.Certificate).order_by(m.Certificate.not_before,
                                                            m.Certificate.id)):
        if c.kind == "ca":
            if c.status == "valid":
                ca_end = max(ca_end or _utc(c.not_after), _utc(c.not_after))
            continue
        if c.device is None:
            continue
        devices[c.device.id] = c.device
        certs.setdefault(c.device.id, []).append(CertFact(
            c.serial, c.status, _utc(c.not_after), c.deployed_at is not None,
            c.revocation_reason))
    out = {}
    for dev_id, dev in devices.items():
        agency = dev.site.agency.code if dev.site and dev.site.agency else None
        out[dev.hostname] = VpnFacts(dev.hostname, agency, dev.platform,
                                     tuple(tunnels.get(dev_id, ())),
                                     tuple(certs.get(dev_id, ())), ca_end)
    return out


def _facts(ctx: Context) -> VpnFacts | None:
    return getattr(ctx, "vpn", None)


NO_FACTS = "no VPN facts: the directory's tunnel and certificate tables were not consulted"


def tunnel_crypto(config: ParsedConfig | None, ctx: Context) -> Result:
    """12.3.1: no tunnel ending here runs a weak algorithm (accepted with --allow-weak)."""
    facts = _facts(ctx)
    if facts is None:
        return Result(Status.UNKNOWN, NO_FACTS)
    if not facts.tunnels:
        return Result(Status.NOT_APPLICABLE, "no VPN tunnel ends on this device")
    weak = [t for t in facts.tunnels if t.weak]
    if not weak:
        return Result(Status.PASS, f"all {len(facts.tunnels)} tunnel(s) use the strong "
                                   "policies only", tuple((None, f"tunnel {t.name} ({t.type})")
                                                          for t in facts.tunnels[:SHOWN]))
    evidence = tuple((None, f"tunnel {t.name} to {t.peer}: {w}")
                     for t in weak[:SHOWN] for w in t.weak)
    return Result(Status.FAIL, f"{len(weak)} tunnel(s) accepted weak cryptography "
                               f"({', '.join(t.name for t in weak[:SHOWN])})", evidence)


def _current(facts: VpnFacts, now: dt.datetime) -> CertFact | None:
    valid = [c for c in facts.certificates if c.status == "valid" and c.not_after > now]
    return valid[-1] if valid else None


def peer_auth(config: ParsedConfig | None, ctx: Context) -> Result:
    """11.4.2: every tunnel authenticates its peer: a certificate this gateway holds valid,
    or a sealed PSK / WireGuard key pair."""
    facts = _facts(ctx)
    if facts is None:
        return Result(Status.UNKNOWN, NO_FACTS)
    if not facts.tunnels:
        return Result(Status.NOT_APPLICABLE, "no VPN tunnel ends on this device")
    cert = _current(facts, ctx.now)
    bad: list[tuple[int | None, str]] = []
    good: list[tuple[int | None, str]] = []
    for t in facts.tunnels:
        if t.auth == "cert":
            (good if cert else bad).append((None, f"tunnel {t.name}: certificate "
                                           f"{cert.serial if cert else 'missing or invalid'}"))
        elif t.auth in ("psk", "key"):
            (good if t.sealed else bad).append((None, f"tunnel {t.name}: {t.auth} "
                                               f"{'sealed' if t.sealed else 'not stored'}"))
        else:
            bad.append((None, f"tunnel {t.name}: no peer authentication ({t.auth or 'none'})"))
    if bad:
        return Result(Status.FAIL, f"{len(bad)} tunnel(s) cannot authenticate their peer",
                      tuple(bad[:SHOWN]))
    return Result(Status.PASS, "every tunnel authenticates its peer", tuple(good[:SHOWN]))


def cert_validity(config: ParsedConfig | None, ctx: Context) -> Result:
    """12.3.2: the gateway's certificate (and the CA) is valid and not about to expire."""
    facts = _facts(ctx)
    if facts is None:
        return Result(Status.UNKNOWN, NO_FACTS)
    needs = any(t.auth == "cert" for t in facts.tunnels)
    if not facts.certificates and not needs:
        return Result(Status.NOT_APPLICABLE, "no certificate tunnel and no certificate")
    now, soon = ctx.now, ctx.now + dt.timedelta(days=EXPIRING_DAYS)
    cert = _current(facts, now)
    if cert is None:
        last = facts.certificates[-1] if facts.certificates else None
        why = ("no certificate issued" if last is None else
               f"certificate {last.serial} {'revoked' if last.status == 'revoked' else 'expired'}"
               f" ({last.not_after:%Y-%m-%d})")
        return Result(Status.FAIL, f"no valid certificate: {why}")
    line = (None, f"certificate {cert.serial} expires {cert.not_after:%Y-%m-%d}")
    if facts.ca_not_after is not None and facts.ca_not_after <= soon:
        return Result(Status.FAIL, f"the GIN VPN CA expires {facts.ca_not_after:%Y-%m-%d}, "
                                   f"within {EXPIRING_DAYS} days", (line,))
    if cert.not_after <= soon:
        days = (cert.not_after - now).days
        return Result(Status.FAIL, f"certificate expires in {days} day(s) (renew it within "
                                   f"{EXPIRING_DAYS} days of expiry)", (line,))
    return Result(Status.PASS, "certificate valid beyond the renewal window", (line,))


def revoked_in_use(config: ParsedConfig | None, ctx: Context) -> Result:
    """12.3.2: no revoked (or expired) certificate is still the one deployed."""
    facts = _facts(ctx)
    if facts is None:
        return Result(Status.UNKNOWN, NO_FACTS)
    deployed = [c for c in facts.certificates if c.deployed]
    if not deployed:
        return Result(Status.NOT_APPLICABLE, "no certificate deployed on this device")
    stale = [c for c in deployed if c.status == "revoked" or c.not_after <= ctx.now]
    if stale:
        return Result(Status.FAIL, "a revoked or expired certificate is still deployed",
                      tuple((None, f"certificate {c.serial}: "
                                   + (f"revoked ({c.reason})" if c.status == "revoked"
                                      else f"expired {c.not_after:%Y-%m-%d}"))
                            for c in stale[:SHOWN]))
    return Result(Status.PASS, "the deployed certificate is valid",
                  tuple((None, f"certificate {c.serial} deployed") for c in deployed))


def _check(id_: str, title: str, severity: str, rule: Any, fix: Sequence[str]) -> Check:
    return Check(id=id_, title=title, severity=severity, rules={"*": rule},
                 remediation={"*": list(fix)}, context_only=True, subject="gateway")


CHECKS: tuple[Check, ...] = register(
    _check("vpn.tunnel_crypto", "VPN tunnels use strong cryptography", "high", tunnel_crypto,
           ["gin vpn rm <tunnel>; gin vpn create ... --policy default  # no --allow-weak"]),
    _check("vpn.peer_auth", "VPN tunnels authenticate their peer", "high", peer_auth,
           ["gin vpn cert issue <device>  # certificate tunnels",
            "gin vpn rotate <tunnel>; gin vpn deploy <tunnel>  # PSK / WireGuard keys"]),
    _check("vpn.cert_valid", "VPN gateway certificate valid and renewed in time", "medium",
           cert_validity, ["gin vpn cert renew <device>; gin vpn deploy <tunnel>"]),
    _check("vpn.revoked_not_deployed", "No revoked VPN certificate still deployed", "high",
           revoked_in_use, ["gin vpn cert renew <device>; gin vpn deploy <tunnel>",
                            "gin vpn crl -o <file>  # publish the CRL to the peers"]),
)


def subjects(facts: Mapping[str, VpnFacts]) -> list[Subject]:
    """One subject per gateway (a device that ends a tunnel or holds a certificate)."""
    return [Subject(name, "gateway", f.platform,
                    VpnContext(device=name, agency=f.agency, vpn=f), f.agency, "directory")
            for name, f in sorted(facts.items())]

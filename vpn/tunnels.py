"""Tunnels in the directory: create (with policy, subnets and sealed keys), list, show, remove.

A tunnel joins two gateways of two different agencies.  What it protects is read from the
directory at creation: each agency's prefixes with role ``agency``, IPv6 first.  The crypto
policy is validated (weak choices refused unless ``allow_weak``, then recorded in the stored
policy so the audit can flag the tunnel).  Secrets (IKEv2 PSK; WireGuard private keys and
preshared key) are generated here and stored only sealed (:mod:`vpn.keys`); WireGuard public
keys are stored in the clear, since rendering the peer section needs them.

Rotation (:func:`rotate`) never replaces a secret in force: the new ones wait in the
``tunnel_rotation`` table.  A deploy takes :func:`for_deploy` (the pending keys when there
are some), and only once the tunnel is up calls :func:`complete_rotation`, which makes them
the tunnel's; a deploy that fails leaves the old secrets, still valid on both gateways.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from devices.secrets import Secret
from directory import changelog, store
from directory import models as m
from directory.errors import Conflict, Invalid, NotFound
from directory.names import clean_ifname
from vpn import keys, pki
from vpn.policy import PolicyError, gateway_capability, gateway_platforms, get_policy

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
AUTH = {"ikev2": ("cert", "psk"), "wireguard": ("key",)}
#: WireGuard's port; a gateway's further WireGuard tunnels take the next free ones
WIREGUARD_PORT = 51820
WIREGUARD_PORTS = range(WIREGUARD_PORT, 65536)
# WireGuard's crypto is fixed by its protocol (Noise IK): nothing to negotiate or weaken.
WIREGUARD_POLICY = {"name": "wireguard", "ike": None, "esp": None,
                    "cipher": "ChaCha20-Poly1305, Curve25519, BLAKE2s", "weak": []}


@dataclass(frozen=True)
class End:
    """One side of a tunnel as rendering needs it."""

    hostname: str
    platform: str
    agency: str
    agency_name: str
    address: str
    subnets: tuple[str, ...]
    public_key: str | None = None
    #: The outer interface (Junos ``external-interface``), when one was given.
    interface: str | None = None
    #: The UDP port this end's WireGuard interface listens on (its own per gateway).
    listen_port: int = WIREGUARD_PORT


@dataclass(frozen=True)
class TunnelSpec:
    """Everything a renderer needs about a tunnel, with no secret in it."""

    name: str
    type: str
    auth: str
    status: str
    policy: dict[str, Any]
    a: End
    b: End
    #: The tunnel's id in the directory: numbers router tunnel interfaces (Tunnel N, st0.N).
    number: int = 0


def _agency(device: m.Device) -> m.Agency:
    return device.site.agency


def protected_subnets(session: Session, agency: m.Agency) -> list[str]:
    """The agency's own prefixes (role ``agency``, not released), IPv6 first, then by address."""
    rows = session.scalars(select(m.Prefix).where(
        m.Prefix.agency_id == agency.id, m.Prefix.role == "agency",
        m.Prefix.status != "released")).all()
    nets = sorted((ipaddress.ip_network(p.cidr) for p in rows),
                  key=lambda n: (-n.version, int(n.network_address), n.prefixlen))
    return [str(n) for n in nets]


def _endpoint(device: m.Device, given: str | None) -> str:
    text = given or device.mgmt_address
    if not text:
        raise Invalid(f"device {device.hostname} has no address for the tunnel endpoint: pass "
                      "one or set its mgmt_address")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise Invalid(f"tunnel endpoint of {device.hostname}: {text!r} is not an IP "
                      "address") from None


def _check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise Invalid(f"tunnel name {name!r}: use 1-63 of a-z 0-9 _ - (starting with a letter "
                      "or digit)")
    return name


def create_tunnel(session: Session, a_hostname: str, b_hostname: str, type: str,
                  auth: str | None = None, policy_name: str = "default", *,
                  name: str | None = None, allow_weak: bool = False,
                  a_address: str | None = None, b_address: str | None = None,
                  a_interface: str | None = None,
                  b_interface: str | None = None) -> m.Tunnel:
    """Record a planned tunnel between two agencies' gateways (no device is touched).

    ``a_interface``/``b_interface`` name the outer interface where a router platform needs
    it (Junos ``external-interface``)."""
    if type not in AUTH:
        raise Invalid(f"tunnel type {type!r}: expected ikev2 or wireguard")
    if type == "wireguard":
        if auth not in (None, "key"):
            raise Invalid("WireGuard authenticates with its keys: --auth does not apply")
        if policy_name != "default":
            raise PolicyError("WireGuard's crypto is fixed by the protocol: --policy does not "
                              "apply")
    auth = auth or AUTH[type][0]
    if auth not in AUTH[type]:
        raise Invalid(f"auth {auth!r}: expected one of {', '.join(AUTH[type])}")
    a_dev, b_dev = store.get_device(session, a_hostname), store.get_device(session, b_hostname)
    if a_dev.id == b_dev.id:
        raise Invalid(f"a tunnel needs two gateways, got {a_hostname} twice")
    a_ag, b_ag = _agency(a_dev), _agency(b_dev)
    if a_ag.id == b_ag.id:
        raise Invalid(f"{a_hostname} and {b_hostname} both belong to agency {a_ag.code}: a "
                      "tunnel joins two agencies")
    name = _check_name(name if name is not None else
                       f"{a_dev.hostname}-{b_dev.hostname}".lower().replace(".", "-")[:63])
    if session.scalar(select(m.Tunnel).where(m.Tunnel.name == name)) is not None:
        raise Conflict(f"tunnel {name} exists already (pass --name)")
    a_addr, b_addr = _endpoint(a_dev, a_address), _endpoint(b_dev, b_address)
    if ipaddress.ip_address(a_addr).version != ipaddress.ip_address(b_addr).version:
        raise Invalid(f"tunnel endpoints {a_addr} and {b_addr} are of different IP versions")
    sides: dict[str, dict[str, Any]] = {}
    for key, ag, addr, ifname in (("a", a_ag, a_addr, a_interface),
                                  ("b", b_ag, b_addr, b_interface)):
        subnets = protected_subnets(session, ag)
        if not subnets:
            raise Invalid(f"agency {ag.code} has no prefix with role agency to protect: "
                          f"allocate one (gin directory prefix allocate --agency {ag.code})")
        sides[key] = {"address": addr, "subnets": subnets}
        if ifname is not None:
            sides[key]["interface"] = clean_ifname(ifname, f"--{key}-interface")
    _refuse_overlap(sides["a"]["subnets"], sides["b"]["subnets"])
    _refuse_endpoint_inside(sides, {"a": a_dev, "b": b_dev})
    for key, dev in (("a", a_dev), ("b", b_dev)):
        _refuse_unbuildable(dev, key, type, auth, sides)
    data: dict[str, Any] = {"a": sides["a"], "b": sides["b"]}
    secret_ref = None
    if type == "ikev2":
        data["crypto"] = get_policy(policy_name, allow_weak=allow_weak).as_dict()
        if auth == "psk":
            secret_ref = keys.seal({"psk": keys.generate_psk()}, f"tunnel {name}")
    else:
        data["crypto"] = dict(WIREGUARD_POLICY)
        sides["a"]["listen_port"] = free_wireguard_port(session, a_dev)
        sides["b"]["listen_port"] = free_wireguard_port(session, b_dev)
        a_priv, b_priv = keys.generate_private_key(), keys.generate_private_key()
        sides["a"]["public_key"] = keys.public_key(a_priv)
        sides["b"]["public_key"] = keys.public_key(b_priv)
        secret_ref = keys.seal({"a_private": a_priv, "b_private": b_priv,
                                "psk": keys.generate_psk()}, f"tunnel {name}")
    tunnel = m.Tunnel(name=name, type=type, a_device=a_dev, b_device=b_dev, auth=auth,
                      status="planned", policy=data, secret_ref=secret_ref)
    session.add(tunnel)
    session.flush()
    return tunnel


def wireguard_ports(session: Session, device: m.Device) -> set[int]:
    """The UDP ports the device's WireGuard tunnel ends listen on (each end has its own:
    a WireGuard interface owns its port, so a second tunnel on 51820 could not start)."""
    used = set()
    for t in session.scalars(select(m.Tunnel).where(
            m.Tunnel.type == "wireguard",
            (m.Tunnel.a_device_id == device.id) | (m.Tunnel.b_device_id == device.id))):
        data = t.policy or {}
        for key in ("a", "b"):
            if getattr(t, f"{key}_device_id") == device.id:
                used.add(_listen_port(data, key))
    return used


def free_wireguard_port(session: Session, device: m.Device) -> int:
    """The lowest port from 51820 up that none of the device's WireGuard tunnels uses.

    The device's row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite serialises
    writers anyway), so two engineers creating tunnels on one hub never get the same port."""
    session.execute(select(m.Device.id).where(m.Device.id == device.id).with_for_update())
    used = wireguard_ports(session, device)
    port = next((p for p in WIREGUARD_PORTS if p not in used), None)
    if port is None:
        raise Conflict(f"{device.hostname} has no free WireGuard port left")
    return port


def _listen_port(data: dict[str, Any], key: str) -> int:
    """An end's port; tunnels recorded before ports were per end kept one for both."""
    return int(data.get(key, {}).get("listen_port") or data.get("listen_port")
               or WIREGUARD_PORT)


def _refuse_overlap(a: list[str], b: list[str]) -> None:
    for x in a:
        for y in b:
            nx, ny = ipaddress.ip_network(x), ipaddress.ip_network(y)
            if nx.version == ny.version and nx.overlaps(ny):
                raise Conflict(f"protected subnets overlap: {x} and {y}")


def _refuse_endpoint_inside(sides: dict[str, dict[str, Any]],
                            devices: dict[str, m.Device]) -> None:
    """An outer address inside a protected prefix would be routed into the tunnel it
    carries (a loop: the tunnel's own packets never reach the peer)."""
    protected = [ipaddress.ip_network(n) for side in sides.values() for n in side["subnets"]]
    for key, side in sides.items():
        addr = ipaddress.ip_address(side["address"])
        for net in protected:
            if addr.version == net.version and addr in net:
                raise Invalid(f"tunnel endpoint {addr} of {devices[key].hostname} is inside "
                              f"{net}, which the tunnel protects: its packets would be routed "
                              f"into the tunnel itself; give an outer address outside the "
                              f"protected prefixes (--{key}-address)")


def _refuse_unbuildable(dev: m.Device, key: str, type: str, auth: str,
                        sides: dict[str, dict[str, Any]]) -> None:
    """Refuse now what rendering for the gateway's platform would refuse later."""
    cap = gateway_capability(dev.platform)
    where = f"{dev.hostname} ({dev.platform})"
    if cap is None:
        raise Invalid(f"{where}: gin renders no VPN for this platform; gateways can be "
                      f"{', '.join(gateway_platforms())}")
    if type not in cap.types:
        raise Invalid(f"{where} cannot build a {type} tunnel (it takes "
                      f"{', '.join(cap.types)}): use --type {next(iter(cap.types))}, or a "
                      "Linux gateway for WireGuard")
    if auth not in cap.types[type]:
        raise Invalid(f"{where}: {type} with --auth {auth} is not rendered there (use "
                      f"{' or '.join(cap.types[type])})")
    if cap.needs_interface and "interface" not in sides[key]:
        raise Invalid(f"{where} needs the tunnel's outer interface: pass --{key}-interface "
                      "(e.g. ge-0/0/0.0)")
    families = "".join(sorted({str(ipaddress.ip_network(n).version)
                               for side in sides.values() for n in side["subnets"]}))
    if cap.families is not None and families not in cap.families:
        mix = " and ".join(f"IPv{f}" for f in families)
        raise Invalid(f"{where} cannot carry {mix} on one tunnel interface: the agencies "
                      f"protect both; use a gateway that can (IOS-XE, Junos, Linux)")


def get_tunnel(session: Session, name: str) -> m.Tunnel:
    """A tunnel by name (NotFound names it)."""
    tunnel = session.scalar(select(m.Tunnel).where(m.Tunnel.name == name))
    if tunnel is None:
        raise NotFound(f"tunnel {name!r} not found (gin vpn list shows them)")
    return tunnel


def list_tunnels(session: Session) -> list[m.Tunnel]:
    """Every tunnel, by name."""
    return list(session.scalars(select(m.Tunnel).order_by(m.Tunnel.name)))


def remove_tunnel(session: Session, name: str) -> None:
    """Delete a tunnel's record (and with it its sealed secrets, pending ones too)."""
    tunnel = get_tunnel(session, name)
    rotation = pending_rotation(session, tunnel)
    if rotation is not None:
        session.delete(rotation)
    store.remove(session, tunnel)


def pending_rotation(session: Session, tunnel: m.Tunnel) -> m.TunnelRotation | None:
    """The tunnel's new secrets waiting for a deploy (``gin vpn rotate``), if any."""
    return session.scalar(select(m.TunnelRotation).where(
        m.TunnelRotation.tunnel_id == tunnel.id))


def rotate(session: Session, name: str, *, now: dt.datetime | None = None) -> m.TunnelRotation:
    """Make new secrets for a tunnel and keep them *pending*: the tunnel's current secrets
    stay in force until a deploy of the new ones succeeds (:func:`complete_rotation`).

    PSK: a new PSK.  WireGuard: new key pairs for both ends and a new preshared key.
    Certificates: both gateways' certificates are renewed (the old ones stay valid until the
    new ones are deployed, see :func:`vpn.pki.mark_deployed`).
    """
    tunnel = get_tunnel(session, name)
    if pending_rotation(session, tunnel) is not None:
        raise Conflict(f"tunnel {name}: a rotation is pending already: deploy it, or discard "
                       f"it with `gin vpn rotate {name} --abort`")
    context = f"tunnel {tunnel.name}"
    details: dict[str, Any] = {"auth": tunnel.auth}
    secret_ref = None
    if tunnel.type == "wireguard":
        a_priv, b_priv = keys.generate_private_key(), keys.generate_private_key()
        details.update(a_public_key=keys.public_key(a_priv), b_public_key=keys.public_key(b_priv))
        secret_ref = keys.seal({"a_private": a_priv, "b_private": b_priv,
                                "psk": keys.generate_psk()}, context)
    elif tunnel.auth == "psk":
        secret_ref = keys.seal({"psk": keys.generate_psk()}, context)
    elif tunnel.auth == "cert":
        for side, dev in (("a", tunnel.a_device), ("b", tunnel.b_device)):
            details[f"{side}_cert"] = pki.renew(session, dev.hostname, now=now).serial
    else:
        raise Invalid(f"tunnel {name}: nothing to rotate for auth {tunnel.auth!r}")
    rotation = m.TunnelRotation(tunnel=tunnel, secret_ref=secret_ref, details=details)
    session.add(rotation)
    session.flush()
    changelog.log_event(session, "rotate", tunnel, {"pending": sorted(details)})
    return rotation


def complete_rotation(session: Session, name: str,
                      now: dt.datetime | None = None) -> m.Tunnel:
    """After the new secrets were deployed and the tunnel came up: make them the tunnel's."""
    tunnel = get_tunnel(session, name)
    rotation = pending_rotation(session, tunnel)
    if rotation is None:
        raise Invalid(f"tunnel {name}: no rotation is pending (gin vpn rotate {name})")
    details = rotation.details or {}
    if rotation.secret_ref:
        tunnel.secret_ref = rotation.secret_ref
    data = dict(tunnel.policy or {})
    for side in ("a", "b"):
        if f"{side}_public_key" in details:
            data[side] = {**data[side], "public_key": details[f"{side}_public_key"]}
        if f"{side}_cert" in details:
            pki.mark_deployed(session, details[f"{side}_cert"], now=now)
    tunnel.policy = data
    session.delete(rotation)
    session.flush()
    return tunnel


def abort_rotation(session: Session, name: str, now: dt.datetime | None = None) -> None:
    """Discard pending secrets (e.g. the deploy failed for good); renewed certificates that
    were never deployed are revoked."""
    tunnel = get_tunnel(session, name)
    rotation = pending_rotation(session, tunnel)
    if rotation is None:
        raise Invalid(f"tunnel {name}: no rotation is pending")
    for side in ("a", "b"):
        serial = (rotation.details or {}).get(f"{side}_cert")
        if serial and pki.get_certificate(session, serial).status == "valid":
            pki.revoke(session, serial, "cessation-of-operation", now=now)
    session.delete(rotation)
    session.flush()


def tunnel_secrets(session: Session, tunnel: m.Tunnel,
                   pending: bool = False) -> dict[str, Secret]:
    """The tunnel's unsealed secrets (current, or the pending rotation's) for a deploy step
    or ``show --show-secret``; empty for certificate tunnels (keys are the gateways')."""
    ref = tunnel.secret_ref
    if pending:
        rotation = pending_rotation(session, tunnel)
        if rotation is None:
            raise Invalid(f"tunnel {tunnel.name}: no rotation is pending")
        ref = rotation.secret_ref or ref  # certificate rotations seal nothing new
    return keys.unseal(ref, f"tunnel {tunnel.name}") if ref else {}


def for_deploy(session: Session, tunnel: m.Tunnel) -> tuple[TunnelSpec, dict[str, Secret], bool]:
    """What a deploy step should load: the pending rotation's keys when there is one (then
    call :func:`complete_rotation` once the tunnel is up), else the current ones.

    Returns ``(spec, secrets, pending)``."""
    rotation = pending_rotation(session, tunnel)
    return (spec(tunnel, rotation), tunnel_secrets(session, tunnel, rotation is not None),
            rotation is not None)


def spec(tunnel: m.Tunnel, rotation: m.TunnelRotation | None = None) -> TunnelSpec:
    """The renderable view of a stored tunnel (no secrets); with ``rotation``, the public
    keys it will have once the pending secrets are deployed."""
    data = tunnel.policy or {}
    new = (rotation.details or {}) if rotation is not None else {}

    def end(dev: m.Device, key: str) -> End:
        side = data[key]
        ag = _agency(dev)
        return End(hostname=dev.hostname, platform=dev.platform, agency=ag.code,
                   agency_name=ag.name_en, address=side["address"],
                   subnets=tuple(side["subnets"]),
                   public_key=new.get(f"{key}_public_key", side.get("public_key")),
                   interface=side.get("interface"), listen_port=_listen_port(data, key))

    return TunnelSpec(name=tunnel.name, type=tunnel.type, auth=tunnel.auth or "",
                      status=tunnel.status, policy=data.get("crypto", {}), number=tunnel.id,
                      a=end(tunnel.a_device, "a"), b=end(tunnel.b_device, "b"))


def row(tunnel: m.Tunnel) -> dict[str, Any]:
    """What ``list``/``show`` print: never a secret, only whether one is sealed."""
    session = object_session(tunnel)
    s = spec(tunnel)
    return {"name": s.name, "type": s.type, "auth": s.auth, "status": s.status,
            "a": s.a.hostname, "a_agency": s.a.agency, "a_address": s.a.address,
            "a_subnets": list(s.a.subnets), "b": s.b.hostname, "b_agency": s.b.agency,
            "b_address": s.b.address, "b_subnets": list(s.b.subnets),
            "policy": s.policy.get("name"), "ike": s.policy.get("ike"),
            "esp": s.policy.get("esp"), "weak": list(s.policy.get("weak", [])),
            "a_public_key": s.a.public_key, "b_public_key": s.b.public_key,
            **({"a_listen_port": s.a.listen_port, "b_listen_port": s.b.listen_port}
               if s.type == "wireguard" else {}),
            "secret": "sealed" if tunnel.secret_ref else None,
            "rotation": "pending" if session is not None and pending_rotation(
                session, tunnel) is not None else None}

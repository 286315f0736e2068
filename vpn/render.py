"""Render a tunnel's configuration for both gateways: strongSwan ``swanctl.conf`` and WireGuard
on Linux gateways; Cisco IOS/IOS-XE (IKEv2 sVTI) and Juniper SRX (route-based, ``st0``) on
routers.  How each router platform spells the policy is data (``data/policies.yaml``
keywords; the platform table's ``vpn:`` section: tunnel types, template, limits); what a
platform cannot express (an out-of-range lifetime, several algorithms where it takes one,
IPv4 and IPv6 on one classic-IOS tunnel) is refused with one line naming it, never quietly
changed.

Every value reaches the text through a filter that validates it or makes it safe: addresses
and subnets are re-parsed, proposals re-parsed as a policy, names pass ``ident`` (identifier
characters only) and free text passes ``cfg_text`` (the links renderer's one-line filter).
So a newline in a tunnel or agency name can never add a config line.  Secrets are shown as
``<sealed:NAME>`` placeholders; only a deploy step passes the unsealed values in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from devices import platforms
from devices.errors import GinError
from devices.render import cfg_text
from devices.secrets import Secret
from directory.names import IFNAME_RE
from vpn import keys
from vpn.policy import PolicyError, for_platform, parse_proposal, validate
from vpn.tunnels import End, TunnelSpec

TEMPLATES = Path(__file__).with_name("templates")
CA_NAME = "GIN-VPN-CA"
TEMPLATE = {"ikev2": ("strongswan", "swanctl.conf.j2"), "wireguard": ("wireguard", "wg.conf.j2")}
_IDENT = re.compile(r"[^A-Za-z0-9_.-]")


def ident(value: object) -> str:
    """A name used as an identifier in a config (connection name, IKE id): no spaces or quotes."""
    return _IDENT.sub("_", str(value))[:63] or "-"


def ifname(value: object) -> str:
    """An interface name as platforms spell them (``ge-0/0/0.0``), or refused."""
    text = str(value)
    if not IFNAME_RE.fullmatch(text):
        raise GinError(f"interface name {text[:40]!r}: not a valid interface name")
    return text


def addr(value: object) -> str:
    """An IP address, re-parsed (a stored value is never trusted as text)."""
    return str(ipaddress.ip_address(str(value)))


def nets(values: Iterable[object]) -> str:
    """Subnets as a comma list, each re-parsed; IPv6 first as stored."""
    out = [str(ipaddress.ip_network(str(v))) for v in values]
    if not out:
        raise GinError("tunnel has no protected subnets")
    return ",".join(out)


def endpoint(value: object, port: object) -> str:
    """``[2001:db8::1]:51820`` or ``192.0.2.1:51820``."""
    ip = ipaddress.ip_address(str(value))
    return f"[{ip}]:{int(str(port))}" if ip.version == 6 else f"{ip}:{int(str(port))}"


def proposal(value: object, kind: str) -> str:
    """A proposal string, re-parsed so only known algorithm keywords are written."""
    return parse_proposal(str(value), kind).text


def swan_secret(value: object) -> str:
    """A PSK as swanctl reads it back byte for byte: ``0x`` and the hex of its text.

    swanctl takes a secret starting ``0x``/``0s`` as hex/base64, so a base64 PSK that
    happens to start so (1 in 2,048) would be read as other bytes; hex of the text is what a
    router peer's ``pre-shared-key <text>`` uses, whatever the text.  A placeholder stays
    readable."""
    text = str(value)
    return text if text.startswith("<sealed:") else "0x" + text.encode().hex()


def wgkey(value: object) -> str:
    """A WireGuard public key: 32 bytes of base64."""
    return keys.check_key(str(value))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False,  # config files, not HTML: safety comes from the filters
    )
    env.filters.update(cfg_text=cfg_text, ident=ident, addr=addr, nets=nets, ifname=ifname,
                       endpoint=endpoint, proposal=proposal, wgkey=wgkey,
                       swan_secret=swan_secret)
    return env


def render_side(t: TunnelSpec, side: str,
                secrets: Mapping[str, Secret] | None = None) -> str:
    """One gateway's configuration (``side`` is ``"a"`` or ``"b"``; ``a`` initiates).

    Without ``secrets`` every secret is a ``<sealed:NAME>`` placeholder: that is what people
    see.  A deploy step passes the unsealed values; each is checked to be 32 base64 bytes.
    """
    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', not {side!r}")
    me, peer = (t.a, t.b) if side == "a" else (t.b, t.a)
    if not linux_gateway(me.platform) and me.platform not in routers():
        raise GinError(f"no VPN rendering for platform {me.platform} ({me.hostname}): Linux "
                       f"gateways ({', '.join(linux_gateways())}) or routers "
                       f"({', '.join(routers())})")
    builds = platforms.get(me.platform).tunnel_types
    if t.type not in builds:
        raise GinError(f"tunnel {t.name}: {t.type} is not rendered for {me.platform} "
                       f"({me.hostname}); it builds {', '.join(builds) or 'no'} tunnels")

    def secret(name: str) -> str:
        if secrets is None:
            return f"<sealed:{ident(name)}>"
        if name not in secrets:
            raise GinError(f"tunnel {t.name}: secret {name} missing from the sealed store")
        value = secrets[name]
        text = value.reveal() if isinstance(value, Secret) else str(value)
        return keys.check_key(text, f"tunnel {t.name} secret {name}")  # 32 base64 bytes

    if me.platform in routers():
        return _render_router(t, me, peer, side, secret)
    folder, name = TEMPLATE[t.type]
    template = environment().get_template(f"{folder}/{name}")
    return template.render(t=t, me=me, peer=peer, side=side, initiator=side == "a",
                           policy=t.policy, secret=secret)


def linux_gateways() -> tuple[str, ...]:
    """Platforms that are Linux hosts running strongSwan / WireGuard (the platform table)."""
    return tuple(n for n, p in platforms.registry().items() if p.linux_gateway)


def linux_gateway(platform: str) -> bool:
    """Is ``platform`` a Linux gateway (swanctl.conf / wg.conf), not a router?"""
    return platform in linux_gateways()


@cache
def routers() -> dict[str, dict[str, Any]]:
    """Router platforms that terminate IKEv2 themselves: each one's ``vpn.router`` table
    (template, keyword table, interface and limits) from the platform table."""
    return {n: dict(p.vpn_router) for n, p in platforms.registry().items()
            if p.vpn_router is not None}


@cache
def _router_environment(platform: str) -> jinja2.Environment:
    """The VPN environment (its filters) loading from the platform's template folder."""
    return environment().overlay(
        loader=jinja2.FileSystemLoader(platforms.get(platform).template_dir))


def router_keywords(t: TunnelSpec, platform: str) -> dict[str, Any]:
    """The tunnel's stored policy in ``platform``'s keywords, refused (PolicyError) where the
    platform cannot express it."""
    router = routers()[platform]
    stored = {k: v for k, v in t.policy.items() if k != "description"}
    policy = validate(str(stored.get("name", "?")), stored, allow_weak=True)
    kw = for_platform(policy, router["keywords"])
    where = f"tunnel {t.name} on {platform}"
    for part in ("ike", "esp"):
        lo, hi = router[f"{part}_lifetime"]
        if not lo <= kw[part]["lifetime"] <= hi:
            raise PolicyError(f"{where}: {part} lifetime {kw[part]['lifetime']} s is outside "
                              f"what {platform} accepts ({lo}..{hi} s)")
    for item in router.get("single", ()):
        part, _, what = item.partition("_")
        if len(kw[part][what]) > 1:
            raise PolicyError(f"{where}: {platform} takes one {part} {what}, the policy lists "
                              f"{', '.join(kw[part][what])}")
    return kw


def _render_router(t: TunnelSpec, me: End, peer: End, side: str,
                   secret: Callable[[str], str]) -> str:
    platform = me.platform
    router = routers()[platform]
    kw = router_keywords(t, platform)
    inner = [ipaddress.ip_network(str(n)) for n in peer.subnets]
    # both ends enable the same families: what either side protects may cross the tunnel
    families = {n.version for n in inner} | {
        ipaddress.ip_network(str(n)).version for n in me.subnets}
    key = "".join(str(v) for v in sorted(families))
    modes = router.get("tunnel_mode")
    if modes is not None and key not in modes:
        raise GinError(f"tunnel {t.name}: {platform} cannot carry IPv{' and IPv'.join(key)} "
                       f"on one tunnel interface ({me.hostname})")
    outer = me.interface
    if router["interface"] == "st0" and not outer:
        raise GinError(f"tunnel {t.name}: {platform} needs the outer interface of "
                       f"{me.hostname} (recreate with --{side}-interface, e.g. ge-0/0/0.0)")
    sep = "." if router["interface"] == "st0" else ""
    template = _router_environment(platform).get_template(router["template"])
    return template.render(
        t=t, me=me, peer=peer, side=side, initiator=side == "a", policy=t.policy, kw=kw,
        router=router, secret=secret, name=f"GIN-{ident(t.name)}", ca_name=CA_NAME,
        ifname=f"{router['interface']}{sep}{int(t.number)}",
        tunnel_mode=modes[key] if modes else None, outer_interface=outer, families=families,
        inner6=[n for n in inner if n.version == 6], inner4=[n for n in inner if n.version == 4])


def render(t: TunnelSpec) -> dict[str, str]:
    """Both gateways' configurations (placeholders for secrets), keyed by host name."""
    return {t.a.hostname: render_side(t, "a"), t.b.hostname: render_side(t, "b")}

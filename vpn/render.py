"""Render a tunnel's configuration for both gateways: strongSwan ``swanctl.conf`` and WireGuard.

Every value reaches the text through a filter that validates it or makes it safe: addresses
and subnets are re-parsed, proposals re-parsed as a policy, names pass ``ident`` (identifier
characters only) and free text passes ``cfg_text`` (the links renderer's one-line filter).
So a newline in a tunnel or agency name can never add a config line.  Secrets are shown as
``<sealed:NAME>`` placeholders; only a deploy step passes the unsealed values in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import jinja2

from gin.errors import GinError
from gin.links.render import cfg_text
from gin.secrets import Secret
from vpn import keys
from vpn.policy import parse_proposal
from vpn.tunnels import TunnelSpec

TEMPLATES = Path(__file__).with_name("templates")
#: Device platforms that are Linux gateways (strongSwan / WireGuard run there).
LINUX_PLATFORMS = ("linux", "strongswan", "frr")
TEMPLATE = {"ikev2": ("strongswan", "swanctl.conf.j2"), "wireguard": ("wireguard", "wg.conf.j2")}
_IDENT = re.compile(r"[^A-Za-z0-9_.-]")


def ident(value: object) -> str:
    """A name used as an identifier in a config (connection name, IKE id): no spaces or quotes."""
    return _IDENT.sub("_", str(value))[:63] or "-"


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
    env.filters.update(cfg_text=cfg_text, ident=ident, addr=addr, nets=nets,
                       endpoint=endpoint, proposal=proposal, wgkey=wgkey)
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
    if me.platform not in LINUX_PLATFORMS:
        raise GinError(f"rendering {t.type} for platform {me.platform} ({me.hostname}) is not "
                       f"built yet: only Linux gateways ({', '.join(LINUX_PLATFORMS)})")

    def secret(name: str) -> str:
        if secrets is None:
            return f"<sealed:{ident(name)}>"
        if name not in secrets:
            raise GinError(f"tunnel {t.name}: secret {name} missing from the sealed store")
        value = secrets[name]
        text = value.reveal() if isinstance(value, Secret) else str(value)
        return keys.check_key(text, f"tunnel {t.name} secret {name}")  # 32 base64 bytes

    folder, name = TEMPLATE[t.type]
    template = environment().get_template(f"{folder}/{name}")
    return template.render(t=t, me=me, peer=peer, side=side, initiator=side == "a",
                           policy=t.policy, secret=secret)


def render(t: TunnelSpec) -> dict[str, str]:
    """Both gateways' configurations (placeholders for secrets), keyed by host name."""
    return {t.a.hostname: render_side(t, "a"), t.b.hostname: render_side(t, "b")}

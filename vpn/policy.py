"""Crypto policy for VPN tunnels: proposals as data, parsed token by token, weak ones refused.

A policy names an IKE and an ESP proposal in strongSwan keywords
(``aes256gcm16-prfsha384-ecp384``) plus lifetimes.  Each token is classified (encryption,
integrity, PRF, DH group, ESN) from tables below, so a weak algorithm is recognised by what it
is rather than by a substring search.  Weak choices are refused with one line naming the
token; ``allow_weak=True`` returns them instead, so the tunnel can be stored and the audit can
flag it.  ``platforms`` in the data file maps each keyword to Cisco IOS-XE and Juniper SRX.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from devices import platforms
from devices.errors import ConfigError, GinError

DATA = Path(__file__).parent / "data" / "policies.yaml"
PSK_MIN_BYTES = 32

# strongSwan keyword -> why it is weak (None: acceptable).
ENCRYPTION: dict[str, str | None] = {
    "null": "NULL encryption sends traffic in clear",
    "des": "DES has a 56-bit key",
    "3des": "3DES has a 64-bit block (Sweet32) and 112-bit strength",
    "blowfish": "Blowfish has a 64-bit block",
    "cast128": "CAST-128 has a 64-bit block",
}
for _bits in (128, 192, 256):
    ENCRYPTION[f"aes{_bits}"] = None
    ENCRYPTION[f"camellia{_bits}"] = None
    for _icv in (8, 12, 16):
        ENCRYPTION[f"aes{_bits}gcm{_icv}"] = None
        ENCRYPTION[f"aes{_bits}ccm{_icv}"] = None
ENCRYPTION["chacha20poly1305"] = None
AEAD = re.compile(r"^(aes\d+(gcm|ccm)\d+|chacha20poly1305)$")

INTEGRITY: dict[str, str | None] = {
    "md5": "MD5 is broken", "md5_128": "MD5 is broken",
    "sha1": "SHA-1 integrity is deprecated (RFC 8247)",
    "sha1_160": "SHA-1 integrity is deprecated (RFC 8247)",
    "aesxcbc": None, "aescmac": None,
    "sha256": None, "sha384": None, "sha512": None, "sha256_96": None,
}
PRF: dict[str, str | None] = {
    "prfmd5": "MD5 PRF is broken",
    "prfsha1": "SHA-1 PRF is deprecated (RFC 8247)",
    "prfaesxcbc": None, "prfaescmac": None,
    "prfsha256": None, "prfsha384": None, "prfsha512": None,
}
# DH keyword -> (IANA group number, why weak or None).  Groups below 14 are refused.
DH: dict[str, tuple[int, str | None]] = {
    "modp768": (1, "DH group 1 (768-bit MODP) is below group 14"),
    "modp1024": (2, "DH group 2 (1024-bit MODP) is below group 14"),
    "modp1536": (5, "DH group 5 (1536-bit MODP) is below group 14"),
    "modp1024s160": (22, "DH group 22 (1024-bit MODP, 160-bit subgroup) is weaker than group 14"),
    "modp2048s224": (23, None), "modp2048s256": (24, None),
    "ecp192": (25, "DH group 25 (192-bit ECP) is weaker than group 14"),
    "ecp224": (26, None),
    "modp2048": (14, None), "modp3072": (15, None), "modp4096": (16, None),
    "modp6144": (17, None), "modp8192": (18, None),
    "ecp256": (19, None), "ecp384": (20, None), "ecp521": (21, None),
    "curve25519": (31, None), "x25519": (31, None), "curve448": (32, None), "x448": (32, None),
}
ESN = {"esn", "noesn"}


class PolicyError(GinError):
    """A crypto policy or PSK is malformed or weak; the message names the token and why."""


@dataclass(frozen=True)
class Proposal:
    """One proposal split into its parts (lists keep the order strongSwan will offer)."""

    text: str
    kind: str  # "ike" or "esp"
    encryption: tuple[str, ...]
    integrity: tuple[str, ...]
    prf: tuple[str, ...]
    dh: tuple[str, ...]
    esn: tuple[str, ...]

    @property
    def aead(self) -> bool:
        return all(AEAD.match(e) for e in self.encryption)


def parse_proposal(text: str, kind: str) -> Proposal:
    """Split ``text`` on ``-`` and classify every token; unknown or misplaced tokens are errors."""
    if kind not in ("ike", "esp"):
        raise ValueError(kind)
    if not isinstance(text, str) or not text or text != text.strip():
        raise PolicyError(f"{kind} proposal {text!r}: expected keywords joined by '-'")
    parts: dict[str, list[str]] = {"encryption": [], "integrity": [], "prf": [], "dh": [],
                                   "esn": []}
    for token in text.lower().split("-"):
        if token in ENCRYPTION:
            parts["encryption"].append(token)
        elif token in INTEGRITY:
            parts["integrity"].append(token)
        elif token in PRF:
            if kind == "esp":
                raise PolicyError(f"esp proposal {text!r}: {token} is a PRF, only IKE has one")
            parts["prf"].append(token)
        elif token in DH:
            parts["dh"].append(token)
        elif token in ESN:
            if kind == "ike":
                raise PolicyError(f"ike proposal {text!r}: {token} applies to ESP only")
            parts["esn"].append(token)
        else:
            raise PolicyError(f"{kind} proposal {text!r}: unknown algorithm {token!r}")
    prop = Proposal(text=text.lower(), kind=kind,
                    **{k: tuple(v) for k, v in parts.items()})
    _check_shape(prop)
    return prop


def _check_shape(p: Proposal) -> None:
    """The combinations strongSwan would reject at load time, caught before any device sees them."""
    where = f"{p.kind} proposal {p.text!r}"
    if not p.encryption:
        raise PolicyError(f"{where}: no encryption algorithm")
    mixed = {bool(AEAD.match(e)) for e in p.encryption}
    if len(mixed) > 1:
        raise PolicyError(f"{where}: mixes AEAD and non-AEAD encryption in one proposal")
    if p.aead and p.integrity:
        raise PolicyError(f"{where}: {p.integrity[0]} integrity is not used with AEAD "
                          f"{p.encryption[0]}")
    if not p.aead and not p.integrity:
        raise PolicyError(f"{where}: {p.encryption[0]} needs an integrity algorithm")
    if p.kind == "ike":
        if p.aead and not p.prf:
            raise PolicyError(f"{where}: AEAD {p.encryption[0]} needs a PRF (e.g. prfsha384)")
        if not p.dh:
            raise PolicyError(f"{where}: no DH group")


def weaknesses(p: Proposal) -> list[str]:
    """Every weak token of a proposal, as ``token: why``."""
    found: list[str] = []
    for token in p.encryption:
        if ENCRYPTION[token]:
            found.append(f"{token}: {ENCRYPTION[token]}")
    for token in p.integrity:
        if INTEGRITY[token]:
            found.append(f"{token}: {INTEGRITY[token]}")
    for token in p.prf:
        if PRF[token]:
            found.append(f"{token}: {PRF[token]}")
    for token in p.dh:
        if DH[token][1]:
            found.append(f"{token}: {DH[token][1]}")
    return found


def psk_weaknesses(psk: str | bytes) -> list[str]:
    """Why a pre-shared key is too weak: fewer than 32 bytes, or visibly not random.

    A base64 value (what :func:`vpn.keys.generate_psk` makes) is judged by its decoded bytes.
    Randomness cannot be proven; a key with few distinct bytes is refused as a typed password.
    """
    raw = psk.encode("utf-8") if isinstance(psk, str) else bytes(psk)
    try:
        decoded = base64.b64decode(raw, validate=True)
        if len(raw) % 4 == 0 and len(decoded) >= PSK_MIN_BYTES:
            raw = decoded
    except (binascii.Error, ValueError):
        pass
    found = []
    if len(raw) < PSK_MIN_BYTES:
        found.append(f"psk: {len(raw)} bytes, needs at least {PSK_MIN_BYTES} random bytes")
    elif len(set(raw)) < 16:
        found.append(f"psk: only {len(set(raw))} distinct bytes, not random")
    return found


@dataclass(frozen=True)
class Policy:
    """A named crypto policy: proposals, lifetimes, and any weaknesses that were accepted."""

    name: str
    ike: Proposal
    esp: Proposal
    ike_rekey_time: int
    ike_life_time: int
    esp_rekey_time: int
    esp_life_time: int
    weak: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """What the directory stores on the tunnel (``weak`` lets the audit flag it)."""
        return {"name": self.name, "ike": self.ike.text, "esp": self.esp.text,
                "ike_rekey_time": self.ike_rekey_time, "ike_life_time": self.ike_life_time,
                "esp_rekey_time": self.esp_rekey_time, "esp_life_time": self.esp_life_time,
                "weak": list(self.weak)}


def _seconds(data: dict[str, Any], key: str, name: str, lo: int, hi: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise PolicyError(f"policy {name}: {key} must be whole seconds in {lo}..{hi}, "
                          f"got {value!r}")
    return value


def validate(name: str, data: dict[str, Any], allow_weak: bool = False) -> Policy:
    """Build a :class:`Policy`; refuse weak algorithms unless ``allow_weak`` (then recorded)."""
    if not isinstance(data, dict):
        raise PolicyError(f"policy {name}: expected a mapping")
    unknown = set(data) - {"description", "ike", "esp", "ike_rekey_time", "ike_life_time",
                           "esp_rekey_time", "esp_life_time", "name", "weak"}
    if unknown:
        raise PolicyError(f"policy {name}: unknown field {sorted(unknown)[0]!r}")
    ike = parse_proposal(data.get("ike", ""), "ike")
    esp = parse_proposal(data.get("esp", ""), "esp")
    times = {k: _seconds(data, k, name, 60, 86400 * 7) for k in
             ("ike_rekey_time", "ike_life_time", "esp_rekey_time", "esp_life_time")}
    for sa in ("ike", "esp"):
        if times[f"{sa}_life_time"] <= times[f"{sa}_rekey_time"]:
            raise PolicyError(f"policy {name}: {sa}_life_time must exceed {sa}_rekey_time "
                              "(the SA would expire before it is rekeyed)")
    if times["esp_rekey_time"] >= times["ike_rekey_time"]:
        raise PolicyError(f"policy {name}: esp_rekey_time must be shorter than ike_rekey_time")
    weak = [f"ike {w}" for w in weaknesses(ike)] + [f"esp {w}" for w in weaknesses(esp)]
    if weak and not allow_weak:
        raise PolicyError(f"policy {name}: weak {weak[0]} (pass --allow-weak to accept it; "
                          "the audit will flag the tunnel)")
    return Policy(name=name, ike=ike, esp=esp, weak=tuple(weak), **times)


@cache
def _data() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def site_policies() -> dict[str, Any]:
    """Policies from ``GIN_VPN_POLICY_FILE`` (a YAML ``policies:`` mapping), e.g. for a peer
    agency's legacy gateway; they add to, or replace, the shipped ones of the same name."""
    path = os.environ.get("GIN_VPN_POLICY_FILE")
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise PolicyError(f"GIN_VPN_POLICY_FILE {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise PolicyError(f"GIN_VPN_POLICY_FILE {path}: not valid YAML") from None
    policies = data.get("policies") if isinstance(data, dict) else None
    if not isinstance(policies, dict) or not all(isinstance(k, str) for k in policies):
        raise PolicyError(f"GIN_VPN_POLICY_FILE {path}: expected a 'policies:' mapping of "
                          "names to policies")
    return policies


def all_policies() -> dict[str, Any]:
    """Shipped policies merged with the site's (site wins on a name clash)."""
    return {**_data()["policies"], **site_policies()}


def shipped_policy_names() -> list[str]:
    """Names of the policies in ``vpn/data/policies.yaml`` (reads no site file)."""
    return sorted(_data()["policies"])


def policy_names() -> list[str]:
    """Names of the shipped policies (``vpn/data/policies.yaml``) and the site's."""
    return sorted(all_policies())


def get_policy(name: str = "default", allow_weak: bool = False) -> Policy:
    """A policy by name (shipped or from ``GIN_VPN_POLICY_FILE``), validated."""
    policies = all_policies()
    if name not in policies:
        raise PolicyError(f"unknown crypto policy {name!r} (known: {', '.join(policy_names())})")
    return validate(name, policies[name], allow_weak=allow_weak)


def for_platform(policy: Policy, platform: str) -> dict[str, Any]:
    """The policy's algorithms in a router platform's own keywords (Cisco IOS-XE, Juniper SRX).

    Raises when the platform has no equivalent for a token, rather than dropping it silently.
    """
    table = _data()["platforms"].get(platform)
    if table is None:
        raise PolicyError(f"no crypto keywords for platform {platform!r} "
                          f"(known: {', '.join(sorted(_data()['platforms']))})")

    def tr(kind: str, tokens: tuple[str, ...]) -> list[str]:
        out = []
        for token in tokens:
            if token not in table[kind]:
                raise PolicyError(f"policy {policy.name}: {platform} has no equivalent of "
                                  f"{token}")
            out.append(str(table[kind][token]))
        return out

    ike_encryption = tr("encryption", policy.ike.encryption)
    prf = tr("prf", policy.ike.prf)
    implicit = table.get("aead_implicit_prf")
    if implicit is not None and policy.ike.aead:
        for enc in policy.ike.encryption:
            if (implicit.get(enc),) != policy.ike.prf:
                derived = implicit.get(enc) or "a PRF gin does not know"
                raise PolicyError(f"policy {policy.name}: {platform} derives {derived} from "
                                  f"{enc}, the policy asks {'-'.join(policy.ike.prf)}")
        prf = []  # implied by the AEAD cipher; configuring one fails the commit
    return {
        "ike": {"encryption": ike_encryption,
                "integrity": tr("integrity", policy.ike.integrity),
                "prf": prf, "dh": tr("dh", policy.ike.dh),
                "lifetime": policy.ike_life_time},
        "esp": {"encryption": tr("esp_encryption", policy.esp.encryption),
                "integrity": tr("esp_integrity", policy.esp.integrity),
                "pfs": tr("dh", policy.esp.dh), "lifetime": policy.esp_life_time},
    }


#: Authentications a Linux gateway offers per tunnel type (strongSwan, WireGuard).
LINUX_TYPES = {"ikev2": ("cert", "psk"), "wireguard": ("key",)}


@dataclass(frozen=True)
class GatewayCapability:
    """What tunnels a gateway platform can be given: checked when a tunnel is created, so
    ``gin vpn create`` never records a tunnel that ``render`` would then refuse."""

    platform: str
    #: tunnel type -> the authentications it can use there
    types: dict[str, tuple[str, ...]]
    #: True when the platform needs the outer interface named (Junos ``st0`` tunnels)
    needs_interface: bool = False
    #: inner-family mixes one tunnel interface carries ("4", "6", "46"); None: any
    families: tuple[str, ...] | None = None


def gateway_capability(platform: str) -> GatewayCapability | None:
    """What a gateway of ``platform`` can build (None: no VPN rendering at all), from the
    platform table: the one place tunnel creation and ``vpn.render`` read limits from."""
    try:
        p = platforms.get(platform)
    except ConfigError:
        return None
    if p.linux_gateway:
        return GatewayCapability(platform, {t: LINUX_TYPES[t] for t in p.tunnel_types
                                            if t in LINUX_TYPES})
    router = p.vpn_router
    if router is None:
        return None
    modes = router.get("tunnel_mode")
    return GatewayCapability(platform, {"ikev2": tuple(router["auth"])},
                             needs_interface=router["interface"] == "st0",
                             families=tuple(modes) if modes is not None else None)


def gateway_platforms() -> list[str]:
    """Every platform a tunnel end can be rendered for."""
    return [n for n in platforms.names() if gateway_capability(n) is not None]

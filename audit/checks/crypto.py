"""Cryptography (12.3.1): no weak cipher, hash or Diffie-Hellman group in IKE/IPsec.

DES/3DES, MD5/SHA-1 and DH groups 1, 2 and 5 are broken or below current guidance (NIST
SP 800-131A, RFC 8247).  The check reads every line of the crypto sections, so a weak
algorithm anywhere in a proposal list is found, with its line.
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, active, bad, junos_active, na, ok, per_ios
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig

WEAK_WORDS = {"des", "3des", "esp-des", "esp-3des", "md5", "sha", "sha1", "esp-md5-hmac",
              "esp-sha-hmac", "group1", "group2", "group5", "des-cbc", "3des-cbc",
              "hmac-md5-96", "hmac-sha1-96", "basic", "compatible"}
WEAK_GROUPS = {"1", "2", "5"}
IOS_SECTIONS = ("crypto isakmp policy", "crypto ikev2 proposal", "crypto ipsec transform-set",
                "crypto ipsec profile", "crypto map", "crypto ikev2 policy")


def weak_words(text: str) -> set[str]:
    """Weak algorithm names in one config line (``group 2`` and ``group 14 2`` included)."""
    words = text.lower().replace('"', " ").split()
    found = {w for w in words if w in WEAK_WORDS}
    for i, w in enumerate(words):
        if w in ("group", "pfs"):
            found |= {f"group{g}" for g in words[i + 1:] if g in WEAK_GROUPS}
    return found


def crypto_ios(config: ParsedConfig, ctx: Context) -> Result:
    sections = [n for p in IOS_SECTIONS for n in active(config, p)]
    if not sections:
        return na("no IKE/IPsec configuration")
    weak: list[Node] = []
    seen: list[Node] = []
    for section in sections:
        for node in [section, *section.children]:
            seen.append(node)
            header = node is section and section.text.startswith(
                ("crypto isakmp policy", "crypto map"))
            if not header and weak_words(node.text.removeprefix("crypto ")):
                weak.append(node)
    if weak:
        return bad("weak IKE/IPsec algorithms (DES/3DES, MD5/SHA-1, DH group 1/2/5)", weak)
    return ok("IKE/IPsec proposals use strong algorithms only", sections)


def crypto_junos(config: ParsedConfig, ctx: Context) -> Result:
    lines = junos_active(config, "security", "ike") + junos_active(config, "security", "ipsec")
    if not lines:
        return na("no IKE/IPsec configuration")
    weak = []
    for node, w in lines:
        # names are user text (proposal and policy names): only the value after a keyword
        for i, word in enumerate(w[:-1]):
            if word in ("authentication-algorithm", "encryption-algorithm", "dh-group",
                        "proposal-set", "keys") and w[i + 1] in WEAK_WORDS:
                weak.append(node)
                break
    if weak:
        return bad("weak IKE/IPsec algorithms (DES/3DES, MD5/SHA-1, DH group 1/2/5)", weak)
    return ok("IKE/IPsec proposals use strong algorithms only", [n for n, _ in lines])


CRYPTO = Check(
    id="crypto.strong_ike_ipsec",
    title="Strong IKE/IPsec algorithms only",
    severity="high",
    rules=per_ios(crypto_ios, juniper_junos=crypto_junos),
    not_applicable={"frr": "FRR has no IKE/IPsec; tunnels are strongSwan's (vpn package)"},
    remediation={
        "cisco_ios": ["crypto ikev2 proposal GIN-IKE", " encryption aes-gcm-256",
                      " prf sha384", " group 20", "exit",
                      "crypto ipsec transform-set GIN-ESP esp-gcm 256"],
        "juniper_junos": ["set security ike proposal GIN-IKE encryption-algorithm aes-256-gcm",
                          "set security ike proposal GIN-IKE dh-group group20",
                          "set security ipsec proposal GIN-ESP encryption-algorithm "
                          "aes-256-gcm"],
    },
)

CHECKS = register(CRYPTO)

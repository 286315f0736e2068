"""Secrets at rest: password encryption on, no cleartext or reversible (type 7) secrets.

A config backup is evidence that leaves the router; a cleartext or type-7 password in it
is a password anyone with the backup can read (11.2.3, 11.3.1).
"""

from __future__ import annotations

import re

from audit.checks.base import Check, Context, Result, active, bad, junos_active, ok, per_ios
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig

# "username x password ...", "enable password ...", line "password ..." (type 0 or 7), and
# MD5 (type 5) secrets, which current guidance counts as broken.
IOS_WEAK = re.compile(r"^(username \S+ .*\bpassword\b|enable password\b|password\b"
                      r"|(username \S+ .*\b|enable )secret 5 )")
# FRR (Cumulus) "username NAME nopassword": a vtysh user who logs in with no password.
FRR_WEAK = re.compile(r"^((enable )?password (?!8 )|username \S+ nopassword\b)")


def _walk(node: Node):  # noqa: ANN202
    for child in node.children:
        yield child
        yield from _walk(child)


def secrets_hier(pattern: re.Pattern[str]):  # noqa: ANN201
    """IOS/FRR rule: password encryption on and no weak secret line anywhere."""

    def rule(config: ParsedConfig, ctx: Context) -> Result:
        weak = [n for n in _walk(config.root) if pattern.match(n.text)]
        if weak:
            return bad("cleartext, reversible (type 7), MD5 or missing secrets in the "
                       "configuration", weak)
        service = active(config, "service password-encryption")
        if not service:
            return bad("'service password-encryption' is off")
        return ok("password encryption on; no cleartext or reversible secrets", service)

    return rule


def secrets_junos(config: ParsedConfig, ctx: Context) -> Result:
    md5 = [n for n, w in junos_active(config, "system")
           if "encrypted-password" in w and w[-1].startswith("$1$")]
    if md5:
        return bad("MD5-crypt ($1$) login secrets", md5)
    users = [n for n, w in junos_active(config, "system")
             if "encrypted-password" in w]
    return ok("Junos stores login secrets hashed; none uses MD5-crypt", users)


SECRETS = Check(
    id="auth.hashed_secrets",
    title="Secrets hashed, password encryption on",
    severity="high",
    rules=per_ios(secrets_hier(IOS_WEAK), frr=secrets_hier(FRR_WEAK),
                  juniper_junos=secrets_junos),
    remediation={
        "cisco_ios": ["service password-encryption",
                      "username <user> privilege 15 algorithm-type scrypt secret <secret>",
                      "no enable password", "enable algorithm-type scrypt secret <secret>"],
        "frr": ["service password-encryption"],
        "juniper_junos": ["set system login password format sha512",
                          "set system login user <user> authentication plain-text-password"],
    },
)

CHECKS = register(SECRETS)

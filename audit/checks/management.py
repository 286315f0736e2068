"""Remote management: SSH v2 only, session time-outs, log-on banner, ACL on VTY lines.

FRR is reached through the host's sshd and then vtysh, so SSH, the banner and the
management ACL are host settings (sshd_config, nftables), not vtysh lines: for FRR those
checks read the host evidence (:mod:`audit.checks.host`), "unknown" without it.
"""

from __future__ import annotations

import re

from audit.checks import host
from audit.checks.base import (
    Check,
    Context,
    Result,
    active,
    bad,
    junos_active,
    ok,
    per_ios,
    unknown,
)
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig
from devices.baseline import Baseline

BASE = Baseline()


def _vty_lines(config: ParsedConfig) -> list[Node]:
    return active(config, "line vty")


def ssh_ios(config: ParsedConfig, ctx: Context) -> Result:
    version = active(config, "ip ssh version 2")
    vtys = _vty_lines(config)
    if not vtys:
        return unknown("no 'line vty' section in the configuration")
    weak: list[Node] = []
    for vty in vtys:
        transport = vty.child("transport input")
        if transport is None:
            weak.append(vty)  # the platform default accepts telnet on many releases
            continue
        protocols = set(transport.text.split()[2:])
        if not protocols <= {"ssh", "none"}:
            weak.append(transport)
    if weak:
        return bad("VTY lines accept telnet (or have no 'transport input ssh')", weak)
    if not version:
        return bad("'ip ssh version 2' is missing: the device also accepts SSH v1", vtys)
    evidence = version + [v.child("transport input") for v in vtys]  # type: ignore[list-item]
    return ok("SSH v2 only; every VTY accepts SSH only", evidence)


def ssh_junos(config: ParsedConfig, ctx: Context) -> Result:
    telnet = [n for n, _ in junos_active(config, "system", "services", "telnet")]
    if telnet:
        return bad("telnet service is enabled", telnet)
    v1 = [n for n, w in junos_active(config, "system", "services", "ssh", "protocol-version")
          if "v1" in w[4:]]
    if v1:
        return bad("SSH protocol version 1 is allowed", v1)
    ssh = [n for n, _ in junos_active(config, "system", "services", "ssh")]
    if not ssh:
        return ok("no telnet and no SSH service: no remote management login")
    return ok("SSH service without telnet (Junos speaks SSH v2 unless v1 is set)", ssh)


SSH = Check(
    id="mgmt.ssh_v2_only",
    title="Management over SSH v2 only, no telnet",
    severity="high",
    rules=per_ios(ssh_ios, juniper_junos=ssh_junos, frr=host.ssh_protocol),
    remediation={
        # SSH first (a host key, v2, a username-based login), telnet off last: removing
        # telnet before SSH works locks every remote administrator out
        "cisco_ios": ["! SSH must work before telnet is removed: host key, SSH v2 and a login "
                      "first",
                      "hostname <hostname>", "ip domain name <domain>",
                      "crypto key generate rsa modulus 2048", "ip ssh version 2",
                      "username <admin> privilege 15 algorithm-type scrypt secret <secret>",
                      "aaa new-model",
                      "line vty 0 15", " transport input ssh", "exit"],
        "frr": host.FIX["ssh"],
        "juniper_junos": ["delete system services telnet",
                          "set system services ssh protocol-version v2"],
    },
)


def _exec_timeout(line: Node, default_minutes: int, ctx: Context) -> tuple[bool, Node | None]:
    """(compliant, evidence) for one line section; platform default when unset."""
    node = line.child("exec-timeout")
    if node is None:
        return default_minutes <= ctx.max_idle_minutes, None
    words = node.text.split()
    try:
        minutes = int(words[1]) + (int(words[2]) / 60 if len(words) > 2 else 0)
    except (IndexError, ValueError):
        return False, node
    return 0 < minutes <= ctx.max_idle_minutes, node


def timeout_hier(default_minutes: int, prefixes: tuple[str, ...],
                 implicit: bool = False):  # noqa: ANN201
    """Rule for IOS/FRR: every listed line section times out within the limit.

    ``implicit``: the platform omits an all-default ``line vty`` (FRR does; IOS always
    prints its lines, so there a missing section means a partial config: "unknown").
    """

    def rule(config: ParsedConfig, ctx: Context) -> Result:
        lines = [n for p in prefixes for n in active(config, p)]
        if not lines and implicit and default_minutes <= ctx.max_idle_minutes:
            return ok(f"no 'line vty' section: the platform default of {default_minutes} min "
                      "applies")
        if not lines:
            return unknown("no 'line' sections in the configuration")
        good: list[Node] = []
        wrong: list[Node] = []
        for line in lines:
            fine, node = _exec_timeout(line, default_minutes, ctx)
            (good if fine else wrong).append(node or line)
        if wrong:
            return bad(f"session time-out off or longer than {ctx.max_idle_minutes} min", wrong)
        return ok(f"every line times out within {ctx.max_idle_minutes} min "
                  f"(unset means the platform default of {default_minutes} min)", good)

    return rule


def timeout_junos(config: ParsedConfig, ctx: Context) -> Result:
    nodes = junos_active(config, "system", "login", "idle-timeout")
    if not nodes:
        return bad("no 'system login idle-timeout': Junos sessions never time out")
    node, words = nodes[-1]
    try:
        minutes = int(words[3])
    except (IndexError, ValueError):
        return bad("unreadable idle-timeout", [node])
    if 0 < minutes <= ctx.max_idle_minutes:
        return ok(f"idle-timeout {minutes} min", [node])
    return bad(f"idle-timeout {minutes} min exceeds {ctx.max_idle_minutes} min", [node])


IOS_LINES = ("line vty", "line con", "line aux")
TIMEOUT = Check(
    id="mgmt.session_timeout",
    title="Idle management sessions time out",
    severity="medium",
    rules=per_ios(timeout_hier(10, IOS_LINES), frr=timeout_hier(10, ("line vty",), implicit=True),
                  juniper_junos=timeout_junos),
    remediation={
        "cisco_ios": ["line vty 0 15", f" exec-timeout {BASE.exec_timeout_minutes} 0", "exit",
                      "line con 0", f" exec-timeout {BASE.exec_timeout_minutes} 0", "exit",
                      "line aux 0", f" exec-timeout {BASE.exec_timeout_minutes} 0", "exit"],
        "frr": ["line vty", f" exec-timeout {BASE.exec_timeout_minutes} 0", "exit"],
        "juniper_junos": [f"set system login idle-timeout {BASE.exec_timeout_minutes}"],
    },
)


def banner_ios(config: ParsedConfig, ctx: Context) -> Result:
    banners = active(config, "banner login") + active(config, "banner motd")
    for node in banners:
        body = re.sub(r"^banner \S+\s*", "", node.text).replace("^C", "").strip(" \n#")
        if body:
            return ok("a log-on banner is shown before login", [node])
    if banners:
        return bad("the banner is empty", banners)
    return bad("no 'banner login' or 'banner motd'")


def banner_junos(config: ParsedConfig, ctx: Context) -> Result:
    nodes = [(n, w) for n, w in junos_active(config, "system", "login")
             if len(w) > 3 and w[2] in ("message", "announcement") and w[3].strip()]
    if nodes:
        return ok("a log-on message is shown", [n for n, _ in nodes])
    return bad("no 'system login message'")


BANNER = Check(
    id="mgmt.login_banner",
    title="Log-on banner warns of authorised use",
    severity="low",
    rules=per_ios(banner_ios, juniper_junos=banner_junos, frr=host.ssh_banner),
    remediation={
        "cisco_ios": ["banner login ^C", BASE.banner, "^C"],
        "frr": host.FIX["banner"],
        "juniper_junos": [f'set system login message "{BASE.banner}"'],
    },
)


def _ios_acl_names(config: ParsedConfig) -> set[str]:
    names: set[str] = set()
    for node in config.root.children:
        words = node.text.split()
        if node.text.startswith(("ip access-list standard ", "ip access-list extended ")):
            names.add(words[3])
        elif node.text.startswith("ipv6 access-list ") and len(words) > 2:
            names.add(words[2])
        elif node.text.startswith("access-list ") and len(words) > 1:
            names.add(words[1])
    return names


def acl_ios(config: ParsedConfig, ctx: Context) -> Result:
    vtys = _vty_lines(config)
    if not vtys:
        return unknown("no 'line vty' section in the configuration")
    defined = _ios_acl_names(config)
    good: list[Node] = []
    missing: list[Node] = []
    for vty in vtys:
        classes = [c for c in vty.children
                   if c.text.startswith(("access-class ", "ipv6 access-class "))
                   and c.text.split()[-1] == "in"]
        named = [c for c in classes if c.text.split()[-2] in defined]
        if named:
            good.extend(named)
        else:
            missing.extend(classes or [vty])
    if missing:
        return bad("VTY lines without an inbound access-class naming a defined ACL", missing)
    return ok("every VTY line filters sources with a defined ACL", good)


def acl_junos(config: ParsedConfig, ctx: Context) -> Result:
    # "filter input NAME", or "filter input-list [ A B ]" (a chain of filters)
    filters = [(n, [x for x in w[w.index(kind) + 1:] if x not in ("[", "]")])
               for n, w in junos_active(config, "interfaces", "lo0")
               for kind in ("input", "input-list") if "filter" in w and kind in w]
    if not filters:
        return bad("no input firewall filter on lo0: the routing engine accepts any source")
    defined = {w[4] for _, w in junos_active(config, "firewall", "family") if len(w) > 4}
    defined |= {w[2] for _, w in junos_active(config, "firewall", "filter") if len(w) > 2}
    named = [n for n, names in filters if names and set(names) <= defined]
    if not named:
        return bad("lo0 input filter names a filter that is not defined",
                   [n for n, _ in filters])
    return ok("routing-engine input filter on lo0", named)


ACL = Check(
    id="mgmt.access_acl",
    title="Management access restricted by ACL",
    severity="high",
    rules=per_ios(acl_ios, juniper_junos=acl_junos, frr=host.nft_acl),
    remediation={
        "cisco_ios": ["ipv6 access-list GIN-MGMT",
                      *[f" permit ipv6 {n} any" for n in BASE.mgmt_acl],
                      " deny ipv6 any any log", "exit", "line vty 0 15",
                      " ipv6 access-class GIN-MGMT in", "exit"],
        "frr": host.FIX["acl"],
        "juniper_junos": [*[f"set policy-options prefix-list GIN-MGMT {n}"
                            for n in BASE.mgmt_acl],
                          "set interfaces lo0 unit 0 family inet6 filter input GIN-PROTECT-RE"],
    },
)

CHECKS = register(SSH, TIMEOUT, BANNER, ACL)


"""Who may log in, and how: AAA method lists, their servers, local users, the aux port.

A method list that names a server group nobody defined, or a line that names a method list
nobody defined, is a login that works only by accident (IOS then falls back or refuses
everyone); a local user kept as a type 7 or cleartext password is a password anyone with
the backup can read, and MD5 (type 5) falls to a GPU in hours.  An aux port left with an
exec is a way in that bypasses every VTY access-class (11.4.4, 11.5.1, 11.5.2, 11.5.3).
FRR logs in through the host's sshd and PAM, so these are host matters there.
"""

from __future__ import annotations

from audit.checks.base import (
    Check,
    Context,
    Result,
    active,
    bad,
    junos_active,
    ok,
    per_ios,
)
from audit.checks.registry import register
from audit.parse import Node, ParsedConfig

FRR_HOST = "FRR logins are the host's (sshd and PAM), not vtysh configuration"

#: Method words of an IOS method list that are not server groups.
LOCAL_METHODS = frozenset({"local", "local-case", "enable", "line", "none", "krb5"})


def server_groups(config: ParsedConfig) -> dict[str, list[Node]]:
    """Server groups that have servers: the built-in ``tacacs+`` / ``radius`` groups
    (legacy ``tacacs-server host`` lines or ``tacacs server`` blocks) and each named
    ``aaa group server`` whose members are defined servers."""
    tacacs = active(config, "tacacs-server host ") + active(config, "tacacs server ")
    radius = active(config, "radius-server host ") + active(config, "radius server ")
    named_servers = {n.text.split()[2]: n for n in active(config, "tacacs server ")
                     + active(config, "radius server ") if len(n.text.split()) > 2}
    groups: dict[str, list[Node]] = {}
    if tacacs:
        groups["tacacs+"] = tacacs
    if radius:
        groups["radius"] = radius
    for node in active(config, "aaa group server "):
        words = node.text.split()
        if len(words) < 5:
            continue
        members: list[Node] = []
        for child in node.children:
            w = child.text.split()
            if w[:2] == ["server", "name"] and len(w) > 2 and w[2] in named_servers:
                members += [child, named_servers[w[2]]]
            elif w[:1] == ["server"] and len(w) > 1 and w[1] != "name":
                members.append(child)  # "server 10.0.0.5": an address, defined in place
            elif w[:1] == ["server-private"]:
                members.append(child)
        if members:
            groups[words[4]] = [node, *members]
    return groups


def aaa_ios(config: ParsedConfig, ctx: Context) -> Result:
    model = active(config, "aaa new-model")
    lines = active(config, "line con") + active(config, "line vty")
    if not model:
        return bad("'aaa new-model' is off: logins use line passwords, with no AAA method "
                   "lists or accounting", lines)
    lists = {n.text.split()[3]: n for n in active(config, "aaa authentication login ")
             if len(n.text.split()) > 4}
    groups = server_groups(config)
    undefined: list[str] = []
    wrong: list[Node] = []
    used: list[Node] = []
    unlisted: list[Node] = []
    open_lists: list[Node] = []
    for line in lines:
        applied = line.child("login authentication ")
        name = applied.text.split()[2] if applied and len(applied.text.split()) > 2 \
            else "default"
        method_list = lists.get(name)
        if method_list is None:
            if name != "default":
                undefined.append(name)
                wrong.append(applied)  # type: ignore[arg-type]
            else:  # no default list: IOS checks the local user database
                unlisted.append(line)
            continue
        used += [method_list] + ([applied] if applied else [])
        words = method_list.text.split()[4:]
        if "none" in words:
            open_lists.append(method_list)
        for i, word in enumerate(words):
            if word == "group" and i + 1 < len(words) and words[i + 1] not in groups:
                undefined.append(words[i + 1])
                wrong.append(method_list)
            elif word == "group" and i + 1 < len(words):
                used += groups[words[i + 1]]
    if wrong:
        names = ", ".join(f"'{n}'" for n in dict.fromkeys(undefined))
        return bad(f"login method lists or server groups used but not defined: {names}",
                   wrong)
    if open_lists:
        return bad("a login method list the lines use has the method 'none': a login that "
                   "reaches it (first, or when the servers before it do not answer) needs no "
                   "password", open_lists)
    users = active(config, "username ")
    if unlisted and not users:
        return bad("AAA on, but no login method list applies to these lines (no 'aaa "
                   "authentication login default' with a method): they fall back to a local "
                   "user database that holds no user", model + unlisted)
    return ok("AAA on: every login method list and server group the lines use is defined",
              model + used + (users if unlisted else []))


def aaa_junos(config: ParsedConfig, ctx: Context) -> Result:
    order = junos_active(config, "system", "authentication-order")
    if not order:
        return ok("no authentication-order: logins are checked against local passwords")
    # "display set" prints one method a line; braces print a list: "[ tacplus password ]"
    methods = [m for _, w in order for m in w[2:] if m not in ("[", "]")]
    servers = {"tacplus": junos_active(config, "system", "tacplus-server"),
               "radius": junos_active(config, "system", "radius-server")}
    missing = [m for m in methods if m in servers and not servers[m]]
    if missing:
        return bad(f"authentication-order names methods with no server: '{' '.join(missing)}'",
                   [n for n, _ in order])
    used = [n for n, _ in order] + [n for m in methods for n, _ in servers.get(m, [])]
    return ok(f"'authentication-order {' '.join(methods)}': every server method has a server",
              used)


AAA_LOGIN = Check(
    id="auth.aaa_login",
    title="AAA login: method lists and their servers defined and applied",
    severity="high",
    rules=per_ios(aaa_ios, juniper_junos=aaa_junos),
    not_applicable={"frr": FRR_HOST},
    remediation={
        "cisco_ios": ["! a local user first: turning AAA on must not lock anyone out",
                      "username <admin> privilege 15 algorithm-type scrypt secret <secret>",
                      "aaa new-model",
                      "aaa authentication login default group <tacacs-group> local",
                      "line vty 0 15", " login authentication default", "exit",
                      "line con 0", " login authentication default", "exit"],
        "juniper_junos": ["set system tacplus-server <server> secret <secret>",
                          "set system authentication-order [ tacplus password ]"],
    },
)


def _ios_users(config: ParsedConfig) -> list[Node]:
    return active(config, "username ")


def users_ios(config: ParsedConfig, ctx: Context) -> Result:
    users = _ios_users(config)
    if not users:
        return ok("no local user accounts")
    readable = [u for u in users if " password " in f" {u.text} "]
    if readable:
        return bad("local users with cleartext or reversible (type 7) passwords", readable)
    empty = [u for u in users if " nopassword" in f" {u.text} "]
    if empty:
        return bad("local users with no password at all ('nopassword')", empty)
    md5 = [u for u in users if " secret 5 " in u.text]
    if md5:
        return bad("local users with MD5 (type 5) secrets, a weak hash", md5)
    weak = [u for u in users if " secret " in u.text
            and not any(f" secret {t} " in u.text for t in ("8", "9"))]
    if weak:
        return bad("local users whose secret is not type 8 or 9", weak)
    return ok("every local user's secret is type 8 or 9 (PBKDF2 or scrypt)", users)


def users_junos(config: ParsedConfig, ctx: Context) -> Result:
    users = [n for n, w in junos_active(config, "system", "login", "user")
             if "encrypted-password" in w]
    md5 = [n for n in users if n.text.split()[-1].strip('"').startswith("$1$")]
    if md5:
        return bad("local users with MD5-crypt ($1$) passwords, a weak hash", md5)
    if not users:
        return ok("no local user accounts")
    return ok("every local user's password is hashed with SHA-crypt", users)


LOCAL_USERS = Check(
    id="auth.local_users",
    title="Local users' secrets are strong hashes (type 8/9)",
    severity="high",
    rules=per_ios(users_ios, juniper_junos=users_junos),
    not_applicable={"frr": FRR_HOST},
    remediation={
        "cisco_ios": ["username <user> privilege 15 algorithm-type scrypt secret <secret>"],
        "juniper_junos": ["set system login password format sha512",
                          "set system login user <user> authentication plain-text-password"],
    },
)


def aux_ios(config: ParsedConfig, ctx: Context) -> Result:
    aux = active(config, "line aux")
    if not aux:
        return ok("no aux port in the configuration")
    live: list[Node] = []
    for line in aux:
        transport = line.child("transport input ")
        if line.child("no exec") is None:
            live.append(line)
        elif transport is not None and transport.text.split()[2:] != ["none"]:
            live.append(transport)
    if live:
        return bad("the aux port is not disabled ('line aux 0' without 'no exec' and "
                   "'transport input none')", live)
    return ok("the aux port is disabled (no exec, no inbound transport)",
              aux + [c for a in aux for c in a.find("no exec")])


def aux_junos(config: ParsedConfig, ctx: Context) -> Result:
    nodes = [n for n, w in junos_active(config, "system", "ports", "auxiliary")
             if w[3:4] == ["disable"]]
    if nodes:
        return ok("the auxiliary port is disabled", nodes)
    return bad("the auxiliary port is not disabled ('system ports auxiliary disable' "
               "missing)")


AUX = Check(
    id="mgmt.aux_disabled",
    title="Auxiliary (modem) port disabled",
    severity="medium",
    rules=per_ios(aux_ios, juniper_junos=aux_junos),
    not_applicable={"frr": "FRR runs on a host: its serial ports are host configuration"},
    remediation={
        "cisco_ios": ["line aux 0", " no exec", " transport input none",
                      " transport output none", "exit"],
        "juniper_junos": ["set system ports auxiliary disable"],
    },
)

CHECKS = register(AAA_LOGIN, LOCAL_USERS, AUX)

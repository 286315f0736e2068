"""Host-side rules for Linux routers (FRR): the evidence is the host's /etc, not vtysh.

Each rule reads the device's host files (:mod:`audit.host`, from an evidence folder) and
answers "unknown" when the file it needs is not in the evidence: the FRR running config
cannot show sshd, rsyslog, chrony, snmpd or nftables settings, so no evidence is never a
pass.  The existing checks use these as their ``frr`` rule; sshd's root log-on and its
algorithms are checks of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit import host
from audit.checks.base import Check, Context, Result, Status, active, bad, cite
from audit.checks.registry import register
from audit.host import Line, NftNode
from audit.parse import ParsedConfig
from devices.baseline import Baseline

BASE = Baseline()
NO_HOST = "no host evidence for this device (give --host-evidence DIR: <device>/etc/...)"


def _cite(lines: Sequence[Line]) -> tuple[tuple[int | None, str], ...]:
    """Evidence in file then line order, each line once, secrets redacted."""
    return tuple(sorted({ln.cite() for ln in lines}, key=lambda e: (e[1].split(":")[0], e[0])))


def _ok(reason: str, lines: Sequence[Line] = ()) -> Result:
    return Result(Status.PASS, reason, _cite(lines))


def _bad(reason: str, lines: Sequence[Line] = ()) -> Result:
    return Result(Status.FAIL, reason, _cite(lines))


def _missing(what: str, ctx: Context) -> Result:
    if ctx.host is None:
        return Result(Status.UNKNOWN, NO_HOST)
    unreadable = [f"{p} ({why})" for p, why in ctx.host.unreadable.items()]
    extra = f"; unreadable: {', '.join(unreadable)}" if unreadable else ""
    return Result(Status.UNKNOWN, f"{what} is not in the host evidence{extra}")


# --- sshd ---------------------------------------------------------------------------------

def _sshd(ctx: Context) -> host.Sshd | None:
    return host.sshd(ctx.host) if ctx.host is not None else None


def ssh_protocol(config: ParsedConfig, ctx: Context) -> Result:
    sshd = _sshd(ctx)
    if sshd is None:
        return _missing("etc/ssh/sshd_config", ctx)
    proto = sshd.get("Protocol")
    if proto is not None and any("1" in w.split(",") for w in proto.words[1:]):
        return _bad("sshd allows SSH protocol 1", [proto])
    evidence = [x for x in (proto, sshd.get("ListenAddress"), sshd.get("Port")) if x]
    return _ok("vtysh is reached through OpenSSH's sshd, which speaks SSH v2 only", evidence)


def ssh_banner(config: ParsedConfig, ctx: Context) -> Result:
    sshd = _sshd(ctx)
    if sshd is None:
        return _missing("etc/ssh/sshd_config", ctx)
    banner = sshd.get("Banner")
    if banner is None or len(banner.words) < 2 or banner.words[1].lower() == "none":
        return _bad("sshd shows no log-on banner ('Banner' unset or none)",
                    [banner] if banner else [])
    return _ok("sshd shows a log-on banner before authentication", [banner])



def root_login(config: ParsedConfig | None, ctx: Context) -> Result:
    sshd = _sshd(ctx)
    if sshd is None:
        return _missing("etc/ssh/sshd_config", ctx)
    line = sshd.get("PermitRootLogin")
    loosened = [ln for ln in sshd.matched if ln.words[0].lower() == "permitrootlogin"
                and [w.lower() for w in ln.words[1:2]] != ["no"]]
    if line is None:
        return _bad("'PermitRootLogin' unset: OpenSSH's default lets root log in with a key "
                    "(prohibit-password); set it to no")
    if [w.lower() for w in line.words[1:2]] != ["no"]:
        return _bad(f"root may log in over SSH (PermitRootLogin {' '.join(line.words[1:])})",
                    [line])
    if loosened:
        return _bad("a Match block lets root log in", loosened)
    return _ok("root cannot log in over SSH: administrators log in as themselves", [line])


WEAK_SSH = {
    "ciphers": ("cbc", "3des", "arcfour", "blowfish", "cast128", "rijndael"),
    "macs": ("md5", "hmac-sha1", "umac-64", "ripemd", "-96"),
    "kexalgorithms": ("group1-", "group14-sha1", "group-exchange-sha1", "sha1"),
    "hostkeyalgorithms": ("ssh-dss", "ssh-rsa-cert-v01", "ssh-dss-cert"),
}


def ssh_crypto(config: ParsedConfig | None, ctx: Context) -> Result:
    sshd = _sshd(ctx)
    if sshd is None:
        return _missing("etc/ssh/sshd_config", ctx)
    weak: list[Line] = []
    seen: list[Line] = []
    for keyword, bad_parts in WEAK_SSH.items():
        line = sshd.get(keyword)
        if line is None or len(line.words) < 2:
            continue
        seen.append(line)
        spec = line.words[1]
        if spec.startswith("-"):
            continue  # removes algorithms from the default: never weakens it
        names = spec.lstrip("+^").split(",")
        if any(part in name.lower() for name in names for part in bad_parts):
            weak.append(line)
    weak += [ln for ln in sshd.matched if ln.words[0].lower() in WEAK_SSH and len(ln.words) > 1
             and not ln.words[1].startswith("-")
             and any(p in ln.words[1].lower() for p in WEAK_SSH[ln.words[0].lower()])]
    if weak:
        return _bad("sshd offers weak algorithms (CBC/3DES/RC4 ciphers, MD5/SHA-1 MACs or "
                    "key exchange)", weak)
    if not seen:
        return _ok("sshd uses OpenSSH's default algorithms (no CBC, RC4, MD5 or SHA-1 "
                   "key exchange by default since OpenSSH 7.4)")
    return _ok("sshd offers strong algorithms only", seen)


# --- logging, time, SNMP ------------------------------------------------------------------

def syslog(config: ParsedConfig, ctx: Context) -> Result:
    log = active(config, "log syslog")
    if not log:
        return bad("no 'log syslog': FRR's logs never reach the host's syslog daemon")
    if ctx.host is None:
        return Result(Status.UNKNOWN, f"FRR logs to the host's syslog; {NO_HOST}",
                      cite(log))
    forwards = host.rsyslog_forwards(ctx.host)
    if forwards is None:
        return _missing("etc/rsyslog.conf", ctx)
    if not forwards:
        return Result(Status.FAIL, "rsyslog forwards nothing to a remote server: logs stay "
                                   "on the router", cite(log))
    return Result(Status.PASS, "FRR logs to syslog and rsyslog forwards to a remote server",
                  cite(log) + _cite(forwards))


def ntp(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.host is None:
        return _missing("chrony.conf", ctx)
    sources = host.time_sources(ctx.host)
    if sources is None:
        return _missing("etc/chrony/chrony.conf (or etc/ntp.conf)", ctx)
    if not sources:
        return _bad("chrony/ntpd has no server or pool: the clock is not synchronised")
    return _ok("the host clock follows NTP servers", sources)


def snmp(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.host is None:
        return _missing("etc/snmp/snmpd.conf", ctx)
    verdict = host.snmpd(ctx.host)
    if verdict is None:
        return _missing("etc/snmp/snmpd.conf", ctx)
    if verdict.weak:
        named = any(w.lower() in host.DEFAULT_COMMUNITIES for ln, _ in verdict.weak
                    for w in ln.words[1:3])
        why = "default community string" if named else "; ".join(
            sorted({why for _, why in verdict.weak}))
        return _bad(f"snmpd: {why}", [ln for ln, _ in verdict.weak])
    if verdict.strong:
        return _ok("snmpd: SNMP v3 users with authentication and privacy only",
                   verdict.strong)
    return _ok("snmpd grants no SNMP access")


# --- nftables: the management ACL ---------------------------------------------------------

SSH_PORTS = {"22", "ssh"}
OTHER_PROTOCOLS = {"udp", "icmp", "icmpv6", "ipv6-icmp", "sctp", "esp", "ah", "gre"}


def _chains(tree: list[NftNode]) -> dict[str, NftNode]:
    return {f"{t.line.words[-1]}/{c.line.words[1]}": c
            for t in tree if t.line.words[:1] == ("table",)
            for c in t.children if c.line.words[:1] == ("chain",) and len(c.line.words) > 1}


def _opens_ssh(words: tuple[str, ...]) -> bool:
    """A rule that accepts new SSH connections from any source."""
    if not words or words[-1] != "accept" or "saddr" in words:
        return False
    if words[:2] in (("iif", "lo"), ("iifname", "lo")):
        return False
    if "tcp" not in words and OTHER_PROTOCOLS & set(words):
        return False  # ICMPv6, UDP...: not SSH
    if "ct" in words and "state" in words:
        state = words[words.index("state") + 1]
        if "new" not in state and "invalid" not in state:
            return False  # established/related only
    if "dport" not in words:
        return True  # accepts every port, SSH included
    value = words[words.index("dport") + 1] if words.index("dport") + 1 < len(words) else ""
    if value.startswith(("@", "$")):
        return True  # a named set or variable: cannot show SSH is not in it
    ports = {p.strip(",") for p in value.strip("{}").replace(",", " ").split()}
    return bool(ports & SSH_PORTS) or any("-" in p and _in_range(p) for p in ports)


def _in_range(spec: str) -> bool:
    lo, _, hi = spec.partition("-")
    return lo.isdigit() and hi.isdigit() and int(lo) <= 22 <= int(hi)


def nft_acl(config: ParsedConfig, ctx: Context) -> Result:
    if ctx.host is None:
        return _missing("etc/nftables.conf", ctx)
    try:
        tree = host.nftables(ctx.host)
    except Exception as exc:  # malformed ruleset: a clear reason, never a pass
        return Result(Status.UNKNOWN, f"etc/nftables.conf cannot be read: {exc}")
    if tree is None:
        return _missing("etc/nftables.conf", ctx)
    chains = _chains(tree)
    inputs = [c for c in chains.values()
              if any(s.line.words[:1] == ("type",) and "input" in s.line.words
                     and "hook" in s.line.words for s in c.children)]
    if not inputs:
        includes = [s.line for s in tree if s.line.words[:1] == ("include",)]
        if includes:
            return Result(Status.UNKNOWN, "the ruleset is in included files that are not in "
                                          "the evidence", _cite(includes))
        return _bad("no nftables input chain: any source may reach sshd")
    open_rules: list[Line] = []
    cited: list[Line] = []
    for chain in inputs:
        table = next(k.split("/")[0] for k, v in chains.items() if v is chain)
        policy = next((s.line for s in chain.children if s.line.words[:1] == ("policy",)),
                      None)
        rules = _rules(chain, chains, table, set())
        for line in rules:
            if _opens_ssh(line.words):
                open_rules.append(line)
        # a later catch-all: "tcp dport 22 drop", or a final "drop"/"reject"
        drops_ssh = any(ln.words[-1] in ("drop", "reject")
                        and _opens_ssh(ln.words[:-1] + ("accept",)) for ln in rules)
        default_drop = policy is not None and "drop" in policy.words
        if not (default_drop or drops_ssh):
            return _bad("the input chain's policy accepts: SSH is open to any source",
                        [policy] if policy else [chain.line])
        cited += [chain.line] + ([policy] if policy else [])
        cited += [ln for ln in rules if "saddr" in ln.words and ln.words[-1] == "accept"]
    if open_rules:
        return _bad("nftables accepts SSH from any source", open_rules)
    return _ok("nftables admits SSH only from listed sources (input policy drop)", cited)


def _rules(chain: NftNode, chains: dict[str, NftNode], table: str, seen: set[str]
           ) -> list[Line]:
    """A chain's rules with the rules of chains it jumps to, in order (loops cut)."""
    out: list[Line] = []
    for s in chain.children:
        w = s.line.words
        if not w or w[0] in ("type", "policy", "comment"):
            continue
        if len(w) >= 2 and w[-2] in ("jump", "goto"):
            key = f"{table}/{w[-1]}"
            if key in chains and key not in seen:
                seen.add(key)
                out.extend(_rules(chains[key], chains, table, seen))
            continue
        out.append(s.line)
    return out


# --- the checks of their own --------------------------------------------------------------

NETWORK_OS = "the network OS's own SSH server, not a host sshd (see mgmt.ssh_v2_only)"

ROOT_LOGIN = Check(
    id="host.ssh_root_login",
    title="No direct root log-on over SSH",
    severity="high",
    rules={"frr": root_login},  # type: ignore[dict-item]
    not_applicable={"cisco_ios": NETWORK_OS, "juniper_junos": NETWORK_OS},
    remediation={"frr": ["# /etc/ssh/sshd_config", "PermitRootLogin no"]},
    context_only=True,
)

SSH_CRYPTO = Check(
    id="host.ssh_crypto",
    title="sshd offers strong ciphers, MACs and key exchange only",
    severity="medium",
    rules={"frr": ssh_crypto},  # type: ignore[dict-item]
    not_applicable={"cisco_ios": NETWORK_OS, "juniper_junos": NETWORK_OS},
    remediation={"frr": ["# /etc/ssh/sshd_config",
                         "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
                         "aes256-ctr",
                         "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
                         "KexAlgorithms sntrup761x25519-sha512@openssh.com,"
                         "curve25519-sha256,ecdh-sha2-nistp384"]},
    context_only=True,
)

CHECKS = register(ROOT_LOGIN, SSH_CRYPTO)

#: Remediation lines of the existing checks for FRR's host files.
FIX = {
    "ssh": ["# /etc/ssh/sshd_config: remove 'Protocol 1' (OpenSSH speaks v2 only)"],
    "banner": ["# /etc/ssh/sshd_config", "Banner /etc/issue.net"],
    "acl": ["# /etc/nftables.conf, table inet filter, chain input:",
            "type filter hook input priority 0; policy drop;",
            *[f"tcp dport 22 ip6 saddr {n} accept" for n in BASE.mgmt_acl]],
    "syslog": ["log syslog informational",
               *[f'# /etc/rsyslog.d/gin.conf: *.* action(type="omfwd" target="{h}" '
                 'port="514" protocol="tcp")' for h in BASE.syslog_servers]],
    "ntp": [f"# /etc/chrony/chrony.conf: server {h} iburst" for h in BASE.ntp_servers],
    "snmp": ["# /etc/snmp/snmpd.conf: remove rocommunity/rwcommunity/com2sec lines",
             f'createUser {BASE.snmp_group} SHA "<auth>" AES "<priv>"',
             f"rouser {BASE.snmp_group} priv"],
}


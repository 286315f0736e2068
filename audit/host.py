"""Host-side evidence of Linux routers (FRR): sshd, rsyslog, chrony/ntp, snmpd, nftables.

FRR's running config says nothing about how the box is reached (sshd), where its logs go
(rsyslog), its clock (chrony) or SNMP (snmpd), nor which sources may reach it (nftables):
those are files in the host's ``/etc``.  An auditor receives them as a folder with one
sub-folder per device holding a copy of that device's ``/etc`` files::

    <evidence>/<device>/etc/ssh/sshd_config          (+ etc/ssh/sshd_config.d/*.conf)
    <evidence>/<device>/etc/rsyslog.conf             (+ etc/rsyslog.d/*.conf)
    <evidence>/<device>/etc/chrony/chrony.conf       (+ etc/chrony/conf.d/*.conf,
                                                        etc/chrony/sources.d/*.sources)
                      or etc/ntp.conf, etc/ntpsec/ntp.conf
    <evidence>/<device>/etc/snmp/snmpd.conf
    <evidence>/<device>/etc/nftables.conf

(e.g. ``tar -C / -czf r1.tgz etc/ssh etc/rsyslog.conf etc/rsyslog.d etc/chrony etc/snmp
etc/nftables.conf`` on the router, unpacked into ``<evidence>/r1/``).

Or gin collects them itself, as it collects running configs: ``gin audit backup
--host-files`` reads these paths from each router whose platform says so (:func:`collects`)
over SFTP (the netmiko transport's ``read_host_files``, same address and credential as the CLI
login; the Ansible transport refuses).  An FRR router's management login lands in vtysh,
which has no shell, so SFTP is the second, read-only channel RANCID/Oxidized users know:
the sshd's ``sftp`` subsystem (``internal-sftp`` never runs the login shell or vtysh; the
lab's sshd scopes it, see ``gin/lab/README.md``).  The files are stored redacted (see
:func:`redact`), versioned and hashed under the backup folder (:mod:`audit.evidence`) in
this same layout, and ``gin audit check`` audits the newest set when no
``--host-evidence`` is given.  A router whose files cannot be read is reported as a failed
backup; with none collected its host checks read "unknown".  A file that is not
there is missing evidence: its checks read "unknown", never "pass".  Only regular files are
read (no symlinks: a hostile folder cannot make the audit quote ``/etc/shadow``), each at
most :data:`MAX_FILE` bytes, and each directive keeps its file and line number as evidence.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devices import platforms
from devices.errors import ConfigError, GinError

MAX_FILE = 1024 * 1024
#: The files read per device, as globs relative to the device folder.
FILES = ("etc/ssh/sshd_config", "etc/ssh/sshd_config.d/*.conf", "etc/rsyslog.conf",
         "etc/rsyslog.d/*.conf", "etc/chrony/chrony.conf", "etc/chrony/conf.d/*.conf",
         "etc/chrony/sources.d/*.sources", "etc/chrony.conf", "etc/ntp.conf",
         "etc/ntpsec/ntp.conf", "etc/snmp/snmpd.conf", "etc/nftables.conf")
SAFE_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def collects(platform: str) -> bool:
    """Is ``platform`` a Linux box with these files (``audit.host_files`` in its
    platform.yaml), so ``gin audit backup --host-files`` reads them?"""
    try:
        return platforms.get(platform).host_files
    except GinError:
        return False


@dataclass(frozen=True)
class Line:
    """One directive: its file (relative to the device folder), line number and words."""

    path: str
    number: int
    text: str
    words: tuple[str, ...]

    def cite(self) -> tuple[int, str]:
        return (self.number, f"{self.path}: {redact(self.text)}")


@dataclass
class HostFiles:
    """The host files of one device (path -> text) and those that could not be read."""

    files: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)

    def matching(self, *patterns: str) -> list[str]:
        """Paths present that match any of ``patterns``, in sorted order."""
        return sorted(p for p in self.files if any(fnmatch.fnmatch(p, g) for g in patterns))

    def lines(self, *patterns: str, comment: str = "#") -> Iterator[Line]:
        """Non-blank, non-comment lines of the matching files, split into words."""
        for path in self.matching(*patterns):
            for number, raw in enumerate(self.files[path].splitlines(), start=1):
                text = raw.strip()
                if not text or text.startswith(comment):
                    continue
                yield Line(path, number, text, tuple(_words(text)))


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: plain words rather than a crash
        return text.split()


def _read(path: Path) -> str:
    if path.is_symlink() or not path.is_file():
        raise ConfigError("not a regular file")
    with path.open("rb") as fh:
        data = fh.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ConfigError(f"larger than {MAX_FILE // 1024} KiB")
    if b"\x00" in data:
        raise ConfigError("binary data, not a configuration file")
    return data.decode("utf-8", errors="replace")


def read_device(folder: Path | str) -> HostFiles:
    """The host files under one device folder (see the module docstring for the layout)."""
    root = Path(folder)
    out = HostFiles()
    for pattern in FILES:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).as_posix()
            try:
                out.files[rel] = _read(path)
            except (ConfigError, OSError) as exc:
                out.unreadable[rel] = str(exc)
    return out


def read_folder(folder: Path | str) -> dict[str, HostFiles]:
    """``{device: HostFiles}`` for every device folder of an evidence folder."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder of host evidence (<device>/etc/...)")
    return {p.name: read_device(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.is_symlink() and SAFE_DEVICE.match(p.name)}


# --- secrets never leave in evidence -------------------------------------------------------

#: snmpd ``createUser NAME AUTH "pass" PRIV "pass"``, community strings, ``-A``/``-X``
#: passphrases in trap sinks, rsyslog/chrony keys.
_SNMP_USER = re.compile(r"^(\s*createUser\s+(?:-e\s+\S+\s+)?\S+\s+\S+\s+)(\"[^\"]*\"|\S+)"
                        r"(\s+\S+\s+)?(\"[^\"]*\"|\S+)?", re.I)
_COMMUNITY = re.compile(r"^(\s*(?:r[ow]community6?|com2sec6?\s+(?:-Cn\s+\S+\s+)?\S+\s+\S+|"
                        r"trapcommunity|trap2?sink\s+\S+|informsink\s+\S+))\s+(\S+)", re.I)
_FLAGS = re.compile(r"(\s-[AXa-x]\s+)(\"[^\"]*\"|\S+)")
DEFAULT_COMMUNITIES = {"public", "private"}


def redact(text: str) -> str:
    """A host config line safe to show: passphrases and communities replaced (default
    communities stay: they are the finding)."""
    m = _SNMP_USER.match(text)
    if m:
        priv = f"{m.group(3)}<redacted>" if m.group(4) else (m.group(3) or "")
        return f"{m.group(1)}<redacted>{priv}".rstrip()
    text = _COMMUNITY.sub(lambda c: c.group(0) if c.group(2).lower() in DEFAULT_COMMUNITIES
                          else f"{c.group(1)} <redacted>", text)
    return _FLAGS.sub(lambda f: f"{f.group(1)}<redacted>", text)


# --- sshd ---------------------------------------------------------------------------------

@dataclass
class Sshd:
    """sshd_config as sshd reads it: keywords case-insensitive, the first value wins, and
    ``Match`` blocks (kept apart: they can loosen a setting for some users or sources)."""

    first: dict[str, Line]
    matched: list[Line]

    def get(self, keyword: str) -> Line | None:
        return self.first.get(keyword.lower())


def sshd(files: HostFiles) -> Sshd | None:
    """Parsed sshd configuration, or None when ``sshd_config`` is not in the evidence.
    ``Include`` directives are followed within the evidence (relative to ``etc/ssh``)."""
    if "etc/ssh/sshd_config" not in files.files:
        return None
    first: dict[str, Line] = {}
    matched: list[Line] = []
    in_match = False
    seen: set[str] = set()

    def walk(path: str) -> None:
        nonlocal in_match
        if path in seen:  # an Include loop
            return
        seen.add(path)
        for line in files.lines(path):
            if not line.words:
                continue
            key = line.words[0].lower()
            if key == "include":
                for pattern in line.words[1:]:
                    target = pattern.lstrip("/") if pattern.startswith("/") \
                        else f"etc/ssh/{pattern}"
                    for inc in files.matching(target):
                        walk(inc)
            elif key == "match":
                in_match = True
                matched.append(line)
            elif in_match:
                matched.append(line)
            else:
                first.setdefault(key, line)

    walk("etc/ssh/sshd_config")
    return Sshd(first, matched)


# --- rsyslog ------------------------------------------------------------------------------

RSYSLOG = ("etc/rsyslog.conf", "etc/rsyslog.d/*.conf")
_LEGACY_FORWARD = re.compile(r"^\S+\s+[-]?@@?(\(\S*\))?\[?[A-Za-z0-9:._-]+")
_ACTION = re.compile(r"action\s*\((?P<args>[^)]*)\)", re.S)


def rsyslog_forwards(files: HostFiles) -> list[Line] | None:
    """Lines that forward logs to a remote server (legacy ``*.* @@host`` or RainerScript
    ``action(type="omfwd" target=...)``, which may span lines); None: no rsyslog evidence."""
    if not files.matching(*RSYSLOG):
        return None
    out: list[Line] = []
    for path in files.matching(*RSYSLOG):
        text = files.files[path]
        clean = "\n".join(ln.split("#", 1)[0] if not ln.lstrip().startswith("#") else ""
                          for ln in text.splitlines())
        for number, raw in enumerate(clean.splitlines(), start=1):
            if _LEGACY_FORWARD.match(raw.strip()):
                out.append(Line(path, number, raw.strip(), tuple(raw.split())))
        for m in _ACTION.finditer(clean):
            args = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', m.group("args")))
            if args.get("type", "").lower() in ("omfwd", "omrelp") and args.get("target"):
                number = clean.count("\n", 0, m.start()) + 1
                first = text.splitlines()[number - 1].strip()
                out.append(Line(path, number, first, tuple(first.split())))
    return out


# --- time ---------------------------------------------------------------------------------

TIME = ("etc/chrony/chrony.conf", "etc/chrony/conf.d/*.conf", "etc/chrony/sources.d/*.sources",
        "etc/chrony.conf", "etc/ntp.conf", "etc/ntpsec/ntp.conf")


def time_sources(files: HostFiles) -> list[Line] | None:
    """``server``/``pool``/``peer`` lines of chrony or ntpd; None: no time evidence."""
    if not files.matching(*TIME):
        return None
    return [ln for ln in files.lines(*TIME)
            if ln.words and ln.words[0] in ("server", "pool", "peer") and len(ln.words) > 1]


# --- snmpd --------------------------------------------------------------------------------

COMMUNITY_WORDS = {"rocommunity", "rwcommunity", "rocommunity6", "rwcommunity6", "com2sec",
                   "com2sec6", "trapcommunity", "trapsink", "trap2sink", "informsink",
                   "authcommunity"}
USER_WORDS = {"rouser", "rwuser", "authuser"}
STRONG_AUTH = {"sha", "sha-224", "sha-256", "sha-384", "sha-512"}
STRONG_PRIV = {"aes", "aes128", "aes-128", "aes192", "aes-192", "aes256", "aes-256"}


@dataclass
class SnmpVerdict:
    weak: list[tuple[Line, str]]
    strong: list[Line]


def snmpd(files: HostFiles) -> SnmpVerdict | None:
    """v1/v2c communities and v3 users below authPriv in snmpd.conf; None: no evidence."""
    if "etc/snmp/snmpd.conf" not in files.files:
        return None
    weak: list[tuple[Line, str]] = []
    strong: list[Line] = []
    for ln in files.lines("etc/snmp/snmpd.conf"):
        key = ln.words[0].lower() if ln.words else ""
        args = [w for w in ln.words[1:] if not w.startswith("-")]
        if key in COMMUNITY_WORDS:
            weak.append((ln, "SNMP v1/v2c community"))
        elif key == "group" and len(ln.words) > 2 and ln.words[2].lower() in ("v1", "v2c"):
            weak.append((ln, "SNMP v1/v2c security model"))
        elif key in USER_WORDS:
            level = _user_level(ln.words[1:])
            if level == "priv":
                strong.append(ln)
            else:
                weak.append((ln, f"v3 user at level {level!r}, not priv"))
        elif key == "createuser" and len(args) >= 2:
            auth = args[1].lower()
            priv = args[3].lower() if len(args) > 3 else None
            if auth not in STRONG_AUTH:
                weak.append((ln, f"v3 user authenticated with {args[1]}"))
            elif priv not in STRONG_PRIV:
                weak.append((ln, f"v3 user without AES privacy ({priv or 'none'})"))
            else:
                strong.append(ln)
        elif key == "access" and len(ln.words) > 5 and ln.words[5].lower() != "priv":
            weak.append((ln, f"access at level {ln.words[5]!r}, not priv"))
    return SnmpVerdict(weak, strong)


def _user_level(words: tuple[str, ...]) -> str:
    """rouser [-s model] [-V view] USER [noauth|auth|priv [OID]]: the default is auth."""
    rest = list(words)
    bare: list[str] = []
    while rest:
        w = rest.pop(0)
        if w.startswith("-"):
            if rest:
                rest.pop(0)
            continue
        bare.append(w)
    level = bare[1].lower() if len(bare) > 1 else "auth"
    return level if level in ("noauth", "auth", "priv", "authpriv") else "auth"


# --- nftables -----------------------------------------------------------------------------

@dataclass
class NftNode:
    """A statement (``words``) and, for blocks (``table``, ``chain``, ``set``), its body."""

    line: Line
    children: list[NftNode] = field(default_factory=list)


_TOKEN = re.compile(r'"[^"\n]*"|[{};\n]|#[^\n]*|[^\s{};"#]+')
#: Statements at the top or in a table whose ``{`` is not a block but a value.
NOT_BLOCKS = {"define", "add", "insert", "create", "delete", "replace", "redefine"}


def nftables(files: HostFiles) -> list[NftNode] | None:
    """The statement tree of ``nftables.conf`` (``{`` blocks, ``;`` or newline separated),
    or None when the file is not in the evidence.  ``include`` is not followed: an included
    ruleset is missing evidence, reported by the check."""
    path = "etc/nftables.conf"
    if path not in files.files:
        return None
    text = files.files[path]
    raw = text.splitlines()
    root = NftNode(Line(path, 0, "", ()))
    stack = [root]
    words: list[str] = []
    start = number = 1
    inline: list[str] | None = None  # tokens of an anonymous set being read
    depth = 0

    def flush() -> NftNode | None:
        nonlocal words
        if not words:
            return None
        # evidence shows the file's line; the words are this statement's only
        node = NftNode(Line(path, start, raw[start - 1].strip() if start <= len(raw) else "",
                            tuple(w.strip('"') for w in words)))
        stack[-1].children.append(node)
        words = []
        return node

    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "\n":
            number += 1
        if tok.startswith("#"):
            continue
        if inline is not None:  # inside { ... } of a set: newlines and ; are just spacing
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
            if depth == 0:
                words.append("{ " + " ".join(inline) + " }")
                inline = None
            elif tok not in ("\n", ";"):
                inline.append(tok)
            continue
        if tok in ("\n", ";"):
            flush()
        elif tok == "{" and (len(stack) > 2 or (words and words[0] in NOT_BLOCKS)):
            # inside a chain or set, or a definition: an anonymous set, one word
            inline, depth = [], 1
        elif tok == "{":
            node = flush() or NftNode(Line(path, number, "{", ("{",)))
            if not stack[-1].children or stack[-1].children[-1] is not node:
                stack[-1].children.append(node)
            stack.append(node)  # at most table > chain/set: deeper braces are values
        elif tok == "}":
            flush()
            if len(stack) == 1:
                raise ConfigError(f"{path}:{number}: unbalanced '}}'")
            stack.pop()
        else:
            if not words:
                start = number
            words.append(tok)
    flush()
    if len(stack) != 1 or inline is not None:
        raise ConfigError(f"{path}: a '{{' block is never closed (file cut short?)")
    return root.children


def lookup(files: Mapping[str, HostFiles] | None, device: str) -> HostFiles | None:
    """The device's host files, or None (no evidence folder, or no folder for it)."""
    return None if files is None else files.get(device)

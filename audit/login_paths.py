"""Can an administrator still log in?  IOS remediation replayed on the parsed config.

A fix that removes telnet before SSH works (no host key, no username-based login) locks
every remote administrator out of the router it meant to protect.  :func:`apply` types
remediation lines into a copy of a parsed IOS config the way the CLI takes them (``line
vty 0 15`` reaches the ``line vty 0 4`` and ``5 15`` sections the device prints, ``no``
removes, a second ``transport input`` replaces the first), and :func:`login_paths` says
which remote logins then work, so a test can check every prefix of a remediation.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

from audit.checks.aaa import server_groups
from audit.parse import Node, ParsedConfig

#: Line sub-commands where a new value replaces the old one (keyed by their first words).
REPLACING = ("transport input", "exec-timeout", "login", "password", "access-class",
             "ipv6 access-class", "transport output")

#: The top-level command that creates the SSH host key (it is not shown in the config).
KEYGEN = "crypto key generate rsa"


def _vty_range(text: str) -> tuple[int, int] | None:
    words = text.split()
    if words[:2] != ["line", "vty"] or len(words) < 3:
        return None
    try:
        first = int(words[2])
        return first, int(words[3]) if len(words) > 3 else first
    except ValueError:
        return None


def _sections(root: Node, header: str) -> list[Node]:
    """The sections a header line selects: every printed ``line vty`` range it overlaps
    (plus a new one when it overlaps none), else the section of that exact text."""
    wanted = _vty_range(header)
    if wanted is not None:
        hits = [n for n in root.children if (r := _vty_range(n.text)) is not None
                and r[0] <= wanted[1] and wanted[0] <= r[1]]
        if hits:
            return hits
    same = [n for n in root.children if n.text == header]
    if same:
        return same
    node = Node(header, None)
    root.children.append(node)
    return [node]


def _key(text: str) -> str:
    return next((k for k in REPLACING if text == k or text.startswith(k + " ")), text)


def _set_child(section: Node, text: str) -> None:
    if text.startswith("no "):
        gone = text[3:]
        kept = [c for c in section.children if c.text != gone
                and not c.text.startswith(gone + " ")]
        if len(kept) == len(section.children):  # a default turned off: shown as "no ..."
            kept.append(Node(text, None))
        section.children = kept
        return
    key = _key(text)
    section.children = [c for c in section.children if _key(c.text) != key]
    section.children.append(Node(text, None))


def apply(config: ParsedConfig, lines: Sequence[str]) -> ParsedConfig:
    """``config`` after ``lines`` are typed in configuration mode (the original is kept)."""
    root = copy.deepcopy(config.root)
    current: list[Node] = []
    for raw in lines:
        text = raw.strip()
        if not text or text.startswith("!") or text in ("exit", "end"):
            if text in ("exit", "end"):
                current = []
            continue
        if raw.startswith(" ") and current:
            for section in current:
                _set_child(section, text)
            continue
        if text.startswith("no "):
            gone = text[3:]
            root.children = [c for c in root.children if not c.text.startswith(gone)]
            current = []
        elif text.startswith(("line ", "interface ", "router ", "ip access-list ",
                              "ipv6 access-list ", "tacacs server ", "radius server ",
                              "aaa group server ")):
            current = _sections(root, text)
        else:
            if text.startswith("hostname "):
                root.children = [c for c in root.children if not c.text.startswith("hostname ")]
            if text.startswith(KEYGEN) and not _can_make_key(root):
                continue  # IOS refuses: "Please define a hostname/domain name first"
            if not any(c.text == text for c in root.children):
                root.children.append(Node(text, None))
            current = []
    return replace(config, root=root)


def _can_make_key(root: Node) -> bool:
    texts = [c.text for c in root.children]
    named = any(t.startswith("hostname ") for t in texts)
    domain = any(t.startswith(("ip domain name ", "ip domain-name ")) for t in texts)
    return named and domain


def _methods(config: ParsedConfig, line: Node) -> list[str] | None:
    """The login methods a line uses in order, None when the line cannot log in at all
    (a named method list that is not defined)."""
    users = bool(config.top("username "))
    if config.top("aaa new-model"):
        applied = line.child("login authentication ")
        name = applied.text.split()[2] if applied else "default"
        lists = {n.text.split()[3]: n.text.split()[4:]
                 for n in config.top("aaa authentication login ") if len(n.text.split()) > 4}
        if name not in lists:
            return None if name != "default" else (["local"] if users else [])
        groups = server_groups(config)
        out: list[str] = []
        words = lists[name]
        for i, word in enumerate(words):
            if word == "group" and i + 1 < len(words):
                out += ["server"] if words[i + 1] in groups else []  # an undefined group
            elif word in ("local", "local-case") and users:  # errors on to the next method
                out.append("local")
            elif word in ("line", "enable", "none"):
                out.append(word)
        return out
    login = line.child("login")
    if login is not None and login.text == "login local":
        return ["local"] if users else []
    if line.child("no login") is not None:
        return ["none"]
    return ["line"] if line.child("password") is not None else []


def login_paths(config: ParsedConfig, host_key: bool = False) -> set[str]:
    """The remote logins that work on ``config``'s VTY lines: "ssh" (a host key, SSH
    allowed, a username-based method), "telnet" (telnet allowed, any working method).
    ``host_key``: the device is known to hold an RSA key already (the key is never shown
    in a config; typing :data:`KEYGEN` in :func:`apply` creates one)."""
    key = host_key or bool(config.top(KEYGEN))
    paths: set[str] = set()
    for line in config.top("line vty"):
        methods = _methods(config, line)
        if not methods:
            continue
        transport = line.child("transport input")
        allowed = set(transport.text.split()[2:]) if transport else {"telnet", "ssh"}
        if "all" in allowed:
            allowed = {"telnet", "ssh"}
        if "telnet" in allowed:
            paths.add("telnet")
        if "ssh" in allowed and key and set(methods) & {"local", "server", "none"}:
            paths.add("ssh")
    return paths

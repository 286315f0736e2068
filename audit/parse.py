"""A device configuration parsed once into a tree whose nodes know their line numbers.

Every check reads the same :class:`ParsedConfig` (the runner parses each config once), and
every finding cites the config lines it rests on with their line numbers, so an auditor can
find them in the backup.  The tree comes from hier_config through
:func:`devices.configtree.tree` (the same parser provisioning uses, so what we push and
what we audit are read alike); line numbers are mapped back from the original text because
hier_config drops separators, closers and version stamps.

Input that is not a configuration (binary data, a huge file, an unknown platform, a banner
cut in half) raises :class:`AuditParseError` with one clear line: the runner turns it into
"unknown" findings, never into a pass.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property

from audit.junos_text import BraceError, braces_to_set, expand_groups, is_braces
from devices import platforms
from devices.configtree import tree
from devices.errors import GinError
from devices.platforms import Platform

#: Largest configuration the audit reads; real running configs are well under 1 MB.
MAX_BYTES = 8 * 1024 * 1024


class AuditParseError(GinError):
    """The text could not be read as a configuration of the given platform."""


@dataclass
class Node:
    """One configuration line (a section header or a leaf) and its children."""

    text: str
    line: int | None
    children: list[Node] = field(default_factory=list)

    def child(self, prefix: str) -> Node | None:
        """The first child whose text starts with ``prefix``."""
        return next((c for c in self.children if c.text.startswith(prefix)), None)

    def find(self, prefix: str) -> list[Node]:
        """Every child whose text starts with ``prefix``."""
        return [c for c in self.children if c.text.startswith(prefix)]

    def cite(self) -> tuple[int | None, str]:
        """(line number, first line of text) as evidence."""
        return (self.line, self.text.split("\n", 1)[0])


@dataclass
class ParsedConfig:
    """The parse of one config: a root node, the platform, and the raw line count."""

    platform: Platform
    root: Node
    line_count: int
    #: Why the text does not look like a whole configuration (None: it does).  A config
    #: cut short must not pass: the runner turns its passes into "unknown".
    incomplete: str | None = None

    def top(self, prefix: str) -> list[Node]:
        """Top-level nodes starting with ``prefix`` (section headers or global lines)."""
        return self.root.find(prefix)

    def set_lines(self, *prefix: str) -> Iterator[tuple[Node, list[str]]]:
        """Junos ``set`` lines whose words after ``set`` start with ``prefix``."""
        n = len(prefix)
        for node, words in self._set_index.get(prefix[0] if prefix else "", ()):
            if tuple(words[:n]) == prefix:
                yield node, words

    @cached_property
    def _set_index(self) -> dict[str, list[tuple[Node, list[str]]]]:
        """Statements in force, split into words once, grouped by their first word: what
        ``apply-groups`` brings in (cited by the group's own line), then the ``set`` lines,
        less what a ``deactivate`` line takes out of force."""
        stated: list[tuple[Node, list[str]]] = []
        inactive: list[list[str]] = []
        for node in self.root.children:
            words = _words(node.text)[1:] if node.text.startswith("set ") else []
            # hier_config reads "deactivate X" as "set deactivate X" (Junos has no such
            # statement, so the word can only come from a deactivate line)
            if words[:1] == ["deactivate"]:
                inactive.append(words[1:])
            elif words:
                stated.append((node, words))
        stated = [(n, w) for n, w in stated
                  if not any(w[:len(off)] == off for off in inactive if off)]
        inherited = [(stated[i][0], w) for i, w in expand_groups([w for _, w in stated])]
        index: dict[str, list[tuple[Node, list[str]]]] = {}
        # what a group brings comes first: a statement written in place overrides it, and
        # the checks read a single-valued statement's last line
        for node, words in inherited + stated:
            index.setdefault(words[0], []).append((node, words))
            index.setdefault("", []).append((node, words))
        return index


def _words(text: str) -> list[str]:
    if '"' not in text and "'" not in text and "\\" not in text:
        return text.split()  # the common case, 30x faster than shlex
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def decode(data: bytes | str) -> str:
    """Config bytes as text; binary data or an oversized file is an error, not a guess."""
    if isinstance(data, str):
        if len(data) > MAX_BYTES:
            raise AuditParseError(f"configuration larger than {MAX_BYTES // 2**20} MiB")
        data_text = data
        sample = data[:65536]
        if "\x00" in sample or _binary_ratio(sample) > 0.1:
            raise AuditParseError("configuration is binary data, not text")
        return data_text
    if len(data) > MAX_BYTES:
        raise AuditParseError(f"configuration larger than {MAX_BYTES // 2**20} MiB")
    if b"\x00" in data[:65536]:
        raise AuditParseError("configuration is binary data, not text")
    text = data.decode("utf-8", errors="replace")
    if _binary_ratio(text[:65536]) > 0.1:
        raise AuditParseError("configuration is binary data, not text")
    return text


@cache
def _platform(name: str) -> Platform:
    """The platform table scans entry points on every look-up; an audit asks thousands of
    times for the same four names."""
    return platforms.get(name)


#: Control characters a config never holds (tab, CR, LF, ^C banner delimiters and form
#: feed aside) and the replacement character left by undecodable bytes.
ODD = re.compile("[\x00-\x02\x04-\x08\x0b\x0e-\x1f\ufffd]")


def _binary_ratio(sample: str) -> float:
    if not sample:
        return 0.0
    return len(ODD.findall(sample)) / len(sample)


def _same(text: str) -> str:
    """A line as the parser keeps it: runs of blanks are one space (real configs carry
    hand-typed double spaces, which the tree does not)."""
    return " ".join(text.split())


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Path of stripped texts (indentation-based) -> first line number it appears on."""
    index: dict[tuple[str, ...], int] = {}
    stack: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        bare = _same(raw)
        if not bare:
            continue
        indent = len(raw) - len(raw.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = tuple(t for _, t in stack) + (bare,)
        index.setdefault(path, number)
        stack.append((indent, bare))
    return index


def parse(data: bytes | str, platform_name: str) -> ParsedConfig:
    """Parse a configuration once; raise :class:`AuditParseError` if it cannot be read."""
    try:
        platform = _platform(platform_name)
    except GinError as exc:
        raise AuditParseError(str(exc)) from exc
    text = decode(data).replace("\r\n", "\n")
    if not text.strip():
        raise AuditParseError("configuration is empty")
    if _open_banner(text):
        raise AuditParseError("configuration ends inside a banner (cut short?)")
    read, origin = text, None
    if platform.syntax == "set" and is_braces(text):
        try:
            statements, origin = braces_to_set(text)
        except BraceError as exc:
            raise AuditParseError(f"Junos configuration in braces: {exc}") from exc
        read = "\n".join(statements) + "\n"
    try:
        hconfig = tree(platform, read)
    except GinError as exc:
        raise AuditParseError(str(exc)) from exc
    index = _line_index(read)
    if origin is not None:  # set line number -> the line of the braces text it came from
        index = {path: origin[number - 1] for path, number in index.items()}

    def convert(hnode: object, path: tuple[str, ...]) -> Node:
        node_text = hnode.text  # type: ignore[attr-defined]
        here = path + (_same(node_text),)
        line = index.get(here)
        if line is None:  # multi-line banners are indexed by their first line
            line = index.get(path + (_same(node_text.split("\n", 1)[0]),))
        node = Node(node_text, line)
        node.children = [convert(c, here) for c in hnode.children]  # type: ignore[attr-defined]
        return node

    root = Node("", None, [convert(c, ()) for c in hconfig.children])
    lines = text.splitlines()
    whole = completeness(platform, text, braces=origin is not None)
    return ParsedConfig(platform, root, len(lines), whole)


def completeness(platform: Platform, text: str, braces: bool = False) -> str | None:
    """Why ``text`` may not be a whole configuration, or None when it looks whole.

    IOS and FRR end ``show running-config`` with ``end``; Junos' ``display set`` output has
    no end marker, so there a full config is recognised by its ``set version`` line and a
    final newline (a cut exactly at a line boundary after that cannot be seen).  Junos in
    braces (``braces``) is whole when its braces balance, which :func:`parse` checked (a
    cut between two top-level blocks cannot be seen).
    """
    if not text.endswith("\n"):
        return "the last line is cut mid-line"
    if braces:
        return None
    if platform.syntax == "set":
        if not any(ln.startswith("set version ") for ln in text.splitlines()[:50]):
            return "no 'set version' line: not a whole 'show configuration | display set'"
        return None
    last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")
    if last != "end":
        return "no final 'end': not a whole running-config (cut short?)"
    return None


def _open_banner(text: str) -> bool:
    """True when a ``banner ... ^C`` is opened and never closed (a config cut short)."""
    open_delim: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if open_delim is None:
            if line.startswith("banner "):
                words = line.split()
                if len(words) >= 3:
                    delim = words[2][:2] if words[2].startswith("^") else words[2][:1]
                    rest = line.split(None, 2)[2][len(delim):]
                    if delim not in rest:
                        open_delim = delim
        elif open_delim in line:
            open_delim = None
    return open_delim is not None

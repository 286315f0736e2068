"""Junos configuration text as the audit reads it: ``set`` lines, whatever was printed.

Auditors receive Junos configs in both of the shapes the router prints: ``show
configuration | display set`` (one ``set`` line per statement) and plain ``show
configuration`` (curly braces).  Every Junos check reads ``set`` lines, so braces are
turned into ``set`` lines here, each remembering the line it came from (a finding must
cite the backup's own line numbers).  ``inactive:`` statements are not in force and are
left out, as are comments.

What a config says once and applies elsewhere is in force where it is applied: a
``groups`` statement reaches every hierarchy that ``apply-groups`` names it at
(:func:`expand_groups`), so a BGP group's ``peer-as`` or the ``authentication-order``
inherited from a group is judged like one written in place.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

#: Markers Junos prints before a statement; ``inactive:`` takes it out of force.
MARKERS = ("protect:", "replace:")


class BraceError(ValueError):
    """The braces of a Junos config do not balance (a config cut short)."""


def is_braces(text: str) -> bool:
    """True when ``text`` is ``show configuration`` in braces rather than ``set`` lines."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "/*", "*")):
            continue
        return not line.startswith(("set ", "delete ", "deactivate ", "activate "))
    return False


#: One token of a braces config: a newline (counted), blanks, a comment, a quoted string,
#: punctuation, a word; or the start of a string or comment that never ends.
TOKEN = re.compile(r'(\n)|[ \t\r\f\v]+|#[^\n]*|(/\*.*?\*/)|("(?:\\.|[^"\\])*")|([{};\[\]])'
                   r'|((?!/\*)[^\s{};\[\]"#][^\s{};\[\]"]*)|(["]|/\*)', re.S)


def _tokens(text: str) -> list[tuple[str, int]]:
    """Words, quoted strings and the punctuation ``{ } ; [ ]`` with their line numbers;
    comments (``# ...`` to the end of the line, ``/* ... */``) dropped."""
    out: list[tuple[str, int]] = []
    line = 1
    for m in TOKEN.finditer(text):
        newline, comment, quoted, punct, word, unclosed = m.groups()
        if newline:
            line += 1
        elif comment:
            line += comment.count("\n")
        elif quoted:
            out.append((quoted, line))
            line += quoted.count("\n")
        elif punct or word:
            out.append((punct or word, line))
        elif unclosed:
            what = "comment" if unclosed == "/*" else "quoted string"
            raise BraceError(f"a {what} opened on line {line} never closes")
    return out


def braces_to_set(text: str) -> tuple[list[str], list[int]]:
    """``set`` lines of a braces config and, for each, the line number it ends on.

    Raises :class:`BraceError` when the braces do not balance.
    """
    lines: list[str] = []
    origin: list[int] = []
    path: list[list[str]] = []
    inactive: list[bool] = []  # per open block: is it (or an enclosing block) inactive?
    filled: list[bool] = []  # per open block: has it printed a statement yet?
    words: list[str] = []
    in_list = False
    for token, number in _tokens(text):
        if token == "[":
            in_list = True
            words.append(token)
        elif token == "]":
            in_list = False
            words.append(token)
        elif token in ("{", ";") and not in_list:
            off = bool(inactive and inactive[-1])
            if words and words[0] == "inactive:":
                off, words = True, words[1:]
            words = [w for w in words if w not in MARKERS]
            if token == "{":
                path.append(words)
                inactive.append(off)
                filled.append(False)
            elif words and not off:
                lines.append(" ".join(["set", *(w for p in path for w in p), *words]))
                origin.append(number)
                filled = [True] * len(filled)
            words = []
        elif token == "}":
            if not path:
                raise BraceError(f"a closing brace on line {number} closes nothing")
            if words:
                raise BraceError(f"a statement before line {number}'s brace has no ';'")
            off, full = inactive.pop(), filled.pop()
            if not off and not full:  # an empty block ("family inet6 { }") is a statement
                lines.append(" ".join(["set", *(w for p in path for w in p)]))
                origin.append(number)
                filled = [True] * len(filled)
            path.pop()
        else:
            words.append(token)
    if path or words:
        raise BraceError("the braces do not balance: the configuration is cut short")
    return lines, origin


# --- apply-groups -------------------------------------------------------------------


def _list(words: Sequence[str], start: int) -> list[str]:
    if start >= len(words):
        return []
    if words[start] == "[":
        end = words.index("]", start) if "]" in words[start:] else len(words)
        return list(words[start + 1:end])
    return [words[start]]


def _matches(pattern: str, word: str) -> bool:
    """A group path word against a config word: ``<ge-*>`` is a wildcard, else equal."""
    if pattern.startswith("<") and pattern.endswith(">"):
        return fnmatch.fnmatchcase(word, pattern[1:-1] or "*")
    return pattern == word


def expand_groups(statements: Sequence[Sequence[str]]) -> list[tuple[int, list[str]]]:
    """Statements inherited through ``apply-groups``: (index of the group statement, the
    words as they apply), for ``statements`` given as the words after ``set``.

    A group applied at hierarchy P contributes each of its statements that lies under P;
    a wildcard (``<*>``, ``<ge-*>``) in what remains stands for every name the config
    itself has at that place.  Groups applied inside groups are followed (each group
    once per place, so a cycle ends); ``apply-groups-except`` keeps a group out of the
    hierarchy below it.
    """
    groups: dict[str, list[int]] = {}
    applied: list[tuple[list[str], str]] = []
    excepted: list[tuple[list[str], str]] = []
    for i, words in enumerate(statements):
        if len(words) > 2 and words[0] == "groups":
            groups.setdefault(words[1], []).append(i)
        elif "apply-groups" in words:
            k = list(words).index("apply-groups")
            applied += [(list(words[:k]), name) for name in _list(words, k + 1)]
        elif "apply-groups-except" in words:
            k = list(words).index("apply-groups-except")
            excepted += [(list(words[:k]), name) for name in _list(words, k + 1)]
    plain = [list(w) for w in statements if w and w[0] != "groups"]
    out: list[tuple[int, list[str]]] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    todo = list(applied)
    while todo:
        where, name = todo.pop(0)
        if (tuple(where), name) in seen:
            continue
        seen.add((tuple(where), name))
        for i in groups.get(name, []):
            body = list(statements[i][2:])
            if len(body) < len(where) or not all(
                    _matches(p, w) for p, w in zip(body, where, strict=False)):
                continue
            for words in _instances(where + body[len(where):], plain):
                if "apply-groups" in words:
                    k = words.index("apply-groups")
                    todo += [(words[:k], n) for n in _list(words, k + 1)]
                elif not any(words[:len(at)] == at and name == n for at, n in excepted):
                    out.append((i, words))
    return out


def _instances(words: list[str], plain: list[list[str]]) -> list[list[str]]:
    """``words`` with each wildcard replaced by the names the config has there."""
    for j, word in enumerate(words):
        if word.startswith("<") and word.endswith(">"):
            names = dict.fromkeys(w[j] for w in plain if len(w) > j and w[:j] == words[:j]
                                  and _matches(word, w[j]))
            return [inst for n in names
                    for inst in _instances([*words[:j], n, *words[j + 1:]], plain)]
    return [words]

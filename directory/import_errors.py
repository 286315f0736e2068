"""An import's errors, bounded: each distinct problem with its first lines and a count.

Why: a file of a million bad rows must not print a million lines (nor hold them).  Errors
are grouped by their wording with the row's own values taken out (a code, a number, a
quoted name), so "name_en: must not be empty" on 999,999 lines is one problem.  Each
problem keeps its first :data:`SHOWN` places in file order and a count; the report lists
them sorted by file and line, with ``FILE:LINE: field: ... and 999,997 more like it`` at the
first place not shown.
At most :data:`MAX_PROBLEMS` distinct problems are kept; the rest are counted.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

SHOWN = 3
MAX_PROBLEMS = 200
_LINE_BITS = 40
_VALUES = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+(?:[.,]\d+)*")
_WHERE = re.compile(r"^(.*?):(\d+): (.*)$", re.S)


@dataclass
class _Problem:
    count: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)  # (place, text), file order
    last: int = 0


class ErrorLog:
    """Collects ``file:line: field: what`` errors; :meth:`lines` is the bounded report."""

    def __init__(self, sources: list[str] | tuple[str, ...] = ()) -> None:
        self.sources: list[str] = []
        self._index: dict[str, int] = {}
        for source in sources:
            self.source_index(source)
        self.problems: dict[str, _Problem] = {}
        self.total = 0
        self.unlisted = 0  # errors of problems beyond MAX_PROBLEMS

    def __len__(self) -> int:
        return self.total

    def source_index(self, source: str) -> int:
        index = self._index.get(source)
        if index is None:
            index = self._index[source] = len(self.sources)
            self.sources.append(source)
        return index

    def place(self, source: str, line: int) -> int:
        """One int for (file, line), ordered like the files were given, then by line."""
        return (self.source_index(source) << _LINE_BITS) | min(line, (1 << _LINE_BITS) - 1)

    def where(self, place: int) -> str:
        return f"{self.sources[place >> _LINE_BITS]}:{place & ((1 << _LINE_BITS) - 1)}"

    def add(self, source: str, line: int, message: str) -> None:
        """Record ``message`` (``field: what``) at ``source:line``."""
        self.total += 1
        key = _VALUES.sub("…", message)
        problem = self.problems.get(key)
        if problem is None:
            if len(self.problems) >= MAX_PROBLEMS:
                self.unlisted += 1
                return
            problem = self.problems[key] = _Problem()
        problem.count += 1
        place = self.place(source, line)
        problem.last = max(problem.last, place)
        if len(problem.first) < SHOWN + 1 or place < problem.first[-1][0]:
            bisect.insort(problem.first, (place, message))
            del problem.first[SHOWN + 1:]

    def add_text(self, text: str) -> None:
        """Record an error already written as ``file:line: field: what``."""
        match = _WHERE.match(text)
        if match:
            self.add(match.group(1), int(match.group(2)), match.group(3))
        else:
            self.add("<input>", 1, text)

    def lines(self) -> list[str]:
        """The report: every problem's first lines, sorted by place, and what was left out."""
        out: list[tuple[int, int, str]] = []
        for problem in self.problems.values():
            shown = problem.first if problem.count <= SHOWN + 1 else problem.first[:SHOWN]
            for place, message in shown:
                out.append((place, 0, f"{self.where(place)}: {message}"))
            hidden = problem.count - len(shown)
            if hidden > 0:
                place, message = problem.first[SHOWN]
                name = message.split(": ", 1)[0]
                until = f" to {self.where(problem.last)}" if problem.last != place else ""
                out.append((place, 1, f"{self.where(place)}: {name}: ... and "
                                             f"{hidden:,} more like it (from here{until})"))
        out.sort()
        lines = [text for _place, _order, text in out]
        if self.unlisted:
            lines.append(f"... and {self.unlisted:,} more errors of other kinds (fix the ones "
                         "above and import again to see them)")
        return lines

"""Thai (or any other language's) wording of what the audit says, applied at render time.

Checks and the runner speak English: that is what logs, JSON, CSV and OSCAL carry, and what
the tests of the checks assert.  A report in another language translates each finding when
it is drawn, through a catalogue (``audit/data/messages.<lang>.yaml``) of whole-text
patterns, so the checks keep one wording and a ministry still reads its own language.

A pattern is the English text with ``{name}`` for a part copied as is (a number, a device,
a config word) and ``{name:msg}`` for a part that is itself a message (a reason wrapped by
the runner); it must match the whole text.  Config lines are never translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA = Path(__file__).with_name("data")
_FIELD = re.compile(r"\{(\w+)(:msg)?\}")
#: English prose: three words or more in a row (a config line such as "ntp server" is two).
ENGLISH_PROSE = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[a-z]{2,}){2,}")


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    template: str
    nested: frozenset[str]


def _compile(english: str, thai: str) -> _Pattern:
    parts, nested, last = [], set(), 0
    for m in _FIELD.finditer(english):
        parts.append(re.escape(english[last:m.start()]))
        parts.append(f"(?P<{m.group(1)}>.*?)")
        if m.group(2):
            nested.add(m.group(1))
        last = m.end()
    parts.append(re.escape(english[last:]))
    return _Pattern(re.compile("".join(parts) + r"\Z", re.S), thai, frozenset(nested))


@dataclass(frozen=True)
class Catalogue:
    """One language's wording: severities, check and control titles, reasons, prose."""

    lang: str
    severities: dict[str, str]
    checks: dict[str, str]
    controls: dict[str, str]
    reasons: tuple[_Pattern, ...]
    prose: tuple[_Pattern, ...]

    def _match(self, patterns: tuple[_Pattern, ...], text: str) -> str | None:
        for p in patterns:
            m = p.regex.match(text)
            if not m:
                continue
            values = {}
            for name, value in m.groupdict().items():
                if name in p.nested:
                    inner = self.reason(value)
                    if inner is None:
                        break
                    value = inner
                values[name] = value
            else:
                return _FIELD.sub(lambda f, v=values: v[f.group(1)], p.template)
        return None

    def reason(self, text: str) -> str | None:
        """``text`` (a finding's reason, a device's error) in this language; None: unknown."""
        return self._match(self.reasons, text)

    def remediation(self, line: str) -> str | None:
        """A remediation line with its prose translated (the whole line, its ``#`` comment,
        or an IOS ``!`` comment line); the line itself when it is config only; None: prose
        not in the catalogue."""
        whole = self._match(self.prose, line.strip())
        if whole is not None:
            return line[:len(line) - len(line.lstrip())] + whole
        marker = "! " if line.lstrip().startswith("! ") else "# "  # IOS comment, or shell's
        code, sep, comment = line.partition(marker)
        if not sep or not ENGLISH_PROSE.search(comment):
            return line
        said = self._match(self.prose, comment.strip())
        return None if said is None else f"{code}{marker}{said}"


@cache
def catalogue(lang: str) -> Catalogue | None:
    """The catalogue of ``lang``; None for English (the audit's own words)."""
    if lang == "en":
        return None
    path = DATA / f"messages.{lang}.yaml"
    if not path.is_file():
        raise ValueError(f"no message catalogue for language {lang!r} ({path.name} missing)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Catalogue(lang, dict(raw["severities"]), dict(raw["checks"]),
                     {str(k): v for k, v in raw["controls"].items()},
                     tuple(_compile(k, v) for k, v in raw["reasons"].items()),
                     tuple(_compile(k, v) for k, v in raw["prose"].items()))


class Translator:
    """What a template calls: every lookup falls back to the English text it was given."""

    def __init__(self, lang: str) -> None:
        self.catalogue = catalogue(lang)

    def reason(self, text: str) -> str:
        said = self.catalogue.reason(text) if self.catalogue else None
        return text if said is None else said

    def remediation(self, line: str) -> str:
        said = self.catalogue.remediation(line) if self.catalogue else None
        return line if said is None else said

    def severity(self, value: str) -> str:
        return self.catalogue.severities.get(value, value) if self.catalogue else value

    def check(self, check_id: str, title: str) -> str:
        return self.catalogue.checks.get(check_id, title) if self.catalogue else title

    def control(self, control_id: str, title: str) -> str:
        return self.catalogue.controls.get(control_id, title) if self.catalogue else title

"""One import run's state and its careful path: write a row in its own savepoint.

Why a module of its own: the importer drives a run and :mod:`directory.bulkload` (the fast
path) falls back to the careful path and reports through the run, so both need it; here
each imports it without importing the other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .errors import DirectoryError, NotFound
from .import_errors import ErrorLog
from .import_rules import LABEL, REFS, Checked, key_label
from .import_writers import WRITERS
from .readers import Row


@dataclass
class ImportReport:
    """What an import did: counts per kind and action, and the rejected rows' errors.

    ``errors`` is the bounded list (see :class:`ErrorLog`), ``rejected`` the full count.
    """

    rows: int = 0
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    rejected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": dict(self.created), "updated": dict(self.updated),
                "unchanged": dict(self.unchanged), "rejected": self.rejected,
                "errors": self.errors}


class Run:
    """State of one import: the report, the error log, the keys of rejected rows."""

    def __init__(self, session: Session, mode: str, report: ImportReport, log: ErrorLog,
                 tick: Callable[[int], None]) -> None:
        self.session = session
        self.mode = mode
        self.report = report
        self.log = log
        self.tick = tick
        self.rejected: dict[tuple[str, tuple[Any, ...]], int] = {}  # -> place in the files

    def error(self, row: Row, message: str) -> None:
        """Log a row's error, naming the field as the file spells it."""
        if row.columns:
            name, sep, rest = message.partition(": ")
            if sep and name in row.columns:
                message = f"{row.columns[name]}: {rest}"
        self.log.add(row.source, row.line, message)

    def reject(self, item: Checked, message: str) -> None:
        self.error(item.row, message)
        self.rejected.setdefault((item.kind, item.key),
                                 self.log.place(item.row.source, item.row.line))

    def blocked_by(self, item: Checked) -> str | None:
        """If the row refers to a rejected row, say which: clearer than 'not found'."""
        for kind, names in REFS[item.kind]:
            key = tuple(item.values.get(n) for n in names)
            if None in key:
                continue
            place = self.rejected.get((kind, key))
            if place is not None:
                label = key_label(kind, key)
                return (f"{names[-1]}: {LABEL[kind]} {label!r} was rejected "
                        f"({self.log.where(place)})")
        return None

    def apply(self, item: Checked) -> None:
        try:
            with self.session.begin_nested():
                action = WRITERS[item.kind](self.session, item.values, self.mode)
        except NotFound as exc:
            self.reject(item, self.blocked_by(item) or _field_first(item.kind, str(exc)))
            return
        except DirectoryError as exc:
            self.reject(item, _field_form(str(exc)))
            return
        except IntegrityError as exc:
            text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            self.reject(item, f"{LABEL[item.kind]}: conflicts with the directory ({text})")
            return
        except SQLAlchemyError as exc:  # a value the database cannot hold
            self.reject(item, f"{LABEL[item.kind]}: the database refused it "
                              f"({type(exc).__name__})")
            return
        getattr(self.report, action)[item.kind] += 1


_OBJECT_MESSAGE = re.compile(r"^([a-z_]+) (\S+): (.*)$", re.S)


def _field_form(message: str) -> str:
    """``prefix 10.0.0.0/8: lies inside ...`` -> ``prefix: 10.0.0.0/8 lies inside ...``."""
    match = _OBJECT_MESSAGE.match(message)
    if match and match.group(1) in LABEL.values():
        return f"{match.group(1)}: {match.group(2)} {match.group(3)}"
    return message


def _field_first(kind: str, message: str) -> str:
    """``agency 'X' not found`` -> ``agency: 'X' not found in the file or the directory``."""
    head, _, rest = message.partition(" ")
    if rest.endswith("not found"):
        return f"{head}: {rest} in the file or the directory"
    return f"{LABEL[kind]}: {message}"

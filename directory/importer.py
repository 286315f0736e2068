"""Import a whole directory (or part of one) from CSV, JSON or YAML files, streamed.

All-or-nothing by default: every row of every file is read, checked and tried inside one
transaction, each bad row reported without hiding the next one's problem.  If anything is
wrong the transaction is rolled back and :class:`~directory.errors.ImportFailed` lists the
errors as ``file:line: field: what`` (sorted by line; a problem met on many lines is listed
with its first lines and a count, see :mod:`directory.import_errors`).  With
``partial=True`` the good rows are committed and the bad ones reported.

Memory is bounded by a batch, not by the file: rows are read one at a time
(:mod:`directory.readers`), checked, and written in batches (:mod:`directory.bulkload`).
What the run keeps per row is its natural key (to find duplicates and references), not
the row.

Modes, for importing into a directory that already holds data (objects are matched by
their natural key: agency code, agency+site code, hostname, hostname+interface, link
name, prefix, agency+contact name, agency+service name):

``create`` (default)
    an object that already exists is an error: the safe choice for a first load;
``upsert``
    existing objects take the values in the file; a column or key absent from the file is
    left alone, an empty cell clears the field;
``skip``
    existing objects are left as they are, new ones are created (idempotent re-runs).

Rows are written in dependency order whatever the order of files and rows: agencies
(parents before children), sites, devices, interfaces, links, prefixes, contacts, services.
Files are read once when their sections come in that order (an export, a CSV folder);
otherwise the import starts again reading each file once per kind it holds.  An agency
whose parent comes later in the file waits (in memory) until the parent is written.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import models as m
from . import store
from .bulkload import BulkLoader
from .errors import ImportFailed, Invalid
from .import_errors import ErrorLog
from .import_rules import FIELDS, KEYS, LABEL, MODES, Checked, check_row, key_label, key_of
from .import_run import ImportReport, Run
from .readers import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    KINDS,
    Parsed,
    Problem,
    Row,
    guess_format,
    iter_file,
    kind_of,
)

__all__ = ["FIELDS", "KEYS", "MODES", "ImportReport", "import_files", "import_rows",
           "read_files"]

RANK = {kind: i for i, kind in enumerate(KINDS)}
Key = tuple[Any, ...]


# --- the files ----------------------------------------------------------------------------------


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files as given; a directory stands for the import files inside it (an export)."""
    out: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(str(p) for p in Path(path).iterdir()
                           if p.is_file() and guess_format(str(p)))
            out.extend(found)
        else:
            out.append(path)
    return out


@dataclass
class _Source:
    path: str
    name: str  # as errors show it
    fmt: str | None
    kind: str | None  # a CSV file's kind (None: JSON/YAML hold several)
    kinds: set[str] | None = None  # the kinds it holds, once read in full
    first_read: bool = True

    @property
    def rank(self) -> int:
        return RANK[self.kind] if self.kind else -1


def _sources(paths: Sequence[str], fmt: str | None, kind: str | None, max_bytes: int,
             stack: ExitStack) -> list[_Source]:
    if fmt is not None and fmt not in FORMATS:
        raise Invalid(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if kind is not None and kind not in KINDS:
        raise Invalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    files = expand_paths(paths)
    if not files:
        raise Invalid("import: no files to read (a directory holds no .csv/.json/.yaml files)")
    out = []
    for path in files:
        name = "<stdin>" if path == "-" else path
        file_fmt = fmt or guess_format(path)
        if path == "-":  # read twice if need be: keep a bounded copy
            path = _spool_stdin(max_bytes, stack)
        csv_kind = (kind or kind_of(Path(name).stem)) if file_fmt == "csv" else None
        out.append(_Source(path, name, file_fmt, csv_kind))
    return out


def _spool_stdin(max_bytes: int, stack: ExitStack) -> str:
    import sys

    tmp = stack.enter_context(tempfile.NamedTemporaryFile(prefix="gin-import-"))  # noqa: SIM115
    left = max_bytes + 1
    while left > 0 and (data := sys.stdin.buffer.read(min(left, 1 << 20))):
        tmp.write(data)
        left -= len(data)
    tmp.flush()
    return tmp.name


def _read(src: _Source, max_bytes: int, encoding: str) -> Iterator[Row | Problem]:
    if src.fmt is None:
        return iter([Problem(src.name, 1, "format: cannot tell the format from the name; "
                                          "use .csv, .json, .yaml or pass --format")])
    return iter_file(src.path, src.fmt, src.name, src.kind, max_bytes, encoding)


def _one_pass(sources: list[_Source], log: ErrorLog, max_bytes: int,
              encoding: str) -> Iterator[Row]:
    """Every file once, CSV files in kind order (the engine stops if kinds go backwards)."""
    for src in sorted(sources, key=lambda s: s.rank):
        for item in _read(src, max_bytes, encoding):
            if isinstance(item, Row):
                yield item
            else:
                log.add(item.source, item.line, item.message)


def _per_kind(sources: list[_Source], log: ErrorLog, max_bytes: int,
              encoding: str) -> Iterator[Row]:
    """Each file once per kind it holds, the kinds in writing order."""
    for kind in KINDS:
        for src in sources:
            if src.kind is not None and src.kind != kind and not src.first_read:
                continue
            if src.kinds is not None and kind not in src.kinds:
                continue
            kinds: set[str] = set()
            for item in _read(src, max_bytes, encoding):
                if isinstance(item, Row):
                    kinds.add(item.kind)
                    if item.kind == kind:
                        yield item
                elif src.first_read:
                    log.add(item.source, item.line, item.message)
            if src.first_read:
                src.first_read, src.kinds = False, kinds


class _OutOfOrder(Exception):
    """A file holds a kind after one that must be written after it."""


def read_files(paths: Sequence[str], fmt: str | None = None, kind: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, encoding: str = "utf-8") -> Parsed:
    """Read every file into memory (small inputs and tests; the import itself streams)."""
    _check_encoding(encoding)
    out = Parsed()
    with ExitStack() as stack:
        for src in _sources(paths, fmt, kind, max_bytes, stack):
            out.add(_read(src, max_bytes, encoding))
    return out


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise Invalid(f"encoding: {encoding!r} is not a known text encoding") from None


# --- writing ------------------------------------------------------------------------------------


class _Engine:
    """Takes rows kind by kind in writing order; checks each and writes it (in batches)."""

    def __init__(self, session: Session, mode: str, report: ImportReport, log: ErrorLog,
                 tick: Callable[[int], None], fast: bool) -> None:
        self.session = session
        self.report = report
        self.log = log
        self.run = Run(session, mode, report, log, tick)
        self.bulk = BulkLoader(session, self.run) if fast else None
        self.kind: str | None = None
        self.seen: dict[str, dict[Key, int]] = {k: {} for k in KINDS}  # key -> place
        self.waiting: dict[str, list[Checked]] = {}  # parent code -> agencies waiting for it

    def take(self, row: Row) -> None:
        if row.kind != self.kind:
            if self.kind is not None and RANK[row.kind] < RANK[self.kind]:
                raise _OutOfOrder(row.kind)
            self._end_kind()
            self.kind = row.kind
        self.report.rows += 1
        item, problems = check_row(row)
        if item is None:
            for problem in problems:
                self.run.error(row, problem)
            key = key_of(row)
            if key is not None:
                self.run.rejected.setdefault((row.kind, key), self.log.place(row.source,
                                                                             row.line))
            self.run.tick(1)
            return
        seen = self.seen[row.kind]
        first, here = seen.get(item.key), self.log.place(row.source, row.line)
        if first is not None:  # the error goes to the later of the two in the files' order
            label = key_label(row.kind, item.key)
            what = f"{KEYS[row.kind][-1]}: duplicate {LABEL[row.kind]} {label!r}, first given at"
            if here < first:
                where = self.log.where(first)
                self.log.add(*where.rsplit(":", 1)[0:1], int(where.rsplit(":", 1)[1]),
                             f"{what} {row.where}")
            else:
                self.run.error(row, f"{what} {self.log.where(first)}")
            self.run.tick(1)
            return
        seen[item.key] = here
        parent = item.values.get("parent") if row.kind == "agencies" else None
        if parent is not None and parent == item.values["code"]:
            self.run.reject(item, f"parent: agencies form a cycle ({parent} -> {parent})")
            self.run.tick(1)
            return
        if parent is not None and not self._agency_known(parent):
            self.waiting.setdefault(parent, []).append(item)
            return
        self._write(item)

    def _agency_known(self, code: str) -> bool:
        """Can a child of ``code`` be written now?  (Yes too if the parent was rejected: its
        writer then says so.)"""
        if ("agencies", (code,)) in self.run.rejected:
            return True
        if self.bulk is not None:
            return (code,) in self.bulk.ids["agencies"]
        return self.session.scalar(select(m.Agency.id).where(m.Agency.code == code)) is not None

    def _write(self, item: Checked) -> None:
        todo = [item]
        while todo:
            it = todo.pop()
            if self.bulk is not None and self.bulk.takes(it):
                self.bulk.add(it)
            else:
                if self.bulk is not None:
                    self.bulk.flush()  # so the careful path sees, and is not blamed for, it
                self.run.apply(it)
            self.run.tick(1)
            if self.waiting and it.kind == "agencies":
                todo.extend(reversed(self.waiting.pop(it.values["code"], [])))

    def _end_kind(self) -> None:
        if self.waiting:  # parents never written: missing, or a cycle
            left = [it for items in self.waiting.values() for it in items]
            self.waiting.clear()
            for it in _parents_first(left, self.run):
                self._write(it)
        if self.bulk is not None:
            self.bulk.flush()

    def close(self) -> None:
        self._end_kind()
        if self.bulk is not None:
            self.bulk.close()


def _parents_first(items: list[Checked], run: Run) -> list[Checked]:
    """Agencies ordered so that a parent among them comes before its children; the members
    of a cycle are rejected."""
    by_code = {it.values["code"]: it for it in items}
    order: list[Checked] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(item: Checked, chain: list[str]) -> None:
        code = item.values["code"]
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            cycle = " -> ".join([*chain[chain.index(code):], code])
            raise _Cycle(cycle)
        state[code] = 1
        parent = item.values.get("parent")
        if parent in by_code:
            visit(by_code[parent], [*chain, code])
        state[code] = 2
        order.append(item)

    for item in items:
        try:
            visit(item, [])
        except _Cycle as cyc:
            for code in str(cyc).split(" -> ")[:-1]:
                if state.get(code) != 2:
                    state[code] = 2
                    run.reject(by_code[code], f"parent: agencies form a cycle ({cyc})")
                    run.tick(1)
    rejected = {k for (kind, k) in run.rejected if kind == "agencies"}
    return [it for it in order if it.key not in rejected]


class _Cycle(Exception):
    pass


def _finish(report: ImportReport, log: ErrorLog) -> ImportReport:
    report.errors = log.lines()
    report.rejected = log.total
    return report


def import_rows(session: Session, rows: Iterable[Row], mode: str = "create",
                errors: Sequence[str] = (), progress: Callable[[int], None] | None = None,
                fast: bool = True) -> ImportReport:
    """Check and write ``rows`` (in memory, any order) in ``session``; return the report.

    Nothing is committed here: the caller's transaction decides (see :func:`import_files`).
    ``fast`` lets plain creations take :mod:`directory.bulkload`'s batched path; with
    ``fast=False`` every row takes the careful path (same results, slower: the tests
    compare both).
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    log = ErrorLog()
    for text in errors:
        log.add_text(text)
    report = ImportReport()
    engine = _Engine(session, mode, report, log, progress or (lambda n: None), fast)
    for row in sorted(rows, key=lambda r: RANK[r.kind]):
        engine.take(row)
    engine.close()
    return _finish(report, log)


def import_files(directory: store.Directory, paths: Sequence[str], fmt: str | None = None, *,
                 kind: str | None = None, mode: str = "create", partial: bool = False,
                 dry_run: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 encoding: str = "utf-8",
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import files into the directory in one transaction, streaming them.

    Raises :class:`ImportFailed` (and writes nothing) if any row is bad, unless ``partial``:
    then the good rows are committed and the report lists the bad ones.  ``dry_run`` does
    everything (every check, every insert, in the database) and then rolls back: the report
    says what an import would do.  ``encoding`` is the files' text encoding (UTF-8 unless
    told, e.g. ``cp874`` for a Thai Excel CSV).  ``progress`` is called as rows are done.
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    _check_encoding(encoding)
    tick = progress or (lambda n: None)
    with ExitStack() as stack:
        sources = _sources(paths, fmt, kind, max_bytes, stack)
        per_kind = False
        while True:
            log = ErrorLog([s.name for s in sources])
            report = ImportReport()
            rows = (_per_kind if per_kind else _one_pass)(sources, log, max_bytes, encoding)
            try:
                with directory.transaction() as session:
                    engine = _Engine(session, mode, report, log, tick, fast=True)
                    for row in rows:
                        engine.take(row)
                    engine.close()
                    _finish(report, log)
                    if report.rejected and not partial:
                        raise ImportFailed(report.errors, total=report.rejected)
                    if dry_run:
                        raise _DryRun(report)
            except _DryRun as done:
                return done.report
            except _OutOfOrder:
                per_kind = True  # rolled back: start again, a kind at a time
                continue
            return report
    raise AssertionError("unreachable")


class _DryRun(Exception):
    """Raised inside the transaction so that it rolls back; carries the report out."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report



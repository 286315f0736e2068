"""Import a whole directory (or part of one) from CSV, JSON or YAML files.

All-or-nothing by default: every row of every file is read, checked and tried inside one
transaction, each row in its own savepoint so that one bad row does not hide the next
one's problem.  If anything is wrong the transaction is rolled back and
:class:`~directory.errors.ImportFailed` lists every error as ``file:line: field: what``.
With ``partial=True`` the good rows are committed and the bad ones reported.

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
"""


from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from . import store
from .bulkload import BulkLoader
from .errors import ImportFailed, Invalid
from .import_rules import (
    FIELDS,
    KEYS,
    LABEL,
    MODES,
    Checked,
    check_row,
    key_label,
    key_of,
)
from .import_run import ImportReport, Run
from .readers import (
    DEFAULT_MAX_BYTES,
    FORMATS,
    KINDS,
    Parsed,
    Row,
    decode,
    guess_format,
    read_limited,
    read_text,
)

__all__ = ["FIELDS", "KEYS", "MODES", "ImportReport", "import_files", "import_rows",
           "read_files"]


# --- reading ------------------------------------------------------------------------------------


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


def read_files(paths: Sequence[str], fmt: str | None = None, kind: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, encoding: str = "utf-8") -> Parsed:
    """Read and shape every file; every problem is collected, none is raised."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise Invalid(f"encoding: {encoding!r} is not a known text encoding") from None
    result = Parsed()
    if fmt is not None and fmt not in FORMATS:
        raise Invalid(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if kind is not None and kind not in KINDS:
        raise Invalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    files = expand_paths(paths)
    if not files:
        raise Invalid("import: no files to read (a directory holds no .csv/.json/.yaml files)")
    for path in files:
        source = "<stdin>" if path == "-" else path
        file_fmt = fmt or guess_format(path)
        if file_fmt is None:
            result.errors.append(f"{source}:1: format: cannot tell the format from the name; "
                                 "use .csv, .json, .yaml or pass --format")
            continue
        try:
            text = decode(read_limited(path, max_bytes), encoding)
        except OSError as exc:
            result.errors.append(f"{source}:1: file: cannot read it ({exc.strerror or exc})")
            continue
        except ValueError as exc:
            msg = str(exc)
            result.errors.append(f"{source}:{msg}" if msg[:1].isdigit() else f"{source}:1: "
                                 f"file: {msg}")
            continue
        parsed = read_text(text, file_fmt, source, kind)
        result.rows.extend(parsed.rows)
        result.errors.extend(parsed.errors)
    return result


# --- writing ------------------------------------------------------------------------------------


def import_rows(session: Session, rows: Sequence[Row], mode: str = "create",
                errors: Sequence[str] = (), progress: Callable[[int], None] | None = None,
                fast: bool = True) -> ImportReport:
    """Check and write ``rows`` in ``session``; return the report (errors included).

    Nothing is committed here: the caller's transaction decides (see :func:`import_files`).
    ``fast`` lets plain creations take :mod:`directory.bulkload`'s batched path; with
    ``fast=False`` every row takes the careful path (same results, slower: the tests
    compare both).
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    report = ImportReport(rows=len(rows), errors=list(errors))
    tick = progress or (lambda n: None)
    checked: dict[str, list[Checked]] = {k: [] for k in KINDS}
    seen: dict[tuple[str, tuple[Any, ...]], Row] = {}
    run = Run(session, mode, report, tick)
    for row in rows:
        item, problems = check_row(row)
        if item is None:
            report.errors.extend(problems)
            key = key_of(row)
            if key is not None:
                run.rejected.setdefault((row.kind, key), row.where)
            tick(1)
            continue
        first = seen.setdefault((row.kind, item.key), row)
        if first is not row:  # (not by line: a JSON file may hold two rows on one line)
            label = key_label(row.kind, item.key)
            report.errors.append(f"{row.where}: {KEYS[row.kind][-1]}: duplicate "
                                 f"{LABEL[row.kind]} {label!r}, first given at {first.where}")
            tick(1)
            continue
        checked[row.kind].append(item)
    bulk = BulkLoader(session, run) if fast else None
    for kind in KINDS:
        items = _parents_first(checked[kind], run) if kind == "agencies" else checked[kind]
        for item in items:
            if bulk is not None and bulk.takes(item):
                bulk.add(item)
            else:
                if bulk is not None:
                    bulk.flush()  # so the careful path sees, and is not blamed for, the batch
                run.apply(item)
            tick(1)
        if bulk is not None:
            bulk.flush()
    if bulk is not None:
        bulk.close()
    return report


def _parents_first(items: list[Checked], run: Run) -> list[Checked]:
    """Agencies ordered so that a parent in the file is written before its children."""
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


def import_files(directory: store.Directory, paths: Sequence[str], fmt: str | None = None, *,
                 kind: str | None = None, mode: str = "create", partial: bool = False,
                 dry_run: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 encoding: str = "utf-8",
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> ImportReport:
    """Import files into the directory in one transaction.

    Raises :class:`ImportFailed` (and writes nothing) if any row is bad, unless ``partial``:
    then the good rows are committed and the report lists the bad ones.  ``dry_run`` does
    everything (every check, every insert, in the database) and then rolls back: the report
    says what an import would do.  ``encoding`` is the files' text encoding (UTF-8 unless
    told, e.g. ``cp874`` for a Thai Excel CSV).  ``on_total`` is told the number of rows
    once the files are read (to size a progress bar); ``progress`` is called as rows are done.
    """
    if mode not in MODES:
        raise Invalid(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    parsed = read_files(paths, fmt, kind, max_bytes, encoding)
    if on_total:
        on_total(len(parsed.rows))
    try:
        with directory.transaction() as session:
            report = import_rows(session, parsed.rows, mode, parsed.errors, progress)
            if report.errors and not partial:
                raise ImportFailed(report.errors)
            if dry_run:
                raise _DryRun(report)
    except _DryRun as done:
        return done.report
    return report


class _DryRun(Exception):
    """Raised inside the transaction so that it rolls back; carries the report out."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report

"""Printing for people (rich tables) and for scripts (``--json``): one place, one style."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console

# emoji=False: rich would turn the ":100:" in 2001:db8:2:100::/56 into an emoji.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_json(data: Any) -> None:
    """Stable, UTF-8 JSON on stdout (Thai names stay readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_plain) + "\n")


def emit_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], as_json: bool,
              title: str | None = None) -> None:
    """A list: JSON array of objects, or a table with the given columns."""
    if as_json:
        print_json([dict(r) for r in rows])
        return
    from rich.table import Table  # tables, progress bars: imported by the output that needs them

    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")  # never cut a prefix or a name to "…"
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(_plain(row.get(c))) for c in columns))
    console.print(table)
    if not rows:
        console.print("(none)")


def note_page(what: str, shown: int, more: int | None, how: str) -> None:
    """Say on stderr that a list stops before its end, in table and JSON mode alike: a
    script reading a JSON array must never take the first page for the whole.  ``more``
    is how many rows follow (None: some, not counted); ``how`` says how to see them."""
    if more == 0:
        return
    count = f"{more} more" if more is not None else "more"
    click.echo(f"gin: {count} {what} after these {shown} ({how})", err=True)


def emit_object(data: Mapping[str, Any], as_json: bool) -> None:
    """One object: JSON, or a two-column key/value table."""
    if as_json:
        print_json(dict(data))
        return
    from rich.table import Table

    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(_plain(value)))
    console.print(table)


@contextmanager
def progress(total: int, label: str, quiet: bool = False) -> Iterator[Any]:
    """A progress bar on a TTY; silent for ``--json`` and when output is not a terminal."""
    if quiet or not err_console.is_terminal:
        yield lambda n=1: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err_console, transient=True)
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)


def tick(items: Iterable[Any], total: int, label: str, quiet: bool = False) -> Iterator[Any]:
    """Iterate with a progress bar (see :func:`progress`)."""
    with progress(total, label, quiet) as advance:
        for item in items:
            yield item
            advance()

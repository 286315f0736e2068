"""``gin directory import|export|samples|synth|inventory``: the directory in and out.

Thin, like every command: parse, call :mod:`directory.transfer`, :mod:`directory.samples`,
:mod:`directory.synth` or :mod:`directory.exports`, print.  The ``directory`` group
adds these commands (see ``gin/commands/directory.py``).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from directory import exports
from directory.errors import ImportFailed
from directory.importer import MODES, import_rows
from directory.readers import DEFAULT_MAX_BYTES, FORMATS, KINDS, Row
from directory.transfer import export_data, import_files, write_export
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_rows, err_console, print_json, progress


def _summary(report: Any, as_json: bool, title: str, **extra: Any) -> None:
    if as_json:
        print_json({**extra, **report.as_dict()})
        return
    kinds = [k for k in KINDS if report.created[k] or report.updated[k] or report.unchanged[k]]
    rows = [{"kind": k, "created": report.created[k], "updated": report.updated[k],
             "unchanged": report.unchanged[k]} for k in kinds]
    emit_rows(rows, ["kind", "created", "updated", "unchanged"], False, title)
    for line in report.errors:
        err_console.print(f"rejected: {line}", markup=False, soft_wrap=True)


def _columns_help() -> str:
    """The epilog of ``import --help``: every kind's columns, required ones starred."""
    from directory.import_rules import FIELDS, required
    from directory.readers import LIST_FIELDS

    lines = ["\b", "Columns / fields per kind (* required):"]
    for kind, fields in FIELDS.items():
        names = [f"{f}*" if required(kind, f) else f for f in fields]
        lines.append(f"  {kind + ':':12} {', '.join(names)}")
    lists = ", ".join(f"{kind} {name}" for kind, name in sorted(LIST_FIELDS))
    lines.append(f"Lists ({lists}): a JSON/YAML list; in CSV one cell, items separated by "
                 "spaces.")
    return "\n".join(lines)


@click.command("import", epilog=_columns_help())
@click.argument("files", nargs=-1, required=True, metavar="FILE|DIR...")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="File format (default: from each file's extension).")
@click.option("--kind", type=click.Choice(KINDS),
              help="What a CSV file holds when its name does not say (agencies.csv, ...).")
@click.option("--mode", type=click.Choice(MODES), default="create", show_default=True,
              help="create: existing objects are errors; upsert: update them from the file; "
                   "skip: leave them as they are.")
@click.option("--partial", is_flag=True,
              help="Import the good rows and report the bad ones (default: all or nothing).")
@click.option("--dry-run", is_flag=True,
              help="Check and try everything, then roll back: what would the import do?")
@click.option("--encoding", default="utf-8", show_default=True,
              help="Text encoding of the files (e.g. cp874 for a Thai Excel CSV).")
@click.option("--max-size", type=click.FloatRange(min=0.001), default=DEFAULT_MAX_BYTES / 2**20,
              show_default=True, metavar="MB", help="Refuse files bigger than this.")
@json_option
@pass_ctx
def import_(ctx: Context, files: tuple[str, ...], fmt: str | None, kind: str | None, mode: str,
            partial: bool, dry_run: bool, encoding: str, max_size: float,
            as_json: bool) -> None:
    """Import agencies, sites, devices, interfaces, links, prefixes, contacts and services.

    FILE is CSV (one kind per file, header row of field names, NetBox style: agencies.csv,
    sites.csv, ...), JSON or YAML (one document with a list per kind, as `gin directory
    export` writes).  A DIR imports every such file inside it (a CSV export folder).
    Rows are written parents first, whatever their order, in one transaction: any bad row
    and nothing is written, every problem listed as FILE:LINE: FIELD: WHAT.  Exit 1 if any
    row was rejected (also with --partial, after importing the good ones).
    """
    with ExitStack() as stack:
        bar: dict[str, Any] = {"advance": None}
        reading = None
        if not as_json and err_console.is_terminal:  # a big YAML file takes a while to parse
            reading = err_console.status("reading and checking files...")
            reading.start()
            stack.callback(reading.stop)

        def on_total(total: int) -> None:
            if reading is not None:
                reading.stop()  # one live display at a time: the bar replaces the spinner
            bar["advance"] = stack.enter_context(progress(total, "importing", as_json))

        def advance(n: int) -> None:
            if bar["advance"] is not None:
                bar["advance"](n)

        failed: ImportFailed | None = None
        try:
            report = import_files(ctx.directory, list(files), fmt, kind=kind, mode=mode,
                                  partial=partial, dry_run=dry_run, encoding=encoding,
                                  max_bytes=int(max_size * 2**20),
                                  progress=advance, on_total=on_total)
        except ImportFailed as exc:
            failed = exc
    if failed is not None:  # printed once the progress bar is gone
        if as_json:
            print_json({"imported": False, "rejected": len(failed.errors),
                        "errors": failed.errors})
        else:  # every error on one unwrapped line, so it can be grepped and jumped to
            err_console.print(f"gin: error: import rejected, nothing written "
                              f"({len(failed.errors)} errors):", markup=False)
            for line in failed.errors:
                err_console.print(line, markup=False, soft_wrap=True)
        raise click.exceptions.Exit(1)
    title = "Imported" if not report.errors else "Imported (partial)"
    _summary(report, as_json, f"{title}: dry run, nothing written" if dry_run else title,
             imported=not dry_run, dry_run=dry_run)
    if report.errors:
        if not as_json:
            err_console.print(f"gin: {len(report.errors)} row(s) rejected, the rest imported")
        raise click.exceptions.Exit(1)


def _atomic_write(path: str, text: str) -> None:
    """Write via a temporary file and rename: Prometheus and Ansible never see half a file."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise click.FileError(path, exc.strerror) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise click.FileError(path, exc.strerror) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _format_for(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix in (".yaml", ".yml"):
            return "yaml"
        if suffix == ".json":
            return "json"
        if suffix == "" or Path(output).is_dir():
            return "csv"
    return "json"


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="json, yaml, or csv (a folder of one file per kind). Default: from -o.")
@click.option("-o", "--output", metavar="FILE|DIR", help="Where to write (default: stdout).")
@pass_ctx
def export(ctx: Context, fmt: str | None, output: str | None) -> None:
    """Export the whole directory in the layout `gin directory import` reads.

    Deterministic: the same directory always gives the same bytes, so exports diff well
    and an export imported into an empty directory exports back identically.
    """
    fmt = _format_for(fmt, output)
    if fmt == "csv" and (output is None or output == "-"):
        raise click.UsageError("csv export writes one file per kind: give a folder with -o DIR")
    with ctx.directory.transaction() as s:
        data = export_data(s)
    written = write_export(data, fmt, None if output in (None, "-") else output)
    if written:
        err_console.print(f"wrote {', '.join(written)}", markup=False)


@click.group("samples")
def samples() -> None:
    """Sample data: Thai ministries, e-Government agencies and the 77 provincial halls."""


@samples.command("load")
@json_option
@pass_ctx
def samples_load(ctx: Context, as_json: bool) -> None:
    """Add the sample agencies and provincial halls (idempotent: adds only what is missing)."""
    from directory.samples import load_samples

    with ctx.directory.transaction() as s:
        report = load_samples(s)
    _summary(report, as_json, "Samples")


@click.command("synth")
@click.option("--agencies", type=click.IntRange(1, 65000), default=2154, show_default=True,
              help="How many agencies (the GIN linked 2,154 by 2013).")
@click.option("--seed", type=int, default=2013, show_default=True, help="Same seed, same data.")
@click.option("--prefixes/--no-prefixes", default=True, show_default=True,
              help="Include the IPv6 plan (/48 per agency, /64 LANs, /127 links).")
@click.option("-o", "--output", metavar="FILE|DIR",
              help="Write a file for `gin directory import` instead of loading the database.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from -o).")
@json_option
@pass_ctx
def synth(ctx: Context, agencies: int, seed: int, prefixes: bool, output: str | None,
          fmt: str | None, as_json: bool) -> None:
    """Make a synthetic GIN directory of any size (agencies, sites, PE/CE, links, prefixes)."""
    from devices.platforms import interface_names
    from directory.synth import count_rows, synthesize

    data = synthesize(agencies, seed=seed, prefixes=prefixes, ports=interface_names())
    if output:
        fmt = _format_for(fmt, output)
        written = write_export(data, fmt, None if output == "-" else output)
        if as_json:
            print_json({"rows": count_rows(data), "files": written})
        elif written:
            err_console.print(f"wrote {count_rows(data)} rows to {', '.join(written)}",
                              markup=False)
        return
    rows = [Row(kind, "<synth>", i, row) for kind in KINDS for i, row in
            enumerate(data[kind], start=1)]
    with progress(len(rows), "loading", as_json) as advance, ctx.directory.transaction() as s:
        report = import_rows(s, rows, "create", progress=advance)
        if report.errors:
            raise ImportFailed(report.errors)
    _summary(report, as_json, f"Synthetic directory ({agencies} agencies, seed {seed})")


def network_os_table() -> dict[str, str | None]:
    """``platform -> ansible_network_os``, from the one platform table."""
    from devices.platforms import registry

    return {name: p.ansible_network_os for name, p in registry().items()}


@click.command("inventory")
@click.option("--ansible", "what", flag_value="ansible",
              help="Static Ansible inventory (YAML; with --json the --list JSON).")
@click.option("--file-sd", "what", flag_value="file-sd",
              help="Prometheus file_sd JSON: one target per device with SNMP/mgmt address.")
@click.option("--port", type=click.IntRange(1, 65535),
              help="file_sd: append this port to targets (e.g. 161 for snmp_exporter).")
@click.option("-o", "--output", metavar="FILE", help="Write here (atomically) instead of stdout.")
@json_option
@pass_ctx
def inventory(ctx: Context, what: str | None, port: int | None, output: str | None,
              as_json: bool) -> None:
    """Inventories for other tools, generated from the directory.

    For a live Ansible inventory use the gin-inventory command (a dynamic inventory
    script); this writes the same content as a static file.
    """
    if what is None:
        raise click.UsageError("choose --ansible or --file-sd")
    with ctx.directory.transaction() as s:
        if what == "ansible":
            inv = exports.ansible_inventory(s, network_os_table())
            text = None if as_json else exports.ansible_yaml(inv)
            data: Any = inv
        else:
            data = exports.file_sd(s, port)
            text = exports.file_sd_json(data)
    if text is None:
        import json

        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output and output != "-":
        _atomic_write(output, text)
        err_console.print(f"wrote {output}", markup=False)
    else:
        console.file.write(text)

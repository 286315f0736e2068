"""``gin audit``: config backups, ISO/IEC 17799 checks, and posture reports for auditors."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from audit import assess, history
from audit import report as reports
from audit.evidence import BackupStore, backup
from devices import transport as transports
from devices.errors import ConfigError
from directory.db import default_db_path
from directory.store import Directory
from gin.choices import transport_choice
from gin.commands import audit_web
from gin.context import Context, json_option, pass_ctx
from gin.output import console, emit_rows, print_json, progress

backup_dir_option = click.option(
    "--backup-dir", type=click.Path(file_okay=False), envvar="GIN_BACKUP_DIR",
    help="Where backups live (default ~/.local/share/gin/backups). Env: GIN_BACKUP_DIR.")


@click.group()
def audit() -> None:
    """Security posture: config backups, ISO/IEC 17799 checks, auditor reports."""


@audit.command("backup")
@click.argument("devices", nargs=-1)
@click.option("--via", type=transport_choice(), default="netmiko",
              show_default=True, help="Transport.")
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--host-files", is_flag=True,
              help="Also collect Linux (FRR) routers' /etc files (sshd, rsyslog, chrony, "
                   "snmpd, nftables) over SFTP (netmiko transport), redacted; 'gin audit "
                   "check' then audits the newest ones.")
@backup_dir_option
@json_option
@pass_ctx
def backup_cmd(ctx: Context, devices: tuple[str, ...], via: str, workers: int,
               host_files: bool, backup_dir: str | None, as_json: bool) -> None:
    """Collect running configs (default: every device); store new versions (exit 3 if any
    device could not be backed up)."""
    store = BackupStore(backup_dir)
    transport = transports.get(via)
    total = len(devices) or _device_count(ctx)
    with progress(total, "backing up", quiet=as_json) as advance:
        results = backup(ctx.directory, transport, list(devices), store, workers,
                         advance=advance, host_files=host_files)
    rows = [{"device": r.device, "status": r.status,
             "sha256": r.sha256[:12] if r.sha256 and not as_json else r.sha256,
             "time": r.time, "error": r.error} | ({"what": r.what} if host_files else {})
            for r in results]
    columns = ["device", *(["what"] if host_files else []), "status", "sha256", "time", "error"]
    emit_rows(rows, columns, as_json, "Backups")
    if any(r.status == "failed" for r in results):
        raise click.exceptions.Exit(3)


def _device_count(ctx: Context) -> int:
    from directory import models as m
    from directory import store

    with ctx.directory.transaction() as s:
        return len(store.list_all(s, m.Device))


@audit.command("diff")
@click.argument("device")
@click.option("--from", "older", metavar="SHA", help="Older version (SHA-256 prefix).")
@click.option("--to", "newer", metavar="SHA", help="Newer version (default: the newest).")
@click.option("--host", "host_files", is_flag=True,
              help="The host files (sshd, snmpd, ...) of the two newest --host-files "
                   "collections instead of the config.")
@backup_dir_option
@json_option
def diff_cmd(device: str, older: str | None, newer: str | None, host_files: bool,
             backup_dir: str | None, as_json: bool) -> None:
    """Show what changed between two backed-up versions of DEVICE's config (or host files)."""
    store = BackupStore(backup_dir)
    if host_files and (older or newer):
        raise click.UsageError("--host compares the two newest collections: no --from/--to")
    lines = store.host_diff(device) if host_files else store.diff(device, older, newer)
    if as_json:
        print_json({"device": device, "diff": lines})
        return
    if not lines:
        console.print(f"{device}: no change between the versions compared")
    sys.stdout.write("".join(ln + "\n" for ln in lines))


def _has_directory(ctx: Context) -> bool:
    """Is there a directory to consult (given, or the default one exists)?"""
    return ctx.db is not None or bool(os.environ.get("GIN_DB")) or default_db_path().exists()


def _directory(ctx: Context) -> Directory | None:
    """The directory, without creating one that does not exist yet."""
    return ctx.directory if _has_directory(ctx) else None


def _scope(ctx: Context, agency: str | None, ministry: str | None) -> assess.Scope:
    if agency and ministry:
        raise click.UsageError("give --agency or --ministry, not both")
    return assess.scope_of(_directory(ctx) if ministry else None, agency, ministry)


def _assess(ctx: Context, configs: str | None, host_dir: str | None,
            prometheus: str | None, agency: str | None, ministry: str | None,
            max_age_days: int, workers: int | None, backup_dir: str | None,
            store: bool, quiet: bool) -> assess.Assessment:
    """Audit once (stored when asked and there is a directory); say on stderr which
    evidence files were not read and when a run could not be stored."""
    evidence = assess.Evidence(directory=_directory(ctx), backups=BackupStore(backup_dir),
                               configs=configs, host_dir=host_dir, prometheus=prometheus,
                               max_age_days=max_age_days)
    result = assess.assess(_scope(ctx, agency, ministry), evidence, store=store,
                           workers=workers,
                           progress=lambda total: progress(total, "auditing", quiet=quiet))
    for path, why in result.skipped:
        click.echo(f"skipped {path}: {why}", err=True)
    if store and result.run_id is None:
        click.echo("run not recorded: no directory to store it in (give --db or GIN_DB); "
                   "no trend", err=True)
    return result


configs_option = click.option(
    "--configs", type=click.Path(file_okay=False, exists=True),
    help="Audit a folder of config files instead of the backups: <device>[.<platform>] with "
         ".cfg, .conf, .txt or no extension (anything else is named as skipped); a "
         "devices.yaml there gives platform, role and agency per device. A device the "
         "directory or devices.yaml lists without a file is audited as unknown.")
agency_option = click.option("--agency", metavar="CODE", help="Only this agency's devices.")
ministry_option = click.option("--ministry", metavar="CODE",
                               help="Only the devices of this ministry and of every agency "
                                    "under it (recursively; needs the directory).")
workers_option = click.option("--workers", type=click.IntRange(1, 64),
                              help="Processes that parse configs (default: the CPUs, "
                                   "from 200 configs on).")
host_option = click.option(
    "--host-evidence", "host_dir", type=click.Path(file_okay=False, exists=True),
    help="Folder of Linux routers' /etc files, one sub-folder per device "
         "(<DIR>/<device>/etc/ssh/sshd_config, etc/snmp/snmpd.conf, etc/rsyslog.conf, "
         "etc/chrony/chrony.conf, etc/nftables.conf): FRR's sshd, syslog, time, SNMP and "
         "firewall checks read it. Without it they read the newest files collected by "
         "`gin audit backup --host-files`, and are unknown when there are none.")
prometheus_option = click.option(
    "--prometheus", metavar="URL", envvar="GIN_PROMETHEUS_URL",
    help="The SOC's Prometheus (http://host:9090): which devices are scraped and up "
         "(gin_snmp_up), threat events as evidence. Without it 10.10.2 is unknown. "
         "Env: GIN_PROMETHEUS_URL.")
age_option = click.option("--max-age-days", type=click.IntRange(1, 3650), default=7,
                          show_default=True, help="A backup older than this fails 10.5.1.")


fail_on_option = click.option(
    "--fail-on", type=click.Choice(assess.SEVERITIES), metavar="SEVERITY",
    help="For pipelines: exit 5 when any finding fails at this severity or above "
         f"({', '.join(assess.SEVERITIES)}).")
no_history_option = click.option(
    "--no-history", "keep_history", is_flag=True, flag_value=False, default=True,
    help="Do not store this run in the directory (and show no trend).")
#: Exit status of ``--fail-on`` when a failing finding reaches the severity.
FAILED_FINDINGS = 5


@audit.command("check")
@configs_option
@host_option
@prometheus_option
@agency_option
@ministry_option
@age_option
@workers_option
@fail_on_option
@no_history_option
@backup_dir_option
@json_option
@pass_ctx
def check_cmd(ctx: Context, configs: str | None, host_dir: str | None,
              prometheus: str | None, agency: str | None,
              ministry: str | None, max_age_days: int, workers: int | None,
              fail_on: str | None, keep_history: bool, backup_dir: str | None,
              as_json: bool) -> None:
    """Run every check on the newest backups (or --configs DIR); one row per device.  The
    run is stored in the directory (its id is printed: 'gin audit report --run ID' renders
    it); --fail-on exits 5 when a failing finding reaches that severity."""
    result = _assess(ctx, configs, host_dir, prometheus, agency, ministry, max_age_days,
                     workers, backup_dir, keep_history, as_json)
    if as_json:
        print_json(result.data())
    else:
        rows = []
        for a in result.audits:
            count = {s: sum(1 for f in a.findings if f.status.value == s)
                     for s in ("pass", "fail", "unknown", "not_applicable")}
            rows.append({"device": a.device, "agency": a.agency, "platform": a.platform,
                         **count, "note": a.error or "; ".join(a.warnings)})
        emit_rows(rows, ["device", "agency", "platform", "pass", "fail", "unknown",
                         "not_applicable", "note"], False, "Audit")
        if result.run_id is not None:
            console.print(f"run {result.run_id} recorded "
                          f"(gin audit report --run {result.run_id} --format ...)")
    if fail_on and result.failing(fail_on):
        click.echo(f"{len(result.failing(fail_on))} failing finding(s) at severity "
                   f"{fail_on} or above", err=True)
        raise click.exceptions.Exit(FAILED_FINDINGS)


@audit.command("report")
@configs_option
@host_option
@prometheus_option
@agency_option
@ministry_option
@age_option
@click.option("--run", "run", metavar="ID|latest",
              help="Render a stored run (see 'gin audit runs'; 'latest': the newest, of "
                   "--agency/--ministry's scope when given) instead of auditing again.")
@click.option("--format", "fmt", type=click.Choice(reports.FORMATS), required=True,
              help="pdf is the HTML page printed by headless Chromium; oscal is OSCAL "
                   "assessment-results JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="File to write.")
@click.option("--lang", type=click.Choice(["en", "th"]), default="en", show_default=True,
              help="Labels of the HTML report.")
@click.option("--all-findings", "show_all", is_flag=True,
              help="HTML/PDF: list every finding, passes included (default: failing and "
                   "unknown ones).")
@click.option("--classification", metavar="MARKING",
              help="HTML/PDF: the marking on the cover and every page (default: ลับ in Thai, "
                   "CONFIDENTIAL in English).")
@no_history_option
@workers_option
@backup_dir_option
@pass_ctx
def report_cmd(ctx: Context, configs: str | None, host_dir: str | None,
               prometheus: str | None, agency: str | None,
               ministry: str | None, max_age_days: int, run: str | None, fmt: str,
               output: str, lang: str, show_all: bool, classification: str | None,
               keep_history: bool, workers: int | None, backup_dir: str | None) -> None:
    """Write a posture report of the GIN, one agency or one ministry (scores per agency and
    clause, findings with evidence, the trend since the previous run of the same scope).

    With --run, a stored run is rendered (nothing is audited or recorded: every format of
    one audit shows the same run); without it, the audit runs and is recorded once."""
    if run is not None:
        given = [name for name, value in (("--configs", configs), ("--host-evidence", host_dir),
                                          ("--prometheus", prometheus)) if value]
        if given or not keep_history:
            raise click.UsageError(f"--run renders a stored run: no "
                                   f"{', '.join(given) or '--no-history'}")
        directory = _directory(ctx)
        if directory is None:
            raise ConfigError("--run reads the runs stored in the directory; give --db or "
                              "GIN_DB")
        scope = _scope(ctx, agency, ministry).name if (agency or ministry) else None
        result = assess.stored(directory, run, scope)
    else:
        result = _assess(ctx, configs, host_dir, prometheus, agency, ministry, max_age_days,
                         workers, backup_dir, keep_history, False)
    render: dict[str, Any] = {}
    if classification:
        render["classification"] = classification
    directory = _directory(ctx)
    if directory is not None:  # the summary's table per ministry
        from audit import ministries

        with directory.transaction() as s:
            render["ministries"] = ministries.of_agencies(s)
    result.write(Path(output), fmt, lang=lang, show_all=show_all, **render)
    which = f"run {result.run_id}" if result.run_id is not None else "unrecorded run"
    console.print(f"{fmt} report of {len(result.audits)} devices ({which}) written to {output}")


@audit.command("runs")
@agency_option
@ministry_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@json_option
@pass_ctx
def runs_cmd(ctx: Context, agency: str | None, ministry: str | None, limit: int,
             as_json: bool) -> None:
    """The audit runs stored in the directory, newest first (scope, score, counts)."""
    directory = _directory(ctx)
    if directory is None:
        raise ConfigError("audit runs are stored in the directory; give --db or GIN_DB")
    scope = _scope(ctx, agency, ministry).name if (agency or ministry) else None
    rows = history.runs(directory, scope, limit)
    emit_rows(rows, ["id", "scope", "generated_at", "actor", "score", "pass", "fail",
                     "unknown", "not_applicable", "skipped"], as_json, "Audit runs")


@audit.command("accept")
@click.argument("device")
@click.argument("check")
@click.option("--reason", required=True, help="Why the risk is accepted (shown in reports).")
@click.option("--until", "until", required=True, metavar="DATE|Nd",
              help="When the acceptance ends: YYYY-MM-DD (end of that day, UTC), an ISO time, "
                   "or days from now (90d); at most a year.")
@json_option
@pass_ctx
def accept_cmd(ctx: Context, device: str, check: str, reason: str, until: str,
               as_json: bool) -> None:
    """Accept CHECK failing on DEVICE as a risk until a date: reports keep listing the
    finding, marked accepted and out of the score, until the acceptance expires."""
    from audit import acceptance

    directory = _directory(ctx)
    if directory is None:
        raise ConfigError("accepted risks are kept in the directory; give --db or GIN_DB")
    row = acceptance.accept(directory, device, check, reason, acceptance.parse_until(until))
    if as_json:
        print_json(row)
    else:
        console.print(f"accepted {row['check']} on {row['device']} until "
                      f"{row['expires_at']} (by {row['accepted_by']})")


@audit.command("accepted")
@json_option
@pass_ctx
def accepted_cmd(ctx: Context, as_json: bool) -> None:
    """Accepted risks, newest first: who accepted what, why, until when, and whether the
    acceptance is still in force."""
    from audit import acceptance

    directory = _directory(ctx)
    if directory is None:
        raise ConfigError("accepted risks are kept in the directory; give --db or GIN_DB")
    emit_rows(acceptance.listing(directory), ["id", "device", "check", "agency", "accepted_by",
                                              "expires_at", "state", "reason"],
              as_json, "Accepted risks")


@audit.command("import-runs")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@pass_ctx
def import_runs_cmd(ctx: Context, folder: str | None) -> None:
    """Store the runs of an old runs folder (default: $GIN_AUDIT_RUNS, else
    ~/.local/share/gin/audit-runs) in the directory, so the trend goes on from them.  Those
    files kept statuses only: an imported run shows in the trend, not as a full report."""
    directory = _directory(ctx)
    if directory is None:
        raise ConfigError("audit runs are stored in the directory; give --db or GIN_DB")
    done, refused = history.import_files(directory, folder)
    for path, why in refused:
        click.echo(f"skipped {path}: {why}", err=True)
    console.print(f"{len(done)} run(s) imported" + (f": {', '.join(map(str, done))}"
                                                    if done else ""))


audit.add_command(audit_web.web)

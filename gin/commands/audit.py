"""``gin audit``: config backups, ISO/IEC 17799 checks, and posture reports for auditors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from audit import history, runner, sources
from audit import report as reports
from audit.evidence import BackupStore, backup
from devices import transport as transports
from devices.errors import ConfigError
from directory.db import default_db_path
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


def _facts(ctx: Context) -> dict[str, sources.DeviceFacts] | None:
    """The directory's facts, without creating a directory that does not exist yet."""
    return sources.directory_facts(ctx.directory) if _has_directory(ctx) else None


def _scope(ctx: Context, agency: str | None, ministry: str | None) -> tuple[str, set[str] | None]:
    """(scope name, agency codes in scope or None for everything)."""
    if agency and ministry:
        raise click.UsageError("give --agency or --ministry, not both")
    if agency:
        return agency.upper(), {agency.upper()}
    if ministry:
        if not _has_directory(ctx):
            raise ConfigError("--ministry needs the directory (which agencies are under it); "
                              "give --db or GIN_DB")
        return f"{ministry.upper()}/*", {c.upper() for c in
                                        sources.agencies_under(ctx.directory, ministry)}
    return "GIN", None


def _audits(ctx: Context, configs: str | None, backup_dir: str | None,
            agencies: set[str] | None, max_age_days: int, quiet: bool,
            workers: int | None, host_dir: str | None = None,
            prometheus: str | None = None) -> list[runner.DeviceAudit]:
    """Every finding in scope: the devices' configs (and host files) checked, plus the
    findings of the other evidence sources (:func:`_other_findings`)."""
    store = BackupStore(backup_dir)
    facts = _facts(ctx)
    if configs:
        srcs = sources.from_folder(configs, facts, store)
    else:
        srcs = sources.from_backups(store, facts)
    if agencies is not None:
        srcs = [s for s in srcs if (s.agency or "").upper() in agencies]
    if host_dir:
        srcs = sources.with_host_evidence(srcs, host_dir)
    if facts is not None:
        srcs = sources.with_change_log(srcs, store, ctx.directory)
    if prometheus:
        srcs = sources.with_monitoring(srcs, prometheus)
    if workers is None:  # processes pay off from a few hundred configs on
        workers = min(8, os.cpu_count() or 1) if len(srcs) >= 200 else 1
    with progress(len(srcs), "auditing", quiet=quiet) as advance:
        audits = runner.run(srcs, advance=advance, workers=workers,
                            backup_max_age_days=max_age_days)
    return runner.combine(audits, _other_findings(ctx, agencies))


def _other_findings(ctx: Context, agencies: set[str] | None) -> list[runner.Finding]:
    """Findings from evidence other than device configs, in scope: the newest web/TLS scan
    of each public service (``gin audit web``) and everything the directory records
    (inventory completeness, contacts, VPN protection of agency links, the VPN gateways'
    tunnels and certificates).  Nothing stored: nothing added."""
    from audit.checks.records import directory_findings
    from audit.web.checks import stored_findings

    found = stored_findings(agencies=agencies)
    if _has_directory(ctx):
        with ctx.directory.transaction() as s:
            found += directory_findings(s, agencies)
    return found


configs_option = click.option("--configs", type=click.Path(file_okay=False, exists=True),
                              help="Audit a folder of config files instead of the backups.")
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


@audit.command("check")
@configs_option
@host_option
@prometheus_option
@agency_option
@ministry_option
@age_option
@workers_option
@backup_dir_option
@json_option
@pass_ctx
def check_cmd(ctx: Context, configs: str | None, host_dir: str | None,
              prometheus: str | None, agency: str | None,
              ministry: str | None, max_age_days: int, workers: int | None,
              backup_dir: str | None, as_json: bool) -> None:
    """Run every check on the newest backups (or --configs DIR); one row per device."""
    scope, agencies = _scope(ctx, agency, ministry)
    audits = _audits(ctx, configs, backup_dir, agencies, max_age_days, as_json, workers,
                     host_dir, prometheus)
    if as_json:
        print_json(reports.to_data(audits, scope=scope))
        return
    rows = []
    for a in audits:
        count = {s: sum(1 for f in a.findings if f.status.value == s)
                 for s in ("pass", "fail", "unknown", "not_applicable")}
        rows.append({"device": a.device, "agency": a.agency, "platform": a.platform, **count,
                     "note": a.error or "; ".join(a.warnings)})
    emit_rows(rows, ["device", "agency", "platform", "pass", "fail", "unknown",
                     "not_applicable", "note"], False, "Audit")


@audit.command("report")
@configs_option
@host_option
@prometheus_option
@agency_option
@ministry_option
@age_option
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
@click.option("--no-history", "keep_history", is_flag=True, flag_value=False, default=True,
              help="Do not store this run nor compare with the previous one.")
@workers_option
@backup_dir_option
@pass_ctx
def report_cmd(ctx: Context, configs: str | None, host_dir: str | None,
               prometheus: str | None, agency: str | None,
               ministry: str | None, max_age_days: int, fmt: str, output: str, lang: str,
               show_all: bool, keep_history: bool, workers: int | None,
               backup_dir: str | None) -> None:
    """Write a posture report of the GIN, one agency or one ministry (scores per agency and
    clause, findings with evidence, the trend since the previous run of the same scope)."""
    scope, agencies = _scope(ctx, agency, ministry)
    audits = _audits(ctx, configs, backup_dir, agencies, max_age_days, False, workers,
                     host_dir, prometheus)
    data = reports.to_data(audits, scope=scope, lang=lang)
    prior = history.previous(scope, data["generated_at"]) if keep_history else None
    reports.write(Path(output), audits, fmt, scope=scope, lang=lang, prior=prior,
                  show_all=show_all)
    if keep_history:
        history.save(data)
    console.print(f"{fmt} report of {len(audits)} devices written to {output}")
audit.add_command(audit_web.web)

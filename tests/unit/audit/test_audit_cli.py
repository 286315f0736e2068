"""``gin audit`` sub-commands (on a test root: the group is wired into ``gin`` separately)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from audit.evidence import BackupStore
from directory.store import Directory
from gin.commands.audit import audit
from gin.context import Context
from tests.unit.audit.conftest import GOLDEN


@click.group()
@click.option("--db")
@click.pass_context
def root(ctx: click.Context, db: str | None) -> None:
    ctx.obj = Context(db=db, actor="cli-test")


root.add_command(audit)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIN_BACKUP_DIR", str(tmp_path / "backups"))
    folder = tmp_path / "configs"
    folder.mkdir()
    for name in ("cisco_ios_good", "cisco_ios_bad", "juniper_junos_bad", "frr_good"):
        shutil.copy(GOLDEN / f"{name}.conf", folder / f"{name}.conf")
    (folder / "devices.yaml").write_text(
        "cisco_ios_good: {platform: cisco_ios, role: pe, agency: DOPA}\n"
        "cisco_ios_bad: {platform: cisco_ios, role: pe, agency: MOF}\n"
        "frr_good: {platform: frr, role: pe, agency: DOPA}\n")
    return tmp_path


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(root, list(args), catch_exceptions=False)


def test_every_audit_command_has_help() -> None:
    for cmd in ("", "backup", "diff", "check", "report", "runs", "import-runs"):
        result = invoke("audit", *([cmd] if cmd else []), "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_check_a_folder(env: Path) -> None:
    result = invoke("audit", "check", "--configs", str(env / "configs"), "--json")
    assert result.exit_code == 0
    assert "run not recorded: no directory" in result.stderr
    data = json.loads(result.stdout)
    # no directory: the agencies' contacts and each device's inventory entry are unknown
    assert {d["device"] for d in data["devices"]} == {"cisco_ios_good", "cisco_ios_bad",
                                                      "juniper_junos_bad", "frr_good",
                                                      "DOPA", "MOF"}
    records = {(f["device"], f["check"]): f["status"] for f in data["findings"]
               if f["check"] in ("inv.complete", "org.contacts")}
    assert len(records) == 6 and set(records.values()) == {"unknown"}
    assert not (env / "xdg" / "gin" / "directory.sqlite").exists()  # no directory created
    one = invoke("audit", "check", "--configs", str(env / "configs"), "--agency", "mof",
                 "--json")
    assert [d["device"] for d in json.loads(one.stdout)["devices"]] == ["cisco_ios_bad", "MOF"]
    table = invoke("audit", "check", "--configs", str(env / "configs"))
    assert table.exit_code == 0 and "Audit" in table.output


@pytest.mark.parametrize("fmt", ["html", "json", "csv"])
def test_report_formats(env: Path, fmt: str) -> None:
    out = env / f"report.{fmt}"
    result = invoke("audit", "report", "--configs", str(env / "configs"), "--format", fmt,
                    "-o", str(out), "--lang", "th")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "cisco_ios_bad" in text
    if fmt == "html":
        assert "รายงานสถานะความมั่นคงปลอดภัย" in text


def test_one_audit_is_one_run_whatever_the_formats(env: Path, db_url: str) -> None:
    """On SQLite and on a real PostgreSQL server: runs live in the directory."""
    db = db_url

    def gin(*args: str) -> click.testing.Result:
        result = CliRunner().invoke(root, ["--db", db, "audit", *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    configs = str(env / "configs")
    first = gin("check", "--configs", configs)
    assert "run 1 recorded" in first.stdout
    gin("report", "--configs", configs, "--format", "html", "-o", str(env / "r.html"))
    assert 'id="trend"' in (env / "r.html").read_text(encoding="utf-8")  # since run 1
    gin("report", "--run", "latest", "--format", "json", "-o", str(env / "r.json"))
    data = json.loads((env / "r.json").read_text(encoding="utf-8"))
    assert data["run"] == 2 and data["trend"]["since"] is not None
    gin("report", "--run", "1", "--format", "csv", "-o", str(env / "r.csv"))
    gin("report", "--configs", configs, "--format", "json", "-o", str(env / "x.json"),
        "--no-history")
    runs = json.loads(gin("runs", "--json").stdout)
    assert [r["id"] for r in runs] == [2, 1]  # the renderings recorded nothing
    assert not list(env.glob("xdg/gin/audit-runs*"))  # nothing kept in the home
    both = CliRunner().invoke(root, ["--db", db, "audit", "report", "--run", "1",
                                     "--configs", configs, "--format", "csv",
                                     "-o", str(env / "y.csv")])
    assert both.exit_code == 2 and "--run renders a stored run" in both.output
    none = CliRunner().invoke(root, ["audit", "runs"])
    assert none.exit_code == 1 and "give --db" in str(none.exception)


def test_fail_on_a_severity_for_pipelines(env: Path) -> None:
    configs = str(env / "configs")
    worst = invoke("audit", "check", "--configs", configs, "--fail-on", "high")
    assert worst.exit_code == 5 and "failing finding(s) at severity high" in worst.stderr
    (env / "good").mkdir()
    shutil.copy(GOLDEN / "frr_good.conf", env / "good" / "frr_good.conf")
    (env / "good" / "devices.yaml").write_text("frr_good: {platform: frr, role: pe}\n")
    fine = invoke("audit", "check", "--configs", str(env / "good"), "--fail-on", "critical")
    assert fine.exit_code == 0, fine.output
    bad = CliRunner().invoke(root, ["audit", "check", "--configs", configs,
                                    "--fail-on", "severe"])
    assert bad.exit_code == 2


def test_every_file_of_the_folder_is_read_or_named(env: Path) -> None:
    folder = env / "configs"
    shutil.copy(GOLDEN / "frr_good.conf", folder / "r9")  # RANCID-style: no extension
    (folder / "notes.docx").write_bytes(b"PK")
    (folder / "old").mkdir()
    shutil.copy(GOLDEN / "frr_good.conf", folder / "frr_good.txt")  # second file, same device
    result = invoke("audit", "check", "--configs", str(folder), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "r9" in {d["device"] for d in data["devices"]}
    skipped = {Path(k["path"]).name: k["reason"] for k in data["skipped"]}
    assert set(skipped) == {"notes.docx", "old", "frr_good.txt"}
    assert "frr_good.conf already gives frr_good's config" in skipped["frr_good.txt"]
    for name in skipped:
        assert f"skipped {folder / name}" in result.stderr
    page = env / "r.html"
    invoke("audit", "report", "--configs", str(folder), "--format", "html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert 'id="skipped"' in html and "notes.docx" in html


def test_diff_and_backup_errors(env: Path) -> None:
    store = BackupStore(env / "backups")
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    store.save("r1", "frr", "hostname r1\nend\n", now=t0)
    store.save("r1", "frr", "hostname r1\nlog syslog\nend\n", now=t0 + dt.timedelta(days=1))
    result = invoke("audit", "diff", "r1")
    assert "+log syslog" in result.output
    db = env / "d.sqlite"
    Directory(str(db)).close()  # exists: no 'created a new directory' notice on stderr
    result = CliRunner().invoke(root, ["--db", str(db), "audit", "backup", "ghost", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.output)[0]["error"] == "not in the directory"


def test_oscal_report(env: Path) -> None:
    out = env / "r.oscal.json"
    result = invoke("audit", "report", "--configs", str(env / "configs"), "--format", "oscal",
                    "-o", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    observed = {o["title"].split(" on ")[1]
                for o in doc["assessment-results"]["results"][0]["observations"]}
    assert observed == {"cisco_ios_good", "cisco_ios_bad", "juniper_junos_bad", "frr_good",
                        "DOPA", "MOF"}


def _ministry_db(env: Path) -> str:
    from directory import store
    from directory.store import Directory

    db = env / "m.sqlite"
    d = Directory(f"sqlite:///{db}", actor="audit-test")
    with d.transaction() as s:
        store.add_agency(s, code="MOI", name_en="Ministry of Interior", kind="ministry")
        store.add_agency(s, code="DOPA", name_en="Provincial Administration", parent="MOI")
        store.add_agency(s, code="DOPA-CNX", name_en="Chiang Mai office", parent="DOPA")
        store.add_agency(s, code="MOF", name_en="Ministry of Finance", kind="ministry")
    d.close()
    return str(db)


def test_ministry_scope_takes_its_agencies_recursively(env: Path) -> None:
    db = _ministry_db(env)
    folder = env / "configs"
    (folder / "devices.yaml").write_text(
        "cisco_ios_good: {platform: cisco_ios, role: pe, agency: DOPA}\n"
        "cisco_ios_bad: {platform: cisco_ios, role: pe, agency: MOF}\n"
        "juniper_junos_bad: {platform: juniper_junos, role: pe, agency: DOPA-CNX}\n"
        "frr_good: {platform: frr, role: pe, agency: MOI}\n")
    result = CliRunner().invoke(root, ["--db", db, "audit", "check", "--configs", str(folder),
                                       "--ministry", "moi", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {d["device"] for d in data["devices"]} == {"cisco_ios_good", "juniper_junos_bad",
                                                      "frr_good"}
    assert data["scope"] == "MOI/*"
    unknown = CliRunner().invoke(root, ["--db", db, "audit", "check", "--configs",
                                        str(folder), "--ministry", "NOPE"])
    assert unknown.exit_code == 1 and "no agency 'NOPE'" in str(unknown.exception)
    both = CliRunner().invoke(root, ["--db", db, "audit", "check", "--configs", str(folder),
                                     "--ministry", "MOI", "--agency", "MOF"])
    assert both.exit_code == 2


def test_ministry_needs_the_directory(env: Path) -> None:
    result = CliRunner().invoke(root, ["audit", "check", "--configs", str(env / "configs"),
                                       "--ministry", "MOI"])
    assert result.exit_code == 1 and "--ministry needs the directory" in str(result.exception)


def test_html_lists_every_finding_on_request(env: Path) -> None:
    out = env / "all.html"
    for flag in ((), ("--all-findings",)):
        result = invoke("audit", "report", "--configs", str(env / "configs"), "--format",
                        "html", "-o", str(out), "--no-history", "--lang", "th", *flag)
        assert result.exit_code == 0, result.output
        html = out.read_text(encoding="utf-8")
        passes = html.count('<td class="pass">ผ่าน</td>')
        if flag:
            assert passes > 0 and "ทุกรายการ" in html
        else:
            assert passes == 0


def test_host_evidence_and_prometheus_options(env: Path) -> None:
    hosts = env / "hosts"
    shutil.copytree(GOLDEN / "host_bad", hosts / "frr_good")
    result = invoke("audit", "check", "--configs", str(env / "configs"), "--host-evidence",
                    str(hosts), "--json")
    assert result.exit_code == 0, result.output
    got = {f["check"]: f["status"] for f in json.loads(result.stdout)["findings"]
           if f["device"] == "frr_good"}
    assert got["host.ssh_root_login"] == "fail" and got["mon.monitored"] == "unknown"
    for url, why in (("ftp://x", "expected http"), ("http://127.0.0.1:1", "cannot be queried"),
                     ("http://h\n/evil", "expected http")):
        bad = CliRunner().invoke(root, ["audit", "check", "--configs", str(env / "configs"),
                                        "--prometheus", url])
        assert bad.exit_code == 1 and why in str(bad.exception), (url, bad.exception)


@pytest.mark.parametrize("code", ["MOI\nDROP", "'; --", "\x00", "M" * 5000])
def test_hostile_ministry_codes_are_one_clear_error(env: Path, code: str) -> None:
    db = _ministry_db(env)
    result = CliRunner().invoke(root, ["--db", db, "audit", "check", "--configs",
                                       str(env / "configs"), "--ministry", code])
    assert result.exit_code == 1 and "no agency" in str(result.exception)


def test_report_includes_stored_web_findings_in_scope(env: Path) -> None:
    from audit.web.evidence import WebEvidence

    WebEvidence(env / "xdg" / "gin" / "web").save([
        {"agency": "DOPA", "service": "www", "host": "www.dopa.go.th", "error": None,
         "tls": {"not_after": None}},
        {"agency": "MOF", "service": "www", "host": "www.mof.go.th", "error": None,
         "tls": {"not_after": None}}])
    out = env / "r.json"
    result = invoke("audit", "report", "--configs", str(env / "configs"), "--format", "json",
                    "-o", str(out), "--agency", "DOPA", "--no-history")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    devices = {d["device"] for d in data["devices"]}
    assert "www.dopa.go.th" in devices and "www.mof.go.th" not in devices
    assert "cisco_ios_good" in devices

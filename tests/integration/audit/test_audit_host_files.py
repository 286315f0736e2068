"""Host files collected from the real lab: ``gin audit backup --host-files`` reads each FRR
router's /etc over the sftp subsystem of its sshd (the login itself still lands in vtysh),
and ``gin audit check`` without ``--host-evidence`` then gives the same findings as with an
evidence folder holding the same files.  SFTP is read-only and sees only the router's /etc
view; a router whose files cannot be fetched is reported, and its host checks are unknown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from audit import runner, sources
from audit.evidence import BackupStore, backup
from devices import transport
from devices.targets import target_of
from directory import store as dstore
from directory.store import Directory
from gin.commands.audit import audit
from gin.context import Context
from gin.lab.register import register
from tests.conftest import need

pytestmark = pytest.mark.integration


@click.group()
@click.option("--db")
@click.pass_context
def root(ctx: click.Context, db: str | None) -> None:
    ctx.obj = Context(db=db, actor="audit-host-test")


root.add_command(audit)


def _gin(*args: str) -> click.testing.Result:
    return CliRunner().invoke(root, list(args), catch_exceptions=False)


def test_host_files_over_sftp_match_the_evidence_folder(gin_lab: Any, gin_lab_directory: Any,
                                                        tmp_path: Path,
                                                        lab_evidence_folder: Path) -> None:
    need(shutil.which("unshare") is not None, "needs util-linux unshare")
    routers = sorted(n.name for n in gin_lab.routers)
    db = gin_lab_directory.engine.url.render_as_string(hide_password=False)
    backups = tmp_path / "backups"
    res = _gin("--db", db, "audit", "backup", "--host-files", "--backup-dir", str(backups),
               "--json", *routers)
    rows = json.loads(res.output)
    assert res.exit_code == 0, rows
    assert sorted((r["device"], r["what"], r["status"]) for r in rows) == sorted(
        (n, w, "new") for n in routers for w in ("config", "host"))

    # the files are the routers' own, redacted: no SNMP key is stored
    st = BackupStore(backups)
    node = gin_lab.node(routers[0])
    got = st.latest_host(routers[0])
    assert got is not None and sorted(got.files) == ["etc/snmp/snmpd.conf",
                                                     "etc/ssh/sshd_config"]
    assert got.files["etc/ssh/sshd_config"] == (Path(node.dir) / "sshd_config").read_text()
    secret = gin_lab.credentials()["snmp"]
    stored = "".join(p.read_text() for p in backups.rglob("*") if p.is_file())
    assert secret["auth_key"] not in stored and secret["priv_key"] not in stored

    # the same findings with or without --host-evidence (for the same files)
    collected = _findings(_gin("--db", db, "audit", "check", "--backup-dir", str(backups),
                               "--json"), routers)
    folder = lab_evidence_folder
    given = _findings(_gin("--db", db, "audit", "check", "--backup-dir", str(backups),
                           "--host-evidence", str(folder), "--json"), routers)
    assert collected == given
    by = {(f["device"], f["check"]): f for f in collected}
    for r in routers:
        assert by[(r, "host.ssh_root_login")]["status"] == "fail"  # key login as root
        assert by[(r, "svc.snmp_v3_priv")]["status"] == "pass"
        assert by[(r, "log.ntp")]["status"] == "unknown"  # no chrony/ntp on the lab routers

    # the SFTP view is the router's /etc only, and read-only
    with gin_lab_directory.transaction() as s:
        target = target_of(dstore.get_device(s, routers[0]))
    view = transport.get("netmiko").read_host_files(  # type: ignore[attr-defined]
        target, ["/etc/shadow", "/etc/ssh/*", "/root/.ssh/authorized_keys"], 1 << 20)
    assert sorted(view.files) == ["/etc/ssh/sshd_config"] and not view.unreadable


def _findings(res: click.testing.Result, routers: list[str]) -> list[dict[str, Any]]:
    assert res.exit_code == 0, res.output[-2000:]
    return sorted((f for f in json.loads(res.output)["findings"] if f["device"] in routers),
                  key=lambda f: (f["device"], f["check"]))


def test_unreachable_host_files_are_reported(gin_lab: Any, tmp_path: Path) -> None:
    # a directory of its own, so the session directory's device list stays as others expect
    d = Directory(f"sqlite:///{tmp_path / 'd.sqlite'}", actor="audit-host-test")
    try:
        register(gin_lab, d)
        with d.transaction() as s:
            site = dstore.get_device(s, gin_lab.routers[0].name).site
            dstore.add_device(s, site.agency.code, site.code, hostname="audit-dead-host",
                              role="ce", platform="frr", mgmt_address="127.0.0.1",
                              mgmt_port=1, credential_ref=gin_lab.credentials_ref)
        st = BackupStore(tmp_path / "backups")
        results = backup(d, transport.get("netmiko"), ["audit-dead-host"], st,
                         host_files=True)
        assert [(r.what, r.status) for r in results] == [("config", "failed"),
                                                          ("host", "failed")]
        assert "SFTP" in (results[1].error or "")
        audits = runner.run(sources.from_backups(st, sources.directory_facts(d),
                                                 ["audit-dead-host"]))
        host = {f.status.value for f in audits[0].findings if f.check.startswith("host.")}
        assert host == {"unknown"}
    finally:
        d.close()

"""Config backups from the real lab (FRR routers behind sshd) through Netmiko.

First backup stores a version per router; a second one with no change stores nothing new
(recorded as "unchanged"); a change made on a router shows as a new version and a diff; an
unreachable device is reported as failed, and the audit of the backups runs end to end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from audit import report, runner, sources
from audit.evidence import BackupStore, backup
from devices import transport
from directory import store as dstore
from directory.store import Directory
from gin.lab.register import register
from tests.integration.audit.conftest import device_target


def test_backup_from_the_lab(gin_lab: Any, gin_lab_directory: Any, tmp_path: Path) -> None:
    routers = sorted(n.name for n in gin_lab.routers)
    st = BackupStore(tmp_path / "backups")
    first = backup(gin_lab_directory, transport.get("netmiko"), routers, st, workers=4)
    assert [(r.device, r.status) for r in first] == [(n, "new") for n in routers], \
        [r.error for r in first]
    version, text = st.latest(routers[0])  # type: ignore[misc]
    assert "router bgp" in text or "interface" in text
    assert text.rstrip().endswith("end")  # a whole running-config

    second = backup(gin_lab_directory, transport.get("netmiko"), routers, st, workers=4)
    assert [r.status for r in second] == ["unchanged"] * len(routers)
    assert [r.sha256 for r in second] == [r.sha256 for r in first]
    node = routers[0]
    assert len(list((tmp_path / "backups" / node).glob("*.cfg"))) == 1

    facts = sources.directory_facts(gin_lab_directory)
    audits = runner.run(sources.from_backups(st, facts, routers))
    assert all(a.error is None and not a.warnings for a in audits), \
        [(a.device, a.error, a.warnings) for a in audits]
    backed = {f.device: f.status.value for a in audits for f in a.findings
              if f.check == "ops.backup_recent"}
    assert set(backed.values()) == {"pass"}
    html = report.to_html(audits)
    assert "<svg" in html and routers[0] in html


def test_change_on_a_router_is_a_new_version_with_a_diff(gin_lab: Any, gin_lab_directory: Any,
                                                         tmp_path: Path) -> None:
    node = sorted(n.name for n in gin_lab.routers)[0]
    st = BackupStore(tmp_path / "backups")
    backup(gin_lab_directory, transport.get("netmiko"), [node], st)
    conn = transport.get("netmiko").connect(device_target(gin_lab_directory, node))
    try:
        conn.configure(["ipv6 prefix-list GIN-AUDIT-TEST seq 5 permit 2001:db8:ffff::/48"])
        after = backup(gin_lab_directory, transport.get("netmiko"), [node], st)
    finally:
        conn.configure(["no ipv6 prefix-list GIN-AUDIT-TEST"])
        conn.close()
    assert after[0].status == "new"
    diff = st.diff(node)
    assert "+ipv6 prefix-list GIN-AUDIT-TEST seq 5 permit 2001:db8:ffff::/48" in diff


def test_unreachable_device_is_reported(gin_lab: Any, tmp_path: Path) -> None:
    # a directory of its own, so the session directory's device list stays as others expect
    d = Directory(f"sqlite:///{tmp_path / 'd.sqlite'}", actor="audit-test")
    try:
        register(gin_lab, d)
        agency = "GIN"
        with d.transaction() as s:
            site = dstore.get_device(s, gin_lab.routers[0].name).site
            agency = site.agency.code
            dstore.add_device(s, agency, site.code, hostname="audit-dead", role="ce",
                              platform="frr", mgmt_address="127.0.0.1", mgmt_port=1,
                              credential_ref=gin_lab.credentials_ref)
        live = gin_lab.routers[0].name
        st = BackupStore(tmp_path / "backups")
        start = dt.datetime.now(dt.UTC)
        results = backup(d, transport.get("netmiko"), ["audit-dead", live], st)
        assert (dt.datetime.now(dt.UTC) - start).total_seconds() < 60
        by = {r.device: r for r in results}
        assert by["audit-dead"].status == "failed" and by["audit-dead"].error
        assert by[live].status == "new"
        audits = runner.run(sources.from_backups(st, sources.directory_facts(d),
                                                 ["audit-dead", live]))
        dead = next(a for a in audits if a.device == "audit-dead")
        assert dead.error == "no configuration (no backup)"
        got = {f.status.value for f in dead.findings if f.check != "inv.in_directory"}
        assert "unknown" in got and got <= {"unknown", "not_applicable"}  # FRR's host checks
    finally:
        d.close()


def test_ansible_and_netmiko_backups_agree(gin_lab: Any, gin_lab_directory: Any,
                                           tmp_path: Path) -> None:
    node = sorted(n.name for n in gin_lab.routers)[-1]
    st = BackupStore(tmp_path / "backups")
    via_ansible = backup(gin_lab_directory, transport.get("ansible"), [node], st)
    assert via_ansible[0].status == "new", via_ansible[0].error
    via_netmiko = backup(gin_lab_directory, transport.get("netmiko"), [node], st)
    assert via_netmiko[0].status == "unchanged", st.diff(node)

"""Audit evidence from the real lab: the host files gin's lab generates for each router
(sshd_config, snmpd.conf) are real evidence for FRR's host checks; a change made on a
router outside gin shows up between two real backups as an unlogged change (10.1.2); and a
real monitor agent scraped by a real Prometheus says which devices are monitored (10.10.2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit import report, runner, sources
from audit.evidence import BackupStore, backup
from devices import transport
from monitor.prometheus.config import AgentSpec, directory_inventory, write_all
from tests.conftest import need
from tests.integration.audit.conftest import device_target
from tests.integration.monitor.monitor_support import PromServer, free_tcp_port, have_prometheus

pytestmark = pytest.mark.integration

AGENT = ("import sys; from gin.cli import cli, main; from gin.commands.monitor import monitor; "
         "cli.add_command(monitor); sys.exit(main(sys.argv[1:]))")
HOST_CHECKS = {"mgmt.ssh_v2_only", "mgmt.login_banner", "mgmt.access_acl", "log.ntp",
               "svc.snmp_v3_priv", "host.ssh_root_login", "host.ssh_crypto"}


def test_lab_host_files_changes_and_monitoring(gin_lab: Any, gin_lab_directory: Any,
                                               tmp_path: Path,
                                               lab_evidence_folder: Path) -> None:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    routers = sorted(n.name for n in gin_lab.routers)
    node = routers[0]
    st = BackupStore(tmp_path / "backups")
    first = backup(gin_lab_directory, transport.get("netmiko"), routers, st, workers=4)
    assert {r.status for r in first} == {"new"}, [r.error for r in first]
    # a change made on the router directly, not through gin: no change-log entry
    conn = transport.get("netmiko").connect(device_target(gin_lab_directory, node))
    try:
        conn.configure(["ipv6 prefix-list GIN-AUDIT-OOB seq 5 deny ::/0 le 128"])
        after = backup(gin_lab_directory, transport.get("netmiko"), [node], st)
    finally:
        conn.configure(["no ipv6 prefix-list GIN-AUDIT-OOB"])
        conn.close()
    assert after[0].status == "new"

    devices, contacts = directory_inventory(gin_lab_directory)
    listen = free_tcp_port()
    write_all(tmp_path / "prom", devices, contacts, [AgentSpec("lab", f"127.0.0.1:{listen}")],
              scrape_interval="1s", alertmanager=None)
    db = gin_lab_directory.engine.url.render_as_string(hide_password=False)
    agent = subprocess.Popen([sys.executable, "-c", AGENT, "--db", db, "monitor", "agent",
                              "--listen", f"127.0.0.1:{listen}", "--interval", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prom = PromServer(tmp_path / "prom")
    try:
        prom.start()
        prom.wait_for("gin_snmp_up == 1", cond=lambda r: len(r) == len(devices), timeout=90)
        srcs = sources.from_backups(st, sources.directory_facts(gin_lab_directory), routers)
        srcs.append(runner.ConfigSource("unwatched-r9", "frr", None, origin="no backup"))
        srcs = sources.with_host_evidence(srcs, lab_evidence_folder)
        srcs = sources.with_change_log(srcs, st, gin_lab_directory)
        srcs = sources.with_monitoring(srcs, prom.url)
    finally:
        prom.stop()
        agent.terminate()
        agent.wait(10)
    audits = runner.run(srcs)
    found = {(f.device, f.check): f for a in audits for f in a.findings}

    for r in routers:
        # the lab's sshd lets root in with a key: a real finding, cited with its line
        root = found[(r, "host.ssh_root_login")]
        lines = (Path(gin_lab.node(r).dir) / "sshd_config").read_text().splitlines()
        number = next(i for i, ln in enumerate(lines, 1) if ln.startswith("PermitRootLogin"))
        assert root.status.value == "fail"
        assert root.evidence == ((number, "etc/ssh/sshd_config: PermitRootLogin "
                                          "prohibit-password"),)
        assert found[(r, "mgmt.ssh_v2_only")].status.value == "pass"
        assert found[(r, "mgmt.login_banner")].status.value == "fail"  # no Banner line
        snmp = found[(r, "svc.snmp_v3_priv")]
        assert snmp.status.value == "pass", snmp.reason
        assert any("rouser" in tx for _, tx in snmp.evidence)
        # no rsyslog, chrony or nftables files in this evidence: unknown, never pass
        for check in ("log.ntp", "mgmt.access_acl"):
            assert found[(r, check)].status.value == "unknown", check
        assert found[(r, "mon.monitored")].status.value == "pass"
        assert found[(r, "inv.in_directory")].status.value == "pass"
    secret = gin_lab.credentials()["snmp"]
    text = report.to_json(audits)
    assert secret["auth_key"] not in text and secret["priv_key"] not in text

    changed = found[(node, "ops.changes_logged")]
    assert changed.status.value == "fail", changed.reason
    assert any("GIN-AUDIT-OOB" in tx for _, tx in changed.evidence)
    assert {found[(r, "ops.changes_logged")].status.value for r in routers[1:]} == {"pass"}

    ghost = {f.check: f for f in found.values() if f.device == "unwatched-r9"}
    assert ghost["mon.monitored"].status.value == "fail"
    assert "no gin_snmp_up series" in ghost["mon.monitored"].reason
    assert {ghost[c].status.value for c in HOST_CHECKS} == {"unknown"}

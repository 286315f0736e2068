"""Host files collected by ``gin audit backup --host-files``: stored redacted, versioned
and hashed beside the configs; the newest set is what ``gin audit check`` audits; a
router whose files cannot be read is reported and its host checks stay unknown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from audit import host, runner, sources
from audit.evidence import BackupStore, backup
from devices import transport as transports
from devices.errors import ConfigError, TransportError
from devices.targets import DeviceTarget
from devices.transport import HostFileReader, RawHostFiles
from tests.unit.audit.conftest import NOW, golden
from tests.unit.audit.test_audit_evidence import ScriptedTransport, lab_like_directory  # noqa: F401

GOOD = Path(__file__).with_name("golden") / "host_good"
HOST_CHECKS = ("host.ssh_root_login", "mgmt.ssh_v2_only", "svc.snmp_v3_priv", "log.ntp",
               "log.remote_syslog", "mgmt.access_acl")


def _golden_files() -> dict[str, bytes]:
    return {"/" + p.relative_to(GOOD).as_posix(): p.read_bytes()
            for p in sorted(GOOD.rglob("*")) if p.is_file()}


class FileTransport(ScriptedTransport):
    """Scripted configs plus host files per device (the lab test reads them over SFTP)."""

    def __init__(self, configs: dict[str, str], files: dict[str, dict[str, bytes]]) -> None:
        super().__init__(configs)
        self.files = files

    def read_host_files(self, target: DeviceTarget, patterns: Sequence[str],
                        max_bytes: int) -> RawHostFiles:
        if target.hostname not in self.files:
            raise TransportError(f"{target.hostname}: no SFTP channel")
        return RawHostFiles(dict(self.files[target.hostname]))


def test_store_redacts_versions_and_reads_back(tmp_path: Path) -> None:
    st = BackupStore(tmp_path)
    files = {p.lstrip("/"): b.decode() for p, b in _golden_files().items()}
    files["etc/snmp/snmpd.conf"] += 'createUser leak SHA "s3cretAuthKey" AES "s3cretPrivKey"\n'
    first = st.save_host("r1", "frr", files, now=NOW)
    again = st.save_host("r1", "frr", files)
    assert first.changed and not again.changed and again.file == first.file
    assert len(st.host_versions("r1")) == 2
    stored = tmp_path / "r1" / "host" / first.file
    text = "".join(p.read_text() for p in stored.rglob("*") if p.is_file())
    assert "s3cret" not in text and (tmp_path / "r1" / "host.jsonl").stat().st_mode & 0o077 == 0
    st.save_host("r2", "frr", {p.lstrip("/"): b.decode() for p, b in _golden_files().items()})
    got = st.latest_host("r2")
    folder = host.read_device(GOOD)
    assert got is not None and set(got.files) == set(folder.files)
    # the same findings as the evidence folder with the same files
    cfg = golden("frr_good.conf")
    a = runner.audit_one(runner.ConfigSource("r1", "frr", cfg, host=got), now=NOW)
    b = runner.audit_one(runner.ConfigSource("r1", "frr", cfg, host=folder), now=NOW)
    assert [(f.check, f.status, f.evidence) for f in a.findings] == \
        [(f.check, f.status, f.evidence) for f in b.findings]
    assert st.host_diff("r2") == []
    changed = dict(files, **{"etc/ssh/sshd_config": "PermitRootLogin yes\n"})
    st.save_host("r1", "frr", changed)
    diff = st.host_diff("r1")
    assert "+PermitRootLogin yes" in diff and any(":etc/ssh/sshd_config" in ln for ln in diff)
    assert "s3cret" not in "".join(diff)
    with pytest.raises(ConfigError):
        st.host_diff("never")
    with pytest.raises(ConfigError):
        st.save_host("r1", "frr", {"../escape": "x"})
    assert st.latest_host("never") is None and st.latest_host("../bad") is None


def test_backup_collects_host_files_and_reports_failures(lab_like_directory,  # noqa: F811
                                                         tmp_path: Path) -> None:
    st = BackupStore(tmp_path)
    t = FileTransport({"pe1": golden("frr_good.conf"), "ce1": golden("cisco_ios_good.conf"),
                       "ce2": golden("frr_good.conf")}, {"pe1": _golden_files()})
    assert isinstance(t, HostFileReader)
    results = backup(lab_like_directory, t, store=st, host_files=True)  # type: ignore[arg-type]
    assert [(r.device, r.what, r.status) for r in results] == [
        ("ce1", "config", "new"), ("ce2", "config", "new"), ("ce2", "host", "failed"),
        ("pe1", "config", "new"), ("pe1", "host", "new")]
    assert "no SFTP channel" in (results[2].error or "")
    srcs = {s.device: s for s in sources.from_backups(st, sources.directory_facts(
        lab_like_directory))}
    assert srcs["pe1"].host is not None and srcs["ce2"].host is None
    found = {(a.device, f.check): f.status.value for a in runner.run(list(srcs.values()))
             for f in a.findings}
    assert found[("pe1", "host.ssh_root_login")] == "pass"
    assert found[("ce2", "host.ssh_root_login")] == "unknown"


def test_unreadable_or_empty_host_files_are_failures(lab_like_directory,  # noqa: F811
                                                     tmp_path: Path) -> None:
    st = BackupStore(tmp_path)
    binary = {"/etc/ssh/sshd_config": b"\x00\x01"}
    t = FileTransport({"pe1": golden("frr_good.conf"), "ce2": golden("frr_good.conf")},
                      {"pe1": binary, "ce2": {}})
    results = {r.device: r for r in backup(lab_like_directory, t, ["pe1", "ce2"], st,  # type: ignore[arg-type]
                                           host_files=True) if r.what == "host"}
    assert results["pe1"].status == "failed" and "binary" in (results["pe1"].error or "")
    assert results["ce2"].error == "no host file found under /etc"
    assert st.latest_host("pe1") is None


def test_ansible_transport_refuses_host_files_in_one_line() -> None:
    ansible = transports.get("ansible")
    assert isinstance(ansible, HostFileReader)
    with pytest.raises(ConfigError, match="netmiko"):
        ansible.read_host_files(DeviceTarget("r1", "frr", "127.0.0.1", 22, None), ["/etc/x"], 10)


def test_diff_host_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`gin audit diff DEVICE --host`: what changed in the host files, secrets redacted;
    --from/--to are for configs and are refused with --host in one line."""
    from gin.cli import main

    st = BackupStore(tmp_path)
    files = {p.lstrip("/"): b.decode() for p, b in _golden_files().items()}
    st.save_host("r1", "frr", files, now=NOW)
    st.save_host("r1", "frr", dict(files, **{"etc/ssh/sshd_config": "PermitRootLogin yes\n"}))
    assert main(["audit", "diff", "r1", "--host", "--backup-dir", str(tmp_path)]) == 0
    assert "+PermitRootLogin yes" in capsys.readouterr().out
    assert main(["audit", "diff", "r1", "--host", "--from", "ab",
                 "--backup-dir", str(tmp_path)]) == 2
    assert main(["audit", "diff", "nope", "--host", "--backup-dir", str(tmp_path)]) == 1
    assert "gin audit backup --host-files nope" in capsys.readouterr().err

"""Backups: versions by hash, unchanged configs stored once, diffs, failures reported;
configs read from a folder an auditor received."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from audit import sources
from audit.evidence import BackupStore, backup, guess_platform, normalise, read_folder
from devices.errors import ConfigError, TransportError
from devices.targets import DeviceTarget
from directory import store as dstore
from directory.store import Directory
from tests.unit.audit.conftest import golden

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_unchanged_config_is_stored_once_but_recorded(tmp_path: Path) -> None:
    st = BackupStore(tmp_path)
    text = "Building configuration...\n! Last configuration change at 10:00\nhostname r1\nend\n"
    first = st.save("r1", "cisco_ios", text, now=T0)
    again = st.save("r1", "cisco_ios", text.replace("10:00", "11:00"),
                    now=T0 + dt.timedelta(hours=1))
    assert first.changed and not again.changed and again.sha256 == first.sha256
    assert len(list((tmp_path / "r1").glob("*.cfg"))) == 1
    assert [v.time for v in st.versions("r1")] == [T0, T0 + dt.timedelta(hours=1)]
    version, body = st.latest("r1")  # type: ignore[misc]
    assert body == "hostname r1\nend\n" and version.time == T0 + dt.timedelta(hours=1)
    mode = stat.S_IMODE((tmp_path / "r1" / first.file).stat().st_mode)
    assert mode == 0o600


def test_diff_between_the_two_newest_versions(tmp_path: Path) -> None:
    st = BackupStore(tmp_path)
    st.save("r1", "frr", "hostname r1\nlog syslog\nend\n", now=T0)
    v2 = st.save("r1", "frr", "hostname r1\nlog syslog informational\nend\n",
                 now=T0 + dt.timedelta(days=1))
    diff = st.diff("r1")
    assert "-log syslog" in diff and "+log syslog informational" in diff
    assert diff[1].endswith(v2.sha256[:12])
    assert st.diff("r1", older=v2.sha256[:8]) == []  # a version against itself
    with pytest.raises(ConfigError, match="no backup of r9"):
        st.diff("r9")


def test_hostile_device_names_never_become_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot name a backup folder"):
        BackupStore(tmp_path).save("../etc", "frr", "x\n")


def test_normalise_drops_volatile_lines_only() -> None:
    text = "Current configuration : 123 bytes\r\nntp clock-period 17\r\nntp server 1.2.3.4\r\n"
    assert normalise(text) == "ntp server 1.2.3.4\n"


class ScriptedTransport:
    """An in-process transport for the unit test (the lab test uses real SSH)."""

    name = "scripted"

    def __init__(self, configs: dict[str, str]) -> None:
        self.configs = configs

    def connect(self, target: DeviceTarget):  # noqa: ANN201
        if target.hostname not in self.configs:
            raise TransportError(f"{target.hostname}: connection refused")
        text = self.configs[target.hostname]

        class Conn:
            def show(self, command: str) -> str:
                return text

            def close(self) -> None:
                pass

        return Conn()


@pytest.fixture
def lab_like_directory(sqlite_url: str):  # noqa: ANN201
    d = Directory(sqlite_url, actor="tester")
    with d.transaction() as s:
        dstore.add_agency(s, code="DOPA", name_en="Provincial Administration")
        dstore.add_site(s, "DOPA", code="HQ")
        for host, platform in (("pe1", "frr"), ("ce1", "cisco_ios"), ("ce2", "frr")):
            dstore.add_device(s, "DOPA", "HQ", hostname=host, role=host[:2], platform=platform)
    yield d
    d.close()


def test_backup_reports_unreachable_and_unknown_devices(lab_like_directory, tmp_path) -> None:  # noqa: ANN001
    st = BackupStore(tmp_path)
    transport = ScriptedTransport({"pe1": golden("frr_good.conf"),
                                   "ce1": golden("cisco_ios_good.conf")})
    results = backup(lab_like_directory, transport, store=st)  # type: ignore[arg-type]
    assert [(r.device, r.status) for r in results] == [("ce1", "new"), ("ce2", "failed"),
                                                       ("pe1", "new")]
    assert "connection refused" in (results[1].error or "")
    again = backup(lab_like_directory, transport, ["pe1", "nope"], store=st)  # type: ignore[arg-type]
    assert [(r.device, r.status, r.error) for r in again] == [
        ("pe1", "unchanged", None), ("nope", "failed", "not in the directory")]
    facts = sources.directory_facts(lab_like_directory)
    assert facts["ce1"] == sources.DeviceFacts("cisco_ios", "ce", "DOPA")
    srcs = {s.device: s for s in sources.from_backups(st, facts)}
    assert srcs["ce2"].text is None and srcs["pe1"].backed_up_at is not None


def test_folder_of_configs(tmp_path: Path) -> None:
    (tmp_path / "r1.cisco_xe.cfg").write_text(golden("cisco_ios_good.conf"))
    (tmp_path / "r2.conf").write_text(golden("juniper_junos_bad.conf"))
    (tmp_path / "r3.txt").write_text("nothing recognisable\n")
    (tmp_path / "r4.cfg").write_text(golden("frr_bad.conf"))
    (tmp_path / "devices.yaml").write_text("r4: {platform: frr, role: ce, agency: MOF}\n")
    assert set(read_folder(tmp_path)) == {"r1", "r2", "r3", "r4"}
    got = {s.device: (s.platform, s.role, s.agency) for s in sources.from_folder(tmp_path)}
    assert got == {"r1": ("cisco_xe", None, None), "r2": ("juniper_junos", None, None),
                   "r3": ("unknown", None, None), "r4": ("frr", "ce", "MOF")}


def test_guess_platform() -> None:
    assert guess_platform(golden("juniper_junos_bad.conf")) == "juniper_junos"
    assert guess_platform(golden("frr_good.conf")) == "frr"
    assert guess_platform(golden("cisco_ios_bad.conf")) == "cisco_ios"
    assert guess_platform("") is None


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        read_folder(tmp_path / "nope")


def test_a_config_that_cannot_be_read_is_named_not_dropped(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A file removed between listing the folder and reading it (an auditor's sync tool
    at work): the device is audited with no config, the reason in its origin."""
    (tmp_path / "r1.cfg").write_text(golden("frr_good.conf"))
    listed = read_folder(tmp_path)
    (tmp_path / "r1.cfg").unlink()
    monkeypatch.setattr(sources, "read_folder", lambda _folder: listed)
    [src] = sources.from_folder(tmp_path)
    assert src.text is None and "r1.cfg could not be read" in src.origin

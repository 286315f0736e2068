"""A router config holding secrets never reaches the journal's database in clear: its
pre-image and its secret lines are sealed with the sealing key (devices.secrets), and
recovery opens them again to restore the router exactly."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from devices.converge import DeviceChange, Step, StepEvent, Verification, converge
from devices.journal import Journal
from devices.owner import Owner, me
from devices.secrets import SEALED_PREFIX
from devices.sessions import Sessions
from devices.targets import DeviceTarget
from directory import models as m
from directory.store import Directory
from tests.unit.devices.iosbox import IosBox, IosRouters
from tests.unit.devices.test_journal import dead_pid

PRE_SECRET = "Pre-Image-S3cret-91"
LINE_SECRET = "Pushed-PSK-S3cret-17"
RUNNING = (f"hostname r1\nusername admin privilege 15 secret 0 {PRE_SECRET}\n"
           "interface GigabitEthernet0/1\n description uplink\n")
WANT = (f"crypto ikev2 keyring GIN\n peer hub\n  address 2001:db8::9\n"
        f"  pre-shared-key {LINE_SECRET}\n"
        "interface GigabitEthernet0/1\n ipv6 address 2001:db8::1/127\n")
ENTRY = m.DeviceChangeEntry.__table__


@pytest.fixture
def key(monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"s" * 32).decode())


def target() -> DeviceTarget:
    return DeviceTarget("r1", "cisco_xe", "192.0.2.1", 22, None)


def database_bytes(url: str) -> bytes:
    """The SQLite file and whatever journal/WAL files sit beside it."""
    path = Path(url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def rows(url: str) -> list[dict]:
    d = Directory(url)
    with d.engine.connect() as conn:
        out = [dict(r) for r in conn.execute(select(ENTRY).order_by(ENTRY.c.id)).mappings()]
    d.close()
    return out


def test_the_database_file_holds_no_secret_of_the_pre_image_or_the_lines(sqlite_url, key):
    box = IosBox("r1", RUNNING)
    pre = box.text()
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(), WANT)],
                        verify=lambda _c: Verification())
    assert done.status == "changed", done.message
    assert LINE_SECRET in box.text()  # the router got it ...
    raw = database_bytes(sqlite_url)
    assert raw and PRE_SECRET.encode() not in raw  # ... the database never did
    assert LINE_SECRET.encode() not in raw
    [row] = rows(sqlite_url)
    assert row["pre_image"].startswith(SEALED_PREFIX)
    sealed = [ln for ln in row["lines"] if ln.startswith(SEALED_PREFIX)]
    assert len(sealed) == 1 and " ipv6 address 2001:db8::1/127" in row["lines"]
    entry = Journal(sqlite_url).unfinished() or None
    assert entry is None  # done: nothing to recover
    from devices.journal import opened

    assert opened(row["pre_image"], row["run_id"], "r1") == pre
    assert opened(sealed[0], row["run_id"], "r1") == f"  pre-shared-key {LINE_SECRET}"


def test_a_sealed_pre_image_is_opened_and_restored_exactly_by_recovery(sqlite_url, key):
    box = IosBox("r1", RUNNING)
    pre = box.text()
    journal = Journal(sqlite_url)  # what a killed process left: its owner is gone
    object.__setattr__(journal, "owner", Owner(dead_pid(), me().host, me().start, "ops"))
    run = journal.run()
    run.secret_lines["r1"] = ("secret 0 ",)
    lines = ["interface GigabitEthernet0/1", " ipv6 address 2001:db8::1/127"]
    run(StepEvent(Step.PUSH, "start", "r1", tuple(lines), pre))
    box.configure(lines, tolerate_errors=False)
    assert PRE_SECRET.encode() not in database_bytes(sqlite_url)
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(), "hostname r1\n")])
    assert done.ok and "restored the pre-image" in done.devices["r1"].recovered[0]
    assert box.text() == pre


def test_without_a_sealing_key_a_config_with_secrets_is_not_pushed(sqlite_url, monkeypatch,
                                                                    tmp_path):
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no-key-here"))
    box = IosBox("r1", RUNNING)
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(), WANT)])
    assert (done.status, done.failed_step) == ("failed", Step.PUSH)
    assert "r1: its config holds secrets" in done.message
    assert "gin vpn key init" in done.message and PRE_SECRET not in done.message
    assert box.sent == [] and rows(sqlite_url) == []


def test_a_refused_secret_line_quoted_in_the_error_is_sealed_too(sqlite_url, key):
    box = IosBox("r1", RUNNING, refuse=("pre-shared-key",))
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(), WANT)])
    assert done.status == "failed" and LINE_SECRET in done.message  # the caller sees it
    raw = database_bytes(sqlite_url)
    assert LINE_SECRET.encode() not in raw and PRE_SECRET.encode() not in raw

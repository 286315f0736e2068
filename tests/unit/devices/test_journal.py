"""The change journal on a real directory database (SQLite here; the lab tests run it with
real routers): written before every push, moved along each step, finished with the
caller's record; a push it cannot write does not happen; a dead process's entries are
resolved before the device is changed again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from devices import faults
from devices.converge import DeviceChange, Step, StepEvent, Verification, converge
from devices.journal import Journal, sha256
from devices.owner import Owner, alive, me
from devices.sessions import Sessions
from devices.targets import DeviceTarget
from directory import models as m
from directory.store import Directory
from tests.unit.devices.iosbox import IosBox, IosRouters

BASE = "hostname {h}\ninterface GigabitEthernet0/1\n description uplink\n"
WANT = ("interface GigabitEthernet0/1\n ipv6 address 2001:db8::1/127\n"
        "ipv6 prefix-list GIN-IN-MOF seq 5 permit 2001:db8:1::/48\n")
OTHER = "ipv6 prefix-list GIN-IN-MOE seq 5 permit 2001:db8:2::/48\n"
ENTRY = m.DeviceChangeEntry.__table__


def target(host: str) -> DeviceTarget:
    return DeviceTarget(host, "cisco_xe", "192.0.2.1", 22, None)


def box(host: str = "r1") -> IosBox:
    return IosBox(host, BASE.format(h=host))


def entries(url: str) -> list[dict]:
    directory = Directory(url)
    with directory.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(ENTRY).order_by(ENTRY.c.id)).mappings()]
    directory.close()
    return rows


def ok(_conns) -> Verification:
    return Verification()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_entry_is_written_before_the_push_and_follows_every_step(sqlite_url):
    r1 = box()
    pre = r1.text()
    seen: list[tuple[str, list[dict]]] = []

    def watch(event: StepEvent) -> None:  # the caller's observer runs after the journal's
        if event.state == "start" and event.step == Step.PUSH:
            assert r1.sent == []  # not touched yet ...
            seen.append(("push", entries(sqlite_url)))  # ... but already journaled

    with Sessions(IosRouters(r1), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], verify=ok,
                        observer=watch)
        assert done.status == "changed", done.message
        [row] = entries(sqlite_url)
        assert row["state"] == "verified"  # applied; done once the caller has recorded it
    [(_, [first])] = seen
    assert (first["state"], first["pre_image"], first["pre_sha256"]) == \
        ("pushing", pre, sha256(pre))
    assert first["lines"] == done.diff["r1"]
    assert (first["owner_pid"], first["owner_start"]) == (os.getpid(), me().start)
    assert entries(sqlite_url)[0]["state"] == "done"  # the sessions closed without error
    assert entries(sqlite_url)[0]["after_sha256"] == sha256(r1.text())


def test_finishing_inside_the_callers_transaction_commits_with_its_record(sqlite_url):
    directory = Directory(sqlite_url)
    r1 = box()
    with Sessions(IosRouters(r1), db=directory.engine) as sessions:
        converge(sessions, [DeviceChange.toward(target("r1"), WANT)], verify=ok)
        with pytest.raises(RuntimeError), directory.transaction() as s:
            sessions.journal.finish(s)
            raise RuntimeError("the record failed")
        assert entries(sqlite_url)[0]["state"] == "verified"  # rolled back with it
        with directory.transaction() as s:
            sessions.journal.finish(s)
        assert entries(sqlite_url)[0]["state"] == "done"
    directory.close()


def test_no_push_happens_when_the_journal_cannot_be_written(sqlite_url):
    r1 = box()
    pre = r1.text()
    directory = Directory(sqlite_url)
    with directory.engine.begin() as conn:  # readable, but no entry can be written
        conn.execute(text("CREATE TRIGGER full BEFORE INSERT ON device_change "
                          "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    with Sessions(IosRouters(r1), db=directory.engine) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], verify=ok)
    assert done.status == "failed" and done.failed_step == Step.PUSH
    assert "could not be recorded" in done.message and "change journal" in done.message
    assert r1.sent == [] and r1.text() == pre
    directory.close()


def test_a_journal_that_cannot_even_open_stops_the_change(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    r1 = box()
    with Sessions(IosRouters(r1), db=str(blocker / "directory.sqlite")) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], verify=ok)
    assert done.status == "failed" and r1.sent == []
    assert "directory database" in done.message


def test_the_default_journal_is_the_default_directory(monkeypatch, tmp_path):
    """A caller that names no database still journals (to --db/GIN_DB/the default)."""
    url = f"sqlite:///{tmp_path / 'default.sqlite'}"
    monkeypatch.setenv("GIN_DB", url)
    with Sessions(IosRouters(box())) as sessions:
        assert converge(sessions, [DeviceChange.toward(target("r1"), WANT)]).ok
    assert [r["state"] for r in entries(url)] == ["done"]


def test_a_failed_verification_is_journaled_as_restored(sqlite_url):
    r1 = box()

    def bad(_conns) -> Verification:
        check = Verification()
        check.add("bgp", False, "BGP down")
        return check

    with Sessions(IosRouters(r1), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], verify=bad)
    assert done.status == "rolled back"
    assert [r["state"] for r in entries(sqlite_url)] == ["restored"]


def _orphan(url: str, device: IosBox, lines: list[str], state: str) -> int:
    """What a killed process leaves: an open entry, owned by a dead pid, and the device
    with (part of) its lines."""
    journal = Journal(url)
    object.__setattr__(journal, "owner", Owner(dead_pid(), me().host, me().start, "ops"))
    run = journal.run()
    pre = device.text()
    run(StepEvent(Step.PUSH, "start", device.hostname, tuple(lines), pre))
    device.configure(lines, tolerate_errors=False)
    if state != "pushing":
        journal.mark(run.entries[device.hostname], state)
    return run.entries[device.hostname]


@pytest.mark.parametrize("state", ["pushing", "pushed", "saved", "verified"])
def test_the_next_change_first_restores_what_a_dead_process_left(sqlite_url, state):
    r1 = box()
    pre = r1.text()
    entry = _orphan(sqlite_url, r1, ["interface GigabitEthernet0/1",
                                     " ipv6 address 2001:db8::1/127"], state)
    assert r1.text() != pre
    with Sessions(IosRouters(r1), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), OTHER)], verify=ok)
    assert done.status == "changed", done.message
    [note] = done.devices["r1"].recovered
    assert f"entry {entry} ({state})" in note and "restored the pre-image" in note
    assert "ipv6 address 2001:db8::1/127" not in r1.text()  # the orphan's lines are gone
    assert done.devices["r1"].before == pre  # the new change started from the pre-image
    rows = entries(sqlite_url)
    assert [r["state"] for r in rows] == ["restored", "done"]
    assert "recovered by" in rows[0]["note"]
    directory = Directory(sqlite_url)
    with directory.transaction() as s:
        log = s.scalars(select(m.Change).where(m.Change.action == "recover")).all()
        assert len(log) == 1 and log[0].object_key == "r1"
        assert log[0].before["state"] == state
    directory.close()


def test_an_entry_whose_owner_lives_is_left_alone(sqlite_url):
    r1 = box()
    journal = Journal(sqlite_url)  # this very process: alive
    journal.run()(StepEvent(Step.PUSH, "start", "r1", ("hostname x",), r1.text()))
    assert journal.orphans(["r1"]) == []
    with Sessions(IosRouters(r1), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), OTHER)])
    assert done.ok and done.devices["r1"].recovered == []
    assert entries(sqlite_url)[0]["state"] == "pushing"


def test_owner_liveness_needs_same_host_pid_and_start():
    mine = me()
    assert alive(mine.pid, mine.host, mine.start)
    assert not alive(mine.pid, mine.host, "another-boot:1")  # the pid was reused
    assert not alive(mine.pid, mine.host + ".elsewhere", mine.start)
    assert not alive(dead_pid(), mine.host, mine.start)


def test_the_fault_hook_is_parsed_and_one_bad_item_is_one_clear_error():
    assert faults.parse("after:push:pe1, before:save:*") == [("done", "push", "pe1"),
                                                             ("start", "save", "*")]
    with pytest.raises(ValueError, match="when:step:device"):
        faults.parse("push:pe1")


def test_the_fault_hook_kills_the_process_at_the_named_step(sqlite_url, tmp_path):
    """A child process converges with GIN_FAULT=after:push:r1: it dies there (SIGKILL),
    leaving the entry at ``pushed`` for recovery."""
    script = tmp_path / "child.py"
    script.write_text(
        "from devices.converge import DeviceChange, converge\n"
        "from devices.sessions import Sessions\n"
        "from tests.unit.devices.iosbox import IosBox, IosRouters\n"
        "from tests.unit.devices.test_journal import BASE, WANT, target\n"
        f"with Sessions(IosRouters(IosBox('r1', BASE.format(h='r1'))), db={sqlite_url!r}) "
        "as s:\n"
        "    converge(s, [DeviceChange.toward(target('r1'), WANT)])\n"
        "print('survived')\n")
    env = {**os.environ, "GIN_FAULT": "after:push:r1", "PYTHONPATH": os.getcwd()}
    child = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == -9 and "survived" not in child.stdout, child.stderr
    [row] = entries(sqlite_url)
    assert row["state"] == "pushed" and row["owner_pid"] != os.getpid()
    assert Journal(sqlite_url).orphans(["r1"])[0].id == row["id"]


def test_only_converge_and_recovery_restore_devices():
    """The exact restore pushes too: outside converge (journaled) and recovery (resolving a
    journal entry) a call to it would change a device with no record."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    allowed = {"devices/converge.py", "devices/recovery.py", "devices/restore.py"}
    wrong = []
    for package in ("devices", "links", "vpn", "monitor", "audit", "gin"):
        for path in sorted((root / package).rglob("*.py")):
            rel = str(path.relative_to(root))
            if rel in allowed:
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                name = getattr(node, "id", None) or getattr(node, "attr", None)
                if name in ("restore_exactly", "_emptying"):
                    wrong.append(f"{rel}:{node.lineno}")
    assert not wrong, f"restore outside converge/recovery: {wrong}"

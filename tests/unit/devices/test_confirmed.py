"""Commit-confirmed on the platforms that have it, as exact command sequences (golden).

No Junos or IOS-XE box runs here: :class:`~tests.unit.devices.iosbox.IosBox` keeps an
IOS-XE config with its archive and revert timer, :class:`JunosBox` below a Junos candidate
and committed config with ``commit confirmed``; converge talks to both through the
Connection contract Netmiko implements.  What each router receives, in order, is compared
with the sequence its documentation gives -- unverified on a real router.
"""

from __future__ import annotations

import pytest

from devices import confirmed, platforms
from devices.converge import DeviceChange, Step, StepEvent, Verification, converge
from devices.errors import ConfigError, TransportError
from devices.sessions import Sessions
from devices.targets import DeviceTarget
from tests.unit.devices.iosbox import IosBox, IosRouters

XE_BASE = ("hostname r1\narchive\n path flash:gin-archive\ninterface GigabitEthernet0/1\n"
           " description uplink\n")
XE_WANT = "interface GigabitEthernet0/1\n ipv6 address 2001:db8::1/127\n"
XE_LINES = ["interface GigabitEthernet0/1", " ipv6 address 2001:db8::1/127", "exit"]
JUNOS_BASE = "set system host-name r1\nset interfaces ge-0/0/0 description uplink\n"
JUNOS_WANT = "set interfaces ge-0/0/0 unit 0 family inet6 address 2001:db8::1/127\n"
JUNOS_LINE = "set interfaces ge-0/0/0 unit 0 family inet6 address 2001:db8::1/127"


class JunosBox:
    """A Junos router's configuration: a candidate edited by ``set``/``delete``, committed
    by ``commit``; ``commit confirmed N`` commits and keeps the previous config as
    ``rollback 1`` until a ``commit`` confirms it."""

    def __init__(self, hostname: str, running: str) -> None:
        self.hostname = hostname
        self.committed = [ln for ln in running.splitlines() if ln]
        self.previous: list[str] | None = None
        self.pending = False  # a commit confirmed not yet confirmed
        self.wire: list[tuple] = []

    def text(self) -> str:
        return "\n".join(self.committed) + "\n"

    def configure(self, lines: list[str], tolerate_errors: bool = False,
                  enter: str = "configure") -> str:
        self.wire.append(("config", enter, list(lines)))
        candidate = list(self.committed)
        for line in lines:
            if line.startswith("set ") and line not in candidate:
                candidate.append(line)
            elif line.startswith("delete "):
                gone = "set " + line.removeprefix("delete ")
                candidate = [c for c in candidate if c != gone and
                             not c.startswith(gone + " ")]
            elif line == "rollback 1":
                candidate = list(self.previous or self.committed)
            elif line.startswith("commit confirmed "):
                self.previous, self.committed, self.pending = self.committed, candidate, True
            elif line == "commit":
                if not self.pending:
                    self.previous = self.committed
                self.committed, self.pending = candidate, False
            else:
                raise TransportError(f"{self.hostname}: syntax error: {line}")
        return ""  # leaving configuration mode discards what was not committed

    def command(self, command: str) -> str:
        self.wire.append(("exec", command))
        raise TransportError(f"{self.hostname}: syntax error: {command}")

    def show(self, command: str) -> str:
        assert command == "show configuration | display set", command
        return self.text()

    def save(self) -> None:
        self.wire.append(("save",))  # a commit is already on disk: the transport's no-op

    def close(self) -> None:
        pass


class JunosRouters:
    name = "junos-box"

    def __init__(self, box: JunosBox) -> None:
        self.box = box

    def connect(self, target: DeviceTarget) -> JunosBox:
        return self.box


def xe(host: str = "r1") -> DeviceTarget:
    return DeviceTarget(host, "cisco_xe", "192.0.2.1", 22, None)


def junos(host: str = "r1") -> DeviceTarget:
    return DeviceTarget(host, "juniper_junos", "192.0.2.2", 22, None)


def verified(ok: bool):
    def verify(_conns) -> Verification:
        check = Verification()
        check.add("bgp", ok, "BGP session not Established")
        return check
    return verify


def steps(events: list[StepEvent]) -> list[tuple[str, str]]:
    return [(e.step.value, e.state) for e in events if e.device == "r1"
            and e.step not in (Step.READ, Step.DIFF)]


# --- the platform table, rendered -------------------------------------------------------

def test_the_platform_table_renders_each_commit_confirmed_exactly():
    xe_cc = confirmed.of(platforms.get("cisco_xe"))
    assert xe_cc is not None
    assert (xe_cc.enter, xe_cc.push(XE_LINES)) == ("configure terminal revert timer 5",
                                                   XE_LINES)
    assert (xe_cc.confirm.mode, xe_cc.confirm.lines) == ("exec", ("configure confirm",))
    assert (xe_cc.revert.mode, xe_cc.revert.lines) == ("exec", ("configure revert now",))
    assert xe_cc.usable(XE_BASE) and not xe_cc.usable("hostname r1\n")  # needs its archive
    jc = confirmed.of(platforms.get("juniper_junos"))
    assert jc is not None
    assert (jc.enter, jc.push([JUNOS_LINE])) == (None, [JUNOS_LINE, "commit confirmed 5"])
    assert (jc.confirm.mode, jc.confirm.lines) == ("config", ("commit",))
    assert (jc.revert.mode, jc.revert.lines) == ("config", ("rollback 1", "commit"))
    assert jc.usable(JUNOS_BASE)
    for name in ("frr", "cisco_ios", "linux", "strongswan"):  # the journal alone
        assert confirmed.of(platforms.get(name)) is None


@pytest.mark.parametrize("raw, says", [
    ({"minutes": 0, "confirm": {"exec": ["x"]}, "revert": {"exec": ["y"]},
      "enter": "e"}, "from 1 to 60"),
    ({"minutes": 5, "confirm": {"shell": ["x"]}, "revert": {"exec": ["y"]},
      "enter": "e"}, "{exec: [...]} or {config: [...]}"),
    ({"minutes": 5, "confirm": {"exec": ["x"]}, "revert": {"exec": ["y"]}},
     "needs enter or push_last"),
    ({"minutes": 5, "confirm": {"exec": ["x"]}, "enter": "e"}, "lacks revert"),
    ({"minutes": 5, "confirm": {"exec": ["x"]}, "revert": {"exec": ["y"]}, "enter": "e",
      "timer": 3}, "unknown key commit.confirmed.timer"),
])
def test_a_wrong_commit_confirmed_is_one_clear_error(raw, says):
    with pytest.raises(ConfigError, match=rf"acme/platform.yaml: .*{_re(says)}"):
        confirmed.parse("acme/platform.yaml", raw)


def _re(text: str) -> str:
    import re
    return re.escape(text)


# --- converge: IOS-XE -------------------------------------------------------------------

def test_ios_xe_pushes_with_a_revert_timer_confirms_after_verification_then_saves(sqlite_url):
    box = IosBox("r1", XE_BASE)
    events: list[StepEvent] = []
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(xe(), XE_WANT)],
                        verify=verified(True), observer=events.append)
    assert done.status == "changed", done.message
    assert box.wire == [("config", "configure terminal revert timer 5", XE_LINES),
                        ("exec", "configure confirm"),
                        ("exec", "write memory")]
    assert box.archived is None and box.startup == box.text()
    assert steps(events) == [("push", "start"), ("push", "done"), ("read_back", "start"),
                             ("read_back", "done"), ("confirm", "start"),
                             ("confirm", "done"), ("save", "start"), ("save", "done")]
    out = done.devices["r1"]
    assert out.confirmed and out.saved


def test_ios_xe_failed_verification_reverts_by_the_routers_own_command(sqlite_url):
    box = IosBox("r1", XE_BASE)
    before = box.text()
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(xe(), XE_WANT)],
                        verify=verified(False))
    assert (done.status, done.restored) == ("rolled back", True)
    assert box.wire == [("config", "configure terminal revert timer 5", XE_LINES),
                        ("exec", "configure revert now"),
                        ("exec", "write memory")]
    assert box.text() == before and box.startup == before  # never saved with the change


def test_ios_xe_without_its_archive_is_a_plain_push_protected_by_the_journal(sqlite_url):
    box = IosBox("r1", "hostname r1\ninterface GigabitEthernet0/1\n description uplink\n")
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(xe(), XE_WANT)],
                        verify=verified(True))
    assert done.status == "changed" and done.devices["r1"].confirm is None
    assert box.wire == [("config", "configure terminal", XE_LINES), ("exec", "write memory")]


def test_a_refused_confirmation_rolls_the_change_back(sqlite_url):
    """The confirmation itself fails (the timer ran out first, here: it was never started):
    the run fails and the router is put back exactly."""
    box = IosBox("r1", XE_BASE)
    before = box.text()

    def lost_timer(_conns) -> Verification:
        box.archived = None  # as if the router had already reverted and re-applied nothing
        return Verification()

    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(xe(), XE_WANT)], verify=lost_timer)
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.CONFIRM, True)
    assert "No rollback timer" in done.message
    assert box.text() == before


# --- converge: Junos ----------------------------------------------------------------------

def test_junos_commits_confirmed_then_confirms_with_commit(sqlite_url):
    box = JunosBox("r1", JUNOS_BASE)
    with Sessions(JunosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(junos(), JUNOS_WANT)],
                        verify=verified(True))
    assert done.status == "changed", done.message
    assert box.wire == [("config", "configure", [JUNOS_LINE, "commit confirmed 5"]),
                        ("config", "configure", ["commit"]),
                        ("save",)]
    assert JUNOS_LINE in box.text() and not box.pending


def test_junos_failed_verification_rolls_back_1_and_commits(sqlite_url):
    box = JunosBox("r1", JUNOS_BASE)
    before = box.text()
    with Sessions(JunosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(junos(), JUNOS_WANT)],
                        verify=verified(False))
    assert (done.status, done.restored) == ("rolled back", True)
    assert box.wire == [("config", "configure", [JUNOS_LINE, "commit confirmed 5"]),
                        ("config", "configure", ["rollback 1", "commit"]),
                        ("save",)]
    assert box.text() == before and not box.pending


def test_the_journal_follows_a_confirmed_change_to_done(sqlite_url):
    from sqlalchemy import select

    from directory import models as m
    from directory.store import Directory

    box = IosBox("r1", XE_BASE)
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        assert converge(sessions, [DeviceChange.toward(xe(), XE_WANT)],
                        verify=verified(True)).ok
    directory = Directory(sqlite_url)
    table = m.DeviceChangeEntry.__table__
    with directory.engine.connect() as conn:
        [row] = conn.execute(select(table)).mappings().all()
    directory.close()
    assert [h[0] for h in row["history"]] == ["pushing", "pushed", "read_back", "confirmed",
                                             "verified"]
    assert row["state"] == "done"


# --- Junos through the Netmiko connection -------------------------------------------------

class JunosSession:
    """What Netmiko's Juniper session does with a box: a configuration session is
    ``configure`` ... ``exit configuration-mode`` (leaving discards what was not
    committed); ``save_config`` is not implemented for Junos."""

    def __init__(self, box: JunosBox) -> None:
        self.box = box

    def send_config_set(self, lines, read_timeout=None, cmd_verify=True,
                        config_mode_command=None) -> str:
        return self.box.configure(list(lines), enter=config_mode_command or "configure")

    def send_command(self, command, read_timeout=None) -> str:
        return self.box.show(command)

    def save_config(self) -> str:
        raise NotImplementedError

    def disconnect(self) -> None:
        pass


class JunosOverNetmiko:
    name = "netmiko"

    def __init__(self, box: JunosBox) -> None:
        self.box = box

    def connect(self, target: DeviceTarget):
        from devices.transport.netmiko import NetmikoConnection

        return NetmikoConnection(target, JunosSession(self.box))


def test_junos_over_netmiko_commits_every_session_and_has_nothing_else_to_save(sqlite_url):
    box = JunosBox("r1", JUNOS_BASE)
    with Sessions(JunosOverNetmiko(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(junos(), JUNOS_WANT)],
                        verify=verified(True))
        assert done.status == "changed", done.message
        sessions.get(junos()).configure([f"delete {JUNOS_LINE.removeprefix('set ')}"])
    assert box.wire == [("config", "configure", [JUNOS_LINE, "commit confirmed 5"]),
                        ("config", "configure", ["commit"]),
                        ("config", "configure", [
                            f"delete {JUNOS_LINE.removeprefix('set ')}", "commit"])]
    assert box.text() == JUNOS_BASE and not box.pending


def test_junos_over_netmiko_failed_verification_is_rolled_back(sqlite_url):
    box = JunosBox("r1", JUNOS_BASE)
    with Sessions(JunosOverNetmiko(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(junos(), JUNOS_WANT)],
                        verify=verified(False))
    assert (done.status, done.restored) == ("rolled back", True), done.message
    assert box.wire == [("config", "configure", [JUNOS_LINE, "commit confirmed 5"]),
                        ("config", "configure", ["rollback 1", "commit"])]
    assert box.text() == JUNOS_BASE


# --- recovery of a confirmed push its process never confirmed ------------------------------

def test_recovery_reverts_an_unconfirmed_push_by_the_routers_own_command(sqlite_url):
    """A gin killed between its revert-timer push and the confirmation: the next change
    first ends the pending timer with `configure revert now` (the router goes back to the
    archive it took), then checks the pre-image byte for byte."""
    from devices.journal import Journal
    from devices.owner import Owner, me
    from tests.unit.devices.test_journal import dead_pid

    box = IosBox("r1", XE_BASE)
    pre = box.text()
    journal = Journal(sqlite_url)
    object.__setattr__(journal, "owner", Owner(dead_pid(), me().host, me().start, "ops"))
    run = journal.run()
    run(StepEvent(Step.PUSH, "start", "r1", tuple(XE_LINES), pre))
    box.configure(XE_LINES, False, "configure terminal revert timer 5")  # then killed
    run(StepEvent(Step.PUSH, "done", "r1", tuple(XE_LINES)))
    assert box.archived == pre and box.text() != pre
    box.wire.clear()
    with Sessions(IosRouters(box), db=sqlite_url) as sessions:
        done = converge(sessions, [DeviceChange.toward(xe(), "hostname r1\n")])
    assert done.ok and "restored the pre-image" in done.devices["r1"].recovered[0]
    assert box.wire[0] == ("exec", "configure revert now")
    assert box.archived is None and box.text() == pre

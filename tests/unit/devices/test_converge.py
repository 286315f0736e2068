"""converge(): the full cycle on routers that keep their config in memory (IOS-XE, which
cannot run here; tests/integration/links/test_converge_frr.py runs it on real FRR).

Every test checks the routers' running text afterwards, and the steps an observer (what
a journal will be) was told of, in order.
"""

from __future__ import annotations

import threading

from devices.converge import (
    DeviceChange,
    Step,
    StepEvent,
    Verification,
    converge,
)
from devices.sessions import Sessions
from devices.targets import DeviceTarget
from tests.unit.devices.iosbox import IosBox, IosRouters

BASE = "hostname {h}\ninterface GigabitEthernet0/1\n description uplink\n"
WANT = ("interface GigabitEthernet0/1\n ipv6 address 2001:db8::1/127\n"
        "ipv6 prefix-list GIN-IN-MOF seq 5 permit 2001:db8:1::/48\n")


def target(host: str) -> DeviceTarget:
    return DeviceTarget(host, "cisco_xe", "192.0.2.1", 22, None)


class Journal:
    """Records every step as (step, state, device); may refuse one step's start."""

    def __init__(self, refuse: tuple[Step, str] | None = None) -> None:
        self.events: list[StepEvent] = []
        self.refuse = refuse

    def __call__(self, event: StepEvent) -> None:
        if self.refuse == (event.step, event.state):
            raise OSError("journal disk full")
        self.events.append(event)

    def steps(self, device: str | None = "r1") -> list[tuple[str, str]]:
        return [(e.step.value, e.state) for e in self.events if e.device == device]


def boxes(**kw: object) -> tuple[IosBox, IosBox]:
    return (IosBox("r1", BASE.format(h="r1"), **kw),  # type: ignore[arg-type]
            IosBox("r2", BASE.format(h="r2")))


def verified(ok: bool):
    def verify(conns):
        assert set(conns) == {"r1", "r2"}  # every device's connection, to check across them
        check = Verification()
        check.add("bgp r1->r2", ok, "BGP session r1 -> r2 not Established")
        return check
    return verify


def test_pushes_only_what_is_missing_reads_back_saves_verifies_then_no_change():
    r1, r2 = boxes()
    before = r1.text()
    journal = Journal()
    changes = [DeviceChange.toward(target(h), WANT) for h in ("r1", "r2")]
    with Sessions(IosRouters(r1, r2)) as sessions:
        done = converge(sessions, changes, verify=verified(True), observer=journal)
        assert (done.status, done.restored) == ("changed", None), done.message
        assert " ipv6 address 2001:db8::1/127" in done.diff["r1"]
        assert " description uplink" not in done.diff["r1"]  # already there: not sent
        assert "ipv6 address 2001:db8::1/127" in r1.text() and r1.startup == r1.text()
        assert journal.steps() == [("read", "start"), ("read", "done"), ("diff", "start"),
                                   ("diff", "done"), ("push", "start"), ("push", "done"),
                                   ("read_back", "start"), ("read_back", "done"),
                                   ("save", "start"), ("save", "done")]
        assert journal.steps(None) == [("verify", "start"), ("verify", "done")]
        read = next(e for e in journal.events if e.step == "read" and e.state == "done")
        assert read.config == before  # the pre-image, for the journal
        again = converge(sessions, changes, verify=verified(True))
    assert (again.status, again.diff) == ("no change", {"r1": [], "r2": []})
    assert len(r1.sent) == 1 and r1.saves == 1


def test_failed_verification_restores_every_device_byte_for_byte():
    r1, r2 = boxes()
    before = (r1.text(), r2.text())
    journal = Journal()
    changes = [DeviceChange.toward(target(h), WANT) for h in ("r1", "r2")]
    with Sessions(IosRouters(r1, r2)) as sessions:
        done = converge(sessions, changes, verify=verified(False), observer=journal)
    assert (done.status, done.restored, done.failed_step) == ("rolled back", True, Step.VERIFY)
    assert "not Established" in done.message and "restored" in done.message
    assert (r1.text(), r2.text()) == before and (r1.startup, r2.startup) == before
    assert journal.steps()[-2:] == [("restore", "start"), ("restore", "done")]
    assert journal.steps(None) == [("verify", "start"), ("verify", "failed")]
    restored = [e for e in journal.events if e.step == "restore" and e.state == "done"]
    assert [e.device for e in restored] == ["r2", "r1"]  # last changed, first restored
    assert all(e.config == b for e, b in zip(restored, before[::-1], strict=True))


def test_a_refused_line_restores_that_device_and_the_ones_before_it():
    r1, r2 = IosBox("r1", BASE.format(h="r1")), IosBox("r2", BASE.format(h="r2"),
                                                        refuse=("ipv6 prefix-list",))
    before = (r1.text(), r2.text())
    with Sessions(IosRouters(r1, r2)) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(h), WANT) for h in ("r1", "r2")],
                        verify=verified(True))
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.PUSH, True)
    assert "rejected" in done.message
    assert (r1.text(), r2.text()) == before  # r2 took half of it: put back too


def test_a_line_silently_not_taken_fails_the_read_back():
    r1, _ = boxes(ignore=("ipv6 prefix-list",))
    before = r1.text()
    journal = Journal()
    with Sessions(IosRouters(r1)) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], observer=journal)
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.READ_BACK, True)
    assert "did not take 1 line(s): ipv6 prefix-list GIN-IN-MOF" in done.message
    assert r1.text() == before
    assert ("read_back", "failed") in journal.steps() and ("save", "start") not in \
        journal.steps()


def test_no_push_when_the_push_cannot_be_recorded():
    r1, r2 = boxes()
    journal = Journal(refuse=(Step.PUSH, "start"))
    with Sessions(IosRouters(r1, r2)) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], observer=journal)
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.PUSH, None)
    assert "could not be recorded: journal disk full" in done.message
    assert r1.sent == [] and r1.saves == 0


def test_unreachable_device_fails_at_read_and_the_ones_before_are_restored():
    r1, _ = boxes()
    before = r1.text()
    with Sessions(IosRouters(r1)) as sessions:
        done = converge(sessions, [DeviceChange.toward(target(h), WANT) for h in ("r1", "r9")])
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.READ, True)
    assert "r9: cannot connect" in done.message and r1.text() == before


def test_dry_run_sends_nothing():
    r1, _ = boxes()
    with Sessions(IosRouters(r1)) as sessions:
        done = converge(sessions, [DeviceChange.toward(target("r1"), WANT)], dry_run=True,
                        verify=verified(False))
    assert done.status == "dry-run" and done.diff["r1"] and r1.sent == []


def test_rollback_after_another_change_removes_only_its_own_lines():
    """Two changes on one router at once: the first fails verification after the second was
    pushed there; resetting the router would undo the second, so only the first's lines go."""
    r1 = IosBox("r1", BASE.format(h="r1"))
    mine = "ipv6 prefix-list GIN-IN-MOF seq 5 permit 2001:db8:1::/48\n"
    theirs = "ipv6 prefix-list GIN-IN-MOE seq 5 permit 2001:db8:2::/48\n"
    pushed, go_on = threading.Event(), threading.Event()

    def slow_failing_verify(conns):
        pushed.set()
        go_on.wait(10)
        check = Verification()
        check.add("route", False, "no route")
        return check

    with Sessions(IosRouters(r1)) as sessions:
        first: list = []
        worker = threading.Thread(target=lambda: first.append(converge(
            sessions, [DeviceChange.toward(target("r1"), mine, keep=[theirs])],
            verify=slow_failing_verify)))
        worker.start()
        assert pushed.wait(10)
        second = converge(sessions, [DeviceChange.toward(target("r1"), theirs, keep=[mine])])
        go_on.set()
        worker.join(10)
    assert second.status == "changed"
    assert (first[0].status, first[0].restored) == ("rolled back", True)
    assert "GIN-IN-MOE" in r1.text() and "GIN-IN-MOF" not in r1.text()
    assert "changed since" in first[0].devices["r1"].restore_note


def test_removal_keeps_what_others_share_and_never_deletes_a_port():
    shared = "ipv6 prefix-list GIN-IN-MOF seq 5 permit 2001:db8:1::/48\n"
    r1 = IosBox("r1", "hostname r1\ninterface GigabitEthernet0/1\n description uplink\n"
                " ipv6 address 2001:db8::1/127\n" + shared)
    with Sessions(IosRouters(r1)) as sessions:
        done = converge(sessions, [DeviceChange.removing(target("r1"), WANT, [shared])])
    assert done.status == "changed", done.message
    assert done.diff["r1"] == ["interface GigabitEthernet0/1",
                               " no ipv6 address 2001:db8::1/127", "exit"]
    assert "2001:db8::1/127" not in r1.text() and "GIN-IN-MOF" in r1.text()
    assert "description uplink" in r1.text() and r1.saves == 1

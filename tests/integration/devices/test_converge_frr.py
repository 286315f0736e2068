"""converge() on real FRR routers (the session lab), through the Netmiko transport: a change
that fails its verification is restored, and both routers end byte-identical to their
pre-images (read over vtysh, not over gin's own session); a change whose push cannot be
recorded never reaches the router.  The observer stands where the change journal will.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devices import transport
from devices.converge import DeviceChange, Step, StepEvent, Verification, converge
from devices.sessions import Sessions
from devices.targets import target_of
from directory import store

pytestmark = pytest.mark.integration

ROUTERS = ("pe1", "ce1")
CHANGE = ("ipv6 prefix-list GIN-CONVERGE-T seq 5 permit 2001:db8:99::/48\n"
          "route-map GIN-CONVERGE-T permit 10\n"
          " match ipv6 address prefix-list GIN-CONVERGE-T\n"
          "router bgp 65000\n"
          " neighbor 2001:db8:dead::1 remote-as 65099\n")
PEER = "2001:db8:dead::1"  # nobody there: the session can never come up


class Journal:
    def __init__(self, refuse: tuple[Step, str] | None = None) -> None:
        self.events: list[StepEvent] = []
        self.refuse = refuse

    def __call__(self, event: StepEvent) -> None:
        if (event.step, event.state) == self.refuse:
            raise OSError("database is gone")
        self.events.append(event)

    def of(self, device: str | None) -> list[tuple[str, str]]:
        return [(e.step.value, e.state) for e in self.events if e.device == device]


def _targets(directory):
    with directory.transaction() as s:
        return {h: target_of(store.get_device(s, h)) for h in ROUTERS}


def _running(lab) -> dict[str, str]:
    return {h: lab.vtysh(h, "show running-config") for h in ROUTERS}


def _peer_up(conns) -> Verification:
    """A real check on the real router: is the BGP session to PEER Established?"""
    out = conns["pe1"].show(f"show bgp neighbors {PEER} json")
    state = json.loads(out or "{}").get(PEER, {}).get("bgpState")
    check = Verification()
    check.add(f"bgp pe1->{PEER}", state == "Established",
              f"BGP session pe1 -> {PEER} is {state or 'not configured'}")
    return check


def test_failed_verification_leaves_both_routers_byte_identical(gin_lab, gin_lab_directory):
    targets = _targets(gin_lab_directory)
    before = _running(gin_lab)
    asn = {h: re.search(r"^router bgp (\d+)", before[h], re.M) for h in ROUTERS}
    change_of = {h: CHANGE.replace("65000", asn[h].group(1)) if asn[h] else  # type: ignore[union-attr]
                 CHANGE.split("router bgp")[0] for h in ROUTERS}  # a bare CE: no BGP yet
    assert asn["pe1"], "the lab's PE runs BGP"
    journal = Journal()
    with Sessions(transport.get("netmiko")) as sessions:
        done = converge(sessions, [DeviceChange.toward(targets[h], change_of[h])
                                   for h in ROUTERS], verify=_peer_up, observer=journal)
    assert (done.status, done.restored) == ("rolled back", True), done.message
    assert all(done.devices[h].pushed and done.devices[h].saved for h in ROUTERS)
    assert "GIN-CONVERGE-T" in done.devices["pe1"].after  # it was really there
    assert _running(gin_lab) == before  # byte for byte, read over vtysh
    for h in ROUTERS:
        saved = Path(gin_lab.node(h).etc_dir) / "frr.conf"
        assert "GIN-CONVERGE-T" not in saved.read_text()  # the restore was saved too
        steps = journal.of(h)
        assert steps[:10] == [("read", "start"), ("read", "done"), ("diff", "start"),
                              ("diff", "done"), ("push", "start"), ("push", "done"),
                              ("read_back", "start"), ("read_back", "done"),
                              ("save", "start"), ("save", "done")]
        assert steps[-2:] == [("restore", "start"), ("restore", "done")]
        push = next(e for e in journal.events if e.device == h and e.step == Step.PUSH)
        assert push.state == "start" and push.lines == tuple(done.devices[h].lines)
        assert push.config == done.devices[h].before  # written before the router is touched
        restored = [e for e in journal.events if e.device == h and e.step == Step.RESTORE]
        assert restored[-1].config == done.devices[h].before  # back to gin's pre-image
    assert journal.of(None) == [("verify", "start"), ("verify", "failed")]


def test_no_push_reaches_the_router_when_it_cannot_be_recorded(gin_lab, gin_lab_directory):
    targets = _targets(gin_lab_directory)
    before = _running(gin_lab)
    journal = Journal(refuse=(Step.PUSH, "start"))
    with Sessions(transport.get("netmiko")) as sessions:
        done = converge(sessions, [DeviceChange.toward(targets["pe1"], CHANGE.split(
            "router bgp")[0])], observer=journal)
    assert (done.status, done.failed_step, done.restored) == ("failed", Step.PUSH, None)
    assert "database is gone" in done.message
    assert _running(gin_lab) == before
    assert ("push", "start") not in journal.of("pe1")

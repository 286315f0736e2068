"""Link faults and the SOC's answer to threats, as audit evidence.

The GSI blocks are made by the real responder (``monitor.sensor.respond``) in a real
directory (SQLite, and PostgreSQL when GIN_TEST_PG_URL is set) and read back by
:mod:`audit.gsi`; the outage stretches are computed from samples in the shape Prometheus
returns them (the reader against a real Prometheus is in
tests/integration/audit/test_audit_prometheus_evidence.py).  Every reason the two checks
give has its Thai wording.
"""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from audit import gsi, messages
from audit.checks.base import Status
from audit.monitoring import MonitorFact
from audit.outages import Outage, intervals
from audit.runner import ConfigSource, audit_one
from tests.unit.audit.conftest import NOW, golden
from tests.unit.audit.test_audit_records import build

T0 = NOW - dt.timedelta(hours=1)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _series(*stretches: tuple[float, float, float], step: float = 0.25
            ) -> list[tuple[dt.datetime, float]]:
    """Samples every ``step`` minutes: ``(from, to, value)`` stretches, in order."""
    out = []
    for start, end, value in stretches:
        t = start
        while t < end:
            out.append((_at(t), value))
            t += step
    return out


def test_an_outage_is_oper_down_while_admin_up_from_its_first_to_its_last_sample() -> None:
    oper = _series((0, 10, 1), (10, 20, 0), (20, 40, 1), (40, 60, 0))
    admin = _series((0, 60, 1))
    got = intervals(oper, admin, _at(60))
    assert got == [(_at(10), _at(20)), (_at(40), None)]  # the second one is still going


def test_a_shutdown_is_no_outage_and_a_shutdown_ends_one() -> None:
    oper = _series((0, 30, 0))
    admin = _series((0, 10, 1), (10, 30, 0))  # shut at minute 10 by its operator
    assert intervals(oper, admin, _at(30)) == [(_at(0), _at(10))]
    assert intervals(_series((0, 30, 0)), _series((0, 30, 0)), _at(30)) == []


def test_a_hole_in_the_samples_ends_what_is_known() -> None:
    oper = _series((0, 5, 0), (20, 25, 1))  # no sample between minutes 5 and 20
    assert intervals(oper, _series((0, 25, 1)), _at(25)) == [(_at(0), _at(4.75))]
    # down at its last sample, but that sample is long past: it ended, when is not known
    assert intervals(_series((0, 5, 0)), [], _at(30)) == [(_at(0), _at(4.75))]


@pytest.fixture
def blocked(directory, monkeypatch):  # noqa: ANN001
    """DOPA's host blocked and lifted, MOPH's still blocked, an outside source blocked, all
    through the SOC's responder (no gateway, no routers: the change log only)."""
    from monitor.sensor.respond import Responder

    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())  # build's tunnel
    build(directory)
    r = Responder(directory)
    r.block("2001:db8:1::66", 600, "port scan on MOPH")
    r.lift("2001:db8:1::66")
    r.block("2001:db8:2:5::9", 3600, "brute force")
    r.block("198.51.100.7", 60, "block-list hit")
    return directory


def test_gsi_blocks_are_read_from_the_change_log_and_filed_under_the_sources_agency(
        blocked) -> None:  # noqa: ANN001
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with blocked.transaction() as s:
        found = gsi.blocks(s, since)
        filed = gsi.by_agency(s, found)
    assert [b.source for b in found] == ["2001:db8:1::66/128", "2001:db8:2:5::9/128",
                                         "198.51.100.7/32"]
    [dopa] = filed["DOPA"]
    assert (dopa.added_by, dopa.lifted_by, dopa.reason) == (blocked.actor, blocked.actor,
                                                            "port scan on MOPH")
    added, lifted = dopa.lines()
    who = blocked.actor
    assert added.startswith("GSI block 2001:db8:1::66/128 added ")
    assert f" by {who} (port scan on MOPH, until " in added
    assert added.endswith("; on no edge router")
    assert lifted.startswith("GSI block 2001:db8:1::66/128 lifted ") and f"by {who}" in lifted
    [moph] = filed["MOPH"]
    assert moph.lifted is None and moph.lines()[1].startswith(
        "GSI block 2001:db8:2:5::9/128 not lifted (expires ")
    assert [b.source for b in filed[gsi.OUTSIDE]] == ["198.51.100.7/32"]
    # a block that ended before the window is not this audit's
    with blocked.transaction() as s:
        later = gsi.blocks(s, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    assert [b.source for b in later] == ["2001:db8:2:5::9/128"]


WATCHED = MonitorFact("http://127.0.0.1:9090", 1.0, outages=(), interfaces=3)
THREATS = ("gin_threat_events_total{source_agency='DOPA', type='brute_force'} = 2",)
CLEARED = Outage("r1", "eth1", "DOPA", _at(5), _at(9), "firing", _at(7))
OPEN = Outage("r1", "eth2", "DOPA", _at(50), None, "pending", _at(51))


def _judge(monitor: MonitorFact | None, blocks: tuple[gsi.BlockRecord, ...] | None = ()
           ) -> dict[str, tuple[Status, str, tuple[str, ...]]]:
    audit = audit_one(ConfigSource("r1", "frr", golden("frr_good.conf"), "ce", "DOPA", NOW,
                                   True, monitor=monitor, blocks=blocks), now=NOW)
    return {f.check: (f.status, f.reason, tuple(text for _, text in f.evidence))
            for f in audit.findings if f.check in ("ops.link_faults", "inc.gsi_response")}


BLOCK = gsi.BlockRecord("2001:db8:1::66/128", _at(20), "alice as soc", "port scan",
                        _at(30), _at(25), "alice as soc", ("pe1", "pe2"), ("pe1", "pe2"))


def test_link_faults_open_cleared_none_and_unknown() -> None:
    def faults(monitor: MonitorFact | None) -> tuple[Status, str, tuple[str, ...]]:
        return _judge(monitor)["ops.link_faults"]

    status, reason, evidence = faults(MonitorFact(WATCHED.source, 1.0, outages=(CLEARED, OPEN),
                                                  interfaces=3))
    assert status is Status.FAIL and reason.startswith("1 link(s) down now") and "eth2" in reason
    assert evidence == (
        "gin_if_oper_up{device='r1', ifname='eth1'}: down from 2026-11-01T11:05:00Z to "
        "2026-11-01T11:09:00Z (4m00s); GinLinkDown firing since 2026-11-01T11:07:00Z",
        "gin_if_oper_up{device='r1', ifname='eth2'}: down from 2026-11-01T11:50:00Z and "
        "still down; GinLinkDown pending since 2026-11-01T11:51:00Z")
    status, reason, _ = faults(MonitorFact(WATCHED.source, 1.0, outages=(CLEARED,),
                                           interfaces=3))
    assert (status, reason) == (Status.PASS, "1 link fault(s) in the last 24 h, all cleared")
    assert faults(WATCHED)[:2] == (Status.PASS, "no link fault in the last 24 h (3 "
                                                "interface(s) watched)")
    assert faults(MonitorFact(WATCHED.source, None, outages=()))[0] is Status.UNKNOWN
    assert faults(None)[0] is Status.UNKNOWN
    assert faults(MonitorFact(WATCHED.source, 1.0))[0] is Status.UNKNOWN  # outages not read


def test_serious_threats_answered_by_a_block_pass_and_unanswered_fail() -> None:
    def answer(monitor: MonitorFact | None, blocks: tuple[gsi.BlockRecord, ...] | None
               ) -> tuple[Status, str, tuple[str, ...]]:
        return _judge(monitor, blocks)["inc.gsi_response"]

    attacked = MonitorFact(WATCHED.source, 1.0, THREATS, ("brute_force",), (), 3)
    status, reason, evidence = answer(attacked, (BLOCK,))
    assert (status, reason) == (Status.PASS, "serious threat events (brute_force) answered "
                                             "by 1 GSI block(s)")
    assert evidence == (*THREATS, *BLOCK.lines())
    assert BLOCK.lines()[1] == ("GSI block 2001:db8:1::66/128 lifted 2026-11-01T11:25:00Z by "
                                "alice as soc; off pe1, pe2")
    assert answer(attacked, ())[0] is Status.FAIL
    assert answer(attacked, None)[0] is Status.UNKNOWN  # no directory: blocks unknown
    assert answer(None, (BLOCK,))[0] is Status.UNKNOWN  # no Prometheus: threats unknown
    assert answer(WATCHED, (BLOCK,))[:2] == (Status.PASS, "no serious threat event; 1 GSI "
                                                          "block(s) recorded")
    assert answer(WATCHED, ())[0] is Status.NOT_APPLICABLE
    assert answer(WATCHED, None)[:2] == (Status.NOT_APPLICABLE, "no serious threat event from "
                                                                "the agency")


def test_every_reason_of_the_two_checks_has_thai() -> None:
    th = messages.catalogue("th")
    assert th is not None
    attacked = MonitorFact(WATCHED.source, 1.0, THREATS, ("brute_force",), (), 3)
    cases = [(None, None), (WATCHED, ()), (WATCHED, None), (WATCHED, (BLOCK,)), (attacked, ()),
             (attacked, (BLOCK,)), (attacked, None),
             (MonitorFact(WATCHED.source, 1.0, outages=(CLEARED, OPEN), interfaces=3), ()),
             (MonitorFact(WATCHED.source, 1.0, outages=(CLEARED,), interfaces=3), ()),
             (MonitorFact(WATCHED.source, None, outages=()), ())]
    reasons = {r for m, b in cases for _, r, _ in _judge(m, b).values()}
    assert len(reasons) == 12
    assert {r for r in reasons if th.reason(r) is None} == set()
    for check in ("ops.link_faults", "inc.gsi_response"):
        assert check in th.checks


def test_a_tunnel_in_force_is_deployed_through_gin_and_carries_traffic(directory, monkeypatch
                                                                        ) -> None:  # noqa: ANN001
    """The deploy record is the one gin's deploy writes (``vpn.deploy.record``); the live
    state is what Prometheus' ``gin_vpn_tunnel_up`` says, attached as assess attaches it."""
    from audit import runner
    from audit.checks import records, tunnels
    from audit.findings import findings_of
    from tests.unit.audit.test_audit_records import NOW as RECORDS_NOW
    from tests.unit.audit.test_audit_records import set_tunnel
    from vpn import deploy

    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    build(directory)  # tunnel t1 between gw-dopa and gw-moph, planned

    def verdict(live: dict[str, float] | None) -> tuple[Status, str, tuple[str, ...]]:
        with directory.transaction() as s:
            subjects = records.directory_subjects(s)
        if live is not None:
            subjects = tunnels.with_live(subjects, live)
        found = {(f.device, f.check): f for f in findings_of(runner.judge(subjects,
                                                                          now=RECORDS_NOW))}
        f = found[("gw-dopa", "vpn.tunnel_in_force")]
        return f.status, f.reason, tuple(text for _, text in f.evidence)

    assert verdict({"t1": 1.0})[0] is Status.NOT_APPLICABLE  # planned: protects nothing
    set_tunnel(directory, "up")  # recorded up, but never deployed through gin
    status, reason, _ = verdict({"t1": 1.0})
    assert (status, reason) == (Status.FAIL, "1 tunnel(s) recorded in force were never "
                                             "deployed through gin (t1)")
    deploy.record(directory, [deploy.DeployResult("t1", "changed", "up")], verify=True)
    status, reason, evidence = verdict({"t1": 1.0})
    assert (status, reason) == (Status.PASS, "1 tunnel(s) deployed and carrying traffic")
    assert evidence[0].startswith("tunnel t1 (up): deployed ") and evidence[0].endswith(
        f" by {directory.actor} (changed)")
    assert evidence[1] == "gin_vpn_tunnel_up{tunnel='t1'} = 1"
    assert verdict({"t1": 0.0})[:2] == (Status.FAIL, "1 tunnel(s) recorded in force carry no "
                                                     "traffic (t1)")
    assert verdict({})[0] is Status.FAIL  # no series: not carrying traffic either
    assert verdict(None)[0] is Status.UNKNOWN  # no Prometheus consulted
    th = messages.catalogue("th")
    assert th is not None and all(th.reason(verdict(live)[1]) for live in (
        {"t1": 1.0}, {"t1": 0.0}, None))

"""The poller against a real net-snmp snmpd: v3 authPriv and v2c, cross-checked with pysnmp,
50 endpoints, and the failure cases (wrong key, unknown user, silent, garbage)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from monitor.snmp import usm
from monitor.snmp.poller import Poller
from monitor.snmp.snmpd import SnmpdInstance
from monitor.snmp.targets import SnmpTarget

pytestmark = pytest.mark.integration


def v3_target(inst: SnmpdInstance, i: int = 0, **kw: object) -> SnmpTarget:
    host, port = inst.endpoints[i]
    user = usm.UsmUser(inst.user, "SHA", inst.auth_key, "AES", inst.priv_key)
    return SnmpTarget(**{"name": f"dev{i}", "host": host, "port": port, "agency": "A",
                     "site": "S", "user": user, **kw})


def poll(targets: list[SnmpTarget]) -> dict:
    async def run() -> dict:
        poller = Poller(targets)
        try:
            return await poller.poll_all()
        finally:
            poller.close()

    return asyncio.run(run())


def test_v3_and_v2c_poll_a_real_agent(snmpd50: SnmpdInstance) -> None:
    host, port = snmpd50.endpoints[0]
    v2 = SnmpTarget(name="v2", host=host, port=port, version="v2c", community=snmpd50.community)
    res = poll([v3_target(snmpd50), v2])
    for r in res.values():
        assert r.ok, r.error
        assert "lo" in r.ifnames.values()
        lo = next(i for i, n in r.ifnames.items() if n == "lo")
        assert r.counters["oper_status"][lo] == 1
        assert r.counters["admin_status"][lo] == 1
        assert r.counters["in_octets"][lo] > 0
        assert r.uptime is not None and r.uptime >= 0
        assert r.stats.packets_received >= 2
    assert res["v2"].ifnames == res["dev0"].ifnames


def test_values_match_pysnmp_on_the_same_agent(snmpd50: SnmpdInstance) -> None:
    """pysnmp (the reference) walks the same columns; names/status equal, counters close."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        bulk_walk_cmd,
        usmAesCfb128Protocol,
        usmHMACSHAAuthProtocol,
    )

    host, port = snmpd50.endpoints[0]

    async def walk(oid: str) -> dict[int, object]:
        engine = SnmpEngine()
        out: dict[int, object] = {}
        user = UsmUserData(snmpd50.user, snmpd50.auth_key, snmpd50.priv_key,
                           authProtocol=usmHMACSHAAuthProtocol, privProtocol=usmAesCfb128Protocol)
        transport = await UdpTransportTarget.create((host, port), timeout=2, retries=1)
        async for err, status, _, vbs in bulk_walk_cmd(
                engine, user, transport, ContextData(), 0, 25,
                ObjectType(ObjectIdentity(oid)), lexicographicMode=False, lookupMib=False):
            assert not err and not status
            for name, value in vbs:
                out[int(tuple(name)[-1])] = value
        engine.close_dispatcher()
        return out

    async def both() -> tuple[dict, dict, dict, dict]:
        names = await walk("1.3.6.1.2.1.31.1.1.1.1")
        admin = await walk("1.3.6.1.2.1.2.2.1.7")
        before = await walk("1.3.6.1.2.1.31.1.1.1.6")
        return names, admin, before, {}

    names, admin, before, _ = asyncio.run(both())
    r = poll([v3_target(snmpd50)])["dev0"]
    assert r.ok, r.error
    assert r.ifnames == {i: bytes(v.asOctets()).decode() for i, v in names.items()}
    assert r.counters["admin_status"] == {i: int(v) for i, v in admin.items()}
    for i, v in before.items():
        assert r.counters["in_octets"][i] >= int(v)  # counters only grow


def test_fifty_endpoints_in_one_poll(snmpd50: SnmpdInstance) -> None:
    targets = [v3_target(snmpd50, i) for i in range(50)]
    started = time.monotonic()
    res = poll(targets)
    assert len(res) == 50
    bad = {n: r.error for n, r in res.items() if not r.ok}
    assert not bad
    assert time.monotonic() - started < 10
    assert all(r.stats.retries == 0 for r in res.values())


def test_bad_targets_get_a_reason_and_do_not_delay_the_good_one(
        snmpd50: SnmpdInstance, silent_port: int, garbage_port: int,
        caplog: pytest.LogCaptureFixture) -> None:
    host, port = snmpd50.endpoints[1]
    wrong_auth = usm.UsmUser(snmpd50.user, "SHA", "not-the-auth-key", "AES", snmpd50.priv_key)
    nobody = usm.UsmUser("nobody", "SHA", snmpd50.auth_key, "AES", snmpd50.priv_key)
    targets = [
        v3_target(snmpd50, 0, name="good"),
        SnmpTarget(name="wrongpass", host=host, port=port, user=wrong_auth),
        SnmpTarget(name="nouser", host=host, port=port, user=nobody),
        SnmpTarget(name="silent", host="127.0.0.1", port=silent_port, user=wrong_auth,
               timeout=0.4, retries=1),
        SnmpTarget(name="garbage", host="127.0.0.1", port=garbage_port, user=wrong_auth,
               timeout=2.0, retries=1),
        SnmpTarget(name="badcfg", host="127.0.0.1", port=1, config_error="no SNMPv3 user"),
    ]
    with caplog.at_level(logging.WARNING, logger="gin.monitor.snmp"):
        res = poll(targets)
    assert res["good"].ok
    assert res["good"].duration < 1.0  # not held up by the silent target
    assert (res["wrongpass"].ok, res["wrongpass"].reason) == (False, "auth_failure")
    assert (res["nouser"].ok, res["nouser"].reason) == (False, "unknown_user")
    assert (res["silent"].ok, res["silent"].reason) == (False, "timeout")
    assert res["silent"].stats.retries >= 1
    assert (res["garbage"].ok, res["garbage"].reason) == (False, "malformed")
    assert res["garbage"].duration < 1.0  # garbage fails fast, no timeout
    assert (res["badcfg"].ok, res["badcfg"].reason) == (False, "config")
    logged = caplog.text
    for name in ("wrongpass", "nouser", "silent", "garbage"):
        assert f"snmp target {name} " in logged
    assert snmpd50.auth_key not in logged and snmpd50.priv_key not in logged


def test_static_columns_are_not_refetched_every_poll(snmpd50: SnmpdInstance) -> None:
    async def run() -> tuple[int, int]:
        poller = Poller([v3_target(snmpd50)])
        try:
            first = (await poller.poll_all())["dev0"]
            second = (await poller.poll_all())["dev0"]
        finally:
            poller.close()
        assert first.ok and second.ok
        assert second.ifnames == first.ifnames
        return first.varbinds, second.varbinds

    first, second = asyncio.run(run())
    assert second < first  # ifName/ifAlias/ifHighSpeed skipped on the second poll


@pytest.mark.parametrize("version", ["v2c", "v3"])
def test_real_agent_packets_decode_the_same_in_pysnmp(snmpd50: SnmpdInstance,
                                                      version: str) -> None:
    """Every datagram snmpd sent during a poll, decoded by gin and by pysnmp: same values."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "monitor"))
    from snmp_reference import plain, ref_decode_v2c, ref_open_v3, v2c

    from monitor.snmp import ber
    from monitor.snmp.transport import SnmpTransport

    captured: list[bytes] = []

    class Recording(SnmpTransport):
        def _received(self, data: bytes, addr: tuple[str, int]) -> None:
            captured.append(data)
            super()._received(data, addr)

    host, port = snmpd50.endpoints[2]
    if version == "v2c":
        target = SnmpTarget(name="d", host=host, port=port, version="v2c",
                        community=snmpd50.community)
    else:
        target = v3_target(snmpd50, 2)

    async def run() -> None:
        poller = Poller([target], transport=Recording())
        try:
            assert (await poller.poll_all())["d" if version == "v2c" else "dev2"].ok
        finally:
            poller.close()

    asyncio.run(run())
    assert len(captured) >= 3
    user = target.user
    compared = 0
    for data in captured:
        if version == "v2c":
            _, _, pdu = ber.decode_v2c(data)
            ref_vbs = ref_decode_v2c(data)["varbinds"]
        else:
            msg = ber.decode_v3(data)
            if not msg.flags & 1:
                continue  # discovery report
            assert user is not None
            pdu = usm.open_message(user, msg, data)
            ref_pdu = ref_open_v3(data, snmpd50.auth_key, snmpd50.priv_key)["pdu"]
            ref_vbs = [(tuple(o), *plain(v)) for o, v in v2c.apiPDU.get_varbinds(ref_pdu)]
        mine = [(ber.oid_tuple(o), t, ber.oid_tuple(v) if t == ber.OBJECT_IDENTIFIER else v)
                for o, t, v in pdu.varbinds]
        assert mine == ref_vbs
        compared += len(mine)
    assert compared > 100


def test_sharded_poller_matches_the_single_process_one(snmpd50: SnmpdInstance,
                                                        silent_port: int) -> None:
    from monitor.collector import SnmpCollector
    from monitor.snmp.shard import ShardedPoller

    targets = [v3_target(snmpd50, i) for i in range(12)]
    targets.append(SnmpTarget(name="silent", host="127.0.0.1", port=silent_port,
                          user=targets[0].user, timeout=0.3, retries=0))
    collector = SnmpCollector()

    async def run() -> dict:
        poller = ShardedPoller(targets, processes=3)
        try:
            await poller.poll_all(collector=collector)
            res = await poller.poll_all(collector=collector)
            assert len(set(poller.pids())) == 3
            return res
        finally:
            poller.close()

    res = asyncio.run(run())
    single = poll(targets)
    assert set(res) == set(single) == {t.name for t in targets}
    # snmpd here lists the host's interfaces: ones another process adds or removes between
    # the two polls are not the poller's doing, so compare the interfaces both polls saw
    for name, r in res.items():
        assert r.target.name == name and r.ok == single[name].ok
        if r.ok:
            both = r.ifnames.keys() & single[name].ifnames.keys()
            assert len(both) >= 2  # lo and the uplink at least
            assert {i: r.ifnames[i] for i in both} == {i: single[name].ifnames[i] for i in both}
    assert res["silent"].reason == "timeout"
    text = collector.render().decode()
    assert 'gin_snmp_up{agency="A",device="dev11",site="S"} 1' in text
    assert 'gin_snmp_polls_total{agency="A",device="dev0",site="S"} 2' in text


@pytest.mark.parametrize("processes", [1, 2])
def test_agent_poll_cycle_in_process(snmpd50: SnmpdInstance, processes: int) -> None:
    """The agent's cycle (no HTTP, no signals): reload, poll, serve per-device text."""
    from monitor.agent import Agent

    targets = [v3_target(snmpd50, i) for i in range(7)]
    lists = iter([targets, targets[1:]])
    agent = Agent(lambda: next(lists), listen=("127.0.0.1", 0), processes=processes)

    async def run() -> None:
        agent.reload_targets()
        await agent.poll_once()
        agent.reload_targets()  # dev0 leaves the directory; counters of the others go on
        await agent.poll_once()

    try:
        asyncio.run(run())
    finally:
        agent.close()
    body = agent.metrics_text({"device": "dev3"})
    assert body is not None and b'device="dev3"' in body and b'device="dev2"' not in body
    assert agent.metrics_text({"device": "nope"}) is None
    everything = agent.metrics_text({}) or b""
    assert b"gin_monitor_targets 6.0" in everything and b"process_cpu_seconds_total" in everything
    assert b'device="dev0"' not in everything
    assert b'gin_snmp_polls_total{agency="A",device="dev5",site="S"} 2' in everything
    assert b"gin_snmp_up" not in (agent.metrics_text({"devices": "none"}) or b"")

"""A device the agent cannot poll for want of SNMP credentials shows ``reason="config"`` on
/metrics; its log must say so in words too, once per device, not once per poll."""

from __future__ import annotations

import asyncio
import logging

import pytest

from directory import store
from directory.store import Directory
from monitor.agent import Agent, directory_targets


def _lines(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "gin.monitor.agent" and f"snmp target {name} " in r.getMessage()]


def test_a_target_without_credentials_is_named_once(sqlite_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="nocreds", role="ce", platform="frr",
                         snmp_address="192.0.2.7")
    d.close()
    agent = Agent(directory_targets(sqlite_url, None), interval=0.5)
    caplog.set_level(logging.INFO, logger="gin.monitor.agent")
    try:
        for _ in range(3):  # three reloads, three polls: still one line
            agent.reload_targets()
            asyncio.run(agent.poll_once())
        text = agent.metrics_text({"device": "nocreds"}) or b""
    finally:
        agent.close()
    assert b'reason="config"' in text
    [line] = _lines(caplog, "nocreds")
    assert "192.0.2.7:161" in line and "cannot be polled" in line
    assert "no SNMPv3 user" in line and "credential reference" in line


def test_the_line_comes_back_when_the_problem_changes(sqlite_url: str,
                                                      caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="r1", role="ce", platform="frr",
                         snmp_address="192.0.2.8")
    agent = Agent(directory_targets(sqlite_url, None))
    caplog.set_level(logging.INFO, logger="gin.monitor.agent")
    try:
        agent.reload_targets()
        with d.transaction() as s:
            store.update(s, store.get_device(s, "r1"), credential_ref="env:GIN_TEST_NEVER_SET_R1")
        agent.reload_targets()
        agent.reload_targets()
    finally:
        agent.close()
        d.close()
    lines = _lines(caplog, "r1")
    assert len(lines) == 2
    assert "no SNMPv3 user" in lines[0] and "GIN_TEST_NEVER_SET_R1" in lines[1]

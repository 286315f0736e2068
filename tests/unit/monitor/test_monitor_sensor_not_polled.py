"""A threat sensor serves its own metrics over HTTP (the gin-sensor job); the agent must not
poll it over SNMP, or the SOC gets GinDeviceUnreachable and GinAgentScrapeFailed for a host
that runs no SNMP agent.  The agent's log says in words why it is not polled, and the
generated SNMP jobs do not scrape it either; a sensor whose entry names an SNMP address
runs an SNMP agent and is polled there."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from directory import store
from directory.store import Directory
from monitor.agent import Agent, directory_targets
from monitor.prometheus.config import AgentSpec, generate


@pytest.fixture
def directory(sqlite_url: str) -> str:
    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="ce1", role="ce", platform="frr",
                         mgmt_address="192.0.2.1")
        store.add_device(s, "MOF", "BKK", hostname="ids-mof", role="sensor",
                         platform="linux", mgmt_address="192.0.2.50")
        store.add_device(s, "MOF", "BKK", hostname="ids-snmp", role="sensor",
                         platform="linux", mgmt_address="192.0.2.51",
                         snmp_address="192.0.2.52")
    d.close()
    return sqlite_url


def test_the_agent_does_not_poll_a_sensor_and_says_why(directory: str,
                                                       caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    agent = Agent(directory_targets(directory, None))
    caplog.set_level(logging.INFO, logger="gin.monitor.agent")
    try:
        agent.reload_targets()
        asyncio.run(agent.poll_once())  # no credentials: reason config, no packet sent
        assert sorted(agent.poller.targets) == ["ce1", "ids-snmp"]
        text = agent.metrics_text() or b""
    finally:
        agent.close()
    assert b'device="ids-mof"' not in text
    assert b'gin_snmp_up{agency="MOF",device="ids-snmp",site="BKK"}' in text
    lines = [r.getMessage() for r in caplog.records if "ids-mof" in r.getMessage()]
    assert lines == ["not polled: ids-mof: a threat sensor, scraped over HTTP by the "
                     "gin-sensor job; give it an snmp_address to poll its host too"]


def test_the_snmp_jobs_do_not_scrape_a_sensor(directory: str, tmp_path: Path) -> None:
    d = Directory(directory, actor="t")
    try:
        done = generate(d, tmp_path, [AgentSpec("bkk", "127.0.0.1:9436")], check=False)
    finally:
        d.close()
    snmp = json.loads((tmp_path / "file_sd" / "gin-snmp-bkk.json").read_text())
    assert [t for g in snmp for t in g["targets"]] == ["ce1", "ids-snmp"]
    assert done.devices == 2
    sensors = json.loads((tmp_path / "file_sd" / "gin-sensor.json").read_text())
    assert [g["labels"]["sensor"] for g in sensors] == ["ids-mof", "ids-snmp"]


def test_polling_a_sensor_by_name_says_why_not(directory: str) -> None:
    from devices.errors import ConfigError
    from monitor.poll import poll_directory

    d = Directory(directory, actor="t")
    try:
        with pytest.raises(ConfigError) as err:
            poll_directory(d, None, {"ids-mof"})
    finally:
        d.close()
    assert str(err.value) == (
        "no pollable device named ids-mof in the directory: ids-mof: a threat sensor, "
        "scraped over HTTP by the gin-sensor job; give it an snmp_address to poll its host "
        "too")

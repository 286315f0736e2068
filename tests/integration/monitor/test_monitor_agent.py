"""`gin monitor agent` as a real process, targets from a real directory, scraped by a real
Prometheus; values read back through /api/v1/query.  Bad targets (wrong v3 key, silent,
garbage) each get a reason and never stop the agent; SIGHUP reloads; SIGTERM stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from monitor_support import PromServer, free_tcp_port, have_prometheus, need

from directory import store
from directory.store import Directory
from monitor.prometheus.config import AgentSpec, directory_inventory, write_all
from monitor.snmp.snmpd import SnmpdInstance, free_udp_ports

pytestmark = pytest.mark.integration

# `monitor` is added to the root CLI by gin/commands/__init__.py; add it here too so the
# test does not depend on that registration.
AGENT = ("import sys; from gin.cli import cli, main; from gin.commands.monitor import monitor; "
         "cli.add_command(monitor); sys.exit(main(sys.argv[1:]))")


def write_secret(path: Path, data: dict) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return f"file:{path}"


def add_device(db: str, hostname: str, address: str, profile: str, cred: str,
               agency: str = "MOF", site: str = "BKK") -> None:
    d = Directory(db, actor="tests")
    try:
        with d.transaction() as s:
            try:
                store.get_agency(s, agency)
            except Exception:
                store.add_agency(s, code=agency, name_en=f"agency {agency}")
                store.add_site(s, agency, code=site, name="site")
            store.add_device(s, agency, site, hostname=hostname, role="ce", platform="frr",
                             snmp_address=address, snmp_profile=profile, credential_ref=cred)
    finally:
        d.close()


@pytest.fixture
def agent_setup(tmp_path: Path, snmpd50: SnmpdInstance, credentials_ref: str,
                silent_port: int, garbage_port: int) -> Iterator[dict]:
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    db = f"sqlite:///{tmp_path / 'dir.sqlite'}"
    port = snmpd50.endpoints[0][1]
    profiles = {"profiles": {
        "lab": {"version": "v3", "port": port, "timeout": 1.0, "retries": 1},
        "silent": {"version": "v3", "port": silent_port, "timeout": 0.5, "retries": 0},
        "garbage": {"version": "v3", "port": garbage_port, "timeout": 1.0, "retries": 0},
    }}
    prof_path = tmp_path / "profiles.yaml"
    prof_path.write_text(yaml.safe_dump(profiles))
    wrong = write_secret(tmp_path / "wrong.json",
                         {"snmp": {**snmpd50.credentials()["snmp"], "auth_key": "wrongwrong"}})
    for i in range(3):
        add_device(db, f"good{i}", snmpd50.endpoints[i][0], "lab", credentials_ref)
    add_device(db, "wrongpass", snmpd50.endpoints[3][0], "lab", wrong, agency="MOI",
               site="CNX")
    add_device(db, "silent", "127.0.0.1", "silent", credentials_ref, agency="MOI",
               site="CNX")
    add_device(db, "garbage", "127.0.0.1", "garbage", credentials_ref, agency="MOI",
               site="CNX")
    listen = free_tcp_port()
    traps = free_udp_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-c", AGENT, "--db", db, "monitor", "agent", "--listen",
         f"127.0.0.1:{listen}", "--interval", "1", "--profiles", str(prof_path),
         "--traps", f"127.0.0.1:{traps}", "--event-log", str(tmp_path / "events.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    # the configuration `gin monitor prometheus-config` generates from this directory
    d = Directory(db, actor="tests")
    try:
        devices, contacts = directory_inventory(d)
    finally:
        d.close()
    write_all(tmp_path / "prom", devices, contacts,
              [AgentSpec("local", f"127.0.0.1:{listen}")], scrape_interval="1s",
              alertmanager=None)
    prom = PromServer(tmp_path / "prom")
    try:
        wait_until_serving(proc, listen)
        prom.start()
        yield {"proc": proc, "prom": prom, "db": db, "listen": listen, "snmpd": snmpd50,
               "cred": credentials_ref, "traps": traps, "events": tmp_path / "events.jsonl"}
    finally:
        prom.stop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def wait_until_serving(proc: subprocess.Popen[bytes], listen: int,
                       timeout: float = 60.0) -> None:
    """The agent imports pysnmp and opens the directory before it listens: on a loaded CI
    machine that took long enough to eat the tests' own waits, so wait for it first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"agent exited with {proc.returncode}: {out}")
        try:
            metrics(listen)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"agent did not serve /metrics on 127.0.0.1:{listen}")


def metrics(listen: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{listen}/metrics", timeout=5) as r:
        return r.read().decode()


def test_agent_scraped_by_prometheus(agent_setup: dict) -> None:
    """Through the generated config: one scrape per device via the agent, plus the agent's
    own job; recording rules evaluated."""
    prom: PromServer = agent_setup["prom"]
    proc = agent_setup["proc"]
    up = prom.wait_for("gin_snmp_up", cond=lambda r: len(r) == 6)
    assert {s["metric"]["instance"] for s in up} == {s["metric"]["device"] for s in up}
    assert {s["metric"]["job"] for s in up} == {"gin-snmp-local"}
    targets = prom.wait_for('up{job="gin-snmp-local"} == 1', cond=lambda r: len(r) == 6)
    assert {s["metric"]["agency"] for s in targets} == {"MOF", "MOI"}
    assert prom.wait_for('up{job="gin-agent-local"} == 1')
    assert prom.query('process_resident_memory_bytes{job="gin-agent-local"}')
    by_agency = prom.wait_for("gin:agency_devices_up:sum", cond=lambda r: len(r) == 2)
    assert {s["metric"]["agency"]: s["value"][1] for s in by_agency} == {"MOF": "3", "MOI": "0"}
    values = {s["metric"]["device"]: s["value"][1] for s in up}
    assert values == {"good0": "1", "good1": "1", "good2": "1", "wrongpass": "0",
                      "silent": "0", "garbage": "0"}
    labels = {s["metric"]["device"]: (s["metric"]["agency"], s["metric"]["site"]) for s in up}
    assert labels["good0"] == ("MOF", "BKK") and labels["silent"] == ("MOI", "CNX")
    reasons = prom.wait_for("gin_snmp_last_error_info == 1", cond=lambda r: len(r) == 3)
    assert {s["metric"]["device"]: s["metric"]["reason"] for s in reasons} == {
        "wrongpass": "auth_failure", "silent": "timeout", "garbage": "malformed"}
    lo = prom.wait_for('gin_if_oper_up{device="good1",ifname="lo"}')
    assert lo[0]["value"][1] == "1"
    rate = prom.wait_for('rate(gin_if_in_octets_total{device="good0",ifname="lo"}[10s])',
                         timeout=30)
    assert float(rate[0]["value"][1]) >= 0
    assert prom.query('gin_snmp_errors_total{reason="timeout"}')
    assert proc.poll() is None  # bad targets never stop the agent


def test_agent_counts_traps(agent_setup: dict) -> None:
    """A v3 authPriv linkDown trap from a device's address, with the device's keys."""
    import shutil

    need(shutil.which("snmptrap") is not None, "needs snmptrap (apt-get install -y snmp)")
    prom: PromServer = agent_setup["prom"]
    prom.wait_for("gin_snmp_up", cond=lambda r: len(r) == 6)
    snmpd: SnmpdInstance = agent_setup["snmpd"]
    source = snmpd.endpoints[1][0]  # good1's address
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(agent_setup["events"].parent)}
    subprocess.run(
        ["snmptrap", "-v3", "-u", snmpd.user, "-l", "authPriv", "-a", "SHA", "-A",
         snmpd.auth_key, "-x", "AES", "-X", snmpd.priv_key, "-e", "0x80001f8804aa00bb01",
         "--clientaddr=" + source, f"127.0.0.1:{agent_setup['traps']}", "",
         "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.3", "i", "3"],
        check=True, env=env, capture_output=True)
    end = time.monotonic() + 10
    line = 'gin_snmp_traps_total{agency="MOF",device="good1",site="BKK",trap="linkDown"} 1.0'
    while time.monotonic() < end and line not in metrics(agent_setup["listen"]):
        time.sleep(0.2)
    assert line in metrics(agent_setup["listen"])
    event = json.loads(agent_setup["events"].read_text().splitlines()[-1])
    assert (event["device"], event["trap"], event["ifindex"]) == ("good1", "linkDown", 3)


def test_sighup_reloads_and_sigterm_stops(agent_setup: dict) -> None:
    prom: PromServer = agent_setup["prom"]
    proc = agent_setup["proc"]
    prom.wait_for("gin_snmp_up", cond=lambda r: len(r) == 6)
    snmpd: SnmpdInstance = agent_setup["snmpd"]
    add_device(agent_setup["db"], "late", snmpd.endpoints[10][0], "lab", agent_setup["cred"])
    proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 15
    while time.monotonic() < end and 'device="late"' not in metrics(agent_setup["listen"]):
        time.sleep(0.3)
    assert 'gin_snmp_up{agency="MOF",device="late",site="BKK"} 1\n' in metrics(
        agent_setup["listen"])
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert time.monotonic() - started < 5
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "agent stopped" in out
    assert "snmp target wrongpass" in out and "auth_failure" in out
    creds = snmpd.credentials()["snmp"]
    assert creds["auth_key"] not in out and creds["priv_key"] not in out


def test_every_dashboard_expression_runs_on_prometheus(agent_setup: dict) -> None:
    """Each panel and variable query of the generated dashboards, on the real Prometheus
    fed by the real agent: all must evaluate, and those over SNMP data must return data."""
    import re

    from monitor.prometheus.dashboards import DASHBOARDS, expressions, to_json

    prom: PromServer = agent_setup["prom"]
    prom.wait_for("gin_snmp_up", cond=lambda r: len(r) == 6)
    prom.wait_for("gin:if_in_utilisation:ratio_rate5m", timeout=40)
    checked = 0
    for name, make in DASHBOARDS.items():
        for expr in expressions(to_json(make())):
            q = re.sub(r"label_values\((.*),\s*(\w+)\)$", r"group by (\2) (\1)", expr)
            q = (q.replace("$__rate_interval", "1m").replace('"$agency"', '"MOF"')
                 .replace('"$device"', '".*"'))
            assert "$" not in q, q
            # no VPN/BGP/threat/web-certificate data here; hrProcessorLoad needs a minute
            optional = any(k in q for k in ("threat", "vpn", "bgp", "cert", "cpu_load"))
            result = prom.query(q) if optional else prom.wait_for(q, timeout=30)
            assert optional or result, f"{name}: {expr!r} returned nothing"
            checked += 1
    assert checked >= 30

"""Traps and informs from net-snmp's snmptrap/snmpinform (v2c and v3 authPriv) into the
receiver: counted per device and trap, written to the event log, bad ones rejected."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest
from monitor_support import need

from monitor.snmp import usm
from monitor.snmp.snmpd import free_udp_ports
from monitor.snmp.targets import SnmpTarget
from monitor.snmp.traps import TrapReceiver, start

pytestmark = pytest.mark.integration

AUTH, PRIV, COMMUNITY = "trap-auth-key-1", "trap-priv-key-2", "trapcomm"
LINK_DOWN, LINK_UP, AUTH_FAIL = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4", "1.3.6.1.6.3.1.1.5.5"


def v3(auth: str = AUTH) -> list[str]:
    return ["-v3", "-u", "ginmon", "-l", "authPriv", "-a", "SHA", "-A", auth, "-x", "AES",
            "-X", PRIV]


async def send(tool: str, args: list[str], port: int, trap: str, tmp: Path) -> int:
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(tmp / "snmp-persist"),
           "SNMPCONFPATH": str(tmp)}
    proc = await asyncio.create_subprocess_exec(
        tool, *args, "-t", "1", "-r", "1", f"127.0.0.1:{port}", "", trap,
        "1.3.6.1.2.1.2.2.1.1.2", "i", "2", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    await proc.communicate()
    return proc.returncode or 0


def test_traps_and_informs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    need(shutil.which("snmptrap") is not None and shutil.which("snmpinform") is not None,
         "needs net-snmp tools (apt-get install -y snmp)")
    target = SnmpTarget(name="r1", host="127.0.0.1", port=161, agency="MOF", site="BKK",
                    community=COMMUNITY, user=usm.UsmUser("ginmon", "SHA", AUTH, "AES", PRIV))
    log_path = tmp_path / "events.jsonl"
    receiver = TrapReceiver([target], event_log=str(log_path))
    port = free_udp_ports(1)[0]

    async def run() -> dict[str, int]:
        transport = await start(receiver, ("127.0.0.1", port))
        try:
            rc = {
                "v2c_trap": await send("snmptrap", ["-v2c", "-c", COMMUNITY], port, LINK_DOWN,
                                       tmp_path),
                "v3_trap": await send("snmptrap", [*v3(), "-e", "0x80001f8804aabbccdd"], port,
                                      LINK_UP, tmp_path),
                "v3_inform": await send("snmpinform", v3(), port, AUTH_FAIL, tmp_path),
                "v2c_inform": await send("snmpinform", ["-v2c", "-c", COMMUNITY], port,
                                         LINK_DOWN, tmp_path),
                "bad_key": await send("snmptrap", [*v3("wrong-auth-key"), "-e",
                                                   "0x80001f8804aabbccee"], port, LINK_UP,
                                      tmp_path),
                "bad_comm": await send("snmptrap", ["-v2c", "-c", "guess"], port, LINK_UP,
                                       tmp_path),
            }
            await asyncio.sleep(0.3)
            return rc
        finally:
            transport.close()

    rc = asyncio.run(run())
    assert rc["v3_inform"] == 0 and rc["v2c_inform"] == 0  # informs were acknowledged
    assert dict(receiver.counts) == {("MOF", "BKK", "r1", "linkDown"): 2,
                                     ("MOF", "BKK", "r1", "linkUp"): 1,
                                     ("MOF", "BKK", "r1", "authenticationFailure"): 1}
    assert dict(receiver.rejected) == {"auth_failure": 1, "bad_community": 1}
    lines = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert len(lines) == 4
    assert {(e["trap"], e["version"], e["inform"]) for e in lines} == {
        ("linkDown", "v2c", False), ("linkUp", "v3", False),
        ("authenticationFailure", "v3", True), ("linkDown", "v2c", True)}
    assert all(e["device"] == "r1" and e["ifindex"] == 2 for e in lines)
    text = log_path.read_text() + caplog.text
    assert AUTH not in text and PRIV not in text and COMMUNITY not in text
    samples = {tuple(s.labels.values()): s.value for m in receiver.collect()
               for s in m.samples}
    assert samples[("MOF", "BKK", "r1", "linkDown")] == 2
    assert samples[("auth_failure",)] == 1


def test_gin_monitor_traps_command(tmp_path: Path) -> None:
    """``gin monitor traps`` as a process: a v2c trap from a directory device becomes one
    JSON line on stdout (and in the event log); SIGTERM stops it cleanly."""
    import signal
    import subprocess
    import sys
    import time

    import yaml

    from directory import store
    from directory.store import Directory

    need(shutil.which("snmptrap") is not None, "needs net-snmp tools (apt-get install -y snmp)")
    db = f"sqlite:///{tmp_path / 'dir.sqlite'}"
    cred = tmp_path / "cred.json"
    fd = os.open(cred, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"snmp": {"community": COMMUNITY}}, fh)
    d = Directory(db, actor="tests")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="r1", role="ce", platform="frr",
                         snmp_address="127.0.0.1", snmp_profile="v2", credential_ref=f"file:{cred}")
    d.close()
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(yaml.safe_dump({"profiles": {"v2": {"version": "v2c"}}}))
    port = free_udp_ports(1)[0]
    launcher = ("import sys; from gin.cli import cli, main; "
                "from gin.commands.monitor import monitor; cli.add_command(monitor); "
                "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, "--db", db, "monitor", "traps", "--profiles",
         str(profiles), "--listen", f"127.0.0.1:{port}", "--event-log",
         str(tmp_path / "events.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "events.jsonl").exists():  # keep trapping until it listens
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < end, "no trap received"
            asyncio.run(send("snmptrap", ["-v2c", "-c", COMMUNITY], port, LINK_DOWN, tmp_path))
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    first = json.loads(out.splitlines()[0])
    assert (first["device"], first["trap"], first["agency"]) == ("r1", "linkDown", "MOF")

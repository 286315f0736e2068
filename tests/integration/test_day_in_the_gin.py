"""One day in the GIN, end to end on one lab, through the ``gin`` CLI as each user types it.

The day lab (gin/lab/topologies/day.yaml: the default lab's pe1/pe2 core, ce1/MOF on pe1,
ce2/MOE on pe2, a LAN host behind each, plus a VPN gateway of each of MOF and MOE with a
host on a LAN inside the agency's /48, and a standby cable from ce2 to pe1) stands in for
the real routers; it is registered in a scratch SQLite directory (GIN_DB) whose agencies an
engineer has just imported from CSV.  Then, in order:

1. engineer: ``gin directory import`` (MOF, MOE), ``gin directory plan apply``, the agency
   /48s, ``gin link plan`` and ``gin link provision`` of both links; h1 reaches h2 across
   the core.
2. the agent (``gin monitor agent``) polls every router; the MOE LAN's threat sensor
   (``gin monitor sensor run`` in ce2's namespace on its LAN port, a directory device of
   role sensor); a real Prometheus on ``gin monitor prometheus-config``'s output scrapes
   both and sends to a real Alertmanager whose webhook is this test.  Meanwhile the
   engineer builds the MOF-MOE tunnel as the README says (``gin vpn key init``, ``ca
   init``, ``cert issue``, ``create --auth cert``, ``deploy``): ha reaches hb only through
   it, and the tunnel's byte counters (``gin vpn status``) rise with the pings.
3. MOE's standby uplink is cut at pe1: ce2's port is up but has no carrier.
   GinLinkDown's 2 minutes run through what follows (MOE's traffic keeps its own link).
4. h1 (MOF) port-scans and SSH-brute-forces h2 (MOE) with plain sockets; the SOC sees the
   alert at the webhook with the agency named, blocks h1 (``gin monitor respond``): no
   traffic either way, and the lift restores it.
5. auditor: ``gin audit backup``, ``gin audit check --prometheus``, ``gin audit report``
   (JSON and HTML) of that run: the threat events, the GSI block (added and lifted, by
   whom), the tunnel protecting both agencies' links, and the outage still going, as
   evidence.  Then GinLinkDown reaches the SOC's pager at the webhook, naming MOE.
6. ``gin directory history --json`` names who did each step.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.conftest import need
from tests.integration.monitor.monitor_support import PromServer, free_tcp_port, have_prometheus
from tests.integration.sensor.test_sensor_alerts import ALERTMANAGER, Webhook

pytestmark = pytest.mark.integration

H1, H2 = "2001:db8:1001::10", "2001:db8:1002::10"
HB = "2001:db8:1002:b::10"  # MOE's host behind its VPN gateway gwb (ha is MOF's, behind gwa)
TUNNEL = "mof-moe"
#: Seconds from the cut to GinLinkDown at the webhook (2 m "for" + 10 s group wait, and room
#: for the rule to start over after a failed poll)
LINKDOWN_WAIT = 600
TOPOLOGY = Path(__file__).parents[2] / "gin" / "lab" / "topologies" / "day.yaml"
#: agency -> (CE, its LAN host, N of the host's 2001:db8:N::/64, the link's name)
AGENCIES = {"MOF": ("ce1", "h1", 1001, "mof-ce1"), "MOE": ("ce2", "h2", 1002, "moe-ce2")}
ATTACK = """
import socket, sys
target = sys.argv[1]
def knock(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect_ex((target, port))
    s.close()
for port in range(1, 151):          # a port scan: 150 distinct ports
    knock(port)
for _ in range(40):                 # an SSH brute force: 40 attempts
    knock(22)
"""


def _port(lab: Any, node: str, peer: str) -> str:
    return next(i.name for i in lab.node(node).interfaces if i.peer_node == peer)


def _wait(cond: Any, what: str, timeout: float, detail: Any = lambda: "") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}: {detail()}")


class Gin:
    """``gin`` as a user runs it: GIN_DB on the scratch directory, --actor per user."""

    def __init__(self, db: Path, backups: Path, vpn_key: Path) -> None:
        self.env = {**os.environ, "GIN_DB": str(db), "GIN_BACKUP_DIR": str(backups),
                    "GIN_VPN_KEY_FILE": str(vpn_key)}
        for name in ("GIN_ACTOR", "GIN_VPN_KEY"):
            self.env.pop(name, None)

    def argv(self, actor: str, *args: str) -> list[str]:
        return [sys.executable, "-m", "gin.cli", "--actor", actor, *args]

    def __call__(self, actor: str, *args: str, ok: tuple[int, ...] = (0,),
                 timeout: float = 300) -> str:
        done = subprocess.run(self.argv(actor, *args), capture_output=True, text=True,
                              env=self.env, timeout=timeout, check=False)
        assert done.returncode in ok, (args, done.returncode, done.stdout, done.stderr)
        return done.stdout

    def json(self, actor: str, *args: str, ok: tuple[int, ...] = (0,)) -> Any:
        return json.loads(self(actor, *args, "--json", ok=ok))

    def start(self, actor: str, *args: str, log: Path, netns: str | None = None
              ) -> subprocess.Popen:
        argv = self.argv(actor, *args)
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        return subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=open(log, "wb"))  # noqa: SIM115 - lives with proc


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def day_lab() -> Iterator[Any]:
    """The day lab under a unique name, torn down at the end (also on failure)."""
    from tests.integration.conftest import require_lab

    require_lab()
    need(os.path.exists("/usr/lib/ipsec/charon"), "needs strongSwan (deps/apt-vpn.txt)")
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(os.path.exists(ALERTMANAGER),
         "needs Alertmanager (apt-get install -y prometheus-alertmanager)")
    from gin import lab

    name = "d" + secrets.token_hex(2)
    try:
        yield lab.up(TOPOLOGY, name=name)
    finally:
        lab.down(name)


def _reach(lab: Any, src: str, dst: str) -> bool:
    return lab.exec(src, ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", dst]).returncode == 0


def _cut(lab: Any, src: str, dst: str) -> bool:
    return lab.exec(src, ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", dst]).returncode != 0


def build_tunnel(gin: Gin, lab: Any) -> None:
    """The engineer's VPN work as the README has it: sealing key, CA, the gateways'
    certificates, the tunnel (it protects the agencies' /48s), its deploy; then ha reaches
    hb, which it cannot without the tunnel, and the tunnel's counters rise."""
    gin("engineer", "vpn", "key", "init")
    gin("engineer", "vpn", "ca", "init")
    for gw in ("gwa", "gwb"):
        gin("engineer", "vpn", "cert", "issue", gw)
    created = gin.json("engineer", "vpn", "create", "gwa", "gwb", "--type", "ikev2",
                       "--auth", "cert", "--name", TUNNEL)
    assert created["name"] == TUNNEL, created
    shown = json.dumps(gin.json("engineer", "vpn", "show", TUNNEL))
    assert "2001:db8:1001::/48" in shown and "2001:db8:1002::/48" in shown, shown
    assert _cut(lab, "ha", HB)  # gwa has no route to MOE's LAN: only the tunnel will give one
    [deployed] = gin.json("engineer", "vpn", "deploy", TUNNEL)
    assert (deployed["result"], deployed["message"]) == ("changed", "up"), deployed
    [before] = gin.json("engineer", "vpn", "status", TUNNEL)
    assert before["up"], before
    _wait(lambda: _reach(lab, "ha", HB), "ha reaching hb through the tunnel", 30)
    [after] = gin.json("engineer", "vpn", "status", TUNNEL)
    assert after["bytes_out"] > before["bytes_out"] and after["bytes_in"] > before[
        "bytes_in"], (before, after)


def test_one_day_in_the_gin(day_lab: Any, tmp_path: Path) -> None:
    from directory.store import Directory
    from gin.lab.register import register

    lab = day_lab
    db = tmp_path / "directory.sqlite"
    gin = Gin(db, tmp_path / "backups", tmp_path / "vpn.key")
    procs: list[subprocess.Popen] = []
    hook = Webhook()
    prom = PromServer(tmp_path / "prom")
    began = time.monotonic()
    engineer = ThreadPoolExecutor(1)

    def step(what: str) -> None:  # the story's clock, shown with a failure's output
        print(f"{time.monotonic() - began:6.1f} s  {what}")

    try:
        # 1. engineer: agencies from CSV, then the (lab's) routers, links planned and pushed
        csv = tmp_path / "agencies.csv"
        csv.write_text("code,name_en,kind\nMOF,Ministry of Finance,ministry\n"
                       "MOE,Ministry of Education,ministry\n")
        imported = gin.json("engineer", "directory", "import", str(csv))
        assert imported["created"] == {"agencies": 2} and imported["rejected"] == 0, imported
        d = Directory(f"sqlite:///{db}", actor="lab-admin")
        register(lab, d)  # the lab stands in for routers that are already in the field
        d.close()
        gin("engineer", "directory", "plan", "apply")
        for code, (ce, host, n, link) in AGENCIES.items():
            gin("engineer", "directory", "prefix", "add", f"2001:db8:{n}::/48",
                "--agency", code, "--role", "agency")
            pe = next(i.peer_node for i in lab.node(ce).interfaces if i.peer_node[:2] == "pe")
            gin("engineer", "link", "plan", code, "--site", lab.node(ce).site,
                "--pe", f"{pe}:{_port(lab, pe, ce)}", "--ce", f"{ce}:{_port(lab, ce, pe)}",
                "--lan", _port(lab, ce, host), "--name", link)
        provisioned = gin.json("engineer", "link", "provision", "mof-ce1", "moe-ce2",
                               "--no-ping")
        assert {r["link"]: r["status"] for r in provisioned} == {
            "mof-ce1": "changed", "moe-ce2": "changed"}, provisioned
        _wait(lambda: _reach(lab, "h1", H2), "h1 reaching h2 across the GIN", 90)

        step("links provisioned")
        # 2. agent, sensor, Prometheus, Alertmanager
        ce2 = lab.node("ce2")
        sensor_host = ce2.mgmt_address.split("/")[0]
        agent_port, sensor_port, am_port = free_tcp_port(), free_tcp_port(), free_tcp_port()
        gin("soc", "directory", "device", "add", "ids-moe", "--agency", "MOE",
            "--site", ce2.site, "--role", "sensor", "--platform", "linux",
            "--mgmt-address", sensor_host)
        generated = gin.json("soc", "monitor", "prometheus-config", "--out",
                             str(tmp_path / "prom"), "--agent", f"local=127.0.0.1:{agent_port}",
                             "--sensor-port", str(sensor_port), "--scrape-interval", "10s",
                             "--alertmanager", f"127.0.0.1:{am_port}", "--webhook", hook.url)
        assert "ids-moe" in json.dumps(generated), generated
        procs.append(gin.start("soc", "monitor", "agent", "--listen",
                               f"127.0.0.1:{agent_port}", "--interval", "5",
                               log=tmp_path / "agent.log"))
        procs.append(gin.start("soc", "monitor", "sensor", "run", "--interface",
                               _port(lab, "ce2", "h2"), "--listen",
                               f"[{sensor_host}]:{sensor_port}", "--agency", "MOE",
                               log=tmp_path / "sensor.log", netns=ce2.netns))
        procs.append(subprocess.Popen(
            [ALERTMANAGER, f"--config.file={tmp_path / 'prom' / 'alertmanager.yml'}",
             f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
             "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "am.log", "wb")))  # noqa: SIM115
        prom.start()

        step("monitoring started")
        # meanwhile the engineer builds the MOF-MOE tunnel (its own thread: the SOC goes on)
        tunnel = engineer.submit(build_tunnel, gin, lab)
        routers = {"pe1", "pe2", "ce1", "ce2", "ce3"}
        prom.wait_for("max_over_time(gin_snmp_up[2m]) == 1", timeout=120,
                      cond=lambda r: routers <= {x["metric"]["device"] for x in r})
        prom.wait_for('up{job="gin-sensor",sensor="ids-moe"} == 1', timeout=90)

        step("Prometheus scrapes every router and the sensor")
        # 3. MOE's standby uplink is cut at the GIN's side: ce2's port is admin up, oper
        # down (GinLinkDown's 2 minutes run through the SOC's busy hour that follows)
        assert lab.exec("pe1", ["ip", "link", "set", _port(lab, "pe1", "ce2"),
                                "down"]).returncode == 0
        uplink = _port(lab, "ce2", "pe1")
        cut_at = time.monotonic()

        # 4. h1 (MOF) scans and brute-forces h2 (MOE); the SOC sees it, blocks, lifts
        lab.exec("h1", [sys.executable, "-c", ATTACK, H2])
        events = prom.wait_for("gin_threat_events_total", timeout=90,
                               cond=lambda r: {"port_scan", "brute_force"}
                               <= {e["metric"]["type"] for e in r})
        by_type = {e["metric"]["type"]: e["metric"] for e in events}
        assert by_type["brute_force"]["severity"] == "high"
        threat_agency = by_type["brute_force"]["agency"]
        assert threat_agency == "MOE", by_type  # the attacked agency
        assert by_type["brute_force"]["source_agency"] == "MOF", by_type  # and the source's

        def firing(name: str) -> list[tuple[str, dict]]:
            return [(p, a) for p, a in hook.alerts() if a["labels"]["alertname"] == name]

        # the high event goes to the SOC queue after its group wait (30 s): be generous
        [(path, alert), *_] = _wait(lambda: firing("GinHighThreatEvent"),
                                    "the brute force at the webhook", 180,
                                    lambda: hook.posts)
        assert path == "/gin" and alert["labels"]["type"] == "brute_force"
        assert alert["labels"]["agency"] == threat_agency
        assert threat_agency in alert["annotations"]["summary"]

        step("the brute force at the webhook")
        blocked = gin.json("soc", "monitor", "respond", "--no-gateway", "--block", H1,
                           "--ttl", "600", "--reason", "port scan and SSH brute force on MOE")
        assert {r["router"]: r["status"] for r in blocked["routers"]} == {
            "pe1": "changed", "pe2": "changed"}, blocked
        assert _cut(lab, "h1", H2) and _cut(lab, "h2", H1)
        lifted = gin.json("soc", "monitor", "respond", "--no-gateway", "--lift", H1)
        assert {r["status"] for r in lifted["routers"]} == {"changed"}, lifted
        _wait(lambda: _reach(lab, "h1", H2) and _reach(lab, "h2", H1),
              "traffic both ways after the lift", 60)

        step("blocked both ways and lifted")
        tunnel.result(timeout=600)
        step("tunnel deployed and carrying")
        # 5. auditor (while the alert's 2 minutes run): the outage is already evidence
        prom.wait_for(f'gin_if_oper_up{{device="ce2",ifname="{uplink}"}} == 0', timeout=60)
        backup = gin.json("auditor", "audit", "backup", "pe1", "pe2", "ce1", "ce2")
        check = gin.json("auditor", "audit", "check", "--prometheus", prom.url)
        report_file, html_file = tmp_path / "report.json", tmp_path / "report.html"
        gin("auditor", "audit", "report", "--run", "latest", "--format", "json",
            "-o", str(report_file))
        gin("auditor", "audit", "report", "--run", "latest", "--format", "html",
            "--all-findings", "-o", str(html_file))
        report = json.loads(report_file.read_text())

        step("audited and reported")
        # LinkDown pages the SOC (critical: /gin/page) with the agency whose link it is: 2
        # minutes after the cut, plus the pager's 10 s group wait.  Generous: a poll the
        # router fails (its BGP subagent times out now and then under load, and the agent
        # then drops the whole poll) takes the port's series out of one scrape, which
        # starts the rule's 2 minutes again.
        [(path, alert), *_] = _wait(lambda: firing("GinLinkDown"), "GinLinkDown at the webhook",
                                    max(60.0, LINKDOWN_WAIT - (time.monotonic() - cut_at)),
                                    lambda: [a["labels"] for _, a in hook.alerts()])
        assert path == "/gin/page", path
        assert {k: alert["labels"][k] for k in ("device", "ifname", "agency", "severity")} == {
            "device": "ce2", "ifname": uplink, "agency": "MOE", "severity": "critical"}, alert
        assert "MOE" in alert["annotations"]["description"], alert

        step("GinLinkDown at the webhook")
        history = gin.json("auditor", "directory", "history", "--limit", "1000")
    finally:
        engineer.shutdown(wait=True, cancel_futures=True)
        prom.stop()
        for proc in procs:
            _stop(proc)
        hook.close()

    # 5. what the auditor's report reads: the backups; from Prometheus which devices are
    # monitored, the threat events per agency and the link outage; from the directory the
    # GSI block and its lift, and the tunnel protecting both agencies' links.
    assert {b["device"]: b["status"] for b in backup} == {
        "pe1": "new", "pe2": "new", "ce1": "new", "ce2": "new"}, backup
    assert report["run"] == check["run"]  # the report renders the audited run, once
    monitored = {f["device"]: f for f in report["findings"] if f["check"] == "mon.monitored"}
    for router in ("pe1", "pe2", "ce1", "ce2"):  # every router is scraped; whether its
        f = monitored[router]                     # SNMP answered at that instant decides
        texts = {e["text"] for e in f["evidence"]}
        assert f"gin_snmp_up{{device='{router}'}} = 1" in texts and f["status"] == "pass" or (
            f"gin_snmp_up{{device='{router}'}} = 0" in texts and f["status"] == "fail"), f
    # the threat evidence sits with the devices of both agencies the events name: the
    # attacked MOE's ce2 and the source MOF's ce1
    evidence = {e["text"] for e in monitored["ce2"]["evidence"]}
    assert f"gin_threat_events_total{{agency='{threat_agency}', type='brute_force'}} = 1" \
        in evidence, evidence
    assert any("type='port_scan'" in e for e in evidence), evidence
    evidence = {e["text"] for e in monitored["ce1"]["evidence"]}
    assert "gin_threat_events_total{source_agency='MOF', type='brute_force'} = 1" \
        in evidence, evidence
    findings = {(f["check"], f["device"]): f for f in report["findings"]}
    # the tunnel, deployed and up, protects both agencies' links
    for link, own, peer, n in (("mof-ce1", "gwa", "gwb", 1001), ("moe-ce2", "gwb", "gwa", 1002)):
        f = findings[("vpn.link_protected", link)]
        assert f["status"] == "pass" and f["reason"] == f"carried in VPN tunnel {TUNNEL}", f
        assert f"tunnel {TUNNEL} ({own} -> {peer}, up) protects 2001:db8:{n}::/48" in {
            e["text"] for e in f["evidence"]}, f
    # the SOC's answer: MOF's serious events, and the block of MOF's h1, added and lifted
    # by the SOC on both PEs, with the MOF devices
    f = findings[("inc.gsi_response", "ce1")]
    assert f["status"] == "pass" and f["reason"].startswith("serious threat events ("), f
    texts = [e["text"] for e in f["evidence"]]
    added = next(t for t in texts if t.startswith(f"GSI block {H1}/128 added "))
    assert " as soc (port scan and SSH brute force on MOE, until " in added, added
    assert added.endswith("; on pe1, pe2"), added
    lifted = next(t for t in texts if t.startswith(f"GSI block {H1}/128 lifted "))
    assert " as soc; off pe1, pe2" in lifted, lifted
    # the outage: MOE's CE has had its uplink down since the cut, and it is still down
    f = findings[("ops.link_faults", "ce2")]
    assert f["status"] == "fail" and uplink in f["reason"], f
    [outage] = [e["text"] for e in f["evidence"]]
    assert outage.startswith(f"gin_if_oper_up{{device='ce2', ifname='{uplink}'}}: down from ")
    assert " and still down; " in outage, outage
    assert findings[("ops.link_faults", "pe1")]["status"] == "pass"
    # the HTML report shows the same evidence
    page = html_file.read_text()
    for line in (added, lifted, outage, "protects 2001:db8:1001::/48"):
        assert str(escape(line)) in page, line
    for gw in ("gwa", "gwb"):  # deployed by the engineer, carrying traffic as Prometheus saw
        f = findings[("vpn.tunnel_in_force", gw)]
        texts = [e["text"] for e in f["evidence"]]
        assert f["status"] == "pass", f
        assert texts[0].startswith(f"tunnel {TUNNEL} (up): deployed ") and texts[0].endswith(
            " as engineer (changed)"), texts
        assert texts[1] == f"gin_vpn_tunnel_up{{tunnel='{TUNNEL}'}} = 1", texts
    for gw in ("gwa", "gwb"):
        f = findings[("vpn.peer_auth", gw)]
        assert f["status"] == "pass" and any(f"tunnel {TUNNEL}: certificate" in e["text"]
                                             for e in f["evidence"]), f

    # 6. the change log names who did each step
    def who(kind: str, key: str | None = None, action: str | None = None) -> set[str]:
        return {h["actor"] for h in history if h["type"] == kind
                and (key is None or h["key"] == key) and (action is None or h["action"] == action)}

    for code in AGENCIES:
        actors = who("agency", code, "create")
        assert actors and all(a.endswith(" as engineer") for a in actors), (code, actors)
    for link in ("mof-ce1", "moe-ce2"):
        for action in ("create", "push", "verify"):
            actors = who("link", link, action)
            assert actors and all(a.endswith(" as engineer") for a in actors), (link, action)
    for kind, actions in (("sensor_block", ("create", "delete")),
                          ("sensor_block_push", ("push",))):
        for action in actions:
            actors = who(kind, action=action)
            assert actors and all(a.endswith(" as soc") for a in actors), (kind, action)
    assert {(h["key"], h["after"]["action"]) for h in history
            if h["type"] == "sensor_block_push"} == {("pe1", "block"), ("pe1", "lift"),
                                                     ("pe2", "block"), ("pe2", "lift")}
    for kind, key in (("tunnel", TUNNEL), ("certificate", None)):
        actors = who(kind, key)
        assert actors and all(a.endswith(" as engineer") for a in actors), (kind, actors)
    assert {h["action"] for h in history if h["type"] == "tunnel"} >= {"create", "vpn-deploy"}
    actors = who("audit_run", action="create")
    assert actors and all(a.endswith(" as auditor") for a in actors), actors

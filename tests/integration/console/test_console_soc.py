"""The SOC board, the map and the agency page's live state in a real browser, over real parts:
Debian's Chromium (Playwright) against ``gin serve --prometheus --alertmanager``, a real
Prometheus on the configuration ``gin monitor prometheus-config`` generates, a real
Alertmanager, the threat sensor capturing a real attack on a veth, and ``gin monitor agent``
polling a real snmpd inside a network namespace that stands for DOPA's PE: its ``eth1`` is
the lab link ``dopa-hq``, taken down by setting the far end of its veth down.

The soc user sees the alerts and the threat events named by agency, blocks and lifts a source
with a reason (keyboard only), and both land in the change log as that user; the auditor sees
no form and its direct POST is refused.  The link going down turns red on the map, raises
GinLinkDown on the SOC board, and the agency page's polling shows it up again when it
returns.  A second test measures the map's page load on the 2,154-agency synthetic directory.
Screenshots of each page in both languages go to the test's tmp dir (small copies to
``GIN_CONSOLE_SCREENSHOTS``); every request stays on 127.0.0.1 and the console stays clean.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from directory import allocator, store
from directory.store import Directory
from monitor.prometheus.config import AgentSpec, generate
from monitor.snmp.snmpd import SNMPD, SnmpdInstance
from tests.conftest import need
from tests.integration.console.test_console_browser import Watched, chromium, watching
from tests.integration.monitor.monitor_support import PromServer, free_tcp_port, have_prometheus
from tests.integration.sensor.conftest import require_root_tools, sh
from tests.integration.sensor.test_sensor_alerts import ALERTMANAGER, ATTACK, LAUNCHER, Webhook
from tests.integration.server.conftest import PASSWORD, seed, start, stop

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")

AGENT = ("import sys; from gin.cli import cli, main; from gin.commands.monitor import monitor; "
         "cli.add_command(monitor); sys.exit(main(sys.argv[1:]))")
#: Small copies for the README (one of each page, both languages).
DOCS_SHOTS = {"soc-soc-en", "soc-soc-th", "soc-auditor-en", "map-soc-en", "map-soc-th",
              "agency-live-en", "agency-live-th", "map-synthetic-en"}
LINK = "dopa-hq"
OPER = 'gin_if_oper_up{device="dopa-pe1",ifname="eth1"}'
BLOCKED = "198.51.100.7"
#: The page load as the browser measured it (Navigation Timing).
NAVIGATION = """() => {
    const n = performance.getEntriesByType('navigation')[0];
    return {server_ms: n.responseStart - n.requestStart, transfer_kb: n.transferSize / 1024,
            dom_ready_ms: n.domContentLoadedEventEnd - n.startTime,
            load_ms: n.loadEventEnd - n.startTime};
}"""


class Shots(Watched):
    """The console test's watched browser, with this file's README copies."""

    docs_shots = frozenset(DOCS_SHOTS)


def wait(cond: Any, what: str, timeout: float, detail: Any = lambda: "") -> Any:
    """Poll ``cond`` until it is truthy (generous: the machine is shared)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {detail()}")


def am_alerts(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts?active=true", timeout=5) as r:
        return json.load(r)


def _write_secret(path: Path, data: dict) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return f"file:{path}"


class Lab:
    """The namespaces: ``pe`` (DOPA's PE: snmpd, ``mgmt`` to the root namespace and ``eth1``,
    the link, whose far end ``far`` stays in the root namespace), and ``attacker`` with a veth
    whose root end ``capture`` the sensor watches."""

    def __init__(self) -> None:
        tag = "gc" + secrets.token_hex(2)
        self.pe, self.attacker = f"{tag}p", f"{tag}a"
        self.mgmt, self.far, self.inside, self.capture = (f"{tag}m", f"{tag}l", f"{tag}x",
                                                          f"{tag}y")
        net = f"10.{secrets.randbelow(50) + 200}.{secrets.randbelow(250)}"
        self.root_address, self.pe_address = f"{net}.1", f"{net}.2"

    def up(self) -> None:
        sh("ip", "netns", "add", self.pe)
        sh("ip", "netns", "add", self.attacker)
        sh("ip", "link", "add", self.mgmt, "type", "veth", "peer", "name", "mgmt",
           "netns", self.pe)
        sh("ip", "link", "add", self.far, "type", "veth", "peer", "name", "eth1",
           "netns", self.pe)
        sh("ip", "addr", "add", f"{self.root_address}/30", "dev", self.mgmt)
        sh("ip", "-n", self.pe, "addr", "add", f"{self.pe_address}/30", "dev", "mgmt")
        for dev in (self.mgmt, self.far):
            sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
            sh("ip", "link", "set", dev, "up")
        for dev in ("lo", "mgmt", "eth1"):
            sh("ip", "-n", self.pe, "link", "set", dev, "up")
        sh("ip", "link", "add", self.inside, "type", "veth", "peer", "name", self.capture)
        sh("ip", "link", "set", self.inside, "netns", self.attacker)
        sh("ip", "-n", self.attacker, "link", "set", self.inside, "up")
        sh("sysctl", "-qw", f"net.ipv6.conf.{self.capture}.disable_ipv6=1")
        sh("ip", "link", "set", self.capture, "up")

    def link(self, state: str) -> None:
        """The lab link's far end up or down (the PE's eth1 follows: carrier)."""
        sh("ip", "link", "set", self.far, state)

    def down(self) -> None:
        for ns in (self.pe, self.attacker):
            sh("ip", "netns", "del", ns, check=False)
        for dev in (self.mgmt, self.far, self.capture):
            sh("ip", "link", "del", dev, check=False)


def _directory(db: str, lab: Lab, creds: str) -> None:
    """DOPA's PE polled over SNMP in the lab; MOF's LAN watched by a sensor (as the sensor
    alert test sets it up)."""
    d = Directory(db, actor="test-setup")
    try:
        with d.transaction() as s:
            pe = store.get_device(s, "dopa-pe1")
            store.update(s, pe, snmp_address=lab.pe_address, snmp_profile="lab",
                         credential_ref=creds)
            store.add_site(s, "MOF", code="BKK")
            allocator.add_prefix(s, "10.77.0.0/24", role="agency", agency="MOF")
            store.add_device(s, "MOF", "BKK", hostname="ids-mof", role="sensor",
                             platform="linux", mgmt_address="127.0.0.1")
            store.add_device(s, "MOF", "BKK", hostname="mof-gw", role="ce", platform="frr",
                             mgmt_address="10.77.0.254")
    finally:
        d.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """Everything running: lab, snmpd, agent, sensor, Prometheus, Alertmanager, gin serve."""
    require_root_tools()
    need(have_prometheus(), "needs Prometheus (apt-get install -y prometheus)")
    need(os.path.exists(ALERTMANAGER),
         "needs Alertmanager (apt-get install -y prometheus-alertmanager)")
    need(os.path.exists(SNMPD), "needs net-snmp snmpd (apt-get install -y snmpd snmp)")
    here = tmp_path_factory.mktemp("soc")
    db = f"sqlite:///{here / 'gin.db'}"
    tokens = seed(db)
    lab = Lab()
    procs: list[subprocess.Popen] = []
    snmpd = prom = svc = hook = None
    try:
        lab.up()
        snmpd = SnmpdInstance(here / "snmpd", [(lab.pe_address, 161)], netns=lab.pe)
        snmpd.extra_config = f"rocommunity {snmpd.community} {lab.pe_address}"  # its check
        snmpd.start()  # stopped in the finally below, also when it never answers
        creds = _write_secret(here / "snmp.json", snmpd.credentials())
        _directory(db, lab, creds)
        profiles = here / "profiles.yaml"
        profiles.write_text(yaml.safe_dump({"profiles": {"lab": {
            "version": "v3", "port": 161, "timeout": 1.0, "retries": 1}}}))
        agent_port, sensor_port, am_port = free_tcp_port(), free_tcp_port(), free_tcp_port()
        hook = Webhook()
        d = Directory(db, actor="test-setup")
        try:
            made = generate(d, here / "prom", [AgentSpec("local", f"127.0.0.1:{agent_port}")],
                            scrape_interval="1s", alertmanager=f"127.0.0.1:{am_port}",
                            sensor_port=sensor_port, webhook=hook.url)
        finally:
            d.close()
        assert made.sensors == ["ids-mof"] and all(c["ok"] for c in made.checks), made
        env = {**os.environ, "GIN_DB": db}
        procs.append(subprocess.Popen(
            [ALERTMANAGER, f"--config.file={here / 'prom' / 'alertmanager.yml'}",
             f"--storage.path={here / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
             "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=open(here / "am.log", "wb")))  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-c", AGENT, "--db", db, "monitor", "agent", "--listen",
             f"127.0.0.1:{agent_port}", "--interval", "1", "--profiles", str(profiles)],
            stdout=open(here / "agent.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            stdin=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "sensor", "run", "--interface", lab.capture,
             "--listen", f"127.0.0.1:{sensor_port}", "--json"],
            stdout=subprocess.DEVNULL, stderr=open(here / "sensor.log", "wb"),  # noqa: SIM115
            env=env))
        prom = PromServer(here / "prom").start()
        am = f"http://127.0.0.1:{am_port}"
        svc = start(db, here / "serve.log", "--no-gsi-gateway", "--gsi-routers-via", "none",
                    "--prometheus", prom.url, "--alertmanager", am)
        svc.tokens = tokens
        yield {"svc": svc, "prom": prom, "am": am, "lab": lab, "here": here, "db": db}
    finally:
        if svc is not None:
            stop(svc.proc)
        if prom is not None:
            prom.stop()
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if snmpd is not None:
            snmpd.stop()
        if hook is not None:
            hook.close()
        lab.down()
    log = svc.log.read_text() if svc is not None else ""
    assert PASSWORD not in log and not any(t in log for t in tokens.values())


@pytest.fixture(scope="module")
def browser(stack) -> Iterator:
    yield from chromium()


@pytest.fixture
def watched(stack, browser) -> Iterator:
    yield from watching(browser, stack["svc"].url, stack["here"], Shots)


def tab_to(w: Shots, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if w.page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        w.page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def history(db: str, object_type: str) -> list[tuple[str, str, str, dict | None]]:
    d = Directory(db, actor="test-setup")
    try:
        with d.transaction() as s:
            return [(c.action, c.object_key, c.actor, c.after)
                    for c in store.history(s, object_type=object_type)]
    finally:
        d.close()


def test_soc_sees_alerts_blocks_and_lifts_and_the_link_goes_red(stack, watched):
    svc, prom, lab, am = stack["svc"], stack["prom"], stack["lab"], stack["am"]
    prom.wait_for(f"{OPER} == 1", timeout=120)
    prom.wait_for('up{job="gin-sensor",sensor="ids-mof"} == 1', timeout=120)
    lab.link("down")  # GinLinkDown needs 2 minutes: its clock runs while the SOC works
    subprocess.run(["ip", "netns", "exec", lab.attacker, sys.executable, "-c", ATTACK,
                    lab.inside], check=True, capture_output=True, timeout=120)
    prom.wait_for("gin_threat_events_total", timeout=90, cond=lambda r: len(r) >= 2)
    wait(lambda: {"GinHighThreatEvent", "GinCriticalThreatEvent"}
         <= {a["labels"]["alertname"] for a in am_alerts(am)}, "threat alerts in Alertmanager",
         120, lambda: am_alerts(am))

    soc = watched()
    soc.login("soc")
    soc.go("/ui/soc")
    alerts = soc.page.inner_text("#alerts")
    assert "GinCriticalThreatEvent" in alerts and "MOF" in alerts
    assert "Critical threat event at MOF: arp_spoof" in alerts
    threats = soc.page.inner_text("#threats")
    assert "brute_force" in threats and "arp_spoof" in threats and "MOF" in threats
    assert soc.page.locator("#threats a[href='/ui/agency/MOF']").count() >= 1
    soc.shot("soc-soc-en")
    # Block by keyboard alone: Tab to the form, type, Enter.
    tab_to(soc, "#block-source")
    soc.page.keyboard.type(BLOCKED)
    soc.page.keyboard.press("Tab")
    soc.page.keyboard.press("ArrowDown")  # one day
    soc.page.keyboard.press("Tab")
    soc.page.keyboard.type("port scan from outside")
    soc.press("Enter")
    assert soc.page.url.endswith("/ui/soc")
    blocks = soc.page.inner_text("#blocks")
    assert f"{BLOCKED}/32" in blocks and "port scan from outside" in blocks
    soc.go("/ui/lang/th?back=/ui/soc")
    assert "การแจ้งเตือนที่กำลังเกิดขึ้น" in soc.page.inner_text("main")
    soc.shot("soc-soc-th")
    soc.go("/ui/lang/en?back=/ui/soc")

    auditor = watched()
    auditor.login("auditor")
    auditor.go("/ui/soc")
    assert "GinCriticalThreatEvent" in auditor.page.inner_text("#alerts")
    assert f"{BLOCKED}/32" in auditor.page.inner_text("#blocks")
    assert auditor.page.locator("form.block, form.lift, #block-source").count() == 0
    auditor.shot("soc-auditor-en")
    auditor.go("/ui/lang/th?back=/ui/soc")
    assert "การปิดกั้น GSI" in auditor.page.inner_text("main")
    auditor.shot("soc-auditor-th")
    auditor.go("/ui/lang/en?back=/ui/soc")
    viewer = watched()  # no monitor.read: no SOC board in the header, the map is there
    viewer.login("viewer")
    assert viewer.page.locator("header a[href='/ui/soc']").count() == 0
    assert viewer.page.locator("header a[href='/ui/map']").count() == 1
    token = auditor.page.locator("header form input[name=csrf]").get_attribute("value")
    for path, form in (("/ui/soc/lift", {"source": f"{BLOCKED}/32", "reason": "auditor"}),
                       ("/ui/soc/block", {"source": "203.0.113.9", "reason": "auditor"})):
        refused = auditor.context.request.post(svc.url + path, form={**form, "csrf": token})
        assert refused.status == 403 and "gsi.block" in refused.text(), (path, refused.text())
    forged = soc.context.request.post(svc.url + "/ui/soc/lift",
                                      form={"source": f"{BLOCKED}/32", "reason": "forged"})
    assert forged.status == 403 and "CSRF" in forged.text()

    # Lift by keyboard: Tab to the row's reason field, type, Enter.
    soc.go("/ui/soc")
    tab_to(soc, "form.lift input[name=reason]")
    soc.page.keyboard.type("false alarm: lab traffic")
    soc.press("Enter")
    assert soc.page.locator("#blocks").count() == 0  # no active block left
    made = history(stack["db"], "sensor_block")
    assert [(a, k) for a, k, _, _ in made] == [("delete", f"{BLOCKED}/32"),
                                               ("create", f"{BLOCKED}/32")]
    assert all(actor.startswith("api:soc/") for _, _, actor, _ in made)
    assert made[0][3] == {"reason": "false alarm: lab traffic"}
    assert made[1][3]["reason"] == "port scan from outside" and made[1][3]["ttl_s"] == 86400

    # The link is down: red on the map at once (gin_if_oper_up), then GinLinkDown fires.
    prom.wait_for(f"{OPER} == 0", timeout=60)
    soc.go("/ui/map")
    assert soc.page.locator(f"#map .down line[data-link='{LINK}']").count() == 1
    assert LINK in soc.page.inner_text("#down-links")
    assert soc.page.locator("#map .down circle").count() >= 1
    assert soc.page.get_attribute("#map-counts", "data-down") == "1"
    colour = soc.page.eval_on_selector(f"#map line[data-link='{LINK}']",
                                       "e => getComputedStyle(e).stroke")
    assert colour == "rgb(208, 2, 27)"
    tab_to(soc, "#down-links a[href='/ui/agency/DOPA']")
    soc.shot("map-soc-en")
    soc.go("/ui/lang/th?back=/ui/map")
    assert "วงจรที่ขัดข้อง" in soc.page.inner_text("main")
    soc.shot("map-soc-th")
    soc.go("/ui/lang/en?back=/ui/soc")
    wait(lambda: any(a["labels"]["alertname"] == "GinLinkDown" for a in am_alerts(am)),
         "GinLinkDown in Alertmanager (its rule waits 2 minutes)", 300, lambda: am_alerts(am))
    soc.go("/ui/soc")
    alerts = soc.page.inner_text("#alerts")
    assert "GinLinkDown" in alerts and "Link dopa-pe1 eth1 is down" in alerts

    # The agency page: down now; back up when the link returns, by the page's own polling.
    soc.go("/ui/agency/DOPA")
    cell = soc.page.locator(f"td[data-link='{LINK}']")
    assert cell.inner_text() == "down" and "down" in cell.get_attribute("class")
    cell.scroll_into_view_if_needed()  # the README's copy shows the viewport
    soc.shot("agency-live-en")
    lab.link("up")
    prom.wait_for(f"{OPER} == 1", timeout=60)
    wait(lambda: cell.inner_text() == "up", "the agency page's poll to show the link up",
         120, lambda: (cell.inner_text(), soc.page.get_attribute("#live", "data-polls")))
    polls = int(soc.page.get_attribute("#live", "data-polls"))
    assert polls >= 1
    soc.go("/ui/lang/th?back=/ui/agency/DOPA")
    assert soc.page.inner_text(f"td[data-link='{LINK}']") == "ใช้งานได้"
    soc.page.locator(f"td[data-link='{LINK}']").scroll_into_view_if_needed()
    soc.shot("agency-live-th")
    soc.go("/ui/lang/en?back=/ui/soc")
    served = [u for u in soc.requests if u.endswith("/live")]
    assert served and all(u == svc.url + "/ui/agency/DOPA/live" for u in served)


@pytest.fixture(scope="module")
def synthetic(stack, tmp_path_factory) -> Iterator[Any]:
    """``gin serve`` over the 2,154-agency synthetic GIN (what bench/console_bench.py loads),
    its live state from the same Prometheus."""
    from devices.platforms import interface_names
    from directory import identity
    from directory.exporter import write_export
    from directory.synth import DEFAULT_AGENCIES, synthesize
    from directory.transfer import import_files

    here = tmp_path_factory.mktemp("synthetic")
    db = f"sqlite:///{here / 'gin.db'}"
    dest = here / "synth.json"
    write_export(synthesize(DEFAULT_AGENCIES, ports=interface_names()), "json", dest)
    d = Directory(db, actor="test-setup")
    try:
        import_files(d, [str(dest)])
        with d.transaction() as s:
            identity.add_user(s, "soc", PASSWORD)
            identity.grant(s, "soc", "soc", "gin")
    finally:
        d.close()
    svc = start(db, here / "serve.log", "--no-gsi-gateway", "--gsi-routers-via", "none",
                "--prometheus", stack["prom"].url, "--alertmanager", stack["am"])
    yield svc
    stop(svc.proc)


def test_map_of_the_synthetic_gin_loads_and_is_measured(stack, synthetic, watched):
    w = watched()
    w.base = synthetic.url  # this browser talks to the synthetic directory's server
    w.login("soc")
    w.go("/ui/map")
    timing = w.page.evaluate(NAVIGATION)
    sites = int(w.page.get_attribute("#map-counts", "data-sites"))
    links = int(w.page.get_attribute("#map-counts", "data-links"))
    assert w.page.inner_text("#map-counts").startswith(f"{sites} sites, {links} links")
    assert sites > 2154 and links > 2000, (sites, links)
    dots = w.page.eval_on_selector("#map path.sites",
                                   "e => e.getAttribute('d').split('M').length - 1")
    assert 0 < dots <= sites
    w.shot("map-synthetic-en")
    w.go("/ui/soc")  # with the real Prometheus and Alertmanager behind it
    assert w.page.locator("p.problem").count() == 0  # both answered
    soc_board = w.page.evaluate(NAVIGATION)
    record = {"sites": sites, "links": links, "site_dots": dots,
              "map": {k: round(v, 1) for k, v in timing.items()},
              "soc_board": {k: round(v, 1) for k, v in soc_board.items()}}
    (stack["here"] / "map-load.json").write_text(json.dumps(record, indent=1))
    print("map and SOC board of the synthetic GIN:", record)

"""Every gin collector in a fixture state, and the series Prometheus stores from them when it
scrapes through the configuration gin generates.

Nothing here is typed by hand: metric names and label sets come from the real collectors'
exposition (the SNMP collector, the agent's own and process metrics, traps, VPN, web
certificates, and the threat sensor fed real packets through its real detectors); job,
instance and target labels come from the prometheus.yml and file_sd files that
:func:`monitor.prometheus.config.write_all` writes.  The metric contract test and the
``promtool test rules`` cases both read this one view.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from audit.web.evidence import WebEvidence
from audit.web.metrics import CertExpiryCollector
from monitor.agent import Agent
from monitor.collector import SnmpCollector
from monitor.prometheus.config import AgentSpec, write_all
from monitor.sensor.agency import PrefixResolver
from monitor.snmp.oids import IF_COUNTERS, IP6_STATS
from monitor.snmp.poller import PollResult
from monitor.snmp.targets import SnmpTarget
from monitor.snmp.transport import Stats
from monitor.snmp.traps import TrapReceiver
from vpn.metrics import VpnCollector
from vpn.status import TunnelStatus

#: the fixture's agencies, their prefixes, and the LAN gateway the sensor knows
PREFIXES = {"10.1.0.0/16": "MOF", "2001:db8:1::/48": "MOF", "10.2.0.0/16": "MOI"}
GATEWAY = "10.1.0.1"
SENSOR = {"device": "ids-mof", "address": "127.0.0.1:9437", "agency": "MOF", "site": "BKK"}
DEVICES = [{"device": "pe1", "agency": "MOF", "site": "BKK"},
           {"device": "pe2", "agency": "MOF", "site": "BKK"}]
AGENT = AgentSpec("bkk", "127.0.0.1:9436")


@dataclass(frozen=True)
class Series:
    """One series as Prometheus stores it: name and every label, target labels included."""

    name: str
    labels: dict[str, str]

    def selector(self) -> str:
        """The series in PromQL/promtool notation."""
        body = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{body}}}"


class FixtureVpn(VpnCollector):
    """The real VPN collector, reading a fixture state instead of live gateways."""

    def read(self) -> tuple[list[TunnelStatus], list[tuple[str, float]], bool]:
        tunnels = [TunnelStatus("mof-moi", "ikev2", "MOF", up=True, ike_rekey_seconds=3000,
                                child_rekey_seconds=2000),
                   TunnelStatus("mof-moe", "wireguard", "MOF", handshake_age_seconds=500)]
        return tunnels, [("gw-mof", 30 * 86400.0)], True


def _result(name: str, ok: bool = True, **kw: object) -> PollResult:
    t = SnmpTarget(name=name, host="192.0.2.1", port=161, agency="MOF", site="BKK")
    base: dict = {"target": t, "ok": ok, "duration": 0.25, "finished": 1700000000.0,
                  "stats": Stats(3, 3, 1), "varbinds": 42}
    if ok:
        base.update(uptime=1234.5, ifnames={1: "lo", 2: "eth0"}, ifalias={2: "to MOI"},
                    speed_bps={2: 1_000_000_000}, cpu_load=25.0, mem_total=1024, mem_used=512)
    base.update(kw)
    return PollResult(**base)


def snmp_collector() -> SnmpCollector:
    """pe1 answers every IF-MIB column, a BGP peer and IPv6 stats; pe2 times out."""
    snmp = SnmpCollector()
    every_column = {key: {2: 1} for key in IF_COUNTERS}
    snmp.update(_result("pe1", counters=every_column, bgp={"10.254.0.1": (6, 65000)},
                        ip6={key: 1 for key in IP6_STATS}))
    snmp.update(_result("pe2", ok=False, reason="timeout"))
    return snmp


def sensor_exposition(tmp: Path) -> str:
    """The sensor's /metrics after real packets went through its real detectors: a rogue
    RA, ARP spoofing of the gateway, an SSH brute force and a port scan into MOF."""
    from scapy.all import ARP, IP, TCP, Ether, ICMPv6ND_RA, IPv6, wrpcap

    from monitor.sensor.metrics import SensorCollector
    from monitor.sensor.pcapfile import read_batches
    from monitor.sensor.sensor import build_sensor

    t0 = 1_790_000_000.0
    mac, rogue = "02:00:00:00:00:01", "02:00:00:00:66:66"
    pkts = [Ether(src=rogue, dst="33:33:00:00:00:01")
            / IPv6(src="2001:db8:1::666", dst="ff02::1", hlim=255) / ICMPv6ND_RA(),
            Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, psrc=GATEWAY, hwsrc=mac),
            Ether(src=rogue, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, psrc=GATEWAY, hwsrc=rogue)]
    pkts += [Ether(src=rogue, dst=mac) / IP(src="10.2.0.66", dst="10.1.0.10")
             / TCP(sport=40000 + i, dport=22, flags="S") for i in range(40)]
    pkts += [Ether(src=rogue, dst=mac) / IP(src="10.2.0.77", dst="10.1.0.11")
             / TCP(sport=41000, dport=1000 + p, flags="S") for p in range(200)]
    for i, p in enumerate(pkts):
        p.time = t0 + i / 100
    pcap = tmp / "attacks.pcap"
    wrpcap(str(pcap), pkts, linktype=1)
    sensor = build_sensor(resolver=PrefixResolver(PREFIXES), routers=[GATEWAY])
    sensor.run(read_batches(pcap))
    return collected(SensorCollector(sensor.stats, "eth1"))


def collected(*collectors: Collector) -> str:
    reg = CollectorRegistry()
    for c in collectors:
        reg.register(c)
    return generate_latest(reg).decode()


def expositions(tmp: Path) -> dict[str, str]:
    """Each endpoint's /metrics text: ``agent`` (its own job: agent, process, traps, VPN
    and web-certificate collectors), ``device:<name>`` (one device through the agent),
    ``sensor``."""
    snmp = snmp_collector()
    web_root = tmp / "web"
    not_after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat()
    WebEvidence(web_root).save([{"agency": "MOF", "service": "www", "host": "www.mof.go.th",
                                 "tls": {"not_after": not_after}}])
    agent = Agent(target_source=list)
    try:
        agent_text = (agent.metrics_text({"devices": "none"}) or b"").decode()
    finally:
        agent.close()
    out = {"agent": agent_text + collected(FixtureVpn("fixture"),
                                           CertExpiryCollector(web_root), TrapReceiver()),
           "sensor": sensor_exposition(tmp)}
    for dev in DEVICES:
        out[f"device:{dev['device']}"] = (snmp.render(dev["device"]) or b"").decode()
    return out


def generated_config(tmp: Path) -> Path:
    """The layout ``gin monitor prometheus-config`` writes for the fixture directory."""
    out = tmp / "prom"
    write_all(out, DEVICES, {"MOF": ["noc@mof.go.th"]}, [AGENT], sensors=[SENSOR])
    return out


def _samples(text: str) -> list[tuple[str, dict[str, str]]]:
    return [(s.name, dict(s.labels)) for fam in text_string_to_metric_families(text)
            for s in fam.samples]


def _attach(name: str, own: dict[str, str], target: dict[str, str], honor: bool
            ) -> Series:
    """Prometheus' rule for clashing labels: honor_labels keeps the exported value, else
    the exported one is renamed ``exported_<label>``."""
    labels = dict(own)
    for k, v in target.items():
        if k in labels and not honor:
            labels[f"exported_{k}"] = labels.pop(k)
            labels[k] = v
        elif k not in labels:
            labels[k] = v
    return Series(name, labels)


def stored_series(tmp: Path) -> list[Series]:
    """Every series Prometheus stores when it scrapes the fixture collectors through the
    generated config (``up`` of every target included)."""
    conf_dir = generated_config(tmp)
    texts = expositions(tmp)
    conf = yaml.safe_load((conf_dir / "prometheus.yml").read_text())
    out: list[Series] = []
    for job in conf["scrape_configs"]:
        name, honor = job["job_name"], bool(job.get("honor_labels"))
        targets: list[tuple[str, dict[str, str], str]] = []  # address, labels, exposition
        for sc in job.get("static_configs", []):
            for address in sc["targets"]:
                targets.append((address, sc.get("labels", {}), texts["agent"]))
        for sd in job.get("file_sd_configs", []):
            for path in sd["files"]:
                for group in json.loads((conf_dir / path).read_text()):
                    for address in group["targets"]:
                        text = (texts["sensor"] if name.startswith("gin-sensor")
                                else texts[f"device:{address}"])
                        targets.append((address, group.get("labels", {}), text))
        for address, labels, text in targets:
            target = {"job": name, "instance": address, **labels}
            out.append(Series("up", dict(target)))
            out += [_attach(n, own, target, honor) for n, own in _samples(text)]
    return out


def find(series: list[Series], name: str, **labels: str) -> Series:
    """The one stored series named ``name`` whose labels include ``labels``."""
    hits = [s for s in series if s.name == name
            and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) == 1, f"{name}{labels}: {len(hits)} stored series match"
    return hits[0]

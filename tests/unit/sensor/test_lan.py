"""Rogue IPv6 router advertisements, ARP spoofing and gratuitous-ARP storms."""

from __future__ import annotations

from scapy.all import ARP, Ether, ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr, IPv6

from .conftest import timed

ROUTER = "fe80::1"
ROUTER_MAC = "02:00:00:00:01:01"
ROGUE_MAC = "02:00:00:00:66:66"


def _ra(src: str, mac: str) -> Ether:
    return (Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=255)
            / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def test_rogue_ra_from_unknown_router(run_pcap):
    run = run_pcap(timed([_ra(ROUTER, ROUTER_MAC), _ra("fe80::666", ROGUE_MAC)] * 3),
                   routers=[ROUTER])
    [ev] = run.of("rogue_ra")
    assert ev.source == "fe80::666" and ev.evidence["router_mac"] == ROGUE_MAC
    assert ev.count == 3 and ev.severity == "critical"  # one RA hijacks the LAN


def test_ra_from_directory_router_or_allowed_mac_is_fine(run_pcap):
    pkts = timed([_ra(ROUTER, ROUTER_MAC), _ra("fe80::2", ROUTER_MAC)])
    run = run_pcap(pkts, settings={"rogue_ra": {"routers": [ROUTER],
                                                "router_macs": [ROUTER_MAC]}})
    assert run.of("rogue_ra") == []


def _arp(ip: str, mac: str, op: int = 2, target: str = "10.0.0.99") -> Ether:
    return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=op, psrc=ip, hwsrc=mac, pdst=target)


def test_arp_spoof_ip_moves_to_another_mac(run_pcap):
    pkts = timed([_arp("10.0.0.1", "02:00:00:00:00:01"), _arp("10.0.0.5", "02:00:00:00:00:05"),
                  _arp("10.0.0.1", ROGUE_MAC)], rate=1)
    [ev] = run_pcap(pkts).of("arp_spoof")
    assert ev.source == "10.0.0.1"
    assert ev.evidence == {"old_mac": "02:00:00:00:00:01", "new_mac": ROGUE_MAC, "arp_op": 2,
                           "router": False}
    assert ev.severity == "high"


def test_arp_spoof_of_a_directory_router_is_critical(run_pcap):
    pkts = timed([_arp("10.0.0.1", "02:00:00:00:00:01"), _arp("10.0.0.1", ROGUE_MAC)], rate=1)
    [ev] = run_pcap(pkts, routers=["10.0.0.1", "2001:db8::1"]).of("arp_spoof")
    assert ev.severity == "critical" and ev.evidence["router"] is True


def test_every_detector_declares_the_severities_it_reports():
    from monitor.sensor.detectors import TYPES, severities

    declared = severities()
    assert set(declared) == set(TYPES)
    assert declared["rogue_ra"] == {"critical"}
    assert declared["arp_spoof"] == {"high", "critical"}
    assert declared["brute_force"] == {"high"}
    assert all(sev <= {"low", "medium", "high", "critical"} for sev in declared.values())


def test_repeated_arp_from_same_mac_is_fine(run_pcap):
    pkts = timed([_arp("10.0.0.1", "02:00:00:00:00:01", op) for op in (1, 2) * 5], rate=1)
    assert run_pcap(pkts).types() == set()


def test_gratuitous_arp_storm(run_pcap):
    storm = [_arp("10.0.0.7", ROGUE_MAC, target="10.0.0.7") for _ in range(30)]
    [ev] = run_pcap(timed(storm, rate=10)).of("arp_storm")
    assert ev.evidence["mac"] == ROGUE_MAC and ev.evidence["gratuitous"] >= 20


def test_a_few_gratuitous_arps_at_failover_are_fine(run_pcap):
    few = [_arp("10.0.0.7", ROUTER_MAC, target="10.0.0.7") for _ in range(5)]
    assert run_pcap(timed(few, rate=10)).types() == set()


def test_events_of_no_agency_take_the_sensors_home_agency(tmp_path):
    """A rogue RA comes from a link-local address: no prefix owns it, the LAN does."""
    from scapy.all import wrpcap

    from monitor.sensor.agency import PrefixResolver
    from monitor.sensor.metrics import SensorCollector
    from monitor.sensor.pcapfile import read_batches
    from monitor.sensor.sensor import build_sensor

    pcap = tmp_path / "ra.pcap"
    wrpcap(str(pcap), timed([_ra("fe80::666", ROGUE_MAC)]), linktype=1)
    sensor = build_sensor(resolver=PrefixResolver({"10.1.0.0/16": "MOI"}), routers=[],
                          home_agency="MOF")
    [ev] = sensor.run(read_batches(pcap))
    assert (ev.type, ev.severity, ev.agency) == ("rogue_ra", "critical", "MOF")
    [fam] = [f for f in SensorCollector(sensor.stats).collect()
             if f.name == "gin_threat_events"]
    assert fam.samples[0].labels == {"type": "rogue_ra", "severity": "critical",
                                     "agency": "MOF", "source_agency": "unknown"}

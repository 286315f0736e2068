"""Threat-sensor benchmark: packets/s end to end with every detector on, one core.

Compares, in the same run and on the same file (``bench/sensor_pcap_gen.py``):

* gin's sensor: mmap'd pcap -> compiled walk+parse -> 12 numpy detectors -> events;
* a naive scapy loop: ``PcapReader`` dissecting every packet, the same fields handed to
  the same detectors (measured on a slice and scaled);
* ``tshark -T fields`` extracting the same fields (measured on a slice and scaled);

and reports peak RSS for 100k and 1M packets (memory must be flat in the packet count).
``--live`` also replays the pcap with tcpreplay between two network namespaces at rising
rates and reports where the live sensor starts to drop (needs root).

Every measurement runs in its own child process pinned to one CPU, under ``nice``; each
figure is the best of ``--repeat`` runs (the machine is shared).

    python bench/sensor_bench.py [--pcap /tmp/sensor-1m.pcap] [--repeat 3] [--live]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

ALLOWED = [(f"AG{a:03d}", f"AG{b:03d}") for a in range(1, 6) for b in range(1, 6)]
TSHARK_FIELDS = ["frame.time_epoch", "frame.len", "eth.src", "vlan.id", "eth.type", "ip.src",
                 "ip.dst", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.nxt", "tcp.srcport",
                 "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport", "icmp.type",
                 "icmpv6.type", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4",
                 "arp.dst.proto_ipv4", "dns.qry.name"]


def build(blocklist: str, live: bool = False):  # type: ignore[no-untyped-def]
    from sensor_pcap_gen import agency_prefixes

    from monitor.sensor.agency import PrefixResolver
    from monitor.sensor.sensor import build_sensor

    return build_sensor({"blocklist": {"path": blocklist},
                         "segregation": {"allowed": ALLOWED}},
                        resolver=PrefixResolver(agency_prefixes()), routers=["fe80::1"],
                        live=live)


# --- child-process measurements -------------------------------------------------------------


def child_gin(pcap: str, blocklist: str) -> dict:
    from monitor.sensor.pcapfile import read_batches

    sensor = build(blocklist)  # kernels loaded (compiled once, cached) before timing
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    events = sensor.run(read_batches(pcap))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"packets": sensor.stats.packets, "wall_s": wall, "cpu_s": cpu,
            "events": sorted(f"{e.type}:{e.key}" for e in events),
            "malformed": sensor.stats.malformed, "rss_before_mb": base,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _scapy_batch(path: str, limit: int):  # type: ignore[no-untyped-def]
    """Dissect ``limit`` packets with scapy and lay their fields out for the detectors."""
    import ipaddress

    import numpy as np
    from scapy.all import ARP, DNS, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, PcapReader

    from monitor.sensor.batch import Batch
    from monitor.sensor.parse import new_fields

    cols: dict[str, list] = {k: [] for k in (
        "ts", "wire", "ethertype", "vlan", "src_mac", "family", "proto", "src_hi", "src_lo",
        "dst_hi", "dst_lo", "sport", "dport", "tcp_flags", "icmp_type", "arp_op", "arp_sha",
        "dns_off", "dns_end")}
    dns = bytearray()

    def halves(addr: str) -> tuple[int, int]:
        ip = ipaddress.ip_address(addr)
        if ip.version == 4:
            return 0, 0xFFFF00000000 | int(ip)
        return int(ip) >> 64, int(ip) & 0xFFFFFFFFFFFFFFFF

    with PcapReader(path) as reader:
        for n, pkt in enumerate(reader):
            if n >= limit:
                break
            row = dict.fromkeys(cols, 0)
            row["ts"], row["wire"] = float(pkt.time), len(pkt)
            row["dns_off"] = row["dns_end"] = -1
            if Ether in pkt:
                row["src_mac"] = int(pkt[Ether].src.replace(":", ""), 16)
                row["ethertype"] = pkt[Dot1Q].type if Dot1Q in pkt else pkt[Ether].type
                row["vlan"] = pkt[Dot1Q].vlan if Dot1Q in pkt else 0
            if IP in pkt:
                row["family"], row["proto"] = 4, pkt[IP].proto
                row["src_hi"], row["src_lo"] = halves(pkt[IP].src)
                row["dst_hi"], row["dst_lo"] = halves(pkt[IP].dst)
            elif IPv6 in pkt:
                row["family"], row["proto"] = 6, pkt[IPv6].nh
                row["src_hi"], row["src_lo"] = halves(pkt[IPv6].src)
                row["dst_hi"], row["dst_lo"] = halves(pkt[IPv6].dst)
                row["icmp_type"] = getattr(pkt[IPv6].payload, "type", 0) \
                    if pkt[IPv6].nh == 58 else 0
            elif ARP in pkt:
                a = pkt[ARP]
                row["arp_op"], row["arp_sha"] = a.op, int(a.hwsrc.replace(":", ""), 16)
                row["src_lo"] = halves(a.psrc)[1]
                row["dst_lo"] = halves(a.pdst)[1]
            if TCP in pkt:
                t = pkt[TCP]
                row["sport"], row["dport"], row["tcp_flags"] = t.sport, t.dport, int(t.flags)
            elif UDP in pkt:
                u = pkt[UDP]
                row["sport"], row["dport"] = u.sport, u.dport
                if u.dport == 53 and DNS in pkt:
                    msg = bytes(pkt[DNS])
                    row["dns_off"], row["dns_end"] = len(dns), len(dns) + len(msg)
                    dns.extend(msg)
            elif ICMP in pkt:
                row["icmp_type"] = pkt[ICMP].type
            for k, v in row.items():
                cols[k].append(v)
    n = len(cols["ts"])
    buf = np.frombuffer(bytes(dns) + b"\0" * 16, np.uint8)
    ts = np.array(cols["ts"], np.float64)
    wire = np.array(cols["wire"], np.int64)
    f = new_fields(n, ts, wire, buf)
    for k, v in cols.items():
        if k not in ("ts", "wire"):
            getattr(f, k)[:] = np.array(v, dtype=getattr(f, k).dtype)
    empty = np.zeros(n, np.int64)
    return Batch(buf, empty, empty, wire, ts, np.ones(n, np.int32), fields=f)


def child_scapy(pcap: str, blocklist: str, limit: int) -> dict:
    sensor = build(blocklist)
    wall, cpu = time.perf_counter(), time.process_time()
    batch = _scapy_batch(pcap, limit)
    events = sensor.run([batch])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"packets": len(batch), "wall_s": wall, "cpu_s": cpu,
            "events": sorted(f"{e.type}:{e.key}" for e in events),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --- parent ---------------------------------------------------------------------------------


def run_child(kind: str, *args: str, cpu: int) -> dict:
    cmd = ["nice", "-n", "5", "taskset", "-c", str(cpu), sys.executable, __file__, "--child",
           kind, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best(results: list[dict], key: str = "wall_s") -> dict:
    return min(results, key=lambda r: r[key])


def measure_tshark(pcap: str, count: int, repeat: int, cpu: int) -> dict | None:
    if not shutil.which("tshark"):
        return None
    cmd = ["nice", "-n", "5", "taskset", "-c", str(cpu), "tshark", "-n", "-r", pcap,
           "-c", str(count), "-T", "fields"]
    for fld in TSHARK_FIELDS:
        cmd += ["-e", fld]
    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"packets": count, "wall_s": min(times), "cpu_s": min(cpus),
            "command": " ".join(cmd[6:])}


def ensure_pcap(path: Path, count: int, blocklist: Path) -> None:
    from sensor_pcap_gen import blocklist_lines, generate

    if not path.exists():
        print(f"generating {path} ({count:,} packets) ...", file=sys.stderr)
        generate(path, count, 100_000.0)
    if not blocklist.exists():
        blocklist.write_text("\n".join(blocklist_lines()) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", type=Path, default=Path("/tmp/sensor-1m.pcap"))
    ap.add_argument("--small", type=Path, default=Path("/tmp/sensor-100k.pcap"))
    ap.add_argument("--blocklist", type=Path, default=Path("/tmp/sensor-block.txt"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scapy-packets", type=int, default=20_000)
    ap.add_argument("--tshark-packets", type=int, default=100_000)
    ap.add_argument("--cpu", type=int, default=1, help="CPU to pin the measurements to")
    ap.add_argument("--live", action="store_true", help="also measure live capture (root)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_gin(*rest) if kind == "gin" else child_scapy(rest[0], rest[1],
                                                                       int(rest[2]))
        print(json.dumps(result))
        return

    ensure_pcap(args.pcap, 1_000_000, args.blocklist)
    ensure_pcap(args.small, 100_000, args.blocklist)
    bl = str(args.blocklist)
    report: dict = {"load_average": os.getloadavg()}
    runs = [run_child("gin", str(args.pcap), bl, cpu=args.cpu) for _ in range(args.repeat)]
    gin = best(runs)
    gin_cpu = best(runs, "cpu_s")
    small = best([run_child("gin", str(args.small), bl, cpu=args.cpu)
                  for _ in range(args.repeat)])
    scapy = best([run_child("scapy", str(args.pcap), bl, str(args.scapy_packets), cpu=args.cpu)
                  for _ in range(args.repeat)])
    tshark = measure_tshark(str(args.pcap), args.tshark_packets, args.repeat, args.cpu)

    def pps(r: dict, key: str = "wall_s") -> float:
        return r["packets"] / r[key]

    report.update({
        "gin_pps_wall": round(pps(gin)), "gin_pps_cpu": round(pps(gin_cpu, "cpu_s")),
        "gin_packets": gin["packets"], "gin_events": gin["events"],
        "gin_peak_rss_mb_1m": round(gin["peak_rss_mb"], 1),
        "gin_peak_rss_mb_100k": round(small["peak_rss_mb"], 1),
        "gin_rss_before_run_mb": round(gin["rss_before_mb"], 1),
        "scapy_pps_wall": round(pps(scapy)), "scapy_pps_cpu": round(pps(scapy, "cpu_s")),
        "scapy_packets": scapy["packets"], "scapy_events": scapy["events"],
        "ratio_vs_scapy": round(pps(gin) / pps(scapy), 1),
        "ratio_vs_scapy_cpu": round(pps(gin_cpu, "cpu_s") / pps(scapy, "cpu_s"), 1),
    })
    if tshark:
        report.update({"tshark_pps_wall": round(pps(tshark)),
                       "tshark_pps_cpu": round(pps(tshark, "cpu_s")),
                       "tshark_command": tshark["command"],
                       "ratio_vs_tshark": round(pps(gin) / pps(tshark), 1),
                       "ratio_vs_tshark_cpu": round(pps(gin_cpu, "cpu_s") / pps(tshark, "cpu_s"),
                                                    1)})
    if args.live:
        from sensor_live_bench import live_sweep

        report["live"] = live_sweep(args.pcap, bl)
    print(json.dumps(report, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\ngin sensor: {report['gin_pps_wall']:,} packets/s wall "
          f"({report['gin_pps_cpu']:,}/s of CPU time), "
          f"{report['ratio_vs_scapy']}x scapy PcapReader"
          + (f", {report['ratio_vs_tshark']}x tshark -T fields" if tshark else "")
          + f"; peak RSS {report['gin_peak_rss_mb_100k']} MB (100k) vs "
            f"{report['gin_peak_rss_mb_1m']} MB (1M)", file=sys.stderr)


if __name__ == "__main__":
    main()

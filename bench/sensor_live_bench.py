"""Live-capture benchmark: a sender in one namespace, the sensor on the receiving veth.

Sends packets of the benchmark pcap at rising rates from namespace A into namespace B,
where the sensor captures on the veth with every detector on.  For each rate it reports
what the sender achieved, what the sensor received, and the kernel's ring drops
(``PACKET_STATISTICS``): the first rate with drops is where the sensor stops keeping up.
Namespaces are named ``gs`` + 4 random hex digits and always deleted.  Needs root,
iproute2, and tcpreplay or trafgen (Debian ``netsniff-ng``).

Senders: ``tcpreplay`` (``--pps``, then ``--topspeed``; tops out at ~260-430k packets/s
here) and ``trafgen`` (a TX_RING packet generator bypassing the qdisc; its config holds
the first 4,096 packets of the file, or of its packets up to 128 bytes with ``--small``,
sent round-robin; ``--sender-cpus 0,1`` forks one sender per CPU, so the sensor then
shares its CPU with one of them).  One sender core cannot outrun the sensor's core (the
kernel's veth and capture copies run on the sender's core); to find where the sensor
itself drops, send from both cores with the sensor at real-time priority (``--rt``): its
sender neighbour then only gets the CPU the sensor leaves idle.

    python bench/sensor_live_bench.py [--pcap /tmp/sensor-1m.pcap] [--packets 300000]
    python bench/sensor_live_bench.py --sender trafgen [--small] [--sender-cpus 0,1]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def head_pcap(src: Path, dst: Path, count: int) -> None:
    """The first ``count`` records of a little-endian microsecond pcap."""
    with open(src, "rb") as fh, open(dst, "wb") as out:
        out.write(fh.read(24))
        for _ in range(count):
            hdr = fh.read(16)
            if len(hdr) < 16:
                break
            out.write(hdr + fh.read(struct.unpack("<I", hdr[8:12])[0]))


def trafgen_config(src: Path, dst: Path, count: int = 4096, max_len: int | None = None
                   ) -> int:
    """A trafgen packet config: the first ``count`` packets of a pcap (those no longer
    than ``max_len`` bytes if given), each sent as is."""
    written = 0
    with open(src, "rb") as fh, open(dst, "w") as out:
        fh.read(24)
        while written < count:
            hdr = fh.read(16)
            if len(hdr) < 16:
                break
            pkt = fh.read(struct.unpack("<I", hdr[8:12])[0])
            if max_len is None or len(pkt) <= max_len:
                out.write("{ " + ", ".join(f"0x{b:02x}" for b in pkt) + " }\n")
                written += 1
    return written


def run_trafgen(ns: str, ifname: str, conf: Path, packets: int, rate: int, cpus: str
                ) -> dict:
    """Send ``packets`` with trafgen (0 = as fast as it can); achieved packets/s."""
    n_cpus = len(cpus.split(","))
    argv = ["ip", "netns", "exec", ns, "taskset", "-c", cpus, "trafgen", "--dev", ifname,
            "--conf", str(conf), "--num", str(packets), "--cpus", str(n_cpus), "-Q"]
    if rate:
        argv += ["--rate", f"{rate}pps"]  # the total: trafgen splits it over its CPUs
    done = sh(*argv, check=False)
    out = done.stdout + done.stderr
    sent = sum(int(x) for x in re.findall(r"(\d+) packets outgoing", out)) or None
    times = [int(a) + int(b) / 1e6 for a, b in re.findall(r"(\d+) sec, (\d+) usec on CPU", out)]
    return {"sent": sent, "sent_pps": round(sent / max(times)) if sent and times else None}


def child_sensor(interface: str, blocklist: str, ring_mb: str = "64") -> None:
    """Run in namespace B: capture until SIGTERM, then print counts as JSON."""
    from sensor_bench import build

    from monitor.sensor.live import LiveCapture

    sensor = build(blocklist, live=True)
    cap = LiveCapture(interface, idle_s=0.2, blocks=int(ring_mb))  # 1 MiB blocks
    signal.signal(signal.SIGTERM, lambda *_: cap.stop())
    print("ready", flush=True)
    t, cpu = time.perf_counter(), time.process_time()
    events = sensor.run(cap)
    print(json.dumps({"received": cap.received, "dropped": cap.dropped,
                      "processed": sensor.stats.packets, "wall_s": time.perf_counter() - t,
                      "cpu_s": time.process_time() - cpu, "events": len(events)}), flush=True)


def live_sweep(pcap: Path, blocklist: str, packets: int = 300_000,
               rates: tuple[int, ...] = (50_000, 100_000, 200_000, 300_000, 0),
               ring_mb: int = 64, nice: int = 5, sender: str = "tcpreplay",
               small: bool = False, sender_cpus: str = "0", realtime: bool = False
               ) -> list[dict]:
    tag = "gs" + secrets.token_hex(2)
    ns_a, ns_b, if_a, if_b = f"{tag}a", f"{tag}b", f"{tag}x", f"{tag}y"
    sample = Path(f"/tmp/{tag}-live.pcap")
    conf = Path(f"/tmp/{tag}-trafgen.cfg")
    if sender == "trafgen":
        trafgen_config(pcap, conf, max_len=128 if small else None)
    else:
        head_pcap(pcap, sample, packets)
    results = []
    try:
        sh("ip", "netns", "add", ns_a)
        sh("ip", "netns", "add", ns_b)
        sh("ip", "link", "add", if_a, "type", "veth", "peer", "name", if_b)
        sh("ip", "link", "set", if_a, "netns", ns_a)
        sh("ip", "link", "set", if_b, "netns", ns_b)
        for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        for rate in rates:
            prio = ["chrt", "-f", "1"] if realtime else ["nice", "-n", str(nice)]
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns_b, *prio, "taskset", "-c", "1",
                 sys.executable, __file__, "--child", if_b, blocklist, str(ring_mb)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(proc.stderr.read())
            if sender == "trafgen":
                offered = run_trafgen(ns_a, if_a, conf, packets, rate, sender_cpus)
            else:
                speed = ["--topspeed"] if rate == 0 else [f"--pps={rate}"]
                replay = sh("ip", "netns", "exec", ns_a, "taskset", "-c", "0", "tcpreplay",
                            "-q", "-K", "-i", if_a, *speed, str(sample), check=False)
                m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", replay.stdout)
                sent = re.search(r"Actual: (\d+) packets", replay.stdout)
                offered = {"sent_pps": round(float(m.group(1))) if m else None,
                           "sent": int(sent.group(1)) if sent else None}
            time.sleep(1.5)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            got = json.loads(out.strip().splitlines()[-1])
            results.append({"sender": sender + (" small" if small else ""),
                            "sender_cpus": sender_cpus if sender == "trafgen" else "0",
                            "ring_mb": ring_mb, "nice": "rt" if realtime else nice,
                            "target_pps": rate or "topspeed", **offered, **got})
    finally:
        sh("ip", "netns", "del", ns_a, check=False)
        sh("ip", "netns", "del", ns_b, check=False)
        sample.unlink(missing_ok=True)
        conf.unlink(missing_ok=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", type=Path, default=Path("/tmp/sensor-1m.pcap"))
    ap.add_argument("--blocklist", default="/tmp/sensor-block.txt")
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--ring-mb", type=int, default=64, help="capture ring size (MiB)")
    ap.add_argument("--nice", type=int, default=5)
    ap.add_argument("--sender", choices=["tcpreplay", "trafgen"], default="tcpreplay")
    ap.add_argument("--small", action="store_true",
                    help="trafgen: only packets up to 128 bytes (more packets/s)")
    ap.add_argument("--sender-cpus", default="0", help="trafgen: CPUs to send from, e.g. 0,1")
    ap.add_argument("--rt", action="store_true",
                    help="run the sensor SCHED_FIFO, so other load on the machine does not "
                         "starve it: drops then come from the sensor's own speed")
    ap.add_argument("--rates", default="50000,100000,200000,300000,0",
                    help="packets/s to offer, comma-separated; 0 = as fast as possible")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_sensor(*args.child)
        return
    rates = tuple(int(r) for r in args.rates.split(","))
    for row in live_sweep(args.pcap, args.blocklist, args.packets, rates, ring_mb=args.ring_mb,
                          nice=args.nice, sender=args.sender, small=args.small,
                          sender_cpus=args.sender_cpus, realtime=args.rt):
        print(json.dumps(row))


if __name__ == "__main__":
    main()

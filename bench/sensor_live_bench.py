"""Live-capture benchmark: tcpreplay between two namespaces, sensor on the receiving veth.

Replays a slice of the benchmark pcap at rising rates (``tcpreplay --pps``, then
``--topspeed``) from namespace A into namespace B, where the sensor captures on the veth
with every detector on.  For each rate it reports what tcpreplay achieved, what the
sensor received, and the kernel's ring drops (``PACKET_STATISTICS``): the first rate
with drops is where the sensor stops keeping up.  Namespaces are named ``gs`` + 4 random
hex digits and always deleted.  Needs root, iproute2 and tcpreplay.

    python bench/sensor_live_bench.py [--pcap /tmp/sensor-1m.pcap] [--packets 300000]
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
               ring_mb: int = 64, nice: int = 5) -> list[dict]:
    tag = "gs" + secrets.token_hex(2)
    ns_a, ns_b, if_a, if_b = f"{tag}a", f"{tag}b", f"{tag}x", f"{tag}y"
    sample = Path(f"/tmp/{tag}-live.pcap")
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
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns_b, "nice", "-n", str(nice), "taskset", "-c", "1",
                 sys.executable, __file__, "--child", if_b, blocklist, str(ring_mb)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(proc.stderr.read())
            speed = ["--topspeed"] if rate == 0 else [f"--pps={rate}"]
            replay = sh("ip", "netns", "exec", ns_a, "taskset", "-c", "0", "tcpreplay",
                        "-q", "-K", "-i", if_a, *speed, str(sample), check=False)
            time.sleep(1.5)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            got = json.loads(out.strip().splitlines()[-1])
            m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", replay.stdout)
            sent = re.search(r"Actual: (\d+) packets", replay.stdout)
            results.append({"ring_mb": ring_mb, "nice": nice, "target_pps": rate or "topspeed",
                            "sent_pps": round(float(m.group(1))) if m else None,
                            "sent": int(sent.group(1)) if sent else None, **got})
    finally:
        sh("ip", "netns", "del", ns_a, check=False)
        sh("ip", "netns", "del", ns_b, check=False)
        sample.unlink(missing_ok=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", type=Path, default=Path("/tmp/sensor-1m.pcap"))
    ap.add_argument("--blocklist", default="/tmp/sensor-block.txt")
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--ring-mb", type=int, default=64, help="capture ring size (MiB)")
    ap.add_argument("--nice", type=int, default=5)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_sensor(*args.child)
        return
    for row in live_sweep(args.pcap, args.blocklist, args.packets, ring_mb=args.ring_mb,
                          nice=args.nice):
        print(json.dumps(row))


if __name__ == "__main__":
    main()

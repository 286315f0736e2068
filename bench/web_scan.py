"""Web audit benchmark: `gin audit web`'s scan of N loopback services against testssl.sh.

    .venv/bin/python bench/web_scan.py                       # 200 services, testssl on 4
    .venv/bin/python bench/web_scan.py --services 20 --testssl-sample 2      # quick

One Debian nginx serves N well-configured HTTPS services (one server name and port each,
plus its http redirect port) on 127.0.0.1 and ::1, names from the lab's dnsmasq,
certificates from a test CA (:mod:`audit.web.lab`).  gin scans all N (resolve, http
redirect and headers, sslyze protocols/cipher suites/certificate, IPv6 certificate).

Anchor, in the same run: Debian's testssl.sh on a sample of the same services with the
checks closest to ours (``-p -E -S -h``: protocols, cipher suites per protocol, server
defaults and certificate, HTTP headers), ``--jobs`` of them at once.  testssl.sh takes
~50 s per service, so 200 would take hours: the sample's rate is reported (services/s is a
rate, so it scales) and the time for N is extrapolated; both are labelled as such.

Wall time, this process's CPU time (gin; testssl's children for the anchor) and nginx's
CPU time are printed, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit import runner  # noqa: E402
from audit.web import checks, scan  # noqa: E402
from audit.web.lab import WebLab  # noqa: E402


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _nginx_cpu(lab: WebLab) -> float:
    """utime+stime of the lab's nginx master and workers (seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    root = str(lab.root)
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            if "nginx" not in cmd:
                continue
            master = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            owner = pid if root in cmd else str(master)
            if root not in Path(f"/proc/{owner}/cmdline").read_bytes().decode(errors="replace"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_gin(lab: WebLab, workers: int) -> tuple[float, float, float, int]:
    targets = [scan.ScanTarget("BENCH", label, srv.name, srv.url)
               for label, srv in lab.servers.items()]
    n0, c0, t0 = _nginx_cpu(lab), _cpu(resource.RUSAGE_SELF), time.perf_counter()
    records = scan.scan(targets, lab.nameserver, lab.ca_file, workers)
    wall = time.perf_counter() - t0
    cpu, ncpu = _cpu(resource.RUSAGE_SELF) - c0, _nginx_cpu(lab) - n0
    clean = sum(1 for a in runner.judge(checks.subjects(records)) if not any(
        f.status.value in ("fail", "unknown") for f in a.findings))
    return wall, cpu, ncpu, clean


def run_testssl(lab: WebLab, labels: list[str], jobs: int) -> tuple[float, float, float, int]:
    def one(label: str) -> int:
        srv = lab.servers[label]
        out = lab.root / f"testssl-{label}.json"
        proc = subprocess.run(
            ["testssl", "--quiet", "--warnings", "off", "--ip", "127.0.0.1", "--add-ca",
             str(lab.ca_file), "-p", "-E", "-S", "-h", "--jsonfile", str(out),
             f"https://{srv.name}:{srv.https_port}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        return 1 if out.exists() and out.stat().st_size > 0 else 0 * proc.returncode

    n0, c0, t0 = _nginx_cpu(lab), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = sum(pool.map(one, labels))
    wall = time.perf_counter() - t0
    return wall, _cpu(resource.RUSAGE_CHILDREN) - c0, _nginx_cpu(lab) - n0, done


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--workers", type=int, default=16, help="gin: hosts scanned at once")
    ap.add_argument("--testssl-sample", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="testssl.sh processes at once")
    args = ap.parse_args()
    if not shutil.which("testssl"):
        print("testssl.sh not found (apt-get install testssl.sh)", file=sys.stderr)
        return 1
    print(f"load: {os.getloadavg()}  cpus: {os.cpu_count()}")
    with WebLab({f"s{i:03d}": "good" for i in range(args.services)}, prefix="ginbench") as lab:
        wall, cpu, ncpu, clean = run_gin(lab, args.workers)
        rate = args.services / wall
        print(f"gin audit web : {args.services} services in {wall:.1f} s = {rate:.2f} "
              f"services/s; CPU {cpu:.1f} s (scanner) + {ncpu:.1f} s (nginx); "
              f"{clean}/{args.services} all-pass")
        sample = sorted(lab.servers)[: args.testssl_sample]
        twall, tcpu, tncpu, tdone = run_testssl(lab, sample, args.jobs)
        trate = len(sample) / twall
        print(f"testssl.sh    : {len(sample)} services (sample, {args.jobs} at once) in "
              f"{twall:.1f} s = {trate:.4f} services/s; CPU {tcpu:.1f} s (testssl+openssl) + "
              f"{tncpu:.1f} s (nginx); {tdone}/{len(sample)} JSON reports; "
              f"{args.services} services extrapolated: {args.services / trate / 60:.0f} min")
        print(f"ratio (services/s, gin / testssl.sh): {rate / trate:.0f}x;  "
              f"CPU per service: gin {(cpu + ncpu) / args.services:.2f} s, "
              f"testssl.sh {(tcpu + tncpu) / len(sample):.2f} s")
    print(f"load: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

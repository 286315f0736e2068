"""Benchmark: bring-up and tear-down of gin labs of 5, 20 and 50 routers vs a serial shell anchor.

Each size: `gin.lab.up(generate_topology(n))` (2 PEs with OSPFv3 + iBGP, n-2 bare CEs;
per router zebra, staticd, bgpd, ospf6d, sshd, snmpd), time until every daemon runs
("up") and until the core iBGP session is Established ("converged"), RSS per router
(sum over its 6 processes), then `down`. The anchor is bench/lab_anchor.sh: the same lab
built by one serial shell script. Run as root:

    .venv/bin/python bench/lab_bringup.py [--sizes 5,20,50] [--anchor-sizes 5,20,50]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gin import lab  # noqa: E402
from gin.lab.proc import read_pid, rss_kib  # noqa: E402
from gin.lab.state import NodeState  # noqa: E402
from gin.lab.topology import generate_topology  # noqa: E402

ANCHOR = ROOT / "bench" / "lab_anchor.sh"
ANCHOR_DIR = Path("/var/lib/gin/bench/anchor")


def rss_by_daemon(pidfiles: list[tuple[str, Path]]) -> dict[str, int]:
    """Daemon name -> total RSS in KiB over all routers."""
    out: collections.Counter[str] = collections.Counter()
    for daemon, path in pidfiles:
        pid = read_pid(path)
        if pid:
            out[daemon] += rss_kib(pid)
    return dict(out)


def cpu_seconds(pids: list[int | None]) -> float:
    """user+system CPU seconds consumed so far by the given (daemon) PIDs."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def own_cpu() -> float:
    """CPU seconds of this process and its reaped descendants (launchers, ip, sh)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def wait_established(run_dir: Path, timeout: float = 60) -> None:
    node = NodeState(name="pe1", role="pe", index=0, netns="", agency_code="", agency_name="",
                     site="", dir=str(run_dir.parent))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = node.vtysh("show bgp ipv6 unicast summary json")
        if '"state":"Established"' in out.replace(" ", ""):
            return
        time.sleep(0.2)
    raise RuntimeError(f"BGP not established in {run_dir}")


def bench_gin(n: int) -> dict[str, float]:
    name = f"bench{n}"
    lab.down(name)
    topo = generate_topology(n)
    cpu0 = own_cpu()
    start = time.monotonic()
    state = lab.up(topo, name=name)
    t_up = time.monotonic() - start
    daemon_pids = [read_pid(p) for r in state.routers for p in r.pidfiles().values()]
    cpu_up = own_cpu() - cpu0 + cpu_seconds(daemon_pids)
    lab.wait_bgp_established(state, "pe1", timeout=60)
    t_conv = time.monotonic() - start
    rss = rss_by_daemon([(d, p) for r in state.routers for d, p in r.pidfiles().items()])
    start = time.monotonic()
    lab.down(name)
    t_down = time.monotonic() - start
    return {"up": t_up, "converged": t_conv, "down": t_down, "load1": os.getloadavg()[0],
            "cpu_s_per_router": cpu_up / n, "rss_mib_per_router": sum(rss.values()) / 1024 / n,
            **{f"rss_{d}": v / 1024 / n for d, v in rss.items()}}


def bench_anchor(n: int) -> dict[str, float]:
    shutil.rmtree(ANCHOR_DIR, ignore_errors=True)
    ANCHOR_DIR.parent.mkdir(parents=True, exist_ok=True)
    cpu0 = own_cpu()
    start = time.monotonic()
    subprocess.run(["bash", str(ANCHOR), "up", str(n), str(ANCHOR_DIR)], check=True,
                   stderr=subprocess.DEVNULL)
    t_up = time.monotonic() - start
    daemon_pids = [read_pid(p) for p in ANCHOR_DIR.glob("*/run/*.pid")]
    cpu_up = own_cpu() - cpu0 + cpu_seconds(daemon_pids)
    wait_established(ANCHOR_DIR / "pe1" / "run")
    t_conv = time.monotonic() - start
    rss = rss_by_daemon([(p.stem, p) for p in ANCHOR_DIR.glob("*/run/*.pid")])
    start = time.monotonic()
    subprocess.run(["bash", str(ANCHOR), "down", str(n), str(ANCHOR_DIR)], check=True,
                   stderr=subprocess.DEVNULL)
    t_down = time.monotonic() - start
    return {"up": t_up, "converged": t_conv, "down": t_down, "load1": os.getloadavg()[0],
            "cpu_s_per_router": cpu_up / n, "rss_mib_per_router": sum(rss.values()) / 1024 / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--anchor-sizes", default="5,20,50")
    parser.add_argument("--repeat", type=int, default=1, help="gin runs per size (best kept)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    anchor_sizes = {int(s) for s in args.anchor_sizes.split(",") if s}
    rows = []
    for n in sizes:
        runs = [bench_gin(n) for _ in range(args.repeat)]
        g = min(runs, key=lambda r: r["up"])
        a = bench_anchor(n) if n in anchor_sizes else None
        rows.append((n, g, a))
        print(f"n={n}: gin {g}", flush=True)
        if a:
            print(f"n={n}: anchor {a}", flush=True)
    print()
    print("| routers | gin up s | gin converged s | gin down s | gin RSS MiB/router "
          "| gin up CPU s/router | anchor up s | anchor converged s | anchor down s "
          "| anchor RSS MiB/router | anchor up CPU s/router | up speed-up | down speed-up "
          "| load1 gin/anchor |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, g, a in rows:
        if a:
            tail = (f"{a['up']:.1f} | {a['converged']:.1f} | {a['down']:.1f} | "
                    f"{a['rss_mib_per_router']:.1f} | {a['cpu_s_per_router']:.3f} | "
                    f"{a['up'] / g['up']:.1f}x | "
                    f"{a['down'] / g['down']:.1f}x | {g['load1']:.1f}/{a['load1']:.1f}")
        else:
            tail = f"- | - | - | - | - | - | - | {g['load1']:.1f}/-"
        print(f"| {n} | {g['up']:.1f} | {g['converged']:.1f} | {g['down']:.1f} | "
              f"{g['rss_mib_per_router']:.1f} | {g['cpu_s_per_router']:.3f} | {tail} |")
    print()
    n, g, _ = rows[-1]
    per = ", ".join(f"{k[4:]} {v:.1f}" for k, v in g.items() if k.startswith("rss_") and
                    k != "rss_mib_per_router")
    print(f"RSS per router by daemon at n={n} (MiB): {per}")


if __name__ == "__main__":
    main()

"""Benchmark: gin's SNMP poller vs Prometheus snmp_exporter on the same agents, same run.

Setup (needs root, Debian snmpd + prometheus-snmp-exporter): a network namespace of our own
with 24 veth pairs (so IF-MIB has 49 rows: lo + 48 veths), one net-snmp snmpd inside it
answering on 127.0.0.1..127.0.0.N (N agents, default 50), and snmp_exporter inside it with
a snmp.yml generated from the same column tables gin polls (monitor.snmp.oids): ifTable /
ifXTable counters and static columns, sysUpTime, the IPv6 ipSystemStats row, and
HOST-RESOURCES CPU/memory columns.

Per mode (v2c, v3 authPriv SHA/AES) and tool: one warm-up round, then ``--rounds`` timed
rounds; each round polls every agent once.  gin: one Poller in this process (a full poll
with the static columns re-read every round, like snmp_exporter, plus rendering the
/metrics text); wall time and this process's CPU (getrusage).  snmp_exporter: N concurrent
HTTP scrapes of /snmp?target=...; wall time and the exporter's CPU (/proc/PID/stat).  The
best round of each is reported, and the ratios gin/exporter.

    nice -n 10 .venv/bin/python bench/snmp_poll.py [--agents 50] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.snmp import oids  # noqa: E402
from monitor.snmp.snmpd import SnmpdInstance  # noqa: E402

EXPORTER = shutil.which("prometheus-snmp-exporter") or "/usr/bin/prometheus-snmp-exporter"
SNMP_PORT = 16161
EXPORTER_PORT = 9116
VETH_PAIRS = 24
CLK_TCK = os.sysconf("SC_CLK_TCK")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def make_netns(name: str) -> None:
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    for i in range(VETH_PAIRS):
        sh("ip", "-n", name, "link", "add", f"ba{i}", "type", "veth", "peer", "name", f"bb{i}")
        sh("ip", "-n", name, "link", "set", f"ba{i}", "up")
        sh("ip", "-n", name, "link", "set", f"bb{i}", "up")


def hosts(n: int) -> list[str]:
    return [f"127.0.{(i + 1) // 256}.{(i + 1) % 256}" for i in range(n)]


def snmp_yml(inst: SnmpdInstance) -> dict[str, Any]:
    """snmp_exporter 0.21 modules (auth inside each module) walking gin's columns."""
    walk = [*oids.IF_COUNTERS.values(), *oids.IF_STATIC.values(), oids.HR_PROCESSOR_LOAD,
            *oids.HR_STORAGE.values()]
    get = [oids.SYS_UPTIME, *oids.IP6_STATS.values()]
    metrics: list[dict[str, Any]] = []
    for name, oid in {**oids.IF_COUNTERS, **oids.IF_STATIC}.items():
        metrics.append({"name": f"if_{name}", "oid": oid,
                        "type": "DisplayString" if name in ("name", "alias") else "counter",
                        "help": name, "indexes": [{"labelname": "ifIndex", "type": "gauge"}]})
    metrics.append({"name": "hr_processor_load", "oid": oids.HR_PROCESSOR_LOAD,
                    "type": "gauge", "help": "cpu",
                    "indexes": [{"labelname": "hrDeviceIndex", "type": "gauge"}]})
    for name, oid in oids.HR_STORAGE.items():
        metrics.append({"name": f"hr_storage_{name}", "oid": oid,
                        "type": "OctetString" if name == "type" else "gauge", "help": name,
                        "indexes": [{"labelname": "hrStorageIndex", "type": "gauge"}]})
    metrics.append({"name": "sys_uptime", "oid": oids.SYS_UPTIME.rsplit(".", 1)[0],
                    "type": "gauge", "help": "uptime"})
    for name, oid in oids.IP6_STATS.items():
        metrics.append({"name": f"ip6_{name}", "oid": oid.rsplit(".", 1)[0],
                        "type": "counter", "help": name,
                        "indexes": [{"labelname": "ipVersion", "type": "gauge"}]})
    common = {"walk": walk, "get": get, "metrics": metrics, "max_repetitions": 50,
              "retries": 1, "timeout": "5s"}
    return {
        "gin_v2c": {**common, "version": 2, "auth": {"community": inst.community}},
        "gin_v3": {**common, "version": 3, "auth": {
            "security_level": "authPriv", "username": inst.user, "password": inst.auth_key,
            "auth_protocol": "SHA", "priv_protocol": "AES", "priv_password": inst.priv_key}},
    }


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rcvbuf_errors() -> int:
    """UDP datagrams dropped for a full receive queue, in this network namespace."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()
             if ln.startswith("Udp:")]
    return int(dict(zip(lines[0], lines[1], strict=True))["RcvbufErrors"])


def procs_cpu(pids: list[int]) -> float:
    return sum(proc_cpu(p) for p in pids)


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------- measurement


def bench_gin(agents: list[str], creds: dict[str, str], version: str, rounds: int,
              snmpd_pids: list[int], processes: int = 1) -> list[tuple[float, float, float]]:
    from monitor.collector import SnmpCollector
    from monitor.snmp import usm
    from monitor.snmp.poller import Poller
    from monitor.snmp.shard import ShardedPoller
    from monitor.snmp.targets import SnmpTarget

    user = usm.UsmUser(creds["user"], "SHA", creds["auth_key"], "AES", creds["priv_key"])
    targets = [SnmpTarget(name=f"a{i}", host=h, port=SNMP_PORT, version=version,
                      community=creds["community"], user=user if version == "v3" else None,
                      static_interval=0.0, timeout=5.0)
               for i, h in enumerate(agents)]
    collector = SnmpCollector()
    out: list[tuple[float, float, float]] = []

    def cpu(poller: Any) -> float:  # this process + poll workers, if any
        return self_cpu() + sum(proc_cpu(p) for p in getattr(poller, "pids", list)())

    async def run() -> None:
        poller: Any = (ShardedPoller(targets, processes) if processes > 1 else Poller(targets))
        if processes > 1:
            poller.start()
        try:
            for i in range(rounds + 1):
                s0, c0, w0 = procs_cpu(snmpd_pids), cpu(poller), time.perf_counter()
                if processes > 1:
                    res = await poller.poll_all(collector=collector)
                else:
                    res = await poller.poll_all(on_result=collector.update)
                collector.render()  # the /metrics body the agent would serve
                w1, c1, s1 = time.perf_counter(), cpu(poller), procs_cpu(snmpd_pids)
                bad = [r.error for r in res.values() if not r.ok]
                if bad:
                    raise SystemExit(f"gin poll failed: {bad[:3]}")
                if i:
                    out.append((w1 - w0, c1 - c0, s1 - s0))
        finally:
            poller.close()

    asyncio.run(run())
    return out


def bench_exporter(agents: list[str], module: str, pid: int, rounds: int,
                   snmpd_pids: list[int]) -> list[tuple[float, float, float]]:
    def scrape(host: str) -> int:
        url = (f"http://127.0.0.1:{EXPORTER_PORT}/snmp?target={host}:{SNMP_PORT}"
               f"&module={module}")
        with urllib.request.urlopen(url, timeout=30) as r:
            body = r.read()
        if b"if_in_octets" not in body:
            raise SystemExit(f"snmp_exporter scrape of {host} returned no interface data")
        return len(body)

    out: list[tuple[float, float, float]] = []
    with ThreadPoolExecutor(max_workers=len(agents)) as pool:
        for i in range(rounds + 1):
            s0, c0, w0 = procs_cpu(snmpd_pids), proc_cpu(pid), time.perf_counter()
            list(pool.map(scrape, agents))
            w1, c1, s1 = time.perf_counter(), proc_cpu(pid), procs_cpu(snmpd_pids)
            if i:
                out.append((w1 - w0, c1 - c0, s1 - s0))
    return out


def inner(args: argparse.Namespace) -> None:
    """Runs inside the namespace: measure both tools, print JSON."""
    state = json.loads(Path(args.inner).read_text())
    agents = hosts(state["agents"])
    results: dict[str, Any] = {"agents": state["agents"], "interfaces": state["interfaces"]}
    if args.profile:  # where gin's CPU goes (pstats file), no comparison
        import cProfile

        cProfile.runctx("bench_gin(agents, state['creds'], args.modes.split(',')[0], "
                        "args.rounds, state['snmpd_pids'])", globals(), locals(), args.profile)
        print("{}")
        return
    drops: dict[str, int] = {}
    for mode in args.modes.split(","):
        results[mode] = {}
        for n in sorted({1, args.processes}):
            tool = "gin" if n == 1 else f"gin x{n} proc"
            d0 = rcvbuf_errors()
            results[mode][tool] = bench_gin(agents, state["creds"], mode, args.rounds,
                                            state["snmpd_pids"], n)
            drops[f"{mode} {tool}"] = rcvbuf_errors() - d0
        d0 = rcvbuf_errors()
        results[mode]["snmp_exporter"] = bench_exporter(
            agents, f"gin_{mode}", state["exporter_pid"], args.rounds, state["snmpd_pids"])
        drops[f"{mode} snmp_exporter"] = rcvbuf_errors() - d0
    results["udp_rcvbuf_drops"] = drops
    print(json.dumps(results))


# --------------------------------------------------------------------- orchestration


def interface_count(ns: str) -> int:
    out = subprocess.run(["ip", "-n", ns, "-o", "link"], capture_output=True, text=True,
                         check=True).stdout
    return len(out.strip().splitlines())


def outer(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespace)")
    ns = "ginb" + secrets.token_hex(3)
    work = Path(tempfile.mkdtemp(prefix="gin-bench-snmp-"))
    make_netns(ns)
    exporter = None
    # net-snmp listens on ~120 addresses per process at most: one snmpd per 100 agents
    all_hosts = hosts(args.agents)
    inst = SnmpdInstance(work / "snmpd0", [(h, SNMP_PORT) for h in all_hosts[:100]], netns=ns)
    instances = [inst] + [
        SnmpdInstance(work / f"snmpd{k}", [(h, SNMP_PORT) for h in all_hosts[k:k + 100]],
                      netns=ns, auth_key=inst.auth_key, priv_key=inst.priv_key,
                      community=inst.community)
        for k in range(100, args.agents, 100)]
    try:
        for one in instances:
            one.start(timeout=30)
        (work / "snmp.yml").write_text(yaml.safe_dump(snmp_yml(inst)))
        exporter = subprocess.Popen(
            ["ip", "netns", "exec", ns, EXPORTER, f"--config.file={work / 'snmp.yml'}",
             f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(work / "exporter.log", "wb"))  # noqa: SIM115
        time.sleep(1.0)
        if exporter.poll() is not None:
            raise SystemExit(f"snmp_exporter exited: {(work / 'exporter.log').read_text()}")
        state = {"agents": args.agents, "interfaces": interface_count(ns),
                 "snmpd_pids": [i.proc.pid for i in instances if i.proc],
                 "exporter_pid": exporter.pid, "creds": {
                     "user": inst.user, "auth_key": inst.auth_key, "priv_key": inst.priv_key,
                     "community": inst.community}}
        state_file = work / "state.json"
        fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, __file__, "--inner", str(state_file),
             "--rounds", str(args.rounds), "--modes", args.modes,
             "--processes", str(args.processes),
             *(["--profile", args.profile] if args.profile else [])],
            capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"inner benchmark failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout)
    finally:
        if exporter and exporter.poll() is None:
            exporter.terminate()
            exporter.wait(10)
        for one in instances:
            one.stop()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def report(res: dict[str, Any]) -> str:
    lines = [f"{res['agents']} agents x {res['interfaces']} interfaces (one snmpd per 100 "
             "agents, own netns); best of the timed rounds", "",
             f"{'mode':6} {'tool':18} {'wall s':>8} {'cpu s':>8} {'snmpd cpu s':>12}"]
    for mode in ("v2c", "v3"):
        if mode not in res:
            continue
        best = {tool: (min(r[0] for r in runs), min(r[1] for r in runs),
                       min(r[2] for r in runs)) for tool, runs in res[mode].items()}
        for tool, (w, c, sc) in best.items():
            lines.append(f"{mode:6} {tool:18} {w:8.3f} {c:8.3f} {sc:12.3f}")
        ew, ec, _ = best["snmp_exporter"]
        for tool, (gw, gc, _) in best.items():
            if tool.startswith("gin"):
                lines.append(f"{mode:6} {'ratio ' + tool:18} {gw / ew:8.2f} "
                             f"{gc / max(ec, 0.01):8.2f}")
    drops = res.get("udp_rcvbuf_drops", {})
    if any(drops.values()):
        lines.append("UDP receive-queue drops (all rounds): " + ", ".join(
            f"{k} {v}" for k, v in drops.items() if v))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="v2c,v3")
    ap.add_argument("--processes", type=int, default=2,
                    help="also measure gin with this many poll worker processes")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    ap.add_argument("--profile", metavar="FILE", help="cProfile gin's rounds into FILE")
    args = ap.parse_args()
    if args.inner:
        inner(args)
        return
    res = outer(args)
    print(json.dumps(res, indent=1) if args.json else report(res))


if __name__ == "__main__":
    main()

"""Kill `gin link provision` on the lab and prove `gin device recover` leaves nothing half done.

One lab (pe1, pe2, ce1, ce2), one directory, the link mof-ce1 (pe1 <-> ce1) planned.  Each
trial starts from the routers' baseline, runs the real `gin link provision mof-ce1` as its own
process and SIGKILLs it -- at a named step (the GIN_FAULT hook: before/after push, read back,
save, verify on each router) or after a random delay -- then runs `gin device recover`, and
judges every router of the link:

- *pre-image*: byte-identical to its config before the trial;
- *verified*: it holds every line of the link (and the directory says the link is active);
- anything else is *half-configured*.

A *disagreement* is a link the directory calls active on routers not fully configured, or a
router changed while the directory does not call the link active.  Both counts must be 0.

    .venv/bin/python bench/kill_bench.py [--random 20] [--no-faults]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from devices import configtree, platforms
from devices import transport as transports
from devices.restore import restore_exactly
from devices.sessions import Sessions
from devices.targets import target_of
from directory import allocator, store
from directory import models as m
from directory.plan import apply_plan, load_plan
from directory.store import Directory
from gin import lab
from gin.lab.register import register
from links.build import build_intent
from links.plan import Endpoint, plan_link
from links.render import render

GIN = str(Path(sys.executable).with_name("gin"))
LINK = "mof-ce1"
LINKS = (LINK, "moe-ce2")  # both on pe1: two processes changing one PE
HOSTS = ("ce1", "pe1")  # converge changes them in host-name order
FAULTS = [f"{when}:{step}:{host}" for host in HOSTS
          for when, step in (("before", "push"), ("after", "push"), ("after", "read_back"),
                             ("after", "save"))] + ["before:verify:verify",
                                                    "after:verify:verify"]
TOPOLOGY = {
    "name": "gin-kill", "asn": 65000,
    "nodes": [
        {"name": "pe1", "role": "pe", "router_id": "10.255.0.1",
         "loopback": "2001:db8:0:ffff::1/128", "site": "core-bkk"},
        {"name": "pe2", "role": "pe", "router_id": "10.255.0.2",
         "loopback": "2001:db8:0:ffff::2/128", "site": "core-cnx"},
        {"name": "ce1", "role": "ce", "agency": {"code": "MOF", "name": "Ministry of Finance"},
         "site": "mof-hq"},
        {"name": "ce2", "role": "ce", "agency": {"code": "MOE", "name": "Ministry of Education"},
         "site": "moe-hq"}],
    "links": [{"endpoints": ["pe1", "pe2"], "core": True}, {"endpoints": ["pe1", "ce1"]},
              {"endpoints": ["pe1", "ce2"]}],
}


@dataclass
class Tally:
    kills: int = 0
    survived: int = 0  # the process finished before the kill
    half: int = 0
    disagreements: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class KillLab:
    """The lab, its directory, the planned links and each router's baseline config."""

    def __init__(self, workdir: Path, db: str | None = None, on: KillLab | None = None) -> None:
        """A new lab, or ``on`` another KillLab's lab (with a directory of its own)."""
        self.workdir = workdir
        self.owns_lab = on is None
        if on is None:
            self.name = "j" + secrets.token_hex(2)
            topo = workdir / "topology.yaml"
            topo.write_text(yaml.safe_dump(TOPOLOGY))
            self.state = lab.up(str(topo), name=self.name)
        else:
            self.name, self.state = on.name, on.state
        self.db = db or f"sqlite:///{workdir}/kill.sqlite"
        self.directory = Directory(self.db, actor="kill-bench")
        register(self.state, self.directory)
        plan = load_plan()
        with self.directory.transaction() as s:
            apply_plan(s, plan)
            for code, ce in (("MOF", "ce1"), ("MOE", "ce2")):
                allocator.agency_prefix(s, code, plan)
                plan_link(s, plan, code, store.get_device(s, ce).site.code,
                          Endpoint("pe1", self.port("pe1", ce)),
                          Endpoint(ce, self.port(ce, "pe1")), name=f"{code.lower()}-{ce}")
        self.baseline = {h: self.running(h) for h in ("pe1", "ce1", "ce2")}
        with Sessions(transports.get("netmiko"), db=self.directory.engine) as sessions:
            #: the baseline as the transport reads it (what restoring compares against)
            self.shown = {t.hostname: sessions.get(t).show(
                platforms.get(t.platform).show_running) for t in self.targets()}
        self.intended = self.intent(LINK)

    def port(self, node: str, peer: str) -> str:
        return next(i.name for i in self.state.node(node).interfaces if i.peer_node == peer)

    def intent(self, link: str) -> dict[str, str]:
        with self.directory.transaction() as s:
            return render(build_intent(s, store.get_link(s, link)))

    def running(self, host: str) -> str:
        return self.state.vtysh(host, "show running-config")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "GIN_FAULT"}
        return {**env, "GIN_DB": self.db, "GIN_ACTOR": "kill-bench", **extra}

    def provision(self, link: str = LINK, fault: str | None = None,
                  kill_after: float | None = None) -> int:
        """Run `gin link provision`; SIGKILL it at ``fault`` or after ``kill_after`` s."""
        env = self.env(**({"GIN_FAULT": fault} if fault else {}))
        proc = subprocess.Popen([GIN, "link", "provision", link, "--no-ping", "--json",
                                 "--verify-timeout", "30"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=300)
        return proc.returncode

    def recover(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([GIN, "device", "recover"], env=self.env(), text=True,
                              capture_output=True, timeout=300)

    def link_status(self, link: str = LINK) -> str:
        with self.directory.transaction() as s:
            return store.get_link(s, link).status

    def judge(self, pre: dict[str, str], tally: Tally, label: str) -> None:
        """Count half-configured routers and directory/router disagreements."""
        active = self.link_status() == "active"
        for host in HOSTS:
            now = self.running(host)
            with self.directory.transaction() as s:
                platform = platforms.get(store.get_device(s, host).platform)
            if now == pre[host]:
                state = "pre-image"
            elif not configtree.missing(platform, now, self.intended[host]):
                state = "verified"
            else:
                state = "half"
                tally.half += 1
                tally.problems.append(f"{label}: {host} half-configured")
            tally.outcomes[state] = tally.outcomes.get(state, 0) + 1
            if (active and state != "verified") or (not active and state != "pre-image"):
                tally.disagreements += 1
                tally.problems.append(f"{label}: {host} is {state}, link "
                                      f"{'active' if active else 'not active'}")

    def targets(self) -> list:
        with self.directory.transaction() as s:
            return [target_of(store.get_device(s, h)) for h in self.baseline]

    def reset(self) -> None:
        """Back to the baseline: routers restored exactly, the link planned again."""
        targets = self.targets()
        with self.directory.transaction() as s:
            for name in LINKS:
                link = store.get_link(s, name)
                link.status = "planned"
                for p in s.scalars(select(m.Prefix).where(m.Prefix.link_id == link.id)):
                    p.status = "planned"
        with Sessions(transports.get("netmiko"), db=self.directory.engine) as sessions:
            for t in targets:
                conn = sessions.get(t)
                platform = platforms.get(t.platform)
                if conn.show(platform.show_running) != self.shown[t.hostname]:
                    restore_exactly(conn, platform, self.shown[t.hostname])
        for host, text in self.baseline.items():
            if self.running(host) != text:
                raise RuntimeError(f"{host}: could not be reset to its baseline")

    def trial(self, tally: Tally, fault: str | None = None,
              kill_after: float | None = None) -> None:
        self.reset()
        pre = {h: self.running(h) for h in HOSTS}
        code = self.provision(fault=fault, kill_after=kill_after)
        label = fault or f"kill after {kill_after:.2f}s"
        if code == -signal.SIGKILL:
            tally.kills += 1
        else:
            tally.survived += 1
        rec = self.recover()
        if rec.returncode != 0:
            tally.problems.append(f"{label}: recover exit {rec.returncode}: {rec.stderr}")
        self.judge(pre, tally, label)

    def full_run_seconds(self) -> float:
        self.reset()
        t0 = time.perf_counter()
        code = self.provision()
        took = time.perf_counter() - t0
        if code != 0 or self.link_status() != "active":
            raise RuntimeError(f"an uninterrupted provision failed (exit {code})")
        return took

    def close(self) -> None:
        self.directory.close()
        if self.owns_lab:
            lab.down(self.name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=20, help="random-time kills")
    ap.add_argument("--no-faults", action="store_true", help="skip the named-step kills")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="gin-kill-") as tmp:
        kl = KillLab(Path(tmp))
        try:
            full = kl.full_run_seconds()
            print(f"uninterrupted provision: {full:.1f} s")
            tally = Tally()
            for fault in ([] if args.no_faults else FAULTS):
                kl.trial(tally, fault=fault)
            for _ in range(args.random):
                kl.trial(tally, kill_after=rng.uniform(0.3, full))
        finally:
            kl.close()
    print(f"kills tried: {tally.kills + tally.survived} (killed {tally.kills}, finished "
          f"first {tally.survived})")
    print(f"router outcomes after recover: {tally.outcomes}")
    print(f"half-configured routers left: {tally.half} (must be 0)")
    print(f"directory/router disagreements left: {tally.disagreements} (must be 0)")
    for p in tally.problems:
        print(f"  ! {p}")
    return 0 if tally.half == tally.disagreements == 0 and not tally.problems else 1


if __name__ == "__main__":
    sys.exit(main())

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

The GSI cut-off (a block pushed to pe1 and pe2 at once, `monitor.sensor.edge`) is killed
at named steps too: after recovery each PE is its pre-image, or blocked with the block in
the change log.  Two more interruptions, counted apart: ce1's SSH session cut (its sshd
child killed) as soon as ce1's journal entry exists, mid-push; and the PostgreSQL server
holding the directory and the journal stopped (``pg_ctl -m immediate``) at that moment,
then started again before recovery (a directory of its own, on a throw-away server: needs
PostgreSQL installed).

    .venv/bin/python bench/kill_bench.py [--random 20] [--no-faults] [--ssh-cuts 3] \
        [--pg-stops 2]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from devices import configtree, platforms
from devices import transport as transports
from devices.journal import Journal
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
GSI_FAULTS = ["after:push:pe1", "after:read_back:pe2", "after:save:pe1", "before:push:pe2"]
CUT_OFF = """
import sys
from devices import transport
from directory.store import Directory
from monitor.sensor.edge import EdgeRouters
EdgeRouters(Directory(sys.argv[1], actor="soc"), transport.get("netmiko")).converge(
    ["2001:db8:bad::/48"], "block")
print("survived")
"""
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
        self.baseline = {h: self.running(h) for h in ("pe1", "pe2", "ce1", "ce2")}
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

    def sessions_of(self, host: str) -> list[int]:
        """The per-connection sshd processes of a router (children of its own sshd)."""
        listener = int(self.state.node(host).pidfiles()["sshd"].read_text().split()[0])
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(listener)], text=True,
                             capture_output=True).stdout
        return [int(p) for p in out.split()]

    def _last_entry(self, host: str, state: str | None = None) -> int:
        """The id of ``host``'s newest journal entry (in ``state``), 0 if none."""
        entry = m.DeviceChangeEntry.__table__
        stmt = select(entry.c.id).where(entry.c.device == host)
        if state is not None:
            stmt = stmt.where(entry.c.state == state)
        with self.directory.engine.connect() as conn:
            return max(conn.execute(stmt).scalars().all(), default=0)

    def interrupt(self, tally: Tally, label: str, act: Callable[[], None],
                  host: str = "ce1", state: str | None = "pushing",
                  before_recover: Callable[[], None] | None = None) -> bool:
        """Provision, ``act`` as soon as ``host``'s journal entry exists (in ``state``),
        let gin end as it will, then recover and judge; False when gin finished first."""
        self.reset()
        pre = {h: self.running(h) for h in HOSTS}
        before = self._last_entry(host)
        proc = subprocess.Popen([GIN, "link", "provision", LINK, "--no-ping", "--json"],
                                env=self.env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        acted = False
        while proc.poll() is None and not acted:
            if self._last_entry(host, state) > before:
                act()
                acted = True
            time.sleep(0.02)
        _, err = proc.communicate(timeout=300)
        if acted:
            tally.kills += 1
            if proc.returncode == 0:
                tally.problems.append(f"{label}: gin did not notice ({err.strip()[-200:]})")
        else:
            tally.survived += 1
        if before_recover is not None:
            before_recover()
        rec = self.recover()
        if rec.returncode != 0:
            tally.problems.append(f"{label}: recover exit {rec.returncode}: {rec.stderr}")
        left = Journal(self.directory.engine).unfinished()
        if left:
            tally.problems.append(f"{label}: {len(left)} journal entries left open")
        self.judge(pre, tally, label)
        return acted

    def ssh_cut_trial(self, tally: Tally, host: str = "ce1") -> bool:
        """Cut ``host``'s SSH session (gin's) mid-push; recover; judge."""
        def cut() -> None:
            for pid in self.sessions_of(host):
                os.kill(pid, signal.SIGKILL)  # the router's side of gin's session
        return self.interrupt(tally, f"ssh cut on {host}", cut, host)

    def gsi_trial(self, tally: Tally, fault: str) -> None:
        """The GSI cut-off killed at ``fault``; recover; each PE is its pre-image, or
        blocked as the change log says (else half, or a disagreement)."""
        from monitor.sensor.edge import PUSH_TYPE

        self.reset()
        pes = ("pe1", "pe2")
        pre = {h: self.running(h) for h in pes}
        with self.directory.transaction() as s:
            logged = len(s.scalars(select(m.Change.id)
                                   .where(m.Change.object_type == PUSH_TYPE)).all())
        root = str(Path(__file__).resolve().parents[1])
        child = subprocess.run([sys.executable, "-c", CUT_OFF, self.db],
                               env={**self.env(GIN_FAULT=fault), "PYTHONPATH": root},
                               capture_output=True, text=True, timeout=300)
        if child.returncode == -signal.SIGKILL:
            tally.kills += 1
        else:
            tally.survived += 1
        rec = self.recover()
        if rec.returncode != 0:
            tally.problems.append(f"gsi {fault}: recover exit {rec.returncode}: {rec.stderr}")
        with self.directory.transaction() as s:
            pushed = {c.object_key for c in s.scalars(
                select(m.Change).where(m.Change.object_type == PUSH_TYPE)
                .order_by(m.Change.id).offset(logged))}
        for host in pes:
            state = ("pre-image" if self.running(host) == pre[host]
                     else "blocked" if host in pushed else "half")
            tally.outcomes[state] = tally.outcomes.get(state, 0) + 1
            if state == "half":
                tally.half += 1
                tally.problems.append(f"gsi {fault}: {host} changed, no block recorded")
            if state == "pre-image" and host in pushed:
                tally.disagreements += 1
                tally.problems.append(f"gsi {fault}: {host} block recorded, not on the router")
        if child.returncode == 0:  # blocked for real: lift it for the next trial
            self.reset()

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


@contextmanager
def pg_server() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A throw-away PostgreSQL server (scripts/pg.sh): its URL, stop (immediate, as a crash
    would) and start again on the same port and data."""
    if not shutil.which("runuser") or not list(Path("/usr/lib/postgresql").glob("*/bin")):
        raise RuntimeError("needs PostgreSQL (apt-get install postgresql)")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(["bash", "-c", 'source scripts/pg.sh >/dev/null && pg_start >/dev/null'
                          ' && echo "$GIN_TEST_PG_URL $PG_DIR $PG_BINDIR"'], cwd=root,
                         capture_output=True, text=True, check=True).stdout.split()
    base, pg_dir, bindir = out
    port = base.rsplit(":", 1)[1].split("/")[0]

    def ctl(*args: str, check: bool = True) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{bindir}/pg_ctl", "-D",
                        f"{pg_dir}/data", "-l", f"{pg_dir}/server.log", "-w", *args],
                       check=check, capture_output=True)

    def start() -> None:
        ctl("-o", f"-p {port} -k {pg_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start")

    try:
        yield base, (lambda: ctl("-m", "immediate", "stop")), start
    finally:
        ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(pg_dir, ignore_errors=True)


def pg_stop_trials(on: KillLab, workdir: Path, tally: Tally, count: int) -> None:
    """``count`` provisions whose PostgreSQL server stops as ce1's entry is written (a
    directory of their own on ``on``'s lab), started again before recovery."""
    from sqlalchemy import create_engine, text

    with pg_server() as (base, stop, start):
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "gin_kill"'))
        admin.dispose()
        on.reset()  # the routers at their baseline before the second directory reads it
        kl = KillLab(workdir, db=base.rsplit("/", 1)[0] + "/gin_kill", on=on)
        try:
            def restart() -> None:
                start()
                kl.directory.engine.dispose()  # its pooled connections died with the server

            for n in range(count):
                # the server stops mid-change: the next reset must find it running
                kl.interrupt(tally, f"postgresql stopped #{n + 1}", stop, state=None,
                             before_recover=restart)
        finally:
            kl.close()


def report(title: str, tally: Tally) -> None:
    print(f"{title}: {tally.kills + tally.survived} tried (interrupted {tally.kills}, "
          f"finished first {tally.survived}); router outcomes {tally.outcomes}; "
          f"half-configured {tally.half}; disagreements {tally.disagreements}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=20, help="random-time kills")
    ap.add_argument("--no-faults", action="store_true", help="skip the named-step kills")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--no-gsi", action="store_true", help="skip the GSI cut-off kills")
    ap.add_argument("--ssh-cuts", type=int, default=3, help="SSH sessions cut mid-push")
    ap.add_argument("--pg-stops", type=int, default=2,
                    help="PostgreSQL stopped mid-change (0: skip; needs PostgreSQL)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    kinds = {"SIGKILL at a named step": Tally(), "SIGKILL at a random moment": Tally(),
             "SSH session cut mid-push": Tally(), "PostgreSQL stopped mid-change": Tally(),
             "GSI cut-off: SIGKILL at a named step": Tally()}
    tallies = list(kinds.values())
    with tempfile.TemporaryDirectory(prefix="gin-kill-") as tmp:
        kl = KillLab(Path(tmp))
        try:
            full = kl.full_run_seconds()
            print(f"uninterrupted provision: {full:.1f} s")
            for fault in ([] if args.no_faults else FAULTS):
                kl.trial(tallies[0], fault=fault)
            for _ in range(args.random):
                kl.trial(tallies[1], kill_after=rng.uniform(0.3, full))
            for _ in range(args.ssh_cuts):
                kl.ssh_cut_trial(tallies[2])
            for fault in ([] if args.no_gsi else GSI_FAULTS):
                kl.gsi_trial(tallies[4], fault)
            if args.pg_stops:
                (Path(tmp) / "pg").mkdir()
                try:
                    pg_stop_trials(kl, Path(tmp) / "pg", tallies[3], args.pg_stops)
                except RuntimeError as exc:  # no PostgreSQL here: say so, count the rest
                    print(f"PostgreSQL stops skipped: {exc}")
        finally:
            kl.close()
    total = Tally()
    for title, tally in kinds.items():
        if tally.kills + tally.survived:
            report(title, tally)
        total.kills += tally.kills
        total.survived += tally.survived
        total.half += tally.half
        total.disagreements += tally.disagreements
        total.problems += tally.problems
        for k, v in tally.outcomes.items():
            total.outcomes[k] = total.outcomes.get(k, 0) + v
    print(f"interruptions tried: {total.kills + total.survived} (interrupted {total.kills}, "
          f"finished first {total.survived})")
    print(f"router outcomes after recover: {total.outcomes}")
    print(f"half-configured routers left: {total.half} (must be 0)")
    print(f"directory/router disagreements left: {total.disagreements} (must be 0)")
    for p in total.problems:
        print(f"  ! {p}")
    return 0 if total.half == total.disagreements == 0 and not total.problems else 1


if __name__ == "__main__":
    sys.exit(main())

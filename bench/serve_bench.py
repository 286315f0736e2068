"""``gin serve`` under load: whois, an agency list page and prefix allocation against the
framework's floor (an authenticated ``GET /api/v1/me`` of the same app), in one run.

The 2,154-agency synthetic directory (``gin directory synth``) is loaded into a fresh database
on the throw-away PostgreSQL server (``source scripts/pg.sh; pg_start`` exports
GIN_TEST_PG_URL), one ``gin serve`` is started on 127.0.0.1, and ``wrk`` (Debian) drives it
with 64 connections carrying a bearer token.  Printed per route: requests/s, p50 and p99
latency, and the ratio of requests/s to the floor's.  Allocation is then checked in the
database: as many new /64s as 201 answers, no prefix recorded twice, none overlapping.

    source scripts/pg.sh && pg_start && python bench/serve_bench.py [--seconds 15]; pg_stop
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

from directory import identity
from directory import models as m
from directory.store import Directory

GOAL_RATIO, GOAL_P99_MS = 0.70, 50.0
WARM_UP_SECONDS = 3
ROUNDS = 3

LUA = """
local paths = {%(paths)s}
local method, body = "%(method)s", %(body)s
local i = math.random(#paths)
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #paths + 1
  if body then
    return wrk.format(method, "/api/v1/prefixes/allocate", nil, paths[i])
  end
  return wrk.format(method, paths[i])
end
"""


def lua_list(items: list[str]) -> str:
    return ",".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)


def fresh_database(base: str) -> str:
    name = f"gin_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def drop_database(base: str, url: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def prepare(db: str, load: bool = True) -> tuple[str, list[str], list[str]]:
    """Load the synthetic directory (unless ``load`` is off); a benchmark admin's token,
    addresses to look up (one in each of 1,000 random agency prefixes) and the agency codes."""
    env = {**os.environ, "GIN_DB": db}
    if load:
        subprocess.run([sys.executable, "-m", "gin.cli", "directory", "synth", "--json"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    d = Directory(db, actor="bench")
    try:
        with d.transaction() as s:
            user = f"bench-{uuid.uuid4().hex[:6]}"
            identity.add_user(s, user, None)
            identity.grant(s, user, "admin")
            token = identity.create_token(s, user, "load")[1]
            owned = list(s.scalars(select(m.Prefix.cidr).where(m.Prefix.agency_id.is_not(None))))
            codes = list(s.scalars(select(m.Agency.code).order_by(m.Agency.code)))
    finally:
        d.close()
    rng = random.Random(2013)
    picks = rng.sample(owned, min(1000, len(owned)))
    addresses = [str(ipaddress.ip_network(c).network_address + 1) for c in picks]
    return token, addresses, codes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: str, log: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """``gin serve`` at warning level (no access log line per request), ready when /health
    answers."""
    env = {**os.environ, "GIN_DB": db}
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "gin.cli", "serve", "--listen",
                             url.removeprefix("http://"), "--log-level", "warning",
                             "--no-gsi-gateway", "--gsi-routers-via", "none",
                             "--workers", str(workers)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    sys.exit(f"serve_bench: gin serve did not start:\n{log.read_text()}")


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True,
                         check=True).stdout
    lat = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if "99" not in lat:
        sys.exit(f"serve_bench: cannot read wrk's latency distribution:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": to_ms(lat["50"]), "p99": to_ms(lat["99"]), "requests": total,
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1).strip() if errors else ""}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the rounds (counts are summed)."""
    out: dict[str, float] = {}
    for key in ("rps", "p50", "p99"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in ("requests", "non2xx"):
        out[key] = sum(r[key] for r in runs)  # type: ignore[misc]
    out["socket_errors"] = "; ".join(str(r["socket_errors"]) for r in runs if r["socket_errors"])
    return out


def script_for(tmp: Path, name: str, token: str, paths: list[str], method: str = "GET",
               post: bool = False) -> Path:
    path = tmp / f"{name}.lua"
    path.write_text(LUA % {"paths": lua_list(paths), "method": method, "token": token,
                           "body": "true" if post else "nil"})
    return path


def check_allocation(db: str, before: int, answered: int, abandoned: int) -> str:
    """Every 201 has its prefix, none twice, none overlapping; requests wrk abandoned (its
    timeouts, and those in flight when the run ended) may have allocated too."""
    engine = create_engine(db)
    with engine.connect() as conn:
        after = conn.scalar(select(func.count()).select_from(m.Prefix.__table__))
        dup = conn.scalar(text("SELECT count(*) FROM (SELECT cidr FROM prefix GROUP BY cidr "
                               "HAVING count(*) > 1) d"))
        new = [ipaddress.ip_network(c) for c in conn.scalars(
            select(m.Prefix.cidr).order_by(m.Prefix.id.desc()).limit(after - before))]
    engine.dispose()
    new.sort(key=lambda n: (n.version, n.network_address))
    overlaps = sum(1 for a, b in zip(new, new[1:], strict=False)
                   if a.version == b.version and a.overlaps(b))
    ok = answered <= after - before <= answered + abandoned and dup == 0 and overlaps == 0
    return (f"allocation: {after - before} new prefixes for {answered} answers 201 "
            f"(+ up to {abandoned} requests wrk abandoned), "
            f"{dup} duplicated, {overlaps} overlapping: {'correct' if ok else 'WRONG'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15,
                        help="per route (split into interleaved rounds)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--db", help="reuse this already synthesized database (kept)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gin serve --workers (one per core on this 2-core machine)")
    args = parser.parse_args(argv)
    base = os.environ.get("GIN_TEST_PG_URL")
    if not base:
        sys.exit("serve_bench: needs PostgreSQL: source scripts/pg.sh && pg_start")
    if not shutil.which("wrk"):
        sys.exit("serve_bench: needs wrk (apt-get install wrk; deps/apt-serve.txt)")
    db = args.db or fresh_database(base)
    tmp = Path(tempfile.mkdtemp(prefix="gin-serve-bench-"))
    proc = None
    try:
        t0 = time.perf_counter()
        token, addresses, codes = prepare(db, load=not args.db)
        print(f"directory: {len(codes)} agencies loaded in {time.perf_counter() - t0:.1f} s")
        proc, url = start_server(db, tmp / "serve.log", args.workers)
        rng = random.Random(7)
        after = [rng.choice(codes) for _ in range(500)]
        leaves = [c for c in codes if c != "GIN"]
        runs = {
            "floor GET /me": script_for(tmp, "floor", token, ["/api/v1/me"]),
            "whois": script_for(tmp, "whois", token, [f"/api/v1/whois/{a}" for a in addresses]),
            "agency list page (50)": script_for(
                tmp, "agencies", token, [f"/api/v1/agencies?limit=50&after={c}" for c in after]),
        }
        # Each route is warmed up first, unmeasured (token cache, connection pools), then
        # the routes take turns in ROUNDS short runs: the machine is shared and its load
        # swings by 2x within a minute, so one long run per route would compare a quiet
        # minute with a busy one.  Per route: the median of the rounds.
        for script in runs.values():
            wrk(url, script, WARM_UP_SECONDS, args.connections)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        for _ in range(ROUNDS):
            for name, script in runs.items():
                rounds[name].append(wrk(url, script, max(1, args.seconds // ROUNDS),
                                        args.connections))
        results = {name: median_of(runs_) for name, runs_ in rounds.items()}
        engine = create_engine(db)
        with engine.connect() as conn:
            before = conn.scalar(select(func.count()).select_from(m.Prefix.__table__))
        engine.dispose()
        bodies = [f'{{"agency": "{c}", "length": 64}}' for c in rng.sample(leaves, 500)]
        results["prefix allocate /64"] = wrk(
            url, script_for(tmp, "allocate", token, bodies, "POST", post=True),
            args.seconds, args.connections)
        alloc = results["prefix allocate /64"]
        timeouts = re.search(r"timeout (\d+)", alloc["socket_errors"])
        verdict = check_allocation(db, before, alloc["requests"] - alloc["non2xx"],
                                   args.connections + (int(timeouts.group(1)) if timeouts else 0))
        floor = results["floor GET /me"]["rps"]
        print(f"{args.connections} connections, {args.seconds} s per route "
              f"({ROUNDS} interleaved rounds, medians; allocation one run), wrk -t2, "
              f"gin serve --workers {args.workers} (uvicorn), PostgreSQL")
        print(f"{'route':24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>9} "
              f"{'non-2xx':>8}")
        for name, r in results.items():
            print(f"{name:24} {r['rps']:9.0f} {r['p50']:8.1f} {r['p99']:8.1f} "
                  f"{r['rps'] / floor:9.2f} {r['non2xx']:8d} {r['socket_errors']}")
        whois = results["whois"]
        print(f"goal: whois >= {GOAL_RATIO:.0%} of the floor: {whois['rps'] / floor:.0%} "
              f"({'met' if whois['rps'] >= GOAL_RATIO * floor else 'NOT met'}); "
              f"p99 < {GOAL_P99_MS:.0f} ms: {whois['p99']:.1f} ms "
              f"({'met' if whois['p99'] < GOAL_P99_MS else 'NOT met'})")
        print(verdict)
        return 0 if "correct" in verdict else 1
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        if not args.db:
            drop_database(base, db)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

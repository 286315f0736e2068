"""Start-up time of the ``gin`` command, as whole processes, against ``python -c pass``.

A person waits for the whole process, so this times complete runs of the installed ``gin``
script: ``gin --help`` and ``gin directory whois ADDR`` on the sample directory (samples load
+ plan apply + one allocation, made here in a scratch folder).  The anchor, ``python -c pass``
with the same interpreter, runs in the same rounds: the commands take turns, so machine load
falls on all of them alike.  Prints the median wall and CPU time of each, the ratio to the
anchor and pass/fail against the goals.

    .venv/bin/python bench/startup_bench.py --runs 11
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"gin --help": 0.15, "gin directory whois": 0.35}  # seconds, median per process


def gin_script() -> str:
    """The console script next to this interpreter (what a user runs), else the one on PATH."""
    beside = Path(sys.executable).with_name("gin")
    found = str(beside) if beside.exists() else shutil.which("gin")
    if not found:
        sys.exit("startup_bench: no `gin` script found: install gin (bash scripts/setup.sh)")
    return found


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def sample_directory(gin: str, env: dict[str, str]) -> str:
    """Fill the directory at GIN_DB with the samples, the plan and one agency /48; an address
    inside that /48 is what whois looks up."""
    def run(*args: str) -> str:
        return subprocess.run([gin, *args], env=env, check=True, capture_output=True,
                              text=True).stdout

    run("directory", "samples", "load")
    run("directory", "plan", "apply")
    agency = json.loads(run("directory", "agency", "list", "--json"))[0]["code"]
    block = json.loads(run("directory", "prefix", "allocate", "--agency", agency,
                           "--length", "48", "--json"))[0]["prefix"]
    return block.split("/")[0] + "1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="whole-process runs of each")
    args = parser.parse_args()

    gin = gin_script()
    with tempfile.TemporaryDirectory(prefix="gin-startup-") as scratch:
        env = {**os.environ, "GIN_DB": str(Path(scratch) / "directory.sqlite")}
        env.pop("GIN_DEBUG", None)
        # As on a user's machine: .pyc files are written (by the warm-up run) and then read.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        address = sample_directory(gin, env)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "gin --help": [gin, "--help"],
            "gin directory whois": [gin, "directory", "whois", address],
        }
        for argv in commands.values():  # warm the page cache and .pyc files once
            timed(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                wall, cpu = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)

    anchor = statistics.median(walls["python -c pass"])
    anchor_cpu = statistics.median(cpus["python -c pass"])
    print(f"median of {args.runs} whole-process runs each, {gin}, whois {address}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<22} {'wall s':>7} {'x anchor':>9} {'cpu s':>7} {'x anchor':>9} "
          f"{'goal s':>7}  wall  cpu")
    failed = False
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        goal = GOALS.get(name)
        verdicts = ["-", "-"] if goal is None else [
            "pass" if seconds <= goal else "FAIL" for seconds in (wall, cpu)]
        failed |= "FAIL" in verdicts
        print(f"{name:<22} {wall:7.3f} {wall / anchor:9.1f} {cpu:7.3f} {cpu / anchor_cpu:9.1f} "
              f"{'' if goal is None else f'{goal:.2f}':>7}  {verdicts[0]:<5} {verdicts[1]}")
    print("wall time grows with machine load (waiting for a core); CPU time much less so")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

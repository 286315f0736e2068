"""Console page benchmark: server time of the agency, search, SOC board and map pages on the
2,154-agency synthetic GIN directory, against the floor of the same app (the authenticated
``/api/v1/me``).

    .venv/bin/python bench/console_bench.py                 # fresh SQLite, 2,154 agencies
    .venv/bin/python bench/console_bench.py --db URL        # an EMPTY database (PostgreSQL)

Requests go through the whole ASGI app in-process (Starlette's TestClient: routing, the
permission check, the directory queries, the template), so the figures are server time
without the network, and without Prometheus and Alertmanager (not configured here: their
loopback round trips are measured by the browser test, tests/integration/console/
test_console_soc.py).  Goal: the agency page and the SOC board under 300 ms.  Prints per
page the median and the worst of ``--rounds`` requests and the ratio of the median to the
floor's median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from devices.platforms import interface_names  # noqa: E402
from directory import identity  # noqa: E402
from directory.exporter import write_export  # noqa: E402
from directory.store import Directory  # noqa: E402
from directory.synth import DEFAULT_AGENCIES, synthesize  # noqa: E402
from directory.transfer import import_files  # noqa: E402
from gin.server.app import create_app  # noqa: E402
from monitor.sensor.respond import Responder  # noqa: E402

PAGES = {
    "floor /api/v1/me": "/api/v1/me",
    "agency GIN (77 PoPs, every PE)": "/ui/agency/GIN",
    "agency AG0100": "/ui/agency/AG0100",
    "search 'กรม' (first 50)": "/ui/?q=กรม",
    "search 'ag01' (code)": "/ui/?q=ag01",
    "search whois 2001:db8:1::1": "/ui/?q=2001:db8:1::1",
    "SOC board (200 active blocks)": "/ui/soc",
    "map (every site and link)": "/ui/map",
}
BLOCKS = 200


def timed(client: TestClient, path: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        answer = client.get(path)
        out.append(time.perf_counter() - t0)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agencies", type=int, default=DEFAULT_AGENCIES)
    ap.add_argument("--db", metavar="URL", help="an EMPTY database (default: fresh SQLite)")
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gin-console-bench-") as tmp:
        dest = Path(tmp) / "synth.json"
        write_export(synthesize(args.agencies, ports=interface_names()), "json", dest)
        directory = Directory(args.db or f"sqlite:///{Path(tmp) / 'gin.sqlite'}",
                              actor="bench")
        import_files(directory, [str(dest)])
        with directory.transaction() as s:
            identity.add_user(s, "bench", "bench password long enough")
            identity.grant(s, "bench", "admin")
            token = identity.create_token(s, "bench", "bench")[1]
        responder = Responder(directory)  # blocks recorded only (no gateway, no routers)
        for i in range(BLOCKS):
            responder.block(f"198.51.{100 + i // 250}.{i % 250 + 1}", 3600, f"bench {i}")
        client = TestClient(create_app(directory),
                            headers={"Authorization": f"Bearer {token}"})
        print(f"agencies: {args.agencies}, rounds: {args.rounds} (median / worst, ms)")
        floor = None
        for name, path in PAGES.items():
            timed(client, path, 2)  # warm: first-use imports and template compilation
            times = timed(client, path, args.rounds)
            median = statistics.median(times)
            floor = floor or median
            print(f"{name:34s} {median * 1000:8.1f} {max(times) * 1000:8.1f}"
                  f"   x{median / floor:6.1f} of the floor")
        directory.close()


if __name__ == "__main__":
    main()

"""Render the configs of every link of the synthetic 2,154-agency GIN (goal: < 5 s).

Builds the synthetic directory (directory.synth, seed 2013) in a fresh SQLite file, gives
every agency its private AS number (what ``gin link plan`` does), then times
build-intent + render for both ends of every link, as ``gin link render`` does one by one.

    .venv/bin/python bench/link_render_bench.py [--agencies 2154]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from devices.platforms import interface_names
from directory import models as m
from directory.importer import import_files
from directory.store import Directory
from directory.synth import synthesize
from links.build import all_intents
from links.plan import agency_asn
from links.render import render


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agencies", type=int, default=2154)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gin.json"
        data = synthesize(args.agencies, ports=interface_names())
        src.write_text(json.dumps(data), encoding="utf-8")
        d = Directory(f"sqlite:///{tmp}/bench.sqlite", actor="bench")
        t0 = time.perf_counter()
        import_files(d, [str(src)])
        with d.transaction() as s:
            for agency in s.scalars(select(m.Agency)).unique():
                agency_asn(s, agency)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        c0 = time.process_time()
        lines = links = 0
        with d.transaction() as s:
            for intent in all_intents(s):
                for text in render(intent).values():
                    lines += text.count("\n")
                links += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        d.close()
    print(f"agencies={args.agencies} links={links} config_lines={lines} (setup {setup:.1f} s)")
    print(f"render all links: {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{links / wall:.0f} links/s; goal < 5 s: {'met' if wall < 5 else 'NOT met'} "
          f"(ratio to goal {wall / 5:.2f})")


if __name__ == "__main__":
    main()

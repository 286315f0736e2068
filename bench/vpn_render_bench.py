"""Render and validate the VPN tunnels of the synthetic 2,154-agency GIN, hub-and-spoke.

Builds the synthetic directory (directory.synth, seed 2013) in a fresh SQLite file, adds a
GIN hub gateway (strongSwan) and one IKEv2 tunnel from it to every agency's head-office CE
router (frr -> swanctl.conf, cisco_ios/cisco_xe -> IKEv2 sVTI, juniper_junos -> SRX st0).
Then times, in one process, what ``gin vpn render`` does for each tunnel: both ends
rendered (every value re-validated by the template filters), each router end read back by
the audit parser and passing the audit's IKE/IPsec crypto check.

Anchor, in the same run: the same tunnels rendered the way an operator's shell loop would,
one ``gin vpn render NAME --json`` process per tunnel, on a sample (--anchor-sample),
scaled to all tunnels.

    .venv/bin/python bench/vpn_render_bench.py [--agencies 2154] [--anchor-sample 20]
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from audit.checks.base import Context, Status
from audit.checks.crypto import CRYPTO
from audit.parse import parse
from devices.platforms import interface_names
from directory import models as m
from directory import store
from directory.allocator import add_prefix
from directory.importer import import_files
from directory.store import Directory
from directory.synth import synthesize
from vpn import tunnels
from vpn.render import render_side, routers

HUB = "gin-vpn-hub"
OUTER = ipaddress.IPv6Network("2001:db8:fffe::/48")


def build(d: Directory) -> int:
    """Hub gateway, its /48, and one tunnel per agency head office; returns the count."""
    with d.transaction() as s:
        store.add_site(s, "GIN", code="VPN")
        store.add_device(s, "GIN", "VPN", hostname=HUB, role="vpn-gateway", platform="linux",
                         mgmt_address=str(OUTER[1]))
        add_prefix(s, "2001:db8:fff0::/48", role="agency", agency="GIN")
    count = 0
    with d.transaction() as s:
        ces = s.scalars(select(m.Device).where(m.Device.hostname.like("%-hq-ce1"))
                        .order_by(m.Device.id)).all()
        for i, ce in enumerate(ces, start=2):
            if ce.site.agency.code == "GIN":
                continue
            junos = ce.platform == "juniper_junos"
            tunnels.create_tunnel(s, HUB, ce.hostname, "ikev2", "psk",
                                  name=f"hub-{ce.site.agency.code.lower()}",
                                  b_address=str(OUTER[i]),
                                  b_interface="ge-0/0/0.0" if junos else None)
            count += 1
    return count


def render_all(d: Directory) -> tuple[int, int, int]:
    """Render both ends of every tunnel and validate the router ends; (tunnels, lines,
    router ends checked)."""
    ctx = Context(device="bench")
    n = lines = checked = 0
    with d.transaction() as s:
        for t in tunnels.list_tunnels(s):
            spec = tunnels.spec(t)
            for side, end in (("a", spec.a), ("b", spec.b)):
                text = render_side(spec, side)
                lines += text.count("\n")
                if end.platform in routers():
                    if end.platform == "juniper_junos":
                        text = "set version 23.4R1\n" + text
                    verdict = CRYPTO.run(parse(text, end.platform), end.platform, ctx)
                    if verdict.status is not Status.PASS:
                        raise SystemExit(f"{t.name}: {verdict.reason}")
                    checked += 1
            n += 1
    return n, lines, checked


def anchor(db: str, names: list[str]) -> tuple[float, float]:
    """One `gin vpn render NAME --json` process per tunnel: (wall, CPU of the children)."""
    env = {**os.environ, "GIN_DB": db}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    for name in names:
        out = subprocess.run([sys.executable, "-m", "gin.cli", "vpn", "render", name, "--json"],
                             env=env, capture_output=True, text=True, check=True).stdout
        assert len(json.loads(out)) == 2
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agencies", type=int, default=2154)
    ap.add_argument("--anchor-sample", type=int, default=20)
    args = ap.parse_args()
    os.environ.pop("GIN_VPN_KEY_FILE", None)
    os.environ["GIN_VPN_KEY"] = base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gin.json"
        data = synthesize(args.agencies, ports=interface_names())
        src.write_text(json.dumps(data), encoding="utf-8")
        db = f"sqlite:///{tmp}/bench.sqlite"
        d = Directory(db, actor="bench")
        t0 = time.perf_counter()
        import_files(d, [str(src)])
        count = build(d)
        setup = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        n, lines, checked = render_all(d)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        with d.transaction() as s:
            names = [t.name for t in tunnels.list_tunnels(s)][:: max(1, n // args.anchor_sample)]
        names = names[:args.anchor_sample]
        d.close()
        a_wall, a_cpu = anchor(db, names)
    per = a_wall / len(names)
    scaled = per * n
    print(f"agencies={args.agencies} tunnels={count} config_lines={lines} "
          f"router_ends_parsed_and_checked={checked} (setup {setup:.1f} s)")
    print(f"gin, one process: {wall:.2f} s wall, {cpu:.2f} s CPU, {n / wall:.0f} tunnels/s")
    print(f"anchor, `gin vpn render NAME --json` per tunnel: {len(names)} in {a_wall:.2f} s "
          f"wall, {a_cpu:.2f} s CPU ({per:.2f} s/tunnel) -> {scaled:.0f} s for {n}")
    print(f"ratio anchor/gin: {scaled / wall:.1f}x wall, "
          f"{a_cpu / len(names) * n / cpu:.1f}x CPU")


if __name__ == "__main__":
    main()

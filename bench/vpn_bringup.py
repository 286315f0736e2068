"""Benchmark: bring up N IKEv2 tunnels on lab gateways, then read their status, vs swanctl.

A hub-and-spoke lab: one hub gateway (agency GIN) cabled to N spoke gateways (one agency
each), every gateway running its own charon (kernel-libipsec).  N PSK tunnels hub <-> spoke
are recorded in a directory.  Measured, alternately, ``--rounds`` times each:

- gin:    ``vpn.deploy.deploy(directory, names)`` (render, unseal, write, load over VICI,
          initiate and wait for every CHILD_SA) + ``vpn.status.status(directory, names)``;
- anchor: what an engineer does by hand, from one shell script: the same rendered files
          already in each gateway's ``conf.d``, ``swanctl --load-all`` per gateway,
          ``swanctl --initiate --child`` per tunnel (a loop), ``swanctl --list-sas`` per
          gateway.  (Files are written before the clock starts: the anchor gets that free.)

Both end with every CHILD_SA INSTALLED (checked).  Wall time and CPU time (this process +
children, and the charons) are printed with the ratio.  Run as root:

    .venv/bin/python bench/vpn_bringup.py [--tunnels 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab_bringup import cpu_seconds, own_cpu  # noqa: E402 - one way to count CPU

from directory.allocator import add_prefix  # noqa: E402
from directory.store import Directory  # noqa: E402
from gin import lab  # noqa: E402
from gin.lab import gateway as labgw  # noqa: E402
from gin.lab.proc import read_pid  # noqa: E402
from gin.lab.register import register  # noqa: E402
from gin.lab.topology import topology_from_dict  # noqa: E402
from vpn import deploy, keys, status, tunnels  # noqa: E402
from vpn.render import render_side  # noqa: E402


def topology(n: int):
    nodes = [{"name": "hub", "role": "gw", "agency": {"code": "GIN", "name": "GIN hub"},
              "site": "hub"}]
    links = []
    for i in range(1, n + 1):
        nodes.append({"name": f"s{i}", "role": "gw", "agency": f"AG{i:03d}", "site": f"s{i}"})
        links.append({"endpoints": ["hub", f"s{i}"],
                      "addresses": [f"2001:db8:ff:{i:x}::1/64", f"2001:db8:ff:{i:x}::2/64"]})
    return topology_from_dict({"name": f"vpn-bench-{n}", "nodes": nodes, "links": links})


def build_directory(state, path: Path, n: int) -> tuple[Directory, list[str]]:
    d = Directory(f"sqlite:///{path}", actor="vpn-bench")
    register(state, d)
    names = []
    with d.transaction() as s:
        add_prefix(s, "2001:db8:f000::/48", role="agency", agency="GIN")
        add_prefix(s, "10.250.0.0/16", role="agency", agency="GIN")
        for i in range(1, n + 1):
            add_prefix(s, f"2001:db8:{i:x}::/48", role="agency", agency=f"AG{i:03d}")
            add_prefix(s, f"10.{i}.0.0/16", role="agency", agency=f"AG{i:03d}")
            t = tunnels.create_tunnel(s, "hub", f"s{i}", "ikev2", "psk", name=f"t{i}",
                                      a_address=f"2001:db8:ff:{i:x}::1")
            names.append(t.name)
    return d, names


def installed(d: Directory, names: list[str]) -> int:
    return sum(st.up for st in status.status(d, names, record=False))


def run_gin(d: Directory, names: list[str]) -> dict[str, float]:
    t0, c0 = time.perf_counter(), own_cpu()
    results = deploy.deploy(d, names)
    t1 = time.perf_counter()
    states = status.status(d, names)
    t2 = time.perf_counter()
    bad = [r.as_dict() for r in results if r.result != "changed"]
    assert not bad, bad[:2]
    assert all(s.up for s in states)
    return {"deploy": t1 - t0, "status": t2 - t1, "total": t2 - t0, "cpu": own_cpu() - c0}


def anchor_script(state, names: list[str]) -> str:
    lines = ["set -e"]
    gws = [state.node("hub"), *(state.node(f"s{i}") for i in range(1, len(names) + 1))]

    def swanctl(node, *args: str) -> str:
        p = labgw.paths(node)
        return (f"SWANCTL_DIR={p['swanctl']} STRONGSWAN_CONF={p['conf']} swanctl "
                + " ".join(shlex.quote(a) for a in args) + " >/dev/null")

    for node in reversed(gws):  # responders first, the hub (initiator) last
        lines.append(swanctl(node, "--load-all", "--noprompt"))
    hub = state.node("hub")
    lines.append(f"for c in {' '.join('gin-' + n for n in names)}; do "
                 + swanctl(hub, "--initiate", "--child", "$c").replace("'$c'", '"$c"')
                 + "; done")
    for node in gws:
        lines.append(swanctl(node, "--list-sas"))
    return "\n".join(lines) + "\n"


def anchor_files(state, d: Directory, names: list[str]) -> None:
    """Write the same rendered files (start_action none on the hub: the loop initiates)."""
    with d.transaction() as s:
        for name in names:
            t = tunnels.get_tunnel(s, name)
            sp, sealed = tunnels.spec(t), keys.unseal(t.secret_ref, f"tunnel {name}")
            for side, node in (("a", t.a_device.hostname), ("b", t.b_device.hostname)):
                text = render_side(sp, side, sealed)
                if side == "a":
                    text = text.replace("start_action = start", "start_action = none")
                path = labgw.paths(state.node(node))["swanctl"] / "conf.d" / f"gin-{name}.conf"
                path.write_text(text)
                os.chmod(path, 0o600)


def anchor_clean(state, names: list[str]) -> None:
    """Remove the files, reload (unloads the conns) and close every SA."""
    for node in state.nodes.values():
        p = labgw.paths(node)
        for f in (p["swanctl"] / "conf.d").glob("gin-*.conf"):
            f.unlink()
        env = dict(os.environ, SWANCTL_DIR=str(p["swanctl"]), STRONGSWAN_CONF=str(p["conf"]))
        subprocess.run(["swanctl", "--load-all", "--noprompt"], env=env, capture_output=True,
                       check=False)
        if node.name == "hub":  # the initiator closes each IKE SA (the spokes follow)
            for name in names:
                subprocess.run(["swanctl", "--terminate", "--ike", f"gin-{name}", "--force",
                                "--timeout", "1"], env=env, capture_output=True, check=False)


def run_anchor(state, d: Directory, names: list[str]) -> dict[str, float]:
    anchor_files(state, d, names)
    script = anchor_script(state, names)
    t0, c0 = time.perf_counter(), own_cpu()
    subprocess.run(["bash", "-c", script], check=True)
    t1 = time.perf_counter()
    up = installed(d, names)
    assert up == len(names), f"anchor: {up}/{len(names)} CHILD_SAs installed"
    return {"total": t1 - t0, "cpu": own_cpu() - c0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tunnels", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("GIN_VPN_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    os.environ.pop("GIN_VPN_KEY_FILE", None)
    name = "vb" + secrets.token_hex(2)
    t0 = time.perf_counter()
    state = lab.up(topology(args.tunnels), name=name)
    try:
        for node in state.nodes.values():  # a LAN per gateway: charon routes from its address
            i = 250 if node.name == "hub" else int(node.name[1:])
            v6 = "2001:db8:f000::1/64" if node.name == "hub" else f"2001:db8:{i:x}::1/64"
            batch = (f"link add lan0 type veth peer name lan1\nlink set lan0 up\n"
                     f"link set lan1 up\n"
                     f"address add 10.{i}.0.1/24 dev lan0\naddress add {v6} dev lan0 nodad\n")
            subprocess.run(["ip", "-n", node.netns, "-batch", "-"], input=batch, text=True,
                           check=True)
        print(f"lab {name}: {args.tunnels + 1} gateways (charon each) up in "
              f"{time.perf_counter() - t0:.2f} s")
        charons = [read_pid(labgw.paths(n)["pid"]) or 0 for n in state.nodes.values()]
        with tempfile.TemporaryDirectory() as tmp:
            d, names = build_directory(state, Path(tmp) / "dir.sqlite", args.tunnels)
            gin_runs, anchor_runs = [], []
            for _ in range(args.rounds):
                c = cpu_seconds(charons)
                gin_runs.append(run_gin(d, names) | {"charon_cpu": cpu_seconds(charons) - c})
                deploy.withdraw(d, names)
                c = cpu_seconds(charons)
                anchor_runs.append(run_anchor(state, d, names)
                                   | {"charon_cpu": cpu_seconds(charons) - c})
                anchor_clean(state, names)
            d.close()
    finally:
        lab.down(name)
    best_g = min(gin_runs, key=lambda r: r["total"])
    best_a = min(anchor_runs, key=lambda r: r["total"])
    print(f"{args.tunnels} IKEv2 PSK tunnels, best of {args.rounds} (wall s; CPU s of this "
          "process+children; charon CPU s)")
    for r in gin_runs:
        print(f"  gin    deploy {r['deploy']:.2f} + status {r['status']:.2f} = "
              f"{r['total']:.2f}  cpu {r['cpu']:.2f}  charon {r['charon_cpu']:.2f}")
    for r in anchor_runs:
        print(f"  anchor swanctl load-all+initiate loop+list-sas = {r['total']:.2f}  "
              f"cpu {r['cpu']:.2f}  charon {r['charon_cpu']:.2f}")
    print(f"ratio anchor/gin (wall, best): {best_a['total'] / best_g['total']:.2f}x  "
          f"(gin {best_g['total']:.2f} s, anchor {best_a['total']:.2f} s)")
    print(f"ratio anchor/gin (CPU, same runs): {best_a['cpu'] / max(best_g['cpu'], 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

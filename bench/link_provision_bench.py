"""Provision N links on the lab: gin via Netmiko, gin via Ansible, and plain ansible-playbook.

Goal: the Netmiko path at least 2x faster than one ``ansible-playbook`` run with
``cli_config``, forks=N, doing the same pushes.  Each contender gets a freshly started lab
(2 PEs + N bare CEs), so every run pushes the same configuration from the same state.
gin's runs include what the anchor does not: reading the running config, diffing, the
read-back check and waiting for BGP to be Established; the anchor only pushes and saves.

    .venv/bin/python bench/link_provision_bench.py [--links 20] [--skip-ansible]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from devices.secrets import resolve
from devices.transport.ansible import collections_path
from directory import allocator, store
from directory.plan import apply_plan, load_plan
from directory.store import Directory
from gin import lab, transport
from gin.lab.register import register
from links.build import build_intent
from links.plan import Endpoint, plan_link
from links.provision import provision
from links.render import render


def topology(n: int) -> dict:
    nodes = [{"name": "pe1", "role": "pe", "router_id": "10.255.0.1",
              "loopback": "2001:db8:0:ffff::1/128", "site": "core-bkk"},
             {"name": "pe2", "role": "pe", "router_id": "10.255.0.2",
              "loopback": "2001:db8:0:ffff::2/128", "site": "core-cnx"}]
    links = [{"endpoints": ["pe1", "pe2"], "core": True}]
    for i in range(1, n + 1):
        nodes.append({"name": f"ce{i}", "role": "ce",
                      "agency": {"code": f"AG{i:03d}", "name": f"Agency {i}"},
                      "site": f"ag{i:03d}-hq"})
        links.append({"endpoints": [f"pe{1 + i % 2}", f"ce{i}"]})
    return {"name": f"bench-{n}", "asn": 65000, "nodes": nodes, "links": links}


def port(state, node: str, peer: str) -> str:
    return next(i.name for i in state.node(node).interfaces if i.peer_node == peer)


def fresh(n: int, workdir: Path) -> tuple[str, object, Directory, list[str]]:
    name = "b" + secrets.token_hex(2)
    topo = workdir / "topology.yaml"
    topo.write_text(yaml.safe_dump(topology(n)))
    state = lab.up(str(topo), name=name)
    d = Directory(f"sqlite:///{workdir}/{name}.sqlite", actor="bench")
    register(state, d)
    plan = load_plan()
    names = []
    with d.transaction() as s:
        apply_plan(s, plan)
        for i in range(1, n + 1):
            ce, pe = f"ce{i}", f"pe{1 + i % 2}"
            allocator.agency_prefix(s, f"AG{i:03d}", plan)
            link = plan_link(s, plan, f"AG{i:03d}", store.get_device(s, ce).site.code,
                             Endpoint(pe, port(state, pe, ce)), Endpoint(ce, port(state, ce, pe)))
            names.append(link.name)
    return name, state, d, names


def run_gin(n: int, via: str, workdir: Path) -> float:
    name, _state, d, names = fresh(n, workdir)
    try:
        t0 = time.perf_counter()
        results = provision(d, names, transport.get(via), workers=n, with_ping=False)
        wall = time.perf_counter() - t0
        bad = [r for r in results if r.status != "changed"]
        if bad:
            raise SystemExit(f"{via}: {len(bad)} links failed: {bad[0].message}")
        return wall
    finally:
        d.close()
        lab.down(name)


def run_anchor(n: int, workdir: Path) -> float:
    """One ansible-playbook run, forks=n, cli_config with each host's full rendered config."""
    name, state, d, names = fresh(n, workdir)
    try:
        cred = resolve(state.credentials_ref)
        configs: dict[str, list[str]] = {}
        with d.transaction() as s:
            for link_name in names:
                for host, text in render(build_intent(s, store.get_link(s, link_name))).items():
                    configs.setdefault(host, []).append(text)
            hosts = {dev.hostname: {"ansible_host": dev.mgmt_address,
                                    "ansible_port": dev.mgmt_port,
                                    # every link's rendered config, one after the other
                                    "gin_config": "".join(configs[dev.hostname])}
                     for dev in store.list_all(s, store.m.Device) if dev.hostname in configs}
        inv = {"all": {"hosts": hosts, "vars": {
            "ansible_network_os": "frr.frr.frr",
            "ansible_connection": "ansible.netcommon.network_cli",
            "ansible_user": cred["username"].reveal(),
            "ansible_ssh_private_key_file": cred["key_file"].reveal()}}}
        (workdir / "inv.json").write_text(json.dumps(inv))
        (workdir / "push.yml").write_text(yaml.safe_dump([{
            "name": "push", "hosts": "all", "gather_facts": False, "tasks": [
                {"ansible.netcommon.cli_config": {"config": "{{ gin_config }}"}},
                {"ansible.netcommon.cli_command": {"command": "write memory"}}]}]))
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_PERSISTENT_COMMAND_TIMEOUT="600",
                   ANSIBLE_NETWORK_CLI_SSH_TYPE="libssh",
                   ANSIBLE_COLLECTIONS_PATH=collections_path() or "")
        playbook = str(Path(sys.executable).parent / "ansible-playbook")
        t0 = time.perf_counter()
        done = subprocess.run([playbook, "-i", str(workdir / "inv.json"), "-f", str(n),
                               str(workdir / "push.yml")], env=env, capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            fatal = [ln for ln in done.stdout.splitlines() if "fatal" in ln or "msg" in ln]
            raise SystemExit("anchor failed:\n" + "\n".join(fatal)[:3000])
        return wall
    finally:
        d.close()
        lab.down(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--links", type=int, default=20)
    ap.add_argument("--skip-ansible", action="store_true", help="only Netmiko and the anchor")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        netmiko_s = run_gin(args.links, "netmiko", work)
        print(f"gin via Netmiko : {netmiko_s:7.1f} s for {args.links} links", flush=True)
        ansible_s = None
        if not args.skip_ansible:
            ansible_s = run_gin(args.links, "ansible", work)
            print(f"gin via Ansible : {ansible_s:7.1f} s", flush=True)
        anchor_s = run_anchor(args.links, work)
        print(f"ansible-playbook: {anchor_s:7.1f} s (anchor: cli_config, forks={args.links})")
    print(f"Netmiko vs anchor: {anchor_s / netmiko_s:.2f}x faster (goal >= 2x)")
    if ansible_s:
        print(f"Netmiko vs gin-Ansible: {ansible_s / netmiko_s:.2f}x")


if __name__ == "__main__":
    main()

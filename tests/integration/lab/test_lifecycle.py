"""Lab lifecycle on its own small labs: side by side, crash recovery, clean teardown."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gin import lab
from gin.lab.errors import LabError
from gin.lab.proc import pid_alive, pids_mentioning, read_pid
from gin.lab.topology import generate_topology

pytestmark = pytest.mark.integration


def _frr_dirs_of(pids: set[int]) -> list[str]:
    """/var/tmp/frr entries naming one of `pids` (dir name or a logbuf.<tid> inside)."""
    base, wanted, found = Path("/var/tmp/frr"), {str(p) for p in pids}, []
    for entry in base.iterdir() if base.is_dir() else []:
        numbers = {entry.name.rsplit(".", 1)[-1]}
        if entry.is_dir():
            numbers |= {f.name.rsplit(".", 1)[-1] for f in entry.iterdir()}
        if numbers & wanted:
            found.append(entry.name)
    return found


def _users() -> str:
    return Path("/etc/passwd").read_text() + Path("/etc/group").read_text()


def assert_nothing_left(name: str, directory: str) -> None:
    assert not [ns for ns in os.listdir("/run/netns") if ns.startswith(f"{name}-")] \
        if os.path.isdir("/run/netns") else True
    assert not [i for i in os.listdir("/sys/class/net") if i.startswith(f"{name}-")]
    assert not pids_mentioning(directory + "/")
    assert not Path(directory).exists()
    assert lab.leftovers(name) == []


def test_side_by_side_crash_recovery_and_clean_down(fresh_lab_name, gin_lab):
    name = fresh_lab_name
    users_before = _users()
    topo = generate_topology(3, hosts=True)
    state = lab.up(topo, name=name)
    assert lab.healthy(state) and lab.healthy(gin_lab)  # two labs, no collision
    conf = state.vtysh("ce1", "show running-config")  # CEs start bare (own lab: the shared
    assert "hostname ce1" in conf                     # one gets provisioned by other tests)
    assert "router bgp" not in conf and "ipv6 address" not in conf
    assert f"interface {state.node('ce1').interfaces[0].name}" in conf
    assert lab.up(topo, name=name).created == state.created  # healthy lab is reused

    pids = [read_pid(f) for n in state.routers for f in n.pidfiles().values()]
    assert all(pid_alive(p) for p in pids)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not lab.status(name, bgp=False)["healthy"]

    with pytest.raises(LabError, match="left behind"):
        lab.up(topo, name=name, clean=False)
    recovered = lab.up(topo, name=name)
    assert lab.healthy(recovered)
    lab.wait_bgp_established(recovered, "pe1", timeout=30)
    assert lab.healthy(gin_lab)  # the other lab was not touched

    killed = set(pids)
    live = {read_pid(f) for n in recovered.routers for f in n.pidfiles().values()}
    directory = recovered.dir
    removed = lab.down(name)
    assert removed
    assert_nothing_left(name, directory)
    assert _users() == users_before
    assert _frr_dirs_of(killed | live) == []
    assert lab.down(name) == []  # idempotent


def test_up_failure_cleans_up(fresh_lab_name, tmp_path, monkeypatch):
    from gin.lab import sshd

    def broken(*_args, **_kwargs):
        raise LabError("simulated sshd failure")

    monkeypatch.setattr(sshd, "start", broken)
    with pytest.raises(LabError, match="simulated"):
        lab.up(generate_topology(2), name=fresh_lab_name)
    assert lab.leftovers(fresh_lab_name) == []

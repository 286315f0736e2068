"""Integration fixtures: one real lab (FRR + sshd + snmpd in namespaces) per test session.

`gin_lab` brings the default topology up once under a unique name (`t` + 4 hex digits,
so parallel runs never collide) and tears it down at the end, also on failure or
Ctrl-C. Without root or FRR it skips, except under GIN_REQUIRE_INTEGRATION=1 (CI),
where a skip would hide a missing part, so it fails instead.

Use it like:

    def test_x(gin_lab):                       # gin_lab is a gin.lab.LabState
        pe1 = gin_lab.node("pe1")              # NodeState: netns, ssh_port, mgmt_address,
                                               #   interfaces (name, peer_node, peer_ifname)
        gin_lab.netmiko_params("pe1")          # kwargs for netmiko.ConnectHandler
        gin_lab.credentials()["snmp"]          # SNMPv3 user/keys (never print them)
        gin_lab.credentials_ref                # "file:/.../credentials.json" for the directory
        gin_lab.vtysh("pe1", "show run")       # vtysh output as text
        gin_lab.exec("h1", ["ping", ...])      # CompletedProcess inside a namespace
        gin.lab.wait_bgp_established(gin_lab, "pe1")

`gin_lab_directory` is a fresh SQLite directory holding the registered lab.
"""

from __future__ import annotations

import atexit
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE = os.environ.get("GIN_REQUIRE_INTEGRATION") == "1"
SKIP_REASON = "needs root/frr"


def lab_unavailable() -> str | None:
    """Why the lab cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return f"{SKIP_REASON}: not running as root"
    from gin.lab import preflight

    missing = preflight.missing_packages()
    if missing:
        return (f"{SKIP_REASON}: missing Debian packages {', '.join(missing)} "
                f"(apt-get install -y --no-install-recommends {' '.join(missing)})")
    return None


def require_lab() -> None:
    """Skip (or, under GIN_REQUIRE_INTEGRATION=1, fail) when the lab cannot run."""
    reason = lab_unavailable()
    if reason is None:
        return
    if REQUIRE:
        pytest.fail(f"{reason} (GIN_REQUIRE_INTEGRATION=1 turns this skip into a failure)")
    pytest.skip(reason)


def unique_lab_name() -> str:
    """A lab name no other run uses: `t` + 4 random hex digits."""
    return "t" + secrets.token_hex(2)


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through fixture finalizers and atexit


@pytest.fixture(scope="session")
def gin_lab() -> Iterator[Any]:
    """The default lab, up for the whole session (a gin.lab.LabState)."""
    require_lab()
    from gin import lab

    name = unique_lab_name()
    atexit.register(lab.down, name)  # also covers an interrupted session
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # CI timeout: clean up, then exit
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        state = lab.up(name=name)
        yield state
    finally:
        lab.down(name)


@pytest.fixture(scope="session")
def gin_lab_directory(gin_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh SQLite directory with the session lab registered in it."""
    from directory.store import Directory
    from gin.lab.register import register

    db = Path(tmp_path_factory.mktemp("labdir")) / "directory.sqlite"
    store = Directory(f"sqlite:///{db}", actor="gin-lab-tests")
    register(gin_lab, store)
    yield store
    store.close()


@pytest.fixture
def fresh_lab_name() -> Iterator[str]:
    """A unique lab name for a test that builds its own lab; the lab is removed afterwards."""
    require_lab()
    from gin import lab

    name = unique_lab_name()
    try:
        yield name
    finally:
        lab.down(name)

"""Real agents for the monitor tests: net-snmp snmpd on loopback ports we start ourselves,
plus a silent port and a UDP responder that answers garbage.

Without snmpd these skip (fail under GIN_REQUIRE_INTEGRATION=1).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitor_support import need

from monitor.snmp.snmpd import SNMPD, SnmpdInstance, loopback_endpoints


def need_snmpd() -> None:
    need(os.path.exists(SNMPD) and shutil.which("snmpget") is not None,
         "needs net-snmp snmpd and snmpget (apt-get install -y snmpd snmp)")


@pytest.fixture(scope="session")
def snmpd50(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdInstance]:
    """One snmpd answering on 50 loopback addresses, one port (v3 authPriv + v2c)."""
    need_snmpd()
    inst = SnmpdInstance(tmp_path_factory.mktemp("snmpd50"), loopback_endpoints(50))
    inst.start()
    try:
        yield inst
    finally:
        inst.stop()


@pytest.fixture(scope="session")
def credentials_ref(snmpd50: SnmpdInstance, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``file:`` credential reference holding the snmpd's keys (mode 0600)."""
    path = Path(tmp_path_factory.mktemp("creds")) / "snmp.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(snmpd50.credentials(), fh)
    return f"file:{path}"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A bound UDP port that never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A UDP responder that answers every datagram with bytes that are not SNMP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, addr = sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            sock.sendto(b"\x30\x82\xff\xffHELLO-not-snmp", addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()

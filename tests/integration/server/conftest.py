"""A real ``gin serve`` (uvicorn in its own process) on 127.0.0.1, a random port, over a
directory on SQLite or PostgreSQL, and the people who use it.

``service(db_url)`` seeds the directory (samples, the addressing plan, DOPA's /48), creates one
user per kind of caller through ``directory.identity`` (what ``gin user`` calls), starts the
server with ``gin serve --listen 127.0.0.1:0`` and waits until uvicorn says where it listens.
At the end the server is stopped and its log is searched for every secret the test issued.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory import identity, samples
from directory.assign import allocate
from directory.plan import apply_plan, load_plan
from directory.store import Directory, add_device, add_site
from links.plan import Endpoint, plan_link

PASSWORD = "correct horse battery staple"
#: name -> (role, scope, agency) granted; "nobody" has an account and no grant at all.
PEOPLE = {
    "admin": ("admin", "gin", None),
    "viewer": ("viewer", "gin", None),
    "auditor": ("auditor", "gin", None),
    "soc": ("soc", "gin", None),
    "eng_dopa": ("engineer", "agency", "DOPA"),
    "eng_moi": ("engineer", "ministry", "MOI"),
    "eng_mof": ("engineer", "ministry", "MOF"),
    "nobody": None,
}
LISTENING = re.compile(r"Uvicorn running on https?://[^\s:]+:(\d+)")


@dataclass
class Service:
    url: str
    db_url: str
    log: Path
    proc: subprocess.Popen
    # person (or person:ro) -> secret; kept out of repr, which a failing test prints
    tokens: dict[str, str] = field(default_factory=dict, repr=False)

    def client(self, who: str | None = None, token: str | None = None,
               verify: Any = True) -> httpx.Client:
        """An HTTP client as ``who`` (their token), with ``token``, or anonymous; ``verify``
        is the TLS trust (an ``ssl.SSLContext`` holding the test CA)."""
        secret = token if token is not None else (self.tokens[who] if who else None)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60,
                            verify=verify)

    def directory(self) -> Directory:
        return Directory(self.db_url, actor="test-setup")


def seed(db_url: str) -> dict[str, str]:
    """The sample directory and one account per kind of caller; returns their tokens."""
    d = Directory(db_url, actor="test-setup")
    tokens = {}
    try:
        with d.transaction() as s:
            samples.load_samples(s)
            apply_plan(s, load_plan())
            allocate(s, None, 48, agency="DOPA")
            add_site(s, "DOPA", code="HQ", name="ศาลาว่าการ <b>HQ</b>", province="Bangkok")
            add_device(s, "DOPA", "HQ", hostname="dopa-pe1", role="pe", platform="frr",
                       mgmt_address="2001:db8:ffff::11", credential_ref="vault:dopa-pe1",
                       asn=64512)
            add_device(s, "DOPA", "HQ", hostname="dopa-cpe", role="ce", platform="frr")
            plan_link(s, load_plan(), "DOPA", "HQ", Endpoint.parse("dopa-pe1:eth1"),
                      Endpoint.parse("dopa-cpe:eth0"), lan="eth1", name="dopa-hq")
            for name, grant in PEOPLE.items():
                identity.add_user(s, name, PASSWORD)
                if grant:
                    identity.grant(s, name, *grant)
                tokens[name] = identity.create_token(s, name, "test")[1]
            tokens["admin:ro"] = identity.create_token(s, "admin", "ro", read_only=True)[1]
    finally:
        d.close()
    return tokens


def start(db_url: str, log: Path, *args: str) -> Service:
    env = {**os.environ, "GIN_DB": db_url}
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gin.cli", "serve", "--listen",
                             "127.0.0.1:0", *args], stdout=out, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    deadline = time.monotonic() + 120  # a bound for a wedged start, not a speed check
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text())
        if found:
            scheme = "https" if "--tls-cert" in args else "http"
            return Service(f"{scheme}://127.0.0.1:{found.group(1)}", db_url, log, proc)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    pytest.fail(f"gin serve did not start:\n{log.read_text()}")


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group, SIGKILL it after ``timeout`` seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def serve(tmp_path) -> Iterator:
    """``serve(db_url)`` -> a running, seeded :class:`Service` (stopped afterwards)."""
    started: list[Service] = []

    def _serve(db_url: str, *args: str) -> Service:
        tokens = seed(db_url)
        svc = start(db_url, tmp_path / f"serve{len(started)}.log", *args)
        svc.tokens = tokens
        started.append(svc)
        return svc

    yield _serve
    for svc in started:
        stop(svc.proc)
        text = svc.log.read_text()
        for secret in [*svc.tokens.values(), PASSWORD]:
            assert secret not in text, "a secret reached the server's log"


def add_tunnel(svc: Service, monkeypatch: pytest.MonkeyPatch) -> str:
    """A PSK tunnel ``dopa-moph`` between DOPA's and MOPH's gateways, sealed under a throw-away
    key (GIN_VPN_KEY); returns the PSK, which no answer of the service may contain."""
    import base64

    from vpn import tunnels

    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"s" * 32).decode())
    d = svc.directory()
    try:
        with d.transaction() as s:
            add_site(s, "MOPH", code="HQ")
            add_device(s, "DOPA", "HQ", hostname="dopa-gw", role="vpn-gateway",
                       platform="linux", mgmt_address="2001:db8:ffff::21")
            add_device(s, "MOPH", "HQ", hostname="moph-gw", role="vpn-gateway",
                       platform="linux", mgmt_address="2001:db8:ffff::22")
            allocate(s, None, 48, agency="MOPH")
            t = tunnels.create_tunnel(s, "dopa-gw", "moph-gw", "ikev2", "psk", name="dopa-moph")
            return next(iter(tunnels.tunnel_secrets(s, t).values())).reveal()
    finally:
        d.close()

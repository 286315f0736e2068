"""Run a private net-snmp ``snmpd`` (tests, the benchmark, demos): one process that can
listen on many loopback endpoints, with a generated SNMPv3 user and v2c community.

Many *addresses* (127.0.0.1-127.0.0.N, all loopback on Linux) on one port look like N
devices to a manager that, like the directory, knows a device by its address and uses
one SNMP port per profile.

It never touches /etc/snmp or /var/lib/snmp (own config, ``persistentDir`` and pidfile),
so any number can run side by side.  ``netns`` runs it inside a network namespace the
caller created (so IF-MIB shows that namespace's interfaces).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SNMPD = "/usr/sbin/snmpd"


@dataclass
class SnmpdInstance:
    """A running snmpd; keys are generated per instance and never printed."""

    workdir: Path
    endpoints: list[tuple[str, int]]
    user: str = "ginmon"
    auth_key: str = field(default_factory=lambda: secrets.token_hex(12), repr=False)
    priv_key: str = field(default_factory=lambda: secrets.token_hex(12), repr=False)
    community: str = field(default_factory=lambda: "c" + secrets.token_hex(8), repr=False)
    netns: str | None = None
    extra_config: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        addrs = ",".join(f"udp:{h}:{p}" if ":" not in h else f"udp6:[{h}]:{p}"
                         for h, p in self.endpoints)
        return "\n".join([
            f"[snmp] persistentDir {self.workdir / 'persist'}",
            f"agentaddress {addrs}",
            f'createUser {self.user} SHA "{self.auth_key}" AES "{self.priv_key}"',
            f"rouser {self.user} priv",
            f"rocommunity {self.community} 127.0.0.0/8",
            f"rocommunity6 {self.community} ::1/128",
            "sysLocation gin test", "sysContact gin tests",
            self.extra_config, ""])

    def credentials(self) -> dict[str, object]:
        """The JSON a ``file:`` credential reference holds (what gin lab writes)."""
        return {"snmp": {"user": self.user, "auth_protocol": "SHA", "auth_key": self.auth_key,
                         "priv_protocol": "AES", "priv_key": self.priv_key,
                         "community": self.community}}

    def start(self, timeout: float = 10.0) -> SnmpdInstance:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "persist").mkdir(mode=0o700, exist_ok=True)
        conf = self.workdir / "snmpd.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.config())
        argv = [SNMPD, "-f", "-C", "-c", str(conf), "-Lf", str(self.workdir / "snmpd.log"),
                "-p", str(self.workdir / "snmpd.pid")]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        env = {**os.environ, "MIBS": ""}
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready when the first port answers a v2c GET of sysUpTime (snmpget)."""
        end = time.monotonic() + timeout
        snmpget = shutil.which("snmpget")
        while time.monotonic() < end:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"snmpd exited: see {self.workdir / 'snmpd.log'}")
            if snmpget:
                h, p = self.endpoints[0]
                host = f"udp6:[{h}]" if ":" in h else h
                argv = [snmpget, "-v2c", "-c", self.community, "-t", "0.3", "-r", "0", "-On",
                        f"{host}:{p}", "1.3.6.1.2.1.1.3.0"]
                if self.netns:
                    argv = ["ip", "netns", "exec", self.netns, *argv]
                ok = subprocess.run(argv, env={**os.environ, "MIBS": ""},
                                    capture_output=True).returncode == 0
                if ok:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"snmpd did not answer within {timeout:g} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> SnmpdInstance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def loopback_endpoints(n: int) -> list[tuple[str, int]]:
    """n loopback addresses 127.0.0.1.. sharing one UDP port free on all of them."""
    import socket

    hosts = [f"127.0.{(i + 1) // 256}.{(i + 1) % 256}" for i in range(n)]
    for _ in range(50):
        port = free_udp_ports(1)[0]
        socks = []
        try:
            for h in hosts:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((h, port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return [(h, port) for h in hosts]
    raise RuntimeError("no UDP port free on all loopback addresses")


def free_udp_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n UDP ports free right now on host (bound then released)."""
    import socket

    socks, ports = [], []
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports

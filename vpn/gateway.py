"""How gin reaches a Linux VPN gateway: its strongSwan VICI socket, swanctl dir and shell.

A ``vpn-gateway`` device's ``credential_ref`` (``file:``, ``env:`` or ``vault:``, see
:mod:`devices.secrets`) names a small mapping, never a secret itself::

    {"vici": "unix:///run/charon.vici",      # charon's VICI socket
     "swanctl_dir": "/etc/swanctl",          # where swanctl files are written
     "exec": ["ip", "netns", "exec", "gw1"], # argv prefix to run wg/ip on the gateway ([] = here)
     "log": "/var/log/charon.log",           # optional: charon's file log, for failure reasons
     "wireguard_dir": "/etc/wireguard"}      # where wg configs are written (the default)

The lab writes one per gateway node (:mod:`gin.lab.gateway`).  Only Unix sockets and local
paths are supported: the gateway runs on this machine or in one of its namespaces.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vici

from devices import secrets
from devices.errors import ConfigError, TransportError
from directory import models as m

VICI_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0


def _plain(value: Any) -> Any:
    """Unwrap :class:`devices.secrets.Secret` strings (paths and argv are not secret)."""
    if isinstance(value, str):
        return value[:]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Gateway:
    """One Linux gateway as deploy and status reach it."""

    hostname: str
    vici: str | None = None
    swanctl_dir: Path | None = None
    exec_prefix: tuple[str, ...] = ()
    log: Path | None = None
    wireguard_dir: Path = Path("/etc/wireguard")

    @classmethod
    def of(cls, device: m.Device) -> Gateway:
        """The gateway a directory device points at (ConfigError names what is missing)."""
        where = f"gateway {device.hostname}"
        data = secrets.resolve(device.credential_ref)
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: credential_ref {device.credential_ref} must name a "
                              "mapping with vici, swanctl_dir and exec")
        data = {k: _plain(v) for k, v in data.items()}
        prefix = data.get("exec") or []
        if not isinstance(prefix, list) or not all(isinstance(a, str) for a in prefix):
            raise ConfigError(f"{where}: 'exec' must be a list of strings")
        vici_uri = data.get("vici")
        if vici_uri is not None and not (isinstance(vici_uri, str)
                                         and vici_uri.startswith("unix://")):
            raise ConfigError(f"{where}: 'vici' must be unix://PATH (got {vici_uri!r:.60})")
        return cls(hostname=device.hostname, vici=vici_uri,
                   swanctl_dir=Path(data["swanctl_dir"]) if data.get("swanctl_dir") else None,
                   exec_prefix=tuple(prefix),
                   log=Path(data["log"]) if data.get("log") else None,
                   wireguard_dir=Path(data.get("wireguard_dir") or "/etc/wireguard"))

    def conf_file(self, name: str) -> Path:
        """Where a tunnel's swanctl file lives on this gateway."""
        if self.swanctl_dir is None:
            raise ConfigError(f"gateway {self.hostname}: no swanctl_dir in its access mapping")
        return self.swanctl_dir / "conf.d" / f"gin-{name}.conf"

    def wg_file(self, ifname: str) -> Path:
        """Where a WireGuard tunnel's config lives on this gateway (mode 0600)."""
        return self.wireguard_dir / f"{ifname}.conf"

    @contextmanager
    def session(self) -> Iterator[vici.Session]:
        """A VICI session to the gateway's charon; TransportError when it does not answer."""
        if not self.vici:
            raise ConfigError(f"gateway {self.hostname}: no VICI socket in its access mapping")
        path = self.vici[len("unix://"):]
        deadline = time.monotonic() + VICI_TIMEOUT
        delay = 0.005
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(VICI_TIMEOUT)
            try:
                sock.connect(path)
                break
            except OSError as exc:
                sock.close()
                # EAGAIN: charon's listen backlog is full (many tunnels at once): wait a bit
                if exc.errno == errno.EAGAIN and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.2)
                    continue
                raise TransportError(f"gateway {self.hostname}: charon does not answer on "
                                     f"{path} ({exc.strerror or exc})") from None
        try:
            yield vici.Session(sock)
        finally:
            sock.close()

    def run(self, argv: Sequence[str], input: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command on the gateway (through its exec prefix); TransportError on failure."""
        full = [*self.exec_prefix, *argv]
        try:
            proc = subprocess.run(full, input=input, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TransportError(f"gateway {self.hostname}: {argv[0]} failed ({exc})") from None
        if check and proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise TransportError(f"gateway {self.hostname}: {' '.join(argv[:4])} failed: "
                                 f"{lines[-1] if lines else f'exit {proc.returncode}'}")
        return proc

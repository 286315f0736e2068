"""IPv6 readiness of a service beyond its AAAA record: does it answer over IPv6, and with
the same certificate as over IPv4 (a forgotten v6 front end often serves a stale one)."""

from __future__ import annotations

import socket
import ssl
from dataclasses import asdict, dataclass
from typing import Any

from audit.web.tls import fingerprint

TIMEOUT = 5.0


@dataclass
class V6Facts:
    """The leaf certificate's SHA-256 seen over IPv6, or why there was none."""

    address: str
    port: int
    fingerprint: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def leaf_over(address: str, port: int, host: str, timeout: float = TIMEOUT) -> V6Facts:
    """One TLS handshake to ``address`` (SNI ``host``), keeping the leaf's fingerprint."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as exc:
        return V6Facts(address, port, error=f"{type(exc).__name__}: {exc}"[:200])
    if not der:
        return V6Facts(address, port, error="no certificate")
    return V6Facts(address, port, fingerprint(der))

"""HTTP facts of a public service: does plain http redirect to https, and which security
headers and cookies does the https answer carry.

Requests go to the address we resolved (the name travels in ``Host`` and SNI), so a lab or
a split-horizon name works without touching /etc/hosts.  Certificates are not verified
here: :mod:`audit.web.tls` judges them; this module only reads what the server says.
Answers are capped (headers by :mod:`http.client`, the body is never read past 64 KiB).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 5.0
BODY_CAP = 65536
USER_AGENT = "gin-audit-web/1"
#: Response headers the checks read (lower case); others are not kept as evidence.
KEPT = ("strict-transport-security", "content-security-policy", "x-content-type-options",
        "x-frame-options", "referrer-policy", "server", "x-powered-by", "location")


@dataclass
class Answer:
    """One HTTP exchange: status and kept headers, or the error that prevented it."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _family_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class _Connection(http.client.HTTPConnection):
    def __init__(self, address: str, port: int, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout)


class _TlsConnection(http.client.HTTPSConnection):
    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__(address, port, timeout=timeout, context=ctx)
        self._server_name = server_name
        self._ctx = ctx

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._server_name)


def cookie_without_value(header: str) -> str:
    """``Set-Cookie`` as evidence: the name and attributes, never the value (a session
    token in a report or an evidence file would be a secret leaked)."""
    pair, _, rest = header[:1024].partition(";")
    name = pair.split("=", 1)[0].strip() if "=" in pair else ""  # no "=": all of it is value
    attrs = [a.strip() for a in rest.split(";") if a.strip()]
    return "; ".join([f"{name}=<redacted>", *attrs])


def fetch(address: str, port: int, host: str, path: str = "/", tls: bool = True,
          timeout: float = TIMEOUT) -> Answer:
    """GET ``path`` from ``address:port`` as ``host``; never follows redirects."""
    conn: http.client.HTTPConnection = (
        _TlsConnection(address, port, host, timeout) if tls
        else _Connection(address, port, timeout))
    try:
        host_header = host if port == (443 if tls else 80) else f"{host}:{port}"
        conn.request("GET", path or "/", headers={"Host": host_header, "User-Agent": USER_AGENT,
                                                  "Accept": "*/*", "Connection": "close"})
        resp = conn.getresponse()
        resp.read(BODY_CAP)
        kept = {}
        for name in KEPT:
            values = resp.headers.get_all(name) or []
            if values:
                kept[name] = ", ".join(v.strip() for v in values)[:1024]
        cookies = [cookie_without_value(c) for c in (resp.headers.get_all("set-cookie") or [])]
        cookies = cookies[:50]
        return Answer(resp.status, kept, cookies)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        return Answer(error=f"{type(exc).__name__}: {detail}".rstrip(": "))
    finally:
        conn.close()


@dataclass
class HttpFacts:
    """The plain-http answer (``redirect``) and the https answer (``https``) of one host."""

    host: str
    address: str
    http_port: int | None
    https_port: int
    redirect: dict[str, Any] | None = None
    https: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def https_port_of(url: str, host: str) -> int | None:
    """The https port a redirect ``url`` points at, when it points at ``host`` over https
    (a URL with spaces or control characters points nowhere)."""
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or (parts.hostname or "").lower() != host:
        return None
    return port or 443


def probe(host: str, address: str, http_port: int | None, https_port: int,
          path: str = "/") -> HttpFacts:
    """Ask http (when a port is known) and https; record what each answered."""
    facts = HttpFacts(host, address, http_port, https_port)
    if http_port is not None:
        facts.redirect = fetch(address, http_port, host, path, tls=False).as_dict()
    facts.https = fetch(address, https_port, host, path, tls=True).as_dict()
    return facts

"""Scan agencies' public services: resolve, ask http and https, scan TLS, try IPv6.

One record per host name of each service (a service answering to www.x.go.th and x.go.th
is two hosts: each may have its own certificate and headers).  A record is plain JSON,
kept as evidence by :mod:`audit.web.evidence` and judged by :mod:`audit.web.checks`.

The endpoint scanned is the host's first IPv4 address (else its first IPv6 one); the other
family gets one handshake to compare certificates.  The https port is the URL's for an
https URL, else the one the http redirect points to (443 when there is none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit.web import http, ipv6, resolve, tls
from directory import store as dstore
from directory.store import Directory


@dataclass(frozen=True)
class ScanTarget:
    """One host name of one service."""

    agency: str
    service: str
    host: str
    url: str


def targets_from_directory(directory: Directory, agency: str | None = None) -> list[ScanTarget]:
    """Every host of every recorded service (or one agency's), in directory order."""
    with directory.transaction() as s:
        return [ScanTarget(sv.agency.code, sv.name, host, sv.url)
                for sv in dstore.list_services(s, agency) for host in sv.hosts]


def _ports(url: str) -> tuple[str, int | None, int | None, str]:
    """(scheme, http port, https port or None when a redirect must say, path)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    if parts.scheme == "https":
        return "https", 80, parts.port or 443, path
    return "http", parts.port or 80, None, path


def _probe_http(rec: dict[str, Any]) -> dict[str, Any]:
    """http first (its redirect names the https port of an http URL), then https."""
    host, address = rec["host"], rec["address"]
    _scheme, http_port, https_port, path = _ports(rec["url"])
    redirect = http.fetch(address, http_port, host, path, tls=False) if http_port else None
    if https_port is None:
        location = redirect.headers.get("location", "") if redirect else ""
        https_port = http.https_port_of(location, host) or 443
    https = http.fetch(address, https_port, host, path, tls=True)
    return http.HttpFacts(host, address, http_port, https_port,
                          redirect.as_dict() if redirect else None, https.as_dict()).as_dict()


def _probe_ipv6(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The certificate over IPv6: one handshake when IPv4 was scanned, the scan's own
    result when IPv6 was (an IPv6-only host); None without AAAA record."""
    port = rec["http"]["https_port"]
    if ":" in rec["address"]:
        return ipv6.V6Facts(rec["address"], port, rec["tls"]["fingerprint"],
                            rec["error"]).as_dict()
    if not rec["dns"]["v6"]:
        return None
    return ipv6.leaf_over(rec["dns"]["v6"][0], port, rec["host"]).as_dict()


def scan(targets: Sequence[ScanTarget], nameserver: str | None = None,
         ca_file: Path | str | None = None, workers: int = 16,
         advance: Callable[[], None] | None = None,
         now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Scan every target concurrently; returns one evidence record per target, in order.

    A host that does not resolve, refuses, or does not speak TLS gets ``error`` (reported
    as unreachable, never as passing).  ``advance`` is called once per target.
    """
    now = now or dt.datetime.now(dt.UTC)
    tick = advance or (lambda: None)
    res = resolve.resolver(nameserver)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
        names = sorted({t.host for t in targets})
        found = dict(zip(names, pool.map(lambda n: resolve.resolve(n, res), names),
                         strict=True))
        records = [{"agency": t.agency, "service": t.service, "host": t.host, "url": t.url,
                    "scanned_at": now.isoformat(), "dns": found[t.host].as_dict(),
                    "address": (found[t.host].v4 or found[t.host].v6 or [None])[0],
                    "error": None, "http": None, "tls": None, "ipv6": None} for t in targets]
        live = [r for r in records if r["address"]]
        for rec in records:
            if not rec["address"]:
                rec["error"] = rec["dns"]["error"] or f"{rec['host']} has no A or AAAA record"
                tick()
        for rec, facts in zip(live, pool.map(_probe_http, live), strict=True):
            rec["http"] = facts
        endpoints = [tls.Endpoint(r["host"], r["address"], r["http"]["https_port"])
                     for r in live]
        scanned = tls.scan(endpoints, ca_file, done=lambda _f: tick(), concurrency=workers)
        for rec, ep in zip(live, endpoints, strict=True):
            rec["tls"], rec["error"] = scanned[ep].as_dict(), scanned[ep].error
        for rec, facts in zip(live, pool.map(_probe_ipv6, live), strict=True):
            rec["ipv6"] = facts
    return records

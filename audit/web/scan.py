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
class Target:
    """One host name of one service."""

    agency: str
    service: str
    host: str
    url: str


def targets_from_directory(directory: Directory, agency: str | None = None) -> list[Target]:
    """Every host of every recorded service (or one agency's), in directory order."""
    with directory.transaction() as s:
        return [Target(sv.agency.code, sv.name, host, sv.url)
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


def _probe_http(target: Target, address: str) -> dict[str, Any]:
    """http first (its redirect names the https port of an http URL), then https."""
    scheme, http_port, https_port, path = _ports(target.url)
    redirect = http.fetch(address, http_port, target.host, path, tls=False) \
        if http_port else None
    if https_port is None:
        location = redirect.headers.get("location", "") if redirect else ""
        https_port = http.https_port_of(location, target.host) or 443
    https = http.fetch(address, https_port, target.host, path, tls=True)
    return http.HttpFacts(target.host, address, http_port, https_port,
                          redirect.as_dict() if redirect else None, https.as_dict()).as_dict()


def scan(targets: Sequence[Target], nameserver: str | None = None,
         ca_file: Path | str | None = None, workers: int = 16,
         advance: Callable[[], None] | None = None,
         now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Scan every target concurrently; returns one evidence record per target, in order.

    A host that does not resolve, refuses, or does not speak TLS gets ``error`` (reported
    as unreachable, never as passing).
    """
    now = now or dt.datetime.now(dt.UTC)
    res = resolve.resolver(nameserver)
    workers = max(1, min(workers, len(targets) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        names = sorted({t.host for t in targets})
        addresses = dict(zip(names, pool.map(lambda n: resolve.resolve(n, res), names),
                             strict=True))
        records: list[dict[str, Any]] = []
        for t in targets:
            addr = addresses[t.host]
            primary = (addr.v4 or addr.v6 or [None])[0]
            records.append({"agency": t.agency, "service": t.service, "host": t.host,
                            "url": t.url, "scanned_at": now.isoformat(),
                            "dns": addr.as_dict(), "address": primary, "error": None,
                            "http": None, "tls": None, "ipv6": None})
        live = [(r, t) for r, t in zip(records, targets, strict=True) if r["address"]]
        for rec in records:
            if not rec["address"]:
                rec["error"] = rec["dns"]["error"] or f"{rec['host']} has no A or AAAA record"
                if advance:
                    advance()
        https = list(pool.map(lambda rt: _probe_http(rt[1], rt[0]["address"]), live))
        endpoints = []
        for (rec, _), facts in zip(live, https, strict=True):
            rec["http"] = facts
            endpoints.append(tls.Endpoint(rec["host"], rec["address"], facts["https_port"]))
        found = tls.scan(endpoints, ca_file, done=lambda _f: advance and advance(),
                         concurrency=workers)
        for (rec, _), ep in zip(live, endpoints, strict=True):
            rec["tls"] = found[ep].as_dict()
            rec["error"] = found[ep].error
        v6_jobs = [(rec, ep) for (rec, _), ep in zip(live, endpoints, strict=True)
                   if rec["dns"]["v6"] and ":" not in rec["address"]]
        for (rec, _ep), facts in zip(v6_jobs, pool.map(
                lambda j: ipv6.leaf_over(j[0]["dns"]["v6"][0], j[1].port, j[1].host),
                v6_jobs), strict=True):
            rec["ipv6"] = facts.as_dict()
        for rec, ep in zip([r for r, _ in live], endpoints, strict=True):
            if ":" in rec["address"]:  # IPv6 is the scanned family itself
                rec["ipv6"] = ipv6.V6Facts(rec["address"], ep.port,
                                           rec["tls"]["fingerprint"], rec["error"]).as_dict()
    return records

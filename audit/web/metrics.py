"""``gin_web_cert_expiry_seconds{agency,host}`` for the monitor agent, read from the newest
web scan evidence at each scrape (so it counts down between scans).

Plug it in with ``gin monitor agent --collector audit.web.metrics:collector`` or the entry
point ``web = "audit.web.metrics:collector"`` in the group ``gin.monitor.collectors``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from audit.web.evidence import WebEvidence
from audit.web.tls import expiry_seconds
from devices.errors import GinError

log = logging.getLogger("gin.audit.web.metrics")


class CertExpiryCollector(Collector):
    """One gauge sample per scanned host whose certificate was read."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.evidence = WebEvidence(root)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("gin_web_cert_expiry_seconds",
                              "Seconds until the TLS certificate of an agency's public "
                              "service expires (negative: expired).", labels=["agency", "host"])
        try:
            records = self.evidence.latest()
        except GinError as exc:  # a damaged file must not break the whole scrape
            log.error("web evidence unreadable: %s", exc)
            records = []
        now = dt.datetime.now(dt.UTC)
        seen: set[tuple[str, str]] = set()
        for rec in records:
            facts = rec.get("tls")
            if not isinstance(facts, dict) or not facts.get("not_after"):
                continue
            labels = (str(rec.get("agency") or ""), str(rec.get("host") or ""))
            try:
                seconds = expiry_seconds(facts, now)
            except (TypeError, ValueError):  # a damaged date: no sample rather than a wrong one
                seconds = None
            if seconds is None or labels in seen:
                continue
            seen.add(labels)
            g.add_metric(list(labels), seconds)
        yield g


def collector(agent: Any = None) -> CertExpiryCollector:
    """Factory for the monitor agent (``gin.monitor.collectors``)."""
    return CertExpiryCollector()

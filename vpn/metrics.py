"""Tunnel metrics for the monitor agent (entry point group ``gin.monitor.collectors``).

On each scrape (at most once per ``min_interval``; a faster scrape gets the last reading)
the collector reads the deployed tunnels' live state with :func:`vpn.status.status`
(one VICI ``list-sas`` / ``wg show all dump`` per gateway; the directory is not written)
and exposes it.  Labels are bounded: tunnel, type and agency come from the directory;
direction is ``in``/``out``.  IKEv2 byte counters are the CHILD_SA's and restart at a
rekey (Prometheus' ``rate()`` handles counter resets).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vpn.status import TunnelStatus, status

log = logging.getLogger("gin.vpn.metrics")
LABELS = ["tunnel", "type", "agency"]


class VpnCollector(Collector):
    """Prometheus collector of tunnel state read from the gateways."""

    def __init__(self, directory_url: str | None, min_interval: float = 5.0) -> None:
        self.directory_url = directory_url
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._cached: tuple[list[TunnelStatus], list[tuple[str, float]], bool] = ([], [], True)

    def read(self) -> tuple[list[TunnelStatus], list[tuple[str, float]], bool]:
        """(tunnel states, (device, certificate seconds left), read ok) from the directory."""
        from directory.store import Directory
        from vpn import pki

        d = Directory(self.directory_url, actor="gin-monitor-agent")
        try:
            states = status(d, record=False)
            now = dt.datetime.now(dt.UTC)
            with d.transaction() as s:
                certs = [(c.device.hostname, (pki.utc(c.not_after) - now).total_seconds())
                         for c in pki.list_certificates(s)
                         if c.device is not None and c.status == "valid" and c.deployed_at]
        finally:
            d.close()
        return states, certs, True

    def _reading(self) -> tuple[list[TunnelStatus], list[tuple[str, float]], bool]:
        with self._lock:
            if time.monotonic() - self._last >= self.min_interval:
                try:
                    self._cached = self.read()
                except Exception as exc:  # a scrape must still answer: report the failure
                    log.error("vpn status read failed: %s", exc)
                    self._cached = (self._cached[0], self._cached[1], False)
                self._last = time.monotonic()
            return self._cached

    def collect(self) -> Iterator[Metric]:
        if not self.directory_url:  # an agent without a directory has no tunnels to show
            return
        states, certs, ok = self._reading()
        up = GaugeMetricFamily("gin_vpn_tunnel_up",
                               "1 when the tunnel carries traffic (IKEv2: CHILD_SA installed; "
                               "WireGuard: handshake younger than 180 s).", labels=LABELS)
        xfer = CounterMetricFamily("gin_vpn_transfer_bytes",
                                   "Bytes through the tunnel as its initiator counts them.",
                                   labels=[*LABELS, "direction"])
        pkts = CounterMetricFamily("gin_vpn_transfer_packets",
                                   "IKEv2 CHILD_SA packets (WireGuard does not count them).",
                                   labels=[*LABELS, "direction"])
        hs = GaugeMetricFamily("gin_vpn_handshake_age_seconds",
                               "Seconds since the latest WireGuard handshake.", labels=LABELS)
        ike = GaugeMetricFamily("gin_vpn_ike_rekey_seconds",
                                "Seconds until the IKE SA is rekeyed.", labels=LABELS)
        child = GaugeMetricFamily("gin_vpn_child_rekey_seconds",
                                  "Seconds until the CHILD_SA is rekeyed.", labels=LABELS)
        for st in states:
            labels = [st.tunnel, st.type, st.agency]
            up.add_metric(labels, 1.0 if st.up else 0.0)
            xfer.add_metric([*labels, "in"], st.bytes_in)
            xfer.add_metric([*labels, "out"], st.bytes_out)
            if st.type == "ikev2":
                pkts.add_metric([*labels, "in"], st.packets_in)
                pkts.add_metric([*labels, "out"], st.packets_out)
            if st.handshake_age_seconds is not None:
                hs.add_metric(labels, st.handshake_age_seconds)
            if st.ike_rekey_seconds is not None:
                ike.add_metric(labels, st.ike_rekey_seconds)
            if st.child_rekey_seconds is not None:
                child.add_metric(labels, st.child_rekey_seconds)
        cert = GaugeMetricFamily("gin_vpn_certificate_expiry_seconds",
                                 "Seconds until a deployed gateway certificate expires.",
                                 labels=["device"])
        for device, seconds in certs:
            cert.add_metric([device], seconds)
        read = GaugeMetricFamily("gin_vpn_status_read_ok",
                                 "1 when the last reading of the directory and gateways "
                                 "worked.")
        read.add_metric([], 1.0 if ok else 0.0)
        yield from (up, xfer, pkts, hs, ike, child, cert, read)


def collector(agent: Any) -> VpnCollector:
    """Entry-point factory: the agent's directory is where the tunnels are."""
    return VpnCollector(getattr(agent, "directory_url", None))

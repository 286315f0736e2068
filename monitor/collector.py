"""prometheus-client Collector that exports the latest SNMP poll of every target.

Why a custom Collector rather than Gauge/Counter objects: the poller's results are
already the state; yielding them at scrape time means no per-sample bookkeeping during
the poll, no stale series for interfaces or devices that disappeared, and a scrape
always sees one consistent poll per device.  Counters from the device (octets, packets)
are exported as Prometheus counters: a device reboot resets them, which ``rate()``
handles.

Labels are bounded: agency, site, device, ifname (+ ``reason`` from a fixed set on the
self-metrics).  A device that failed its last poll (a timeout, a genErr, wrong keys, ...)
exports only ``gin_snmp_up 0`` and the self-metrics with the reason, like snmp_exporter's
failed scrape, and no interface, BGP or device values at all.

Why not keep the last values while ``gin_snmp_up`` is 0: Prometheus would store them again
at every scrape as if they had just been read.  The octet counters would stand still, so
rate() and the utilisation rules would report a silent link instead of an unknown one; an
interface that went down after the last good poll would still look up; and nobody could
tell, from the series alone, which samples are measurements.  What a gap means is decided
where it is used: the link rules (monitor.prometheus.rules) carry an interface's last
polled state across failed polls for as long as GinDeviceUnreachable waits, so
GinLinkDown's ``for:`` does not restart when one poll fails, and a device that stays
unreachable is reported as such, once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.exposition import (
    BGP_FAMILIES,
    IF_COUNTER_METRICS,
    IP6_METRICS,
    render,
    render_target,
    unique_names,
)
from monitor.snmp.oids import BGP_ESTABLISHED
from monitor.snmp.poller import PollResult

DEVICE_LABELS = ["agency", "site", "device"]
IF_LABELS = [*DEVICE_LABELS, "ifname"]
BGP_LABELS = [*DEVICE_LABELS, "peer"]

class SnmpCollector(Collector):
    """Holds the latest PollResult per device; thread-safe against the HTTP server."""

    def __init__(self) -> None:
        self._latest: dict[str, PollResult] = {}
        self._chunks: dict[str, dict[str, str]] = {}
        self._errors: Counter[tuple[str, str]] = Counter()
        self._polls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def update(self, result: PollResult) -> None:
        """Record one target's poll (called by the poller as each target finishes)."""
        name = result.target.name
        with self._lock:
            self._polls[name] += 1
            if not result.ok and result.reason:
                self._errors[(name, result.reason)] += 1
            errors = {r: n for (d, r), n in self._errors.items() if d == name}
            polls = self._polls[name]
        chunk = render_target(result, errors, polls)  # outside the lock: scrapes go on
        with self._lock:
            self._latest[name] = result
            self._chunks[name] = chunk

    def counts(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """(polls per device, errors per (device, reason)): the cumulative counters."""
        with self._lock:
            return dict(self._polls), dict(self._errors)

    def seed(self, polls: dict[str, int], errors: dict[tuple[str, str], int]) -> None:
        """Start from another collector's counters (a restarted shard worker)."""
        with self._lock:
            self._polls.update(polls)
            self._errors.update(errors)

    def chunk(self, name: str) -> dict[str, str]:
        """The rendered samples of one device (what a shard worker sends its parent)."""
        with self._lock:
            return self._chunks.get(name, {})

    def store(self, result: PollResult, chunk: dict[str, str]) -> None:
        """Like :meth:`update`, with the chunk already rendered (by a shard worker)."""
        name = result.target.name
        with self._lock:
            self._polls[name] += 1
            if not result.ok and result.reason:
                self._errors[(name, result.reason)] += 1
            self._latest[name] = result
            self._chunks[name] = chunk

    def render(self, device: str | None = None) -> bytes | None:
        """The fast exposition of every device's latest poll (see monitor.exposition), or
        of one device (None when this collector has never polled it)."""
        with self._lock:
            if device is None:
                chunks = list(self._chunks.values())
            elif device in self._chunks:
                chunks = [self._chunks[device]]
            else:
                return None
        return render(chunks)

    def retain(self, names: set[str]) -> None:
        """Forget devices no longer in the target list (after a reload)."""
        with self._lock:
            for name in list(self._latest):
                if name not in names:
                    del self._latest[name]
                    self._chunks.pop(name, None)
                    self._polls.pop(name, None)
            for key in [k for k in self._errors if k[0] not in names]:
                del self._errors[key]

    def results(self) -> list[PollResult]:
        with self._lock:
            return list(self._latest.values())

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: families depend on what the devices return

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            latest = list(self._latest.values())
            errors = dict(self._errors)
            polls = dict(self._polls)
        yield from self._self_metrics(latest, errors, polls)
        ok = [r for r in latest if r.ok]
        yield from self._device_metrics(ok)
        yield from self._bgp_metrics(ok)
        yield from self._interface_metrics(ok)

    @staticmethod
    def _self_metrics(latest: list[PollResult], errors: dict[tuple[str, str], int],
                      polls: dict[str, int]) -> Iterator[Metric]:
        up = GaugeMetricFamily("gin_snmp_up", "1 if the last SNMP poll of the device "
                               "succeeded, else 0.", labels=DEVICE_LABELS)
        dur = GaugeMetricFamily("gin_snmp_poll_duration_seconds",
                                "Wall time of the last SNMP poll of the device.",
                                labels=DEVICE_LABELS)
        sent = GaugeMetricFamily("gin_snmp_poll_packets_sent",
                                 "SNMP packets sent in the last poll (retries included).",
                                 labels=DEVICE_LABELS)
        retried = GaugeMetricFamily("gin_snmp_poll_packets_retried",
                                    "SNMP packets re-sent after a timeout in the last poll.",
                                    labels=DEVICE_LABELS)
        varbinds = GaugeMetricFamily("gin_snmp_poll_varbinds_returned",
                                     "Variable bindings returned in the last poll.",
                                     labels=DEVICE_LABELS)
        last = GaugeMetricFamily("gin_snmp_last_poll_timestamp_seconds",
                                 "Unix time the last poll of the device finished.",
                                 labels=DEVICE_LABELS)
        err_info = GaugeMetricFamily(
            "gin_snmp_last_error_info", "1 with the reason of the last poll's failure "
            "(timeout, auth_failure, unknown_user, malformed, config, ...).",
            labels=[*DEVICE_LABELS, "reason"])
        errs = CounterMetricFamily("gin_snmp_errors", "Failed SNMP polls by reason.",
                                   labels=[*DEVICE_LABELS, "reason"])
        npolls = CounterMetricFamily("gin_snmp_polls", "SNMP polls attempted.",
                                     labels=DEVICE_LABELS)
        by_name = {}
        for r in latest:
            t = r.target
            lv = [t.agency, t.site, t.name]
            by_name[t.name] = lv
            up.add_metric(lv, 1.0 if r.ok else 0.0)
            dur.add_metric(lv, r.duration)
            sent.add_metric(lv, r.stats.packets_sent)
            retried.add_metric(lv, r.stats.retries)
            varbinds.add_metric(lv, r.varbinds)
            last.add_metric(lv, r.finished)
            if not r.ok:
                err_info.add_metric([*lv, r.reason or "unknown"], 1.0)
            npolls.add_metric(lv, polls.get(t.name, 0))
        for (name, reason), n in sorted(errors.items()):
            if name in by_name:
                errs.add_metric([*by_name[name], reason], n)
        yield from (up, dur, sent, retried, varbinds, last, err_info, errs, npolls)

    @staticmethod
    def _device_metrics(ok: list[PollResult]) -> Iterator[Metric]:
        uptime = GaugeMetricFamily("gin_device_uptime_seconds",
                                   "Time since the SNMP agent restarted (sysUpTime).",
                                   labels=DEVICE_LABELS)
        cpu = GaugeMetricFamily("gin_device_cpu_load_ratio", "Mean processor load over the "
                                "last minute, 0-1 (HOST-RESOURCES hrProcessorLoad).",
                                labels=DEVICE_LABELS)
        mem_total = GaugeMetricFamily("gin_device_memory_size_bytes",
                                      "Physical memory (HOST-RESOURCES hrStorageRam).",
                                      labels=DEVICE_LABELS)
        mem_used = GaugeMetricFamily("gin_device_memory_used_bytes",
                                     "Physical memory in use (HOST-RESOURCES hrStorageRam).",
                                     labels=DEVICE_LABELS)
        ip6 = {k: CounterMetricFamily(name.removesuffix("_total"), help_, labels=DEVICE_LABELS)
               for k, (name, help_) in IP6_METRICS.items()}
        for r in ok:
            t = r.target
            lv = [t.agency, t.site, t.name]
            if r.uptime is not None:
                uptime.add_metric(lv, r.uptime)
            if r.cpu_load is not None:
                cpu.add_metric(lv, r.cpu_load / 100.0)
            if r.mem_total is not None and r.mem_used is not None:
                mem_total.add_metric(lv, r.mem_total)
                mem_used.add_metric(lv, r.mem_used)
            for key, value in r.ip6.items():
                ip6[key].add_metric(lv, value)
        yield from (uptime, cpu, mem_total, mem_used, *ip6.values())

    @staticmethod
    def _bgp_metrics(ok: list[PollResult]) -> Iterator[Metric]:
        up, state, remote_as = (GaugeMetricFamily(name, help_, labels=BGP_LABELS)
                                for name, _, help_ in BGP_FAMILIES)
        for r in ok:
            t = r.target
            for peer, (st, ras) in r.bgp.items():
                lv = [t.agency, t.site, t.name, peer]
                up.add_metric(lv, 1.0 if st == BGP_ESTABLISHED else 0.0)
                state.add_metric(lv, st)
                if ras is not None:
                    remote_as.add_metric(lv, ras)
        yield from (up, state, remote_as)

    @staticmethod
    def _interface_metrics(ok: list[PollResult]) -> Iterator[Metric]:
        counters = {k: CounterMetricFamily(name.removesuffix("_total"), help_, labels=IF_LABELS)
                    for k, (name, help_) in IF_COUNTER_METRICS.items()}
        oper = GaugeMetricFamily("gin_if_oper_up", "1 if ifOperStatus is up(1).",
                                 labels=IF_LABELS)
        admin = GaugeMetricFamily("gin_if_admin_up", "1 if ifAdminStatus is up(1).",
                                  labels=IF_LABELS)
        speed = GaugeMetricFamily("gin_if_speed_bits_per_second",
                                  "Interface speed (ifHighSpeed x 10^6).", labels=IF_LABELS)
        info = GaugeMetricFamily("gin_if_info", "Interface index and alias (ifAlias), "
                                 "value 1.", labels=[*IF_LABELS, "ifindex", "ifalias"])
        for r in ok:
            t = r.target
            names = unique_names(r)
            dev = [t.agency, t.site, t.name]
            labels = {i: [*dev, n] for i, n in names.items()}
            for key, fam in counters.items():
                for idx, value in r.counters.get(key, {}).items():
                    lv = labels.get(idx)
                    if lv is not None:
                        fam.add_metric(lv, value)
            for idx, value in r.counters.get("oper_status", {}).items():
                if idx in labels:
                    oper.add_metric(labels[idx], 1.0 if value == 1 else 0.0)
            for idx, value in r.counters.get("admin_status", {}).items():
                if idx in labels:
                    admin.add_metric(labels[idx], 1.0 if value == 1 else 0.0)
            for idx, bps in r.speed_bps.items():
                if idx in labels:
                    speed.add_metric(labels[idx], bps)
            for idx, lv in labels.items():
                info.add_metric([*lv, str(idx), r.ifalias.get(idx, "")], 1.0)
        yield from (*counters.values(), oper, admin, speed, info)

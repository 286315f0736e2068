"""Fast Prometheus text exposition of SNMP poll results (the agent's /metrics hot path).

Why: prometheus-client's ``generate_latest`` validates and escapes every label name of every
sample; for 50 devices x 49 interfaces (~34,000 samples) that cost 4x the whole SNMP poll
(profiled in bench/snmp_poll.py).  Here each device's samples are rendered once, when its
poll finishes, with its label strings escaped once; a scrape only concatenates the chunks
per metric family.  :class:`monitor.collector.SnmpCollector.collect` stays the reference
implementation: the unit tests check both give the same samples.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.snmp.oids import BGP_ESTABLISHED
from monitor.snmp.poller import PollResult

# PollResult.counters key -> (metric name, help)
IF_COUNTER_METRICS = {
    "in_octets": ("gin_if_in_octets_total", "Octets received on the interface (ifHCInOctets)."),
    "out_octets": ("gin_if_out_octets_total", "Octets sent on the interface (ifHCOutOctets)."),
    "in_unicast_packets": ("gin_if_in_unicast_packets_total",
                           "Unicast packets received (ifHCInUcastPkts)."),
    "out_unicast_packets": ("gin_if_out_unicast_packets_total",
                            "Unicast packets sent (ifHCOutUcastPkts)."),
    "in_errors": ("gin_if_in_errors_total", "Inbound packets with errors (ifInErrors)."),
    "out_errors": ("gin_if_out_errors_total", "Outbound packets with errors (ifOutErrors)."),
    "in_discards": ("gin_if_in_discards_total", "Inbound packets discarded (ifInDiscards)."),
    "out_discards": ("gin_if_out_discards_total", "Outbound packets discarded (ifOutDiscards)."),
}
IP6_METRICS = {
    "in_receives": ("gin_ipv6_in_receives_total", "IPv6 datagrams received (IP-MIB)."),
    "in_octets": ("gin_ipv6_in_octets_total", "IPv6 octets received (IP-MIB)."),
    "in_delivers": ("gin_ipv6_in_delivers_total", "IPv6 datagrams delivered locally."),
    "out_requests": ("gin_ipv6_out_requests_total", "IPv6 datagrams sent by local protocols."),
    "out_octets": ("gin_ipv6_out_octets_total", "IPv6 octets sent (IP-MIB)."),
    "in_hdr_errors": ("gin_ipv6_in_header_errors_total", "IPv6 datagrams with header errors."),
    "in_discards": ("gin_ipv6_in_discards_total", "IPv6 datagrams discarded on input."),
    "out_discards": ("gin_ipv6_out_discards_total", "IPv6 datagrams discarded on output."),
}


# (name as exposed, type, help) in exposition order; counters carry their _total suffix
SELF_FAMILIES = [
    ("gin_snmp_up", "gauge", "1 if the last SNMP poll of the device succeeded, else 0."),
    ("gin_snmp_poll_duration_seconds", "gauge",
     "Wall time of the last SNMP poll of the device."),
    ("gin_snmp_poll_packets_sent", "gauge",
     "SNMP packets sent in the last poll (retries included)."),
    ("gin_snmp_poll_packets_retried", "gauge",
     "SNMP packets re-sent after a timeout in the last poll."),
    ("gin_snmp_poll_varbinds_returned", "gauge", "Variable bindings returned in the last poll."),
    ("gin_snmp_last_poll_timestamp_seconds", "gauge",
     "Unix time the last poll of the device finished."),
    ("gin_snmp_last_error_info", "gauge", "1 with the reason of the last poll's failure "
     "(timeout, auth_failure, unknown_user, malformed, config, ...)."),
    ("gin_snmp_errors_total", "counter", "Failed SNMP polls by reason."),
    ("gin_snmp_polls_total", "counter", "SNMP polls attempted."),
]
DEVICE_FAMILIES = [
    ("gin_device_uptime_seconds", "gauge", "Time since the SNMP agent restarted (sysUpTime)."),
    ("gin_device_cpu_load_ratio", "gauge",
     "Mean processor load over the last minute, 0-1 (HOST-RESOURCES hrProcessorLoad)."),
    ("gin_device_memory_size_bytes", "gauge", "Physical memory (HOST-RESOURCES hrStorageRam)."),
    ("gin_device_memory_used_bytes", "gauge",
     "Physical memory in use (HOST-RESOURCES hrStorageRam)."),
]

# labels agency, site, device, peer (the peer's address: a router has few peers)
BGP_FAMILIES = [
    ("gin_bgp_peer_up", "gauge",
     "1 if the BGP session with the peer is Established (FSM state 6), else 0."),
    ("gin_bgp_peer_state", "gauge", "BGP FSM state of the session: 1 idle, 2 connect, "
     "3 active, 4 opensent, 5 openconfirm, 6 established."),
    ("gin_bgp_peer_remote_as", "gauge", "Autonomous system number of the BGP peer."),
]


def escape(value: str) -> str:
    """Label value escaping of the text format (backslash, double quote, newline)."""
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _num(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def all_families() -> list[tuple[str, str, str]]:
    return [*SELF_FAMILIES, *DEVICE_FAMILIES, *BGP_FAMILIES,
            *((name, "counter", help_) for name, help_ in IP6_METRICS.values()),
            *((name, "counter", help_) for name, help_ in IF_COUNTER_METRICS.values()),
            ("gin_if_oper_up", "gauge", "1 if ifOperStatus is up(1)."),
            ("gin_if_admin_up", "gauge", "1 if ifAdminStatus is up(1)."),
            ("gin_if_speed_bits_per_second", "gauge", "Interface speed (ifHighSpeed x 10^6)."),
            ("gin_if_info", "gauge", "Interface index and alias (ifAlias), value 1.")]


def render_target(r: PollResult, errors: dict[str, int], polls: int) -> dict[str, str]:
    """One device's samples, by family name (rendered once per poll)."""
    t = r.target
    dev = f'agency="{escape(t.agency)}",device="{escape(t.name)}",site="{escape(t.site)}"'
    out: dict[str, list[str]] = {}

    def add(name: str, value: float | int, labels: str = dev) -> None:
        out.setdefault(name, []).append(f"{name}{{{labels}}} {_num(value)}\n")

    add("gin_snmp_up", 1 if r.ok else 0)
    add("gin_snmp_poll_duration_seconds", float(r.duration))
    add("gin_snmp_poll_packets_sent", r.stats.packets_sent)
    add("gin_snmp_poll_packets_retried", r.stats.retries)
    add("gin_snmp_poll_varbinds_returned", r.varbinds)
    add("gin_snmp_last_poll_timestamp_seconds", float(r.finished))
    if not r.ok:
        add("gin_snmp_last_error_info", 1, f'{dev},reason="{escape(r.reason or "unknown")}"')
    for reason, n in sorted(errors.items()):
        add("gin_snmp_errors_total", n, f'{dev},reason="{escape(reason)}"')
    add("gin_snmp_polls_total", polls)
    if not r.ok:
        return {k: "".join(v) for k, v in out.items()}
    if r.uptime is not None:
        add("gin_device_uptime_seconds", float(r.uptime))
    if r.cpu_load is not None:
        add("gin_device_cpu_load_ratio", r.cpu_load / 100.0)
    if r.mem_total is not None and r.mem_used is not None:
        add("gin_device_memory_size_bytes", r.mem_total)
        add("gin_device_memory_used_bytes", r.mem_used)
    for key, value in r.ip6.items():
        add(IP6_METRICS[key][0], value)
    for peer, (state, remote_as) in r.bgp.items():
        lv = f'{dev},peer="{escape(peer)}"'
        add("gin_bgp_peer_up", 1 if state == BGP_ESTABLISHED else 0, lv)
        add("gin_bgp_peer_state", state, lv)
        if remote_as is not None:
            add("gin_bgp_peer_remote_as", remote_as, lv)
    labels = {i: f'{dev},ifname="{escape(n)}"' for i, n in unique_names(r).items()}
    for key, (name, _) in IF_COUNTER_METRICS.items():
        col = r.counters.get(key)
        if not col:
            continue
        out[name] = [f"{name}{{{labels[i]}}} {v}\n" for i, v in col.items() if i in labels]
    for key, name in (("oper_status", "gin_if_oper_up"), ("admin_status", "gin_if_admin_up")):
        col = r.counters.get(key, {})
        out[name] = [f"{name}{{{labels[i]}}} {1 if v == 1 else 0}\n"
                     for i, v in col.items() if i in labels]
    out["gin_if_speed_bits_per_second"] = [
        f"gin_if_speed_bits_per_second{{{labels[i]}}} {v}\n"
        for i, v in r.speed_bps.items() if i in labels]
    out["gin_if_info"] = [
        f'gin_if_info{{{lv},ifalias="{escape(r.ifalias.get(i, ""))}",ifindex="{i}"}} 1\n'
        for i, lv in labels.items()]
    return {k: "".join(v) for k, v in out.items()}


def render(chunks: Iterable[dict[str, str]]) -> bytes:
    """Join per-device chunks into one exposition, family by family."""
    specs = all_families()
    per_family: dict[str, list[str]] = {name: [] for name, _, _ in specs}
    for chunk in chunks:
        for name, text in chunk.items():
            per_family[name].append(text)
    out = []
    for name, kind, help_ in specs:
        out.append(f"# HELP {name} {_help(help_)}\n# TYPE {name} {kind}\n")
        out.extend(per_family[name])
    return "".join(out).encode()


def unique_names(r: PollResult) -> dict[int, str]:
    """ifIndex -> ifname label; a missing or duplicate ifName gets its index appended so two
    interfaces never collapse into one series (Prometheus would reject the scrape)."""
    seen: set[str] = set()
    out: dict[int, str] = {}
    indexes = set(r.counters.get("oper_status", {})) | set(r.ifnames)
    for idx in sorted(indexes):
        name = r.ifnames.get(idx) or f"ifindex{idx}"
        if name in seen:
            name = f"{name}#{idx}"
        seen.add(name)
        out[idx] = name
    return out

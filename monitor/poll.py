"""``gin monitor poll``: one SNMP poll of the directory's devices, as rows to print.

The same poller and targets as the agent, run once, so an engineer sees what the agent
would export (and why a device fails) without starting it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from devices.errors import ConfigError
from monitor.snmp.poller import Poller, PollResult
from monitor.snmp.targets import load_profiles, targets_from_directory


def poll_directory(directory: Any, profiles_path: str | None,
                   only: set[str] | None = None) -> tuple[list[PollResult], list[str]]:
    """Poll every pollable device (or ``only`` these hostnames) once;
    (results, skipped-with-why)."""
    targets, skipped = targets_from_directory(directory, load_profiles(profiles_path), only)
    if only and not targets:
        why = f": {'; '.join(skipped)}" if skipped else ""
        raise ConfigError(f"no pollable device named {', '.join(sorted(only))} in the "
                          f"directory{why}")

    async def run() -> list[PollResult]:
        poller = Poller(targets)
        try:
            return list((await poller.poll_all()).values())
        finally:
            poller.close()

    return asyncio.run(run()), skipped


def poll_rows(results: list[PollResult], interfaces: bool) -> list[dict[str, Any]]:
    """One row per device, or per interface when ``interfaces``."""
    rows: list[dict[str, Any]] = []
    for r in sorted(results, key=lambda r: r.target.name):
        t = r.target
        base = {"device": t.name, "agency": t.agency, "site": t.site, "address": t.address,
                "version": t.version, "up": r.ok, "reason": r.reason, "error": r.error,
                "duration_s": round(r.duration, 4), "packets_sent": r.stats.packets_sent,
                "retries": r.stats.retries, "varbinds": r.varbinds, "uptime_s": r.uptime}
        if not interfaces:
            base["interfaces"] = len(r.counters.get("oper_status", {}))
            rows.append(base)
            continue
        for idx in sorted(r.counters.get("oper_status", {})):
            row = {"device": t.name, "ifindex": idx, "ifname": r.ifnames.get(idx, ""),
                   "ifalias": r.ifalias.get(idx, ""), "speed_bps": r.speed_bps.get(idx)}
            for key, col in r.counters.items():
                row[key] = col.get(idx)
            rows.append(row)
    return rows

"""Helpers for the audit unit tests: golden configs and a one-call audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from audit import host
from audit.changes import Change, ChangeFacts
from audit.gsi import BlockRecord
from audit.monitoring import MonitorFact
from audit.outages import Outage
from audit.runner import ConfigSource, DeviceAudit, audit_one

GOLDEN = Path(__file__).with_name("golden")
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def as_running(platform: str, text: str) -> str:
    """Rendered config as the device shows it (FRR's stamps, IOS's ``end``, Junos' version)."""
    if platform == "juniper_junos":
        return "set version 21.4R3\n" + text
    if platform == "frr":
        return "frr version 8.4.4\nfrr defaults traditional\n" + text + "end\n"
    return "Building configuration...\n\nCurrent configuration : 4096 bytes\n" + text + "end\n"


def host_files(kind: str) -> host.HostFiles:
    """The golden host evidence (``golden/host_good`` or ``host_bad``: a copy of /etc)."""
    return host.read_device(GOLDEN / f"host_{kind}")


def _change(entries: tuple[str, ...]) -> Change:
    return Change("aaaaaaaaaaaa", "bbbbbbbbbbbb", NOW - dt.timedelta(days=2),
                  NOW - dt.timedelta(days=1), ("+ntp server 2001:db8::123",), entries)


#: Operations facts of a well-run device: its one change logged, scraped and up, its links
#: watched with no fault, and its agency's serious threat answered by a GSI block.
LOGGED = ChangeFacts(2, [_change(("2026-10-31T10:00:00 alice update device r1",))])
THREATS = ("gin_threat_events_total{source_agency='DOPA', type='brute_force'} = 2",)
UP = MonitorFact("http://127.0.0.1:9090", 1.0, THREATS, ("brute_force",), outages=(),
                 interfaces=4)
ANSWERED = (BlockRecord("2001:db8:1::66/128", NOW - dt.timedelta(hours=3), "alice as soc",
                        "brute force", NOW - dt.timedelta(hours=2),
                        NOW - dt.timedelta(hours=2, minutes=30), "alice as soc",
                        ("pe1",), ("pe1",)),)
#: ... and of a badly run one: a change made outside gin, unknown to Prometheus (now) though
#: its uplink has been down since before, and the agency's serious threat left unanswered.
UNLOGGED = ChangeFacts(2, [_change(())])
UNWATCHED = MonitorFact("http://127.0.0.1:9090", None, THREATS, ("brute_force",),
                        outages=(Outage("r1", "eth0", "DOPA", NOW - dt.timedelta(hours=1), None),),
                        interfaces=2)
UNANSWERED: tuple[BlockRecord, ...] = ()


def audit_text(text: str | bytes, platform: str, role: str | None = "pe",
               backed_up_at: dt.datetime | None = NOW,
               in_directory: bool | None = True,
               host_evidence: host.HostFiles | None = None,
               changes: ChangeFacts | None = LOGGED,
               monitor: MonitorFact | None = UP,
               blocks: tuple[BlockRecord, ...] | None = ANSWERED) -> DeviceAudit:
    return audit_one(ConfigSource("r1", platform, text, role=role, agency="DOPA",
                                  backed_up_at=backed_up_at, in_directory=in_directory,
                                  host=host_evidence, changes=changes, monitor=monitor,
                                  blocks=blocks),
                     now=NOW)


#: Checks that read facts about the device, not its config text.
CONTEXT_CHECKS = {"ops.backup_recent", "inv.in_directory", "host.ssh_root_login",
                  "host.ssh_crypto", "ops.changes_logged", "mon.monitored",
                  "ops.link_faults", "inc.gsi_response"}


def statuses(audit: DeviceAudit) -> dict[str, str]:
    return {f.check: f.status.value for f in audit.findings}

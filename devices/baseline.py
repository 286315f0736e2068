"""The security baseline every router is rendered with, and the audit checks against.

It sits on the devices floor because two features read it: links render it onto every
router, and the audit's checks hold a running config against the same values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Baseline:
    """The security baseline every router gets (and the audit checks)."""

    ntp_servers: tuple[str, ...] = ("2001:db8:0:fff0::123",)
    syslog_servers: tuple[str, ...] = ("2001:db8:0:fff0::514",)
    banner: str = ("Authorised access only. This is a Government Information Network device. "
                   "activity is logged and monitored.")
    exec_timeout_minutes: int = 5
    snmp_group: str = "GIN-RO"
    mgmt_acl: tuple[str, ...] = ("2001:db8:0:fff0::/64",)
    bgp_keepalive: int = 3
    bgp_hold: int = 9

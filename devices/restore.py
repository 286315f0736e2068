"""Putting a device back to an exact earlier running config: what a failed change and a
crash recovery both do."""

from __future__ import annotations

from devices import configtree, platforms
from devices.transport import Connection

RESTORE_PASSES = 3


def restore_exactly(conn: Connection, platform: platforms.Platform, before: str,
                    passes: int = RESTORE_PASSES) -> bool:
    """Put the exact pre-image back; True when the running text matches it again.

    Remediation lines may be refused once an earlier line removed their parent (FRR
    rejects ``no neighbor X description`` after ``no neighbor X remote-as``), so errors
    are tolerated and the remaining difference is recomputed, up to ``passes`` times.
    """
    for _ in range(passes):
        now = conn.show(platform.show_running)
        if now == before:
            break
        lines = configtree.remediation(platform, now, before)
        if not lines:
            break
        conn.configure(lines, tolerate_errors=True)
    conn.save()
    return conn.show(platform.show_running) == before

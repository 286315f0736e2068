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
    for attempt in range(passes):
        now = conn.show(platform.show_running)
        if now == before:
            break
        lines = configtree.remediation(platform, now, before)
        if attempt and lines:  # negating a whole section was refused: empty it instead
            lines = _emptying(platform, now, before) or lines
        if not lines:
            break
        conn.configure(lines, tolerate_errors=True)
    conn.save()
    return conn.show(platform.show_running) == before


def _emptying(platform: platforms.Platform, now: str, before: str) -> list[str]:
    """Sections ``before`` lacks, emptied line by line: some cannot be negated whole
    (FRR refuses ``no line vty``; ``line vty`` / `` exec-timeout 10 0``, the platform's
    negation of the timeout, empties it)."""
    have, want = configtree.tree(platform, now), configtree.tree(platform, before)
    out: list[str] = []
    for section in have.children:
        if want.get_child(equals=section.text) is None and section.children:
            out.append(section.text)
            out.extend(" " + platform.negate(child.text) for child in section.children)
            out.append("exit")
    return out

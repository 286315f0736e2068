"""Recovery: resolve the journal entries a dead process left on a device.

An entry that is neither done nor restored, whose owner is gone, means a change stopped
somewhere between "about to push" and "recorded".  The directory is the source of truth and
it never learned of that change (recording it and closing the entry commit together), so
the device goes back to the entry's pre-image, exactly, and that is checked byte for byte.
What was found and done is written to the entry and to the change log.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert

from devices import confirmed, platforms
from devices.errors import GinError
from devices.journal import Entry, Journal, sha256
from devices.restore import restore_exactly
from devices.targets import DeviceTarget
from devices.transport import Connection, runs_commands
from directory import models as m

if TYPE_CHECKING:  # converge imports this module, and Sessions is only passed through
    from devices.sessions import Sessions


@dataclass(frozen=True)
class Recovered:
    """What recovery found on one device for one entry, and what it did."""

    device: str
    entry: int
    state: str  # the entry's state when found
    ok: bool
    action: str

    def __str__(self) -> str:
        return f"{self.device}: entry {self.entry} ({self.state}): {self.action}"


def resolve(journal: Journal, target: DeviceTarget, conn: Connection) -> list[Recovered]:
    """Resolve ``target``'s orphaned entries, newest first (call with its change lock
    held).  A device that cannot be put back raises: it must not be changed further."""
    platform = platforms.get(target.platform)
    done = []
    for entry in reversed(journal.orphans([target.hostname])):
        done.append(_resolve_one(journal, entry, platform, conn))
    bad = [r for r in done if not r.ok]
    if bad:
        raise GinError(f"{target.hostname}: an interrupted change could not be undone "
                       f"({bad[0].action}); fix the device by hand, then run "
                       f"`gin device recover {target.hostname}`")
    return done


def _resolve_one(journal: Journal, entry: Entry, platform: platforms.Platform,
                 conn: Connection) -> Recovered:
    running = conn.show(platform.show_running)
    pre_image = entry.image()  # opened when sealed (it held secrets)
    why = {"pushing": "the push was interrupted",
           "pushed": "pushed but never read back",
           "read_back": "read back but never saved",
           "saved": "saved but never verified",
           "confirmed": "verified and confirmed but never saved nor recorded",
           "verified": "verified but never recorded in the directory",
           "restoring": "its restore was interrupted",
           "restore_failed": "its restore had failed"}.get(entry.state, entry.state)
    if running == pre_image:
        ok, action = True, f"{why}; the device already runs the pre-image: nothing to undo"
    else:
        found = ("the intended result" if entry.after_sha256 == sha256(running)
                 else "part of the change" if entry.state in ("pushing", "pushed")
                 else "a config different from both pre-image and intended result")
        _revert_unconfirmed(entry, platform, conn, running)
        ok = restore_exactly(conn, platform, pre_image)
        action = (f"{why}; found {found}; restored the pre-image "
                  f"(sha256 {entry.pre_sha256[:12]}), read back identical" if ok else
                  f"{why}; found {found}; the pre-image could NOT be restored")
    journal.mark(entry.id, "restored" if ok else "restore_failed",
                 note=f"recovered by {journal.owner}: {action}"[:2000])
    _log(journal, entry, ok, action)
    return Recovered(entry.device, entry.id, entry.state, ok, action)


def _revert_unconfirmed(entry: Entry, platform: platforms.Platform, conn: Connection,
                        running: str) -> None:
    """A commit-confirmed push never confirmed, its timer not yet run out: the router's own
    revert first (IOS-XE's ``configure revert now`` ends the pending timer; Junos's
    ``rollback 1`` is this change's), only while the router runs what the push left."""
    cc = confirmed.of(platform)
    if (cc is None or entry.state not in ("pushed", "read_back") or not runs_commands(conn)
            or entry.after_sha256 not in (None, sha256(running))):
        return
    with suppress(GinError):  # the exact restore that follows is the proof either way
        confirmed.send(conn, cc.revert)


def _log(journal: Journal, entry: Entry, ok: bool, action: str) -> None:
    """The change log gets one ``recover`` row per resolved entry (no config text)."""
    with journal.engine.begin() as conn:
        conn.execute(insert(m.Change.__table__).values(
            time=m.utcnow(), actor=journal.owner.user, action="recover",
            object_type="device_change", object_id=entry.id, object_key=entry.device,
            before={"state": entry.state, "owner": entry.owner, "lines": len(entry.lines),
                    "pre_sha256": entry.pre_sha256},
            after={"state": "restored" if ok else "restore_failed", "action": action}))


def recover(sessions: Sessions, targets: Sequence[DeviceTarget]) -> list[Recovered]:
    """Resolve the orphaned entries of each device, one after another, each under its
    change lock (so a live change is never raced, and a dead owner's lock is taken over
    here).  A device whose restore fails is reported, and the others still recovered."""
    done: list[Recovered] = []
    for target in targets:
        with sessions.changing(target.hostname):
            if not sessions.journal.orphans([target.hostname]):
                continue
            try:
                done.extend(resolve(sessions.journal, target, sessions.get(target)))
            except GinError as exc:
                done.append(Recovered(target.hostname, 0, "?", False, str(exc)))
            finally:
                sessions.release(target.hostname)
    return done

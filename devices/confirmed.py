"""Commit-confirmed: a change the router itself takes back unless gin confirms it in time.

Where a platform has it (Junos ``commit confirmed N``, IOS-XE's ``configure terminal revert
timer N`` over its configuration archive) a change survives gin's death on the router's
side too: if gin is killed, loses its session or the machine goes away between the push and
the end of verification, the router reverts by itself after N minutes.  The journal still
records every change (recovery reverts it at once, without waiting for the timer); FRR and
the other platforms rely on the journal alone.

It is data, in the platform's ``platform.yaml`` (``commit.confirmed``)::

    minutes: 5                                  # the router reverts after this long
    enter: configure terminal revert timer {minutes}   # configuration-mode command of the push
    push_last: [commit confirmed {minutes}]     # configuration lines after the change's
    needs: ['^archive$']                        # regexes the running config must match
    confirm: {exec: [configure confirm]}        # after verification: keep the change
    revert: {exec: [configure revert now]}      # verification failed: take it back now

``confirm`` and ``revert`` send either exec commands (``exec``) or configuration lines
(``config``).  Without what ``needs`` asks (IOS-XE keeps the rollback in its archive) or
over a transport that cannot send exec commands, the change goes as a plain push.  The
sequences are golden-tested (tests/unit/devices/test_confirmed.py); no Junos or IOS-XE box
runs here, so they are unverified on a real router.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devices.errors import ConfigError

KEYS = {"minutes", "enter", "push_last", "needs", "confirm", "revert"}
MODES = ("exec", "config")


@dataclass(frozen=True)
class Commands:
    """Commands sent in one mode: ``exec`` (at the prompt) or ``config`` (a session)."""

    mode: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class ConfirmedCommit:
    """A platform's commit-confirmed, rendered (``{minutes}`` filled in)."""

    minutes: int
    enter: str | None
    push_last: tuple[str, ...]
    needs: tuple[str, ...]
    confirm: Commands
    revert: Commands

    def usable(self, running: str) -> bool:
        """Whether the router's running config has what the revert needs (its archive)."""
        return all(re.search(n, running, re.M) for n in self.needs)

    def push(self, lines: Sequence[str]) -> list[str]:
        """The configuration lines of a confirmed push: the change's, then ``push_last``."""
        return [*lines, *self.push_last]


def send(conn: Any, commands: Commands) -> None:
    """Send a commit-confirmed's exec commands, or its configuration lines."""
    if commands.mode == "exec":
        for command in commands.lines:
            conn.command(command)
    else:
        conn.configure(list(commands.lines))


def _commands(where: str, key: str, raw: Any, minutes: int) -> Commands:
    if (not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in MODES
            or not isinstance(lines := next(iter(raw.values())), list)
            or not lines or not all(isinstance(v, str) for v in lines)):
        raise ConfigError(f"{where}: commit.confirmed.{key} must be {{exec: [...]}} or "
                          f"{{config: [...]}} (a list of commands)")
    mode = next(iter(raw))
    return Commands(mode, tuple(v.format(minutes=minutes) for v in lines))


def parse(where: str, raw: Mapping[str, Any]) -> ConfirmedCommit:
    """A ``commit.confirmed`` mapping checked key by key (one clear error naming the file)."""
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key commit.confirmed.{unknown[0]} (known: "
                          f"{', '.join(sorted(KEYS))})")
    minutes = raw.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60:
        raise ConfigError(f"{where}: commit.confirmed.minutes must be a whole number of "
                          f"minutes from 1 to 60")
    for key in ("confirm", "revert"):
        if key not in raw:
            raise ConfigError(f"{where}: commit.confirmed lacks {key}")
    enter = raw.get("enter")
    if enter is not None and not isinstance(enter, str):
        raise ConfigError(f"{where}: commit.confirmed.enter must be a string")
    lists = {}
    for key in ("push_last", "needs"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: commit.confirmed.{key} must be a list of strings")
        lists[key] = tuple(value)
    for pattern in lists["needs"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: commit.confirmed.needs {pattern!r}: {exc}") from None
    if enter is None and not lists["push_last"]:
        raise ConfigError(f"{where}: commit.confirmed needs enter or push_last (how the "
                          f"push asks for a confirmed commit)")
    return ConfirmedCommit(
        minutes=minutes, enter=enter.format(minutes=minutes) if enter else None,
        push_last=tuple(v.format(minutes=minutes) for v in lists["push_last"]),
        needs=lists["needs"], confirm=_commands(where, "confirm", raw["confirm"], minutes),
        revert=_commands(where, "revert", raw["revert"], minutes))


def of(platform: Any) -> ConfirmedCommit | None:
    """The platform's commit-confirmed, or None when it has none."""
    raw = platform.commit_confirmed
    if raw is None:
        return None
    return parse(f"{platform.folder}/platform.yaml", raw)

"""The one way gin changes routers: read -> diff -> push -> read back -> save -> verify,
or restore exactly.

Every feature that pushes (links, VPN router sides, the GSI cut-off) describes what it
wants on each device as a :class:`DeviceChange` and hands the list to :func:`converge`:

- device by device, under that device's change lock (:class:`~devices.sessions.Sessions`):
  the running config is read (the *pre-image*), the change's ``diff`` gives the lines the
  device lacks, they are pushed, the config is read back and diffed again (a line the
  device silently refused is a failure: not every refusal is reported as an error), then
  saved;
- then, with no lock held, the caller's ``verify`` runs once over all devices;
- on a platform with commit-confirmed (:mod:`devices.confirmed`: Junos, IOS-XE with its
  archive) the push asks the router to revert by itself unless confirmed; such a device is
  confirmed, then saved, only once verification passed (each under its lock again), so a
  gin that dies in between leaves a router that takes the change back on its own;
- when any step after a push fails, every device pushed is put back: exactly to its
  pre-image, read back to confirm byte for byte (a commit still unconfirmed is first
  reverted by the router's own command).  A device another change of the same run
  touched since is not reset (that would undo the other change): an additive change then
  removes only the lines it added, keeping the pre-image's and ``keep``'s.

Each step is reported, before it starts and when it ends, with the device, the lines and
the configs involved, first to the sessions' journal (:mod:`devices.journal`: always, the
caller cannot turn it off), then to an optional :data:`Observer`; one that raises at a
step's start stops that step (no push happens without its record).  Restoring is never
stopped by an observer.  Before a device is changed, under its change lock (held across
processes), the journal entries a dead process left on it are resolved
(:mod:`devices.recovery`).  ``GIN_FAULT`` kills the process at a named step
(:mod:`devices.faults`), for crash tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from devices import configtree, confirmed, faults, platforms, recovery
from devices.confirmed import ConfirmedCommit
from devices.errors import GinError, TransportError
from devices.restore import RESTORE_PASSES, restore_exactly
from devices.sessions import Sessions
from devices.targets import DeviceTarget
from devices.transport import Connection, runs_commands


class Step(StrEnum):
    """The named steps of a change, in the order they run."""

    READ = "read"
    DIFF = "diff"
    PUSH = "push"
    READ_BACK = "read_back"
    SAVE = "save"
    VERIFY = "verify"
    CONFIRM = "confirm"  # a commit-confirmed device, after verification (then: save)
    RESTORE = "restore"


@dataclass(frozen=True)
class StepEvent:
    """One step starting or ending on one device (``device`` is None for verify).

    ``config`` is the pre-image at a push's and a restore's start (a journal writes it,
    with the lines, before the device is touched) and the running config a step read when
    it is done (read: the pre-image; read_back and restore: the image after them).  It
    may hold secrets (a VPN key): never log it.
    """

    step: Step
    state: Literal["start", "done", "failed"]
    device: str | None
    lines: tuple[str, ...] = ()
    config: str | None = field(default=None, repr=False)
    error: str | None = None


class Observer(Protocol):
    """Told of every step; raising at a step's start stops that step (see module doc)."""

    def __call__(self, event: StepEvent) -> None: ...


class ObserverRefused(GinError):
    """The observer (e.g. a journal) could not record a step, so the step was not run."""

    exit_code = 3


@dataclass
class Verification:
    """What verify found: each check by name, and the reasons of those that failed."""

    ok: bool = True
    checks: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def add(self, name: str, passed: bool, reason: str) -> None:
        self.checks[name] = passed
        if not passed:
            self.ok = False
            self.reasons.append(reason)


#: Verifies the devices of a change together; gets each device's shared connection.
Verify = Callable[[Mapping[str, Connection]], Verification]


@dataclass(frozen=True)
class DeviceChange:
    """What one device should become, as a function of what it runs.

    ``diff(running)`` returns the lines still to send ([] once the device is as wanted);
    the same function judges the read-back.  ``passes``: how many push rounds may be
    needed (removals: a parent's negation can make a child's refused, so the rest is
    recomputed and sent again; errors are then tolerated and the read-back is the proof).
    ``additive``: the lines only add configuration, so a late rollback may remove just
    them; ``keep``: other configs the run needs on this device, never removed by that.
    """

    target: DeviceTarget
    diff: Callable[[str], list[str]]
    tolerate_errors: bool = False
    passes: int = 1
    additive: bool = False
    keep: tuple[str, ...] = ()

    @property
    def hostname(self) -> str:
        return self.target.hostname

    @classmethod
    def toward(cls, target: DeviceTarget, intended: str,
               keep: Sequence[str] = ()) -> DeviceChange:
        """Add what ``intended`` has and the device lacks (nothing is removed)."""
        platform = platforms.get(target.platform)
        return cls(target, lambda running: configtree.missing(platform, running, intended),
                   additive=True, keep=tuple(keep))

    @classmethod
    def removing(cls, target: DeviceTarget, mine: str, shared: Sequence[str] = (),
                 passes: int = 3) -> DeviceChange:
        """Remove what only ``mine`` needs (never what ``shared`` needs too)."""
        platform = platforms.get(target.platform)
        shared = tuple(shared)
        return cls(target, lambda running: configtree.removal(platform, running, mine, shared),
                   tolerate_errors=True, passes=passes)


@dataclass
class DeviceOutcome:
    """What happened on one device."""

    hostname: str
    #: every line sent, in order (dry run: the lines that would be sent)
    lines: list[str] = field(default_factory=list)
    before: str | None = field(default=None, repr=False)  # the pre-image
    after: str | None = field(default=None, repr=False)  # read back after the push
    pushed: bool = False  # something was sent (perhaps only partly taken)
    saved: bool = False
    #: None: nothing to undo; True: back to the pre-image (or own lines removed), confirmed
    restored: bool | None = None
    restore_note: str = ""
    #: what recovery did first (entries a dead process left on this device)
    recovered: list[str] = field(default_factory=list)
    #: pushed as a commit-confirmed change: the router reverts it unless confirmed
    confirm: ConfirmedCommit | None = field(default=None, repr=False)
    confirmed: bool = False


Status = Literal["changed", "no change", "dry-run", "rolled back", "failed"]


@dataclass
class Convergence:
    """The result of one :func:`converge` call.

    ``status``: ``changed`` (pushed, read back, saved, verified), ``no change`` (nothing
    was missing, and it verified), ``dry-run``, ``rolled back`` (pushed but verification
    failed: see ``restored``), ``failed`` (a device could not be read, refused or did not
    take the change, or did not verify with nothing pushed).
    """

    status: Status = "failed"
    message: str = ""
    devices: dict[str, DeviceOutcome] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    failed_step: Step | None = None

    @property
    def diff(self) -> dict[str, list[str]]:
        """Lines per device (sent, or for a dry run to send)."""
        return {h: d.lines for h, d in self.devices.items()}

    @property
    def pushed(self) -> bool:
        return any(d.pushed for d in self.devices.values())

    @property
    def restored(self) -> bool | None:
        """None when nothing had to be undone, else whether every device was."""
        undone = [d.restored for d in self.devices.values() if d.restored is not None]
        return all(undone) if undone else None

    @property
    def ok(self) -> bool:
        return self.status in ("changed", "no change", "dry-run")


class _Run:
    """One converge call's state: the result, the connections, the observer."""

    def __init__(self, sessions: Sessions, observer: Observer | None) -> None:
        self.sessions = sessions
        self.journal = sessions.journal.run()
        self.observer = observer
        self.faults = faults.armed()
        self.result = Convergence()
        self.conns: dict[str, Connection] = {}

    def tell(self, event: StepEvent) -> None:
        self.journal(event)
        if self.faults:
            faults.strike(self.faults, event.step.value, event.state, event.device)
        if self.observer is not None:
            self.observer(event)

    @contextmanager
    def step(self, step: Step, device: str | None, lines: Sequence[str] = (),
             config: str | None = None) -> Iterator[dict[str, Any]]:
        """Report ``step`` around its work; the block fills ``note`` (lines, config)."""
        try:
            self.tell(StepEvent(step, "start", device, tuple(lines), config))
        except Exception as exc:
            self.result.failed_step = step
            raise ObserverRefused(f"{device or 'verify'}: {step} not started: the change "
                                  f"could not be recorded: {exc}") from exc
        note: dict[str, Any] = {}
        try:
            yield note
        except Exception as exc:
            self.result.failed_step = step
            with suppress(Exception):  # the failure itself is what the caller gets
                self.tell(StepEvent(step, "failed", device, tuple(lines), error=str(exc)))
            raise
        done = StepEvent(step, "done", device, tuple(note.get("lines", lines)),
                         note.get("config"))
        try:
            self.tell(done)
        except Exception as exc:
            self.result.failed_step = step
            raise ObserverRefused(f"{device or 'verify'}: {step} done but could not be "
                                  f"recorded: {exc}") from exc


def converge(sessions: Sessions, changes: Sequence[DeviceChange], *,
             verify: Verify | None = None, verify_unchanged: bool = True,
             dry_run: bool = False, observer: Observer | None = None) -> Convergence:
    """Apply ``changes`` one device after another, verify them together, or restore.

    ``verify_unchanged=False`` skips verification when no device needed a change.  Devices
    are changed in the order given; a device's lock is held only while it is changed
    (a change never holds one device while it changes another).
    """
    run = _Run(sessions, observer)
    res = run.result
    applied: list[DeviceChange] = []
    try:
        for change in changes:
            out = res.devices[change.hostname] = DeviceOutcome(change.hostname)
            with (sessions.lock(change.hostname) if dry_run
                  else sessions.changing(change.hostname)):
                try:
                    if not dry_run:
                        _recover(run, change, out)
                    _apply(run, change, out, dry_run)
                except Exception:
                    if out.pushed:  # undo it now, before anything else can touch it
                        _restore(run, change, out, untouched=True)
                    raise
            if out.pushed:
                applied.append(change)
        if dry_run:
            res.status, res.message = "dry-run", "nothing pushed (dry run)"
            return res
        if verify is not None and (verify_unchanged or res.pushed):
            check = _verify(run, verify)
            res.checks, res.reasons = check.checks, check.reasons
            if not check.ok:
                res.message = "; ".join(check.reasons)
                if not res.pushed:
                    res.status = "failed"
                    return res
                res.status = "rolled back"
                _restore_all(run, applied)
                res.message += ("; restored the previous running config" if res.restored
                                else "; ROLLBACK INCOMPLETE: check the devices")
                return res
        _confirm_all(run, applied)
        if res.pushed:
            res.status = "changed"
            res.message = "verified" if verify is not None else "pushed and read back"
        else:
            res.status, res.message = "no change", "already as intended"
        return res
    except GinError as exc:
        res.status, res.message = "failed", str(exc)
        _restore_all(run, applied)
        if res.restored is False:
            res.message += "; ROLLBACK INCOMPLETE: check the devices"
        return res
    except Exception:
        _restore_all(run, applied)  # an unexpected error still leaves no half change
        raise


def read(sessions: Sessions, target: DeviceTarget, observer: Observer | None = None,
         release: bool = False) -> str:
    """The device's running config, read under its change lock (never mid-change by this
    run): what backups store.  Reported to ``observer`` as a read step; ``release`` closes
    the device's connection afterwards (a run that visits each device once)."""
    run = _Run(sessions, observer)
    platform = platforms.get(target.platform)
    with sessions.lock(target.hostname):
        try:
            with run.step(Step.READ, target.hostname) as note:
                text: str = sessions.get(target).show(platform.show_running)
                note["config"] = text
        finally:
            if release:
                sessions.release(target.hostname)
    return text


def _recover(run: _Run, change: DeviceChange, out: DeviceOutcome) -> None:
    """Resolve what a dead process left on the device before changing it (lock held)."""
    if not run.sessions.journal.orphans([change.hostname]):
        return
    conn = run.conns[change.hostname] = run.sessions.get(change.target)
    out.recovered = [str(r) for r in recovery.resolve(run.sessions.journal, change.target,
                                                      conn)]


def _apply(run: _Run, change: DeviceChange, out: DeviceOutcome, dry_run: bool) -> None:
    """Read, diff, push, read back (pass after pass), save: one device, its lock held."""
    host = change.hostname
    platform = platforms.get(change.target.platform)
    with run.step(Step.READ, host) as note:
        conn = run.conns[host] = run.sessions.get(change.target)
        out.before = note["config"] = conn.show(platform.show_running)
    with run.step(Step.DIFF, host) as note:
        lines = note["lines"] = change.diff(out.before)
    out.lines = list(lines)
    if dry_run or not lines:
        return
    run.journal.secret_lines[host] = platform.secret_lines  # kept sealed in the journal
    cc = confirmed.of(platform)
    if cc is not None and cc.usable(out.before) and runs_commands(conn):
        out.confirm = cc
    passes = max(1, change.passes)
    for attempt in range(1, passes + 1):
        with run.step(Step.PUSH, host, lines, out.before):
            out.pushed = True  # from here on a failure may have left part of it
            if out.confirm is not None:  # the router reverts it unless confirmed
                conn.configure(out.confirm.push(lines), change.tolerate_errors,
                               enter=out.confirm.enter)  # type: ignore[call-arg]
            else:
                conn.configure(lines, change.tolerate_errors)
        with run.step(Step.READ_BACK, host) as note:
            now = note["config"] = conn.show(platform.show_running)
            left = note["lines"] = change.diff(now)
            if left and attempt == passes:
                shown = "; ".join(ln.strip() for ln in left[:3])
                raise TransportError(f"{host}: the device did not take {len(left)} "
                                     f"line(s): {shown}")
        if not left:
            break
        out.lines.extend(left)
        lines = left
    out.after = now
    if out.confirm is not None:
        return  # saved once confirmed, after verification (_confirm_all)
    with run.step(Step.SAVE, host):
        conn.save()
    out.saved = True


def _confirm_all(run: _Run, applied: Sequence[DeviceChange]) -> None:
    """Confirm, then save, each commit-confirmed device (verification passed), each under
    its lock; a failure raises, and the run is rolled back."""
    for change in applied:
        out = run.result.devices[change.hostname]
        if out.confirm is None or out.confirmed:
            continue
        conn = run.conns[change.hostname]
        with run.sessions.changing(change.hostname):
            with run.step(Step.CONFIRM, change.hostname, out.confirm.confirm.lines):
                confirmed.send(conn, out.confirm.confirm)
            out.confirmed = True
            with run.step(Step.SAVE, change.hostname):
                conn.save()
            out.saved = True


def _verify(run: _Run, verify: Verify) -> Verification:
    """The caller's checks over every device's connection; a device that stops answering
    fails verification (it is not a crash)."""
    check = Verification()
    try:
        run.tell(StepEvent(Step.VERIFY, "start", None))
    except Exception as exc:
        check.add("verification", False, f"verification not started: it could not be "
                                         f"recorded: {exc}")
    else:
        try:
            check = verify(run.conns)
        except GinError as exc:
            check.add("verification", False, f"verification could not run: {exc}")
        try:
            run.tell(StepEvent(Step.VERIFY, "done" if check.ok else "failed", None,
                               error=None if check.ok else "; ".join(check.reasons)))
        except Exception as exc:
            check.add("verification recorded", False, f"verified, but that could not be "
                                                      f"recorded: {exc}")
    if not check.ok:
        run.result.failed_step = Step.VERIFY
    return check


def _restore_all(run: _Run, applied: Sequence[DeviceChange]) -> None:
    """Undo every device already changed (each under its lock), last changed first."""
    for change in reversed(applied):
        out = run.result.devices[change.hostname]
        if out.restored is not None:
            continue
        with run.sessions.changing(change.hostname):
            _restore(run, change, out, untouched=False)


def _restore(run: _Run, change: DeviceChange, out: DeviceOutcome, untouched: bool) -> None:
    """Put one device back (its lock held); ``untouched``: the lock was held since the
    push, so nothing else can have changed it."""
    host = change.hostname
    platform = platforms.get(change.target.platform)
    try:
        run.tell(StepEvent(Step.RESTORE, "start", host, config=out.before))
    except Exception as exc:  # a record that cannot be written never stops a restore
        out.restore_note = f"restore not recorded: {exc}"
    try:
        conn = run.conns[host]
        now = conn.show(platform.show_running)
        if out.confirm is not None and not out.confirmed and (untouched or now == out.after):
            with suppress(GinError):  # no timer left (it ran out): the exact restore will do
                confirmed.send(conn, out.confirm.revert)  # the router's own way back, at once
            now = conn.show(platform.show_running)
            untouched = True  # back at (or toward) the pre-image: finish it exactly
        if untouched or now == out.after:
            out.restored = restore_exactly(conn, platform, out.before or "")
        elif change.additive:
            out.restored = _remove_own(conn, platform, now, out, change.keep)
            out.restore_note = "changed since by another change: only its own lines removed"
        else:
            out.restored = False
            out.restore_note = "changed since by another change: not restored"
        state = "done" if out.restored else "failed"
        after = conn.show(platform.show_running)
        error = None if out.restored else (out.restore_note or "not back to the pre-image")
    except GinError as exc:
        out.restored, state, after, error = False, "failed", None, str(exc)
    try:
        run.tell(StepEvent(Step.RESTORE, state, host, config=after, error=error))
    except Exception as exc:
        out.restore_note = f"restore not recorded: {exc}"


def _remove_own(conn: Connection, platform: platforms.Platform, now: str, out: DeviceOutcome,
                keep: Sequence[str]) -> bool:
    """Remove only the lines this change added, keeping the pre-image's and ``keep``'s."""
    mine = "\n".join(out.lines) + "\n"
    kept = [out.before or "", *keep]
    for _ in range(RESTORE_PASSES):
        lines = configtree.removal(platform, now, mine, kept)
        if not lines:
            break
        conn.configure(lines, tolerate_errors=True)
        now = conn.show(platform.show_running)
    conn.save()
    return not configtree.removal(platform, now, mine, kept)

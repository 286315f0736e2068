"""Crash recovery of a tunnel's Linux gateway sides (journaled by
:mod:`vpn.gateway_journal`; run by :func:`vpn.deploy.recover_gateways`).

For an unfinished gateway entry whose owner is gone: when every gateway side of that deploy
had verified and still holds its intended image, the deploy is recorded (the tunnel ``up``,
a ``vpn-deploy`` event; a withdraw: ``planned``) in the transaction that ends the entries;
otherwise each gateway gets its pre-image back (its files byte for byte, the connection
reloaded or unloaded, the interface synced, re-created or removed), which is read back.
Each resolved entry gets a ``recover`` row in the change log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert

from devices.errors import GinError
from devices.journal import Entry, Journal, opened
from devices.recovery import Recovered
from directory import models as m
from directory import store
from directory.changelog import log_event
from directory.store import Directory
from vpn import pki
from vpn.gateway import Gateway
from vpn.gateway_journal import Head, Image
from vpn.render import linux_gateway
from vpn.tunnels import complete_rotation, get_tunnel, pending_rotation


@dataclass(frozen=True)
class GatewayOps:
    """How to read and put back a gateway's image (:mod:`vpn.deploy` provides them: it owns
    the files, VICI and ``wg``; this module is below it)."""

    #: (gateway, tunnel type, tunnel, files) -> what the gateway holds for the tunnel now
    capture: Callable[[Gateway, str, str, Sequence[str]], Image]
    #: (gateway, tunnel type, tunnel, pre-image, intended) -> the pre-image put back
    put_back: Callable[[Gateway, str, str, Image, Image], None]


def _images(entry: Entry) -> tuple[Image, Image]:
    return (Image.of(entry.image()),
            Image.of(opened(entry.lines[1], entry.run_id, entry.device)))


def recover(directory: Directory, ops: GatewayOps, hosts: Sequence[str] = (),
            gateway_of: Callable[[m.Device], Gateway] = Gateway.of) -> list[Recovered]:
    """Resolve the gateway entries dead processes left (all, or ``hosts``'), per deploy."""
    journal = Journal(directory.engine)
    runs: dict[str, list[Entry]] = {}
    for entry in journal.orphans(hosts, gateways=True):
        runs.setdefault(entry.run_id, []).append(entry)
    done: list[Recovered] = []
    for entries in runs.values():
        try:
            done.extend(_resolve_run(journal, directory, entries, ops, gateway_of))
        except (GinError, OSError, ValueError) as exc:
            done.extend(Recovered(e.device, e.id, e.state, False, str(exc)) for e in entries)
    return done


def _resolve_run(journal: Journal, directory: Directory, entries: list[Entry],
                 ops: GatewayOps, gateway_of: Callable[[m.Device], Gateway]) -> list[Recovered]:
    heads = [Head.of(e.lines[0]) for e in entries]
    type_, tunnel = heads[0].type, heads[0].tunnel
    with directory.transaction() as s:
        t = get_tunnel(s, tunnel)
        all_gateways = all(linux_gateway(d.platform) for d in (t.a_device, t.b_device))
        gws = {e.device: gateway_of(store.get_device(s, e.device)) for e in entries}
    images = {e.id: _images(e) for e in entries}
    found = {e.id: ops.capture(gws[e.device], type_, tunnel, list(images[e.id][0].files))
             for e in entries}
    if (all_gateways and len(entries) == 2 and all(e.state == "verified" for e in entries)
            and all(found[e.id].holds(images[e.id][1]) for e in entries)):
        if any(h.withdraw for h in heads):
            return _record_withdrawal(journal, directory, entries, tunnel)
        action = "verified but never recorded; found the intended result: recorded it"
        with directory.transaction() as s:
            t = get_tunnel(s, tunnel)
            for serial in sorted({h.serial for h in heads if h.serial}):
                pki.mark_deployed(s, serial)
            if any(h.pending for h in heads) and pending_rotation(s, t) is not None:
                complete_rotation(s, tunnel)
            t.status = "up"
            log_event(s, "vpn-deploy", t, {"result": "changed", "reason": None,
                                           "message": "recorded by recovery",
                                           "restored": None})
            journal.close([e.id for e in entries], s, f"recovered by {journal.owner}: "
                                                      f"{action}")
        out = [Recovered(e.device, e.id, e.state, True, action) for e in entries]
        for r, e in zip(out, entries, strict=True):
            _log(journal, e, "done", r.action)
        return out
    out = []
    for e in entries:
        pre, want = images[e.id]
        now = found[e.id]
        what = ("the intended result" if now.holds(want) else "part of the change")
        if now == pre:
            ok, action = True, f"{e.state}: found the pre-image: nothing to undo"
        else:
            ops.put_back(gws[e.device], type_, tunnel, pre, want)
            ok = ops.capture(gws[e.device], type_, tunnel, list(pre.files)) == pre
            action = (f"{e.state}: found {what}; " + (
                f"restored the pre-image (sha256 {e.pre_sha256[:12]}), read back identical"
                if ok else "the pre-image could NOT be restored"))
        journal.mark(e.id, "restored" if ok else "restore_failed",
                     note=f"recovered by {journal.owner}: {action}"[:2000])
        _log(journal, e, "restored" if ok else "restore_failed", action)
        out.append(Recovered(e.device, e.id, e.state, ok, action))
    return out


def _record_withdrawal(journal: Journal, directory: Directory, entries: list[Entry],
                       tunnel: str) -> list[Recovered]:
    """Both gateways had verified the removal and hold nothing for the tunnel: record it
    ``planned``, as the withdraw would have, in the transaction that ends the entries."""
    action = "withdrawal verified but never recorded; found nothing held: recorded it"
    with directory.transaction() as s:
        get_tunnel(s, tunnel).status = "planned"
        journal.close([e.id for e in entries], s, f"recovered by {journal.owner}: {action}")
    out = [Recovered(e.device, e.id, e.state, True, action) for e in entries]
    for e in entries:
        _log(journal, e, "done", action)
    return out


def _log(journal: Journal, entry: Entry, state: str, action: str) -> None:
    """One ``recover`` row in the change log per resolved entry (no file text)."""
    with journal.engine.begin() as conn:
        conn.execute(insert(m.Change.__table__).values(
            time=m.utcnow(), actor=journal.owner.user, action="recover",
            object_type="device_change", object_id=entry.id, object_key=entry.device,
            before={"state": entry.state, "owner": entry.owner,
                    "pre_sha256": entry.pre_sha256},
            after={"state": state, "action": action}))

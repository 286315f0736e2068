"""The change journal of a tunnel's Linux gateway sides, and their crash recovery.

A router's change is journaled by :func:`devices.converge.converge`; a strongSwan or
WireGuard gateway is changed by :mod:`vpn.deploy` itself (files, VICI, ``wg``), so this
module writes its entries, in the same table through the same :class:`devices.journal.Journal`.
Before a gateway side is touched its entry holds the gateway's *pre-image* (the files gin
manages there for the tunnel and whether its connection or interface is loaded), the
intended image, and the owner.  Both images hold PSKs or private keys, so they are sealed
(refused without a sealing key, before anything is touched).  The entry moves ``pushing``
-> ``pushed`` -> ``read_back`` -> ``verified`` and ends ``done`` in the transaction that
records the tunnel's outcome, or ``restoring`` -> ``restored``.  A withdraw journals its
gateway sides the same way, its intended image being nothing held (no file, nothing loaded).

Recovery (:func:`vpn.gateway_recovery.recover_gateways`) resolves an unfinished entry whose
owner is gone: it records the deploy when every gateway side had verified and still holds
its intended image (a withdraw: records the tunnel ``planned``), else puts each gateway's
pre-image back.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from devices import faults
from devices.journal import GATEWAY, Journal, sha256

#: what makes a gateway image secret (a PSK, a WireGuard or X.509 private key)
SECRETS = (r"secret\s*=", r"PrivateKey", r"PRIVATE KEY")


@dataclass(frozen=True)
class Image:
    """What a gateway holds for one tunnel: its managed files (None: absent) and whether
    the tunnel's connection (strongSwan) or interface (WireGuard) is loaded."""

    files: dict[str, str | None]
    loaded: bool
    #: a certificate tunnel's: the private keys charon holds (None: not known, intended)
    keys: tuple[str, ...] | None = None

    def text(self) -> str:
        return json.dumps({"files": self.files, "loaded": self.loaded,
                           "keys": None if self.keys is None else list(self.keys)},
                          sort_keys=True)

    @classmethod
    def of(cls, text: str) -> Image:
        data = json.loads(text)
        keys = data.get("keys")
        return cls(dict(data["files"]), bool(data["loaded"]),
                   None if keys is None else tuple(keys))

    def holds(self, other: Image) -> bool:
        """The same files and loaded state (keys compared only when both know them)."""
        return (self.files == other.files and self.loaded == other.loaded
                and (self.keys is None or other.keys is None or self.keys == other.keys))


@dataclass(frozen=True)
class Head:
    """The first line of a gateway entry, read back."""

    type: str
    tunnel: str
    key: str
    pending: bool
    serial: str | None
    #: a withdraw's entry (intended: nothing held), not a deploy's
    withdraw: bool = False

    @classmethod
    def of(cls, line: str) -> Head:
        _, type_, tunnel, key, *extra = line.split()
        serial = next((x.removeprefix("serial=") for x in extra if x.startswith("serial=")),
                      None)
        return cls(type_, tunnel, key, "pending" in extra, serial, "withdraw" in extra)


class GatewayJournal:
    """The journal entries of one tunnel deploy's gateway sides (one run id)."""

    def __init__(self, journal: Journal, type_: str, tunnel: str) -> None:
        self.journal = journal
        self.type, self.tunnel = type_, tunnel
        self.run_id = str(uuid.uuid4())
        journal.runs.append(self.run_id)  # ends with the record: Journal.finish
        self.entries: dict[str, int] = {}
        self.faults = faults.armed()

    def strike(self, when: str, step: str, host: str) -> None:
        """The crash-test hook (``GIN_FAULT``), after the journal write of the step."""
        faults.strike(self.faults, step, faults.WHEN[when], host)

    def open(self, host: str, key: str, pre: Image, want: Image, pending: bool = False,
             serial: str | None = None, withdraw: bool = False) -> None:
        """Write the side's entry before its gateway is touched (no entry: no push);
        images holding a secret are sealed (none: refused, nothing touched).  ``pending``:
        the deploy loads a pending rotation's secrets; ``serial``: the gateway certificate
        it loads (what recovery records when the deploy had verified); ``withdraw``: the
        change removes the tunnel (recovery records ``planned``, not ``up``)."""
        head = " ".join([f"{GATEWAY}{self.type} {self.tunnel} {key}",
                         *(["pending"] if pending else []),
                         *(["withdraw"] if withdraw else []),
                         *([f"serial={serial}"] if serial else [])])
        self.entries[host] = self.journal.open_entry(
            self.run_id, host, pre.text(), [head, want.text()],
            SECRETS, after_sha256=sha256(want.text()))
        self.strike("before", "push", host)

    def mark(self, host: str, state: str, step: str) -> None:
        if host in self.entries:
            self.journal.mark(self.entries[host], state)
            self.strike("after", step, host)

    def verified(self, host: str) -> None:
        """Every side loaded (and the tunnel up, when verified): only the record is left."""
        for entry_id in self.entries.values():
            self.journal.mark_if(entry_id, ("read_back",), "verified")
        self.strike("after", "verify", host)

"""An IOS-XE router's configuration in memory, for the platforms gin cannot run here.

No Cisco box runs on this machine: :class:`IosBox` keeps a running config as a tree and
does with configuration lines what IOS does (a line enters or adds to its section by
indentation, ``no X`` removes X, a rejected line is reported and the rest still taken,
``write memory`` copies running to startup; with an ``archive`` configured,
``configure terminal revert timer N`` keeps the config it entered with until ``configure
confirm``, and ``configure revert now`` goes back to it -- IOS-XE's Configuration Replace
and Rollback as its documentation describes it).  :class:`IosRouters` is the transport that
reaches the boxes through the :class:`devices.transport.Connection` contract, the one
Netmiko and Ansible implement; the FRR lab tests run the same code against real routers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from hier_config import HConfig, Platform, get_hconfig

from devices.errors import TransportError
from devices.targets import DeviceTarget

CLOSERS = ("exit", "exit-address-family", "end")


class IosBox:
    """One router: ``refuse`` lines starting with these with ``% Invalid input``;
    ``ignore`` drops lines starting with these silently (as FRR does some)."""

    def __init__(self, hostname: str, running: str, refuse: Iterable[str] = (),
                 ignore: Iterable[str] = ()) -> None:
        self.hostname = hostname
        self.tree = get_hconfig(Platform.CISCO_IOS, running)
        self.startup = self.text()
        self.refuse = tuple(refuse)
        self.ignore = tuple(ignore)
        self.sent: list[list[str]] = []
        self.saves = 0
        #: everything sent, in order: ("config", mode command, lines) / ("exec", command)
        self.wire: list[tuple] = []
        self.archived: str | None = None  # entered with a revert timer, not yet confirmed

    def text(self) -> str:
        """``show running-config``: top-level sections in IOS's fixed order (sorted here),
        entries inside a section in the order they were added."""
        out = []
        for child in sorted(self.tree.children, key=lambda c: c.text):
            out.append(child.text)
            out.extend(" " * (line.depth() - 1) + line.text for line in child.all_children())
            out.append("!")
        return "\n".join(out) + "\nend\n"

    def configure(self, lines: list[str], tolerate_errors: bool,
                  enter: str = "configure terminal") -> str:
        self.sent.append(list(lines))
        self.wire.append(("config", enter, list(lines)))
        if enter.startswith("configure terminal revert timer"):
            if "archive" not in self.text().splitlines():
                raise TransportError(f"{self.hostname}: % Archive not configured")
            if self.archived is None:
                self.archived = self.text()
        elif enter != "configure terminal":
            raise TransportError(f"{self.hostname}: % Invalid input: {enter}")
        stack: list[HConfig] = [self.tree]  # type: ignore[list-item]
        rejected = []
        for raw in lines:
            text = raw.strip()
            depth = min(len(raw) - len(raw.lstrip(" ")), len(stack) - 1)
            if not text or text in CLOSERS:
                continue
            parent = stack[depth]
            del stack[depth + 1:]
            if text.startswith(self.refuse):
                rejected.append(text)
                continue
            if text.startswith(self.ignore):
                continue
            if text.startswith("no "):
                gone = text[3:]
                for child in list(parent.children):
                    if child.text == gone or child.text.startswith(gone + " "):
                        parent.children.delete(child)
                continue
            child = parent.get_child(equals=text) or parent.add_child(text)
            stack.append(child)
        output = "".join(f"{t}\n% Invalid input detected at '^' marker.\n" for t in rejected)
        if rejected and not tolerate_errors:
            raise TransportError(f"{self.hostname}: the device rejected the change: "
                                 f"{rejected[0]}")
        return output


    def command(self, command: str) -> str:
        """Exec commands of the rollback: ``configure confirm``, ``configure revert now``."""
        self.wire.append(("exec", command))
        if command not in ("configure confirm", "configure revert now"):
            raise TransportError(f"{self.hostname}: % Invalid input: {command}")
        if self.archived is None:
            raise TransportError(f"{self.hostname}: % No rollback timer is running")
        if command == "configure revert now":
            self.tree = get_hconfig(Platform.CISCO_IOS, self.archived)
        self.archived = None
        return ""


class IosConnection:
    def __init__(self, box: IosBox) -> None:
        self.box = box

    def show(self, command: str) -> str:
        assert command == "show running-config", command
        return self.box.text()

    def configure(self, lines: list[str], tolerate_errors: bool = False,
                  enter: str = "configure terminal") -> str:
        return self.box.configure(lines, tolerate_errors, enter)

    def command(self, command: str) -> str:
        return self.box.command(command)

    def save(self) -> None:
        self.box.startup = self.box.text()
        self.box.saves += 1
        self.box.wire.append(("exec", "write memory"))

    def close(self) -> None:
        pass


class IosRouters:
    """The transport reaching the boxes, by host name."""

    name = "ios-box"

    def __init__(self, *boxes: IosBox) -> None:
        self.boxes = {b.hostname: b for b in boxes}

    def connect(self, target: DeviceTarget) -> IosConnection:
        if target.hostname not in self.boxes:
            raise TransportError(f"{target.hostname}: cannot connect to {target.host}:"
                                 f"{target.port}: no route to host")
        return IosConnection(self.boxes[target.hostname])


class FileConnection:
    """An :class:`IosBox` whose state lives in a file, read and written at every command:
    the router outlives the gin process that talks to it (crash tests kill that process)."""

    def __init__(self, hostname: str, path: Path) -> None:
        self.hostname = hostname
        self.path = path

    def _box(self) -> IosBox:
        state = json.loads(self.path.read_text())
        box = IosBox(self.hostname, state["running"])
        box.startup, box.archived = state["startup"], state.get("archived")
        return box

    def _keep(self, box: IosBox) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"running": box.text(), "startup": box.startup,
                                   "archived": box.archived}))
        tmp.replace(self.path)  # a kill never leaves half a file

    def show(self, command: str) -> str:
        assert command == "show running-config", command
        return self._box().text()

    def configure(self, lines: list[str], tolerate_errors: bool = False,
                  enter: str = "configure terminal") -> str:
        box = self._box()
        try:
            return box.configure(lines, tolerate_errors, enter)
        finally:
            self._keep(box)

    def command(self, command: str) -> str:
        box = self._box()
        try:
            return box.command(command)
        finally:
            self._keep(box)

    def save(self) -> None:
        box = self._box()
        box.startup = box.text()
        self._keep(box)

    def close(self) -> None:
        pass


class FileRouters:
    """The transport reaching file-backed boxes in ``folder`` (``<hostname>.json``)."""

    name = "file-box"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def create(folder: Path, hostname: str, running: str) -> None:
        conn = FileConnection(hostname, folder / f"{hostname}.json")
        conn._keep(IosBox(hostname, running))

    def connect(self, target: DeviceTarget) -> FileConnection:
        path = self.folder / f"{target.hostname}.json"
        if not path.exists():
            raise TransportError(f"{target.hostname}: cannot connect to {target.host}:"
                                 f"{target.port}: no route to host")
        return FileConnection(target.hostname, path)

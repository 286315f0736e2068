"""An IOS-XE router's configuration in memory, for the platforms gin cannot run here.

No Cisco box runs on this machine: :class:`IosBox` keeps a running config as a tree and
does with configuration lines what IOS does (a line enters or adds to its section by
indentation, ``no X`` removes X, a rejected line is reported and the rest still taken,
``write memory`` copies running to startup).  :class:`IosRouters` is the transport that
reaches the boxes through the :class:`devices.transport.Connection` contract, the one
Netmiko and Ansible implement; the FRR lab tests run the same code against real routers.
"""

from __future__ import annotations

from collections.abc import Iterable

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

    def text(self) -> str:
        """``show running-config``: top-level sections in IOS's fixed order (sorted here),
        entries inside a section in the order they were added."""
        out = []
        for child in sorted(self.tree.children, key=lambda c: c.text):
            out.append(child.text)
            out.extend(" " * (line.depth() - 1) + line.text for line in child.all_children())
            out.append("!")
        return "\n".join(out) + "\nend\n"

    def configure(self, lines: list[str], tolerate_errors: bool) -> str:
        self.sent.append(list(lines))
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


class IosConnection:
    def __init__(self, box: IosBox) -> None:
        self.box = box

    def show(self, command: str) -> str:
        assert command == "show running-config", command
        return self.box.text()

    def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
        return self.box.configure(lines, tolerate_errors)

    def save(self) -> None:
        self.box.startup = self.box.text()
        self.box.saves += 1

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

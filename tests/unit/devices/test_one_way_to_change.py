"""Every router change goes through devices.converge: no other module sends configuration
lines to a device connection (the journal that will wrap converge must see every push)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("devices", "links", "vpn", "monitor", "audit", "gin")
#: the connection contract itself, its implementations and wrappers, converge and the
#: exact restore and commit-confirmed commands it shares with crash recovery
ALLOWED = {"devices/converge.py", "devices/sessions.py", "devices/restore.py",
           "devices/confirmed.py",
           "devices/transport/__init__.py", "devices/transport/netmiko.py",
           "devices/transport/ansible.py"}


def pushes(path: Path) -> list[int]:
    """Lines calling ``<something>.configure(<lines>...)`` (a device connection's push)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("configure", "send_config_set") and node.args):
            found.append(node.lineno)
    return found


def test_only_converge_pushes_to_devices():
    wrong = [f"{path.relative_to(ROOT)}:{line}"
             for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if str(path.relative_to(ROOT)) not in ALLOWED for line in pushes(path)]
    assert not wrong, f"push outside devices.converge: {wrong}"


def test_the_scan_finds_a_push(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(conn):\n    conn.configure(['hostname x'])\n")
    assert pushes(bad) == [2]

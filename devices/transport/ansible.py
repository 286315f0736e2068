"""The Ansible transport: the same Connection contract, carried out by ansible-runner.

Each call runs a playbook shipped in ``devices/ansible_content/`` against one device of an
inventory built from the directory (``ansible_network_os`` from the platform table, connection
``ansible.netcommon.network_cli``).  Results are read from the runner's per-host events
(``runner_on_ok`` / ``runner_on_failed`` / ``runner_on_unreachable``), never from stdout.
Organisations that run AWX or Ansible Automation Platform can run the same playbooks.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devices import platforms
from devices.ansible_content import playbooks_dir
from devices.errors import ConfigError, TransportError
from devices.secrets import resolve
from devices.targets import DeviceTarget
from devices.transport import Connection, RawHostFiles

PLAYBOOKS = playbooks_dir()
COLLECTIONS_ENV = "GIN_ANSIBLE_COLLECTIONS"


def collections_path() -> str | None:
    """Where extra collections live (frr.frr, which current ``ansible`` no longer ships)."""
    env = os.environ.get(COLLECTIONS_ENV)
    if env:
        return env
    venv = Path(os.environ.get("VIRTUAL_ENV") or sys.prefix)
    local = venv / "share" / "gin" / "collections"
    return str(local) if local.is_dir() else None


class AnsibleConnection:
    """One device, reached by running playbooks limited to it."""

    def __init__(self, transport: AnsibleTransport, target: DeviceTarget,
                 hostvars: dict[str, Any]) -> None:
        self.transport = transport
        self.target = target
        self.hostvars = hostvars

    def _run(self, playbook: str, extravars: dict[str, Any]) -> dict[str, Any]:
        return self.transport.run(self.target, self.hostvars, playbook, extravars)

    def show(self, command: str) -> str:
        return self.show_many([command])[0]

    def show_many(self, commands: list[str]) -> list[str]:
        """All commands in one playbook run (one SSH session): a run costs seconds."""
        if not commands:
            return []
        res = self._run("gin_commands.yml", {"gin_commands": list(commands)})
        items = res.get("results")
        if not isinstance(items, list) or len(items) != len(commands):
            raise TransportError(f"{self.target.hostname}: Ansible returned "
                                 f"{len(items) if isinstance(items, list) else 'no'} results "
                                 f"for {len(commands)} commands")
        return [str(item.get("stdout", "")) for item in items]

    def configure(self, lines: list[str], tolerate_errors: bool = False) -> str:
        try:
            res = self._run("gin_link.yml", {"gin_lines": lines, "gin_save": False})
        except TransportError:
            if tolerate_errors:
                return ""
            raise
        return "\n".join(res.get("commands", []) or [])

    def save(self) -> None:
        self._run("gin_link.yml", {"gin_lines": [], "gin_save": True})

    def close(self) -> None:
        """Nothing stays open between playbook runs."""


class AnsibleTransport:
    """Opens 'connections' that are inventories of one host; credentials resolved late."""

    name = "ansible"

    def __init__(self, timeout: float = 30, playbooks: str | None = None) -> None:
        self.timeout = timeout
        self.playbooks = Path(playbooks) if playbooks else PLAYBOOKS

    def connect(self, target: DeviceTarget) -> Connection:
        try:
            import ansible_runner  # noqa: F401
        except ImportError:
            raise ConfigError("the Ansible transport needs ansible-runner and ansible: "
                              "pip install ansible ansible-runner ansible-pylibssh") from None
        _find_ansible_playbook()
        platform = platforms.get(target.platform)
        if platform.ansible_network_os is None:
            raise ConfigError(f"{target.hostname}: platform {platform.name} has no Ansible "
                              "network OS")
        cred = resolve(target.credential_ref)
        if not isinstance(cred, dict) or "username" not in cred:
            raise ConfigError(f"{target.hostname}: credential {target.credential_ref} must hold "
                              "username and password or key_file")
        hostvars: dict[str, Any] = {
            "ansible_host": target.host, "ansible_port": target.port,
            "ansible_network_os": platform.ansible_network_os,
            "ansible_user": cred["username"].reveal(),
            "ansible_command_timeout": int(self.timeout * 3),
            "ansible_connect_timeout": int(self.timeout),
        }
        if cred.get("key_file"):
            hostvars["ansible_ssh_private_key_file"] = cred["key_file"].reveal()
        if cred.get("password"):
            hostvars["ansible_password"] = cred["password"].reveal()
        return AnsibleConnection(self, target, hostvars)

    def read_host_files(self, target: DeviceTarget, patterns: Sequence[str],
                        max_bytes: int) -> RawHostFiles:
        """Refused: network_cli sessions land in the device CLI and have no file channel."""
        raise ConfigError("host files are read over SFTP: use the netmiko transport "
                          "(--via netmiko); the Ansible transport has no file channel")

    def run(self, target: DeviceTarget, hostvars: dict[str, Any], playbook: str,
            extravars: dict[str, Any]) -> dict[str, Any]:
        """Run ``playbook`` on one host; return the last task result, raise on failure."""
        import ansible_runner

        work = Path(tempfile.mkdtemp(prefix="gin-ansible-"))
        try:
            os.chmod(work, 0o700)  # inventory may hold a password: owner only, removed after
            envvars = {"ANSIBLE_HOST_KEY_CHECKING": "False",
                       "ANSIBLE_NETWORK_CLI_SSH_TYPE": "libssh",
                       "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": str(int(self.timeout * 3)),
                       "ANSIBLE_NOCOLOR": "1"}
            cols = collections_path()
            if cols:
                envvars["ANSIBLE_COLLECTIONS_PATH"] = cols
            runner = ansible_runner.run(
                private_data_dir=str(work), playbook=str(self.playbooks / playbook),
                inventory={"all": {"hosts": {target.hostname: hostvars}}},
                extravars=extravars, envvars=envvars, quiet=True, json_mode=False,
                suppress_env_files=True, timeout=int(self.timeout * 10),
            )
            return _result(runner, target.hostname)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _find_ansible_playbook() -> None:
    """ansible-runner looks ansible-playbook up on PATH; a venv's bin often is not on it."""
    if shutil.which("ansible-playbook"):
        return
    here = Path(sys.executable).parent
    if not (here / "ansible-playbook").exists():
        raise ConfigError("ansible-playbook not found: pip install ansible")
    os.environ["PATH"] = f"{here}{os.pathsep}{os.environ.get('PATH', '')}"


def _result(runner: Any, host: str) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for event in runner.events:
        data = event.get("event_data", {})
        if data.get("host") != host:
            continue
        kind = event.get("event")
        res = data.get("res", {}) or {}
        if kind == "runner_on_unreachable":
            raise TransportError(f"{host}: unreachable through Ansible: "
                                 f"{_first_line(res.get('msg'))}")
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            raise TransportError(f"{host}: Ansible task {data.get('task')!r} failed: "
                                 f"{_first_line(res.get('msg'))}")
        if kind == "runner_on_ok":
            last = res
    if runner.status != "successful" and not last:
        raise TransportError(f"{host}: ansible-runner ended {runner.status} (rc {runner.rc})")
    return last


def _first_line(msg: Any) -> str:
    text = str(msg or "no message").strip()
    return text.splitlines()[0][:300] if text else "no message"

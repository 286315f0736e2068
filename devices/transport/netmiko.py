"""The direct transport: Netmiko over SSH, one session per device, errors as exceptions.

Netmiko does not raise on a rejected config line unless told what an error looks like,
and some FRR errors carry no ``%`` ("BGP is already running; AS is 65003"); the patterns
below catch them so a half-applied change is never mistaken for success.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from devices import platforms
from devices.errors import ConfigError, TransportError
from devices.secrets import resolve
from devices.targets import DeviceTarget
from devices.transport import Connection, RawHostFiles

log = logging.getLogger(__name__)

CONFIG_ERRORS = re.compile(
    r"^% |% (Unknown|Invalid|Ambiguous|Incomplete)|Command incomplete|"
    r"is already running|[Ee]rror:|syntax error|Unknown command",
    re.M,
)


class NetmikoConnection:
    """A Netmiko session wrapped in the :class:`~devices.transport.Connection` contract."""

    def __init__(self, target: DeviceTarget, handler: object) -> None:
        self.target = target
        self._conn = handler
        #: a platform whose changes take effect when committed (Junos): its commit lines
        self._commit = platforms.get(target.platform).commit_lines

    def show(self, command: str) -> str:
        try:
            return self._conn.send_command(command, read_timeout=60)  # type: ignore[attr-defined]
        except Exception as exc:
            raise TransportError(f"{self.target.hostname}: {command!r} failed: {exc}") from exc

    def command(self, command: str) -> str:
        """An exec command that changes state (``configure confirm``); errors raise."""
        output = self.show(command)
        bad = CONFIG_ERRORS.search(output)
        if bad:
            raise TransportError(f"{self.target.hostname}: {command!r} was refused: "
                                 f"{output[bad.start():bad.end() + 80].strip()}")
        return output

    def configure(self, lines: list[str], tolerate_errors: bool = False,
                  enter: str | None = None) -> str:
        mode = {"config_mode_command": enter} if enter else {}
        if self._commit and not (lines and lines[-1].split()[:1] == ["commit"]):
            lines = [*lines, *self._commit]  # leaving uncommitted would discard the change
        try:
            output = self._conn.send_config_set(  # type: ignore[attr-defined]
                lines, read_timeout=120, cmd_verify=True, **mode)
        except Exception as exc:
            raise TransportError(f"{self.target.hostname}: configuration failed: {exc}") from exc
        bad = None if tolerate_errors else CONFIG_ERRORS.search(output)
        if bad:
            line = output[max(0, bad.start() - 120):bad.end() + 80].strip().splitlines()
            raise TransportError(f"{self.target.hostname}: the device rejected the change: "
                                 f"{' | '.join(s.strip() for s in line[-3:])}")
        return output

    def save(self) -> None:
        if self._commit:
            return  # every session ended with a commit: that is what a reboot keeps
        try:
            self._conn.save_config()  # type: ignore[attr-defined]
        except Exception as exc:
            raise TransportError(f"{self.target.hostname}: saving the config failed: {exc}"
                                 ) from exc

    def close(self) -> None:
        try:
            self._conn.disconnect()  # type: ignore[attr-defined]
        except Exception:  # already gone: nothing to clean up
            log.debug("disconnect from %s failed", self.target.hostname)


class NetmikoTransport:
    """Opens Netmiko sessions; credentials come from the device's credential reference."""

    name = "netmiko"

    def __init__(self, timeout: float = 20, session_log_dir: str | None = None) -> None:
        self.timeout = timeout
        self.session_log_dir = Path(session_log_dir) if session_log_dir else None

    def _credentials(self, target: DeviceTarget) -> dict[str, object]:
        cred = resolve(target.credential_ref)
        if not isinstance(cred, dict) or "username" not in cred:
            raise ConfigError(f"{target.hostname}: credential {target.credential_ref} must hold "
                              "a mapping with username and password or key_file")
        args: dict[str, object] = {"username": cred["username"].reveal()}
        if cred.get("key_file"):
            args.update(use_keys=True, key_file=cred["key_file"].reveal(), allow_agent=False)
        if cred.get("password"):
            args["password"] = cred["password"].reveal()
        if cred.get("secret"):
            args["secret"] = cred["secret"].reveal()
        return args

    def connect(self, target: DeviceTarget) -> Connection:
        from netmiko import ConnectHandler  # heavy import, only when a device is reached

        platform = platforms.get(target.platform)
        args = self._credentials(target)
        if self.session_log_dir is not None:
            # Netmiko scrubs the password and secret it was given from its session log.
            self.session_log_dir.mkdir(parents=True, exist_ok=True)
            args["session_log"] = str(self.session_log_dir / f"{target.hostname}.log")
        try:
            handler = ConnectHandler(device_type=platform.netmiko_device_type, host=target.host,
                                     port=target.port, conn_timeout=self.timeout,
                                     auth_timeout=self.timeout, banner_timeout=self.timeout,
                                     fast_cli=True, **args)
        except Exception as exc:
            raise TransportError(f"{target.hostname}: cannot connect to {target.host}:"
                                 f"{target.port}: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        return NetmikoConnection(target, handler)

    def read_host_files(self, target: DeviceTarget, patterns: Sequence[str],
                        max_bytes: int) -> RawHostFiles:
        """The host's files over SFTP, with the credential the CLI login uses: the login
        lands in vtysh, but the ``sftp`` subsystem of a Linux router's sshd does not (Netmiko
        itself opens SSH with paramiko, so this is the same library and key)."""
        import paramiko

        args = self._credentials(target)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # as Netmiko's default
        try:
            client.connect(target.host, port=target.port, username=str(args["username"]),
                           password=args.get("password"),  # type: ignore[arg-type]
                           key_filename=args.get("key_file"),  # type: ignore[arg-type]
                           look_for_keys=False, allow_agent=False, timeout=self.timeout,
                           auth_timeout=self.timeout, banner_timeout=self.timeout)
            sftp = client.open_sftp()
        except Exception as exc:
            client.close()
            raise TransportError(f"{target.hostname}: no SFTP channel on {target.host}:"
                                 f"{target.port}: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        try:
            sftp.get_channel().settimeout(self.timeout * 3)
            out = RawHostFiles()
            for pattern in patterns:
                for path in _expand(sftp, pattern):
                    _read_one(sftp, path, max_bytes, out)
            return out
        finally:
            sftp.close()
            client.close()


def _expand(sftp: object, pattern: str) -> list[str]:
    """``pattern`` itself, or the names of its folder that match its last part."""
    folder, name = posixpath.split(pattern)
    if not any(c in name for c in "*?["):
        return [pattern]
    try:
        names = sftp.listdir(folder)  # type: ignore[attr-defined]
    except OSError:  # no such folder: nothing matches
        return []
    return [posixpath.join(folder, n) for n in sorted(names) if fnmatch.fnmatchcase(n, name)]


def _read_one(sftp: object, path: str, max_bytes: int, out: RawHostFiles) -> None:
    try:
        st = sftp.stat(path)  # type: ignore[attr-defined]
    except FileNotFoundError:
        return  # not there: missing evidence, which the checks report as unknown
    except OSError as exc:
        out.unreadable[path] = str(exc) or type(exc).__name__
        return
    if not stat.S_ISREG(st.st_mode or 0):
        out.unreadable[path] = "not a regular file"
        return
    if (st.st_size or 0) > max_bytes:
        out.unreadable[path] = f"larger than {max_bytes // 1024} KiB"
        return
    try:
        with sftp.open(path, "rb") as fh:  # type: ignore[attr-defined]
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        out.unreadable[path] = str(exc) or type(exc).__name__
        return
    if len(data) > max_bytes:
        out.unreadable[path] = f"larger than {max_bytes // 1024} KiB"
    else:
        out.files[path] = data

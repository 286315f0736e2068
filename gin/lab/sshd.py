"""One OpenSSH server per router, on a 127.0.0.1 port, whose login lands in vtysh.

sshd stays in the root namespace: vtysh reaches the router's daemons over the unix
sockets in the router's run/ directory, so no namespace hop is needed per login.

A real FRR router is a Linux box whose /etc files (sshd, snmpd, ...) are audit evidence,
fetched over SFTP like RANCID/Oxidized users fetch files.  Here the ``sftp`` subsystem is
the one session that does not land in vtysh: it runs ``sftp-server -R`` (read-only) in a
private mount namespace where the router's ``host/etc`` view (its own sshd_config and
snmpd.conf, linked) is bound over /etc, so ``/etc/ssh/sshd_config`` is this router's file.
It is read-only, not a chroot: the lab runs as root on a test machine.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

from gin.lab import credentials
from gin.lab.errors import LabError
from gin.lab.proc import run, wait_pidfile
from gin.lab.render import render
from gin.lab.state import LabState, NodeState

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
#: The router's /etc as its SFTP session sees it: name in the view -> file in the node dir.
VIEW_LINKS = {"ssh/sshd_config": "sshd_config", "snmp/snmpd.conf": "snmpd.conf"}


def free_ports(count: int) -> list[int]:
    """Ask the kernel for `count` distinct free TCP ports on 127.0.0.1."""
    socks, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def render_config(state: LabState, node: NodeState) -> str:
    """sshd_config text for a router (pure)."""
    vtysh = "/usr/bin/" + shlex.join(node.vtysh_argv())
    return render("sshd_config.j2", node=node, run_dir=str(node.run_dir),
                  host_key=str(Path(node.dir) / "ssh_host_ed25519_key"),
                  authorized_keys=str(Path(state.dir) / "secrets" / "authorized_keys"),
                  vtysh=vtysh, sftp=shlex.quote(str(_sftp_script(node))),
                  view=str(_view(node)))


def _view(node: NodeState) -> Path:
    return Path(node.dir).resolve() / "host" / "etc"


def _sftp_script(node: NodeState) -> Path:
    return Path(node.dir).resolve() / "sftp-etc"


def write_sftp_view(node: NodeState) -> None:
    """The router's /etc view (links to its own files, plus the passwd/group lines
    sftp-server needs to know root) and the script that serves it read-only."""
    view = _view(node)
    for name, source in VIEW_LINKS.items():
        link = view / name
        link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        link.unlink(missing_ok=True)
        link.symlink_to(Path(node.dir).resolve() / source)  # absolute: /etc is a bind mount
    (view / "passwd").write_text("root:x:0:0:root:/root:/usr/sbin/nologin\n")
    (view / "group").write_text("root:x:0:\n")
    script = _sftp_script(node)
    inner = f'mount --bind "$0" /etc && exec {SFTP_SERVER} -R'
    script.write_text("#!/bin/sh\n# rendered by gin lab: read-only SFTP of this router's /etc\n"
                      f"exec /usr/bin/unshare --mount --propagation private /bin/sh -c "
                      f"{shlex.quote(inner)} {shlex.quote(str(view))}\n")
    script.chmod(0o700)


def start(state: LabState, node: NodeState, attempts: int = 3) -> None:
    """Write host key + config and start sshd (it daemonizes after binding its port).

    The port was probed free at plan time; if another lab grabbed it meanwhile, sshd
    fails to bind and we retry on a fresh port (the caller saves the state afterwards).
    """
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation dir
    base = Path(node.dir)
    credentials.write_host_key(base / "ssh_host_ed25519_key", f"{state.name}-{node.name}")
    conf = base / "sshd_config"
    write_sftp_view(node)
    log = base / "log" / "sshd.log"
    for attempt in range(attempts):
        conf.write_text(render_config(state, node))
        proc = run([SSHD, "-f", str(conf), "-E", str(log)], timeout=20, check=False)
        if proc.returncode == 0:
            break
        if attempt == attempts - 1:
            raise LabError(f"sshd for {node.name} did not start on 127.0.0.1:{node.ssh_port} "
                           f"(exit {proc.returncode}); see {log}")
        node.ssh_port = free_ports(1)[0]
    wait_pidfile(node.run_dir / "sshd.pid", f"sshd for {node.name}", str(log))

"""VPN gateway nodes (role ``gw``): one strongSwan ``charon`` per namespace, ready for VICI.

Per LAB-NOTES: this kernel has no in-kernel ESP or WireGuard, so the data plane is
userspace (``kernel-libipsec``: TUN ``ipsec0``, ESP in UDP/4500; ``wireguard-go``).  The
kernel path is probed once per lab and used when present.  ``/usr/lib/ipsec/charon``
hard-codes ``/run/charon.pid`` and ``wireguard-go`` its socket under ``/run/wireguard``, so
each gateway runs them with a private ``/run`` (the node's ``run/`` bind-mounted there in a
private mount namespace): :func:`exec_prefix` is that wrapper, and every ``wg``/``wireguard-go``
command on the gateway goes through it.

What ``gin vpn deploy/status`` need to reach a gateway is written to ``<node>/gateway.json``
(mode 0600) and recorded as the device's ``credential_ref`` (``file:...``), the same way a
real gateway's access is referenced (see :mod:`vpn.gateway`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from gin.lab.errors import LabError
from gin.lab.proc import read_pid, run, wait_pidfile
from gin.lab.state import NodeState

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "/usr/sbin/swanctl"
#: plugins, per LAB-NOTES (kernel-libipsec before kernel-netlink when there is no kernel ESP)
PLUGINS = ("random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey gcm aes "
           "sha1 sha2 hmac kdf {libipsec}kernel-netlink socket-default vici")
#: retransmits for a lab: a dead peer fails in ~7 s instead of ~165 s (LAB-NOTES)
STRONGSWAN_CONF = """\
# gin lab gateway {node}: charon with its own VICI socket, pidfile and log
charon {{
    load_modular = no
    load = {plugins}
    # a hub gateway holds many tunnels: spare worker threads for concurrent VICI initiates
    threads = 32
    retransmit_tries = 3
    retransmit_timeout = 1.0
    retransmit_base = 1.4
    install_virtual_ip = no
    plugins {{
        vici {{
            socket = unix://{vici}
        }}
        kernel-libipsec {{
            allow_peer_ts = no
        }}
    }}
    syslog {{
        identifier = charon-{node}
    }}
    filelog {{
        gin {{
            path = {log}
            time_format = %b %e %T
            ike_name = yes
            append = yes
            default = 1
            ike = 2
            cfg = 2
            flush_line = yes
        }}
    }}
}}
swanctl {{
    socket = unix://{vici}
}}
"""
#: the whole swanctl tree, so `swanctl --load-all` on a lab gateway finds every directory
SWANCTL_SUBDIRS = ("conf.d", "x509", "x509ca", "x509aa", "x509ac", "x509crl", "x509ocsp",
                   "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12", "pubkey")


def paths(node: NodeState) -> dict[str, Path]:
    """Where a gateway's charon keeps its config, socket, pidfile and log."""
    base = Path(node.dir)
    return {"conf": base / "etc" / "strongswan.conf", "swanctl": base / "etc" / "swanctl",
            "vici": node.run_dir / "charon.vici", "pid": node.run_dir / "charon.pid",
            "log": base / "log" / "charon.log", "access": base / "gateway.json",
            "wireguard": base / "etc" / "wireguard"}


def exec_prefix(node: NodeState) -> list[str]:
    """argv prefix running a command in the gateway's namespace with its private ``/run``."""
    return ["ip", "netns", "exec", node.netns, "unshare", "--mount", "--propagation",
            "private", "sh", "-c", 'mount --bind "$0" /run && exec "$@"', str(node.run_dir)]


def kernel_esp(netns: str) -> bool:
    """True when the kernel can hold an AES-GCM ESP SA (then charon uses kernel IPsec)."""
    probe = ["ip", "-n", netns, "xfrm", "state", "add", "src", "::1", "dst", "::1", "proto",
             "esp", "spi", "0x100", "mode", "tunnel", "aead", "rfc4106(gcm(aes))",
             "0x" + "00" * 36, "128"]
    ok = run(probe, check=False, timeout=10).returncode == 0
    if ok:
        run(["ip", "-n", netns, "xfrm", "state", "flush"], check=False, timeout=10)
    return ok


def write_config(node: NodeState, kernel_ipsec: bool) -> dict[str, Path]:
    """strongswan.conf, an empty swanctl tree and the access file; returns the paths."""
    p = paths(node)
    for d in (p["conf"].parent, p["log"].parent, node.run_dir, p["wireguard"],
              *(p["swanctl"] / s for s in SWANCTL_SUBDIRS)):
        d.mkdir(parents=True, exist_ok=True)
    for private in (*(p["swanctl"] / d for d in ("private", "rsa", "ecdsa", "bliss", "pkcs8",
                                                  "pkcs12")), p["wireguard"]):
        os.chmod(private, 0o700)
    plugins = PLUGINS.format(libipsec="" if kernel_ipsec else "kernel-libipsec ")
    p["conf"].write_text(STRONGSWAN_CONF.format(node=node.name, plugins=plugins,
                                                vici=p["vici"], log=p["log"]))
    (p["swanctl"] / "swanctl.conf").write_text("include conf.d/*.conf\n")
    access = {"vici": f"unix://{p['vici']}", "swanctl_dir": str(p["swanctl"]),
              "strongswan_conf": str(p["conf"]), "exec": exec_prefix(node),
              "log": str(p["log"]), "netns": node.netns,
              "wireguard_dir": str(p["wireguard"])}
    fd = os.open(p["access"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(access, fh, indent=2)
    return p


def start_charon(node: NodeState, kernel_ipsec: bool = False, timeout: float = 15) -> int:
    """Start the gateway's charon and wait until it answers on VICI; returns its PID."""
    missing = [exe for exe in (CHARON, SWANCTL) if not Path(exe).exists()]
    if missing:
        raise LabError(f"gw nodes need strongSwan ({', '.join(missing)} missing): apt-get "
                       "install -y --no-install-recommends strongswan-charon "
                       "strongswan-swanctl libstrongswan-standard-plugins "
                       "libcharon-extra-plugins (see deps/apt-vpn.txt)")
    p = write_config(node, kernel_ipsec)
    p["vici"].unlink(missing_ok=True)  # a stale socket would look ready
    p["pid"].unlink(missing_ok=True)
    env = dict(os.environ, STRONGSWAN_CONF=str(p["conf"]), SWANCTL_DIR=str(p["swanctl"]))
    with open(p["log"].with_name("charon.out"), "ab") as out:
        # setsid -f: charon is not our child, so it never lingers as our zombie after `down`
        subprocess.run(["setsid", "-f", *exec_prefix(node), CHARON], env=env,
                       stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True,
                       timeout=10)
    pid = wait_pidfile(p["pid"], f"charon on {node.name}", str(p["log"]), timeout)
    deadline = time.monotonic() + timeout
    while True:  # readiness is an answer on the socket, not the socket file (LAB-NOTES)
        probe = run([SWANCTL, "--stats", "--uri", f"unix://{p['vici']}"], check=False,
                    timeout=10)
        if probe.returncode == 0:
            return read_pid(p["pid"]) or pid
        if time.monotonic() > deadline:
            raise LabError(f"charon on {node.name} does not answer on {p['vici']} after "
                           f"{timeout:.0f}s; see {p['log']}")
        time.sleep(0.05)

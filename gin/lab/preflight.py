"""Check, before touching anything, that the lab can run here: root and Debian packages.

One message lists everything missing and the exact apt-get command, instead of
failing half-way through a bring-up.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from gin.lab.errors import LabError

#: executable (absolute path or name on PATH) -> Debian package providing it
REQUIRED: dict[str, str] = {
    "/usr/lib/frr/zebra": "frr",
    "/usr/lib/frr/bgpd": "frr",
    "/usr/lib/frr/ospf6d": "frr",
    "/usr/lib/frr/staticd": "frr",
    "vtysh": "frr",
    "/usr/sbin/sshd": "openssh-server",
    "/usr/sbin/snmpd": "snmpd",
    "ip": "iproute2",
    "unshare": "util-linux",
    "sysctl": "procps",
}
#: only needed by tests and `status` extras, reported but not fatal
OPTIONAL: dict[str, str] = {"snmpwalk": "snmp", "ping": "iputils-ping"}


def _present(exe: str) -> bool:
    if exe.startswith("/"):
        return Path(exe).is_file() and os.access(exe, os.X_OK)
    return shutil.which(exe) is not None or any(
        Path(d, exe).is_file() for d in ("/usr/sbin", "/sbin"))


def missing_packages(include_optional: bool = False) -> list[str]:
    """Debian packages whose executables are missing, sorted, without duplicates."""
    table = dict(REQUIRED, **(OPTIONAL if include_optional else {}))
    missing = {pkg for exe, pkg in table.items() if not _present(exe)}
    if "frr" not in missing:
        try:
            pwd.getpwnam("frr")
        except KeyError:
            missing.add("frr")  # the package creates the frr user and frr/frrvty groups
    return sorted(missing)


def problems() -> list[str]:
    """Human-readable problems; empty when the lab can run."""
    out = []
    if os.geteuid() != 0:
        out.append("gin lab needs root (namespaces, veths, daemons): run it as root")
    pkgs = missing_packages()
    if pkgs:
        out.append(f"missing Debian packages: {', '.join(pkgs)}; install with: "
                   f"apt-get install -y --no-install-recommends {' '.join(pkgs)}")
    return out


def check() -> None:
    """Raise LabError with one line naming every problem (root, packages)."""
    found = problems()
    if found:
        raise LabError("; ".join(found))

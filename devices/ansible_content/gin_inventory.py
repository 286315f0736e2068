#!/usr/bin/env python3
"""Ansible dynamic inventory: the devices of the gin directory, grouped and described.

Ansible runs this script and reads its JSON, so playbooks always see the directory as it is
now (no static file to forget to regenerate).  It reads the directory named by ``GIN_DB``
(a SQLite path or any SQLAlchemy URL; default: the per-user SQLite file gin uses) and never
writes to it.

Installed gin provides it as the ``gin-inventory`` command; in a checkout it is this file.
Run as a file, Ansible starts it with ``/usr/bin/env python3``; if that Python lacks gin's
dependencies the script re-runs itself under ``$GIN_PYTHON`` or the checkout's
``.venv/bin/python``.  Use::

    export GIN_DB=/var/lib/gin/directory.sqlite
    ansible-inventory -i "$(command -v gin-inventory)" --graph
    ansible -i devices/ansible_content/gin_inventory.py role_pe \\
        -m ansible.netcommon.cli_command -a "command='show version'"
    ansible-playbook -i "$(command -v gin-inventory)" site.yml --limit agency_dopa

Groups: ``role_pe``, ``role_ce``, ... (parent ``roles``), ``agency_<code>`` (parent
``agencies``), ``platform_frr``, ... (parent ``platforms``).  Host variables:
``ansible_host``, ``ansible_port``, ``ansible_network_os`` (from gin's platform table),
``ansible_connection: ansible.netcommon.network_cli``, ``gin_credential_ref`` (a reference
to the credential in Vault / the key store; never the secret itself), ``gin_agency``,
``gin_site``, ``gin_role``, ``gin_platform``, ``gin_snmp_profile``.

``--list`` prints everything (with ``_meta.hostvars``, so Ansible does not call ``--host``
per host); ``--host NAME`` prints one host's variables.  A static YAML inventory of the same
content: ``gin directory inventory --ansible -o inventory.yml``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the checkout, when run as a file from one


def _python_with_gin() -> None:
    """Ansible runs this with ``/usr/bin/env python3``, which may lack gin's dependencies:
    then re-run under ``$GIN_PYTHON`` or the checkout's ``.venv/bin/python``."""
    try:
        import sqlalchemy  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("GIN_INVENTORY_REEXEC"):
        return
    for candidate in (os.environ.get("GIN_PYTHON"), str(ROOT / ".venv" / "bin" / "python")):
        if candidate and os.access(candidate, os.X_OK):
            os.environ["GIN_INVENTORY_REEXEC"] = "1"
            os.execv(candidate, [candidate, str(Path(__file__).resolve()), *sys.argv[1:]])


def network_os_table() -> dict[str, str | None]:
    """``platform -> ansible_network_os`` from gin's platform table (the one source)."""
    try:
        from devices.platforms import registry
    except ImportError:  # directory installed without gin: no network_os, still usable
        return {}
    return {name: p.ansible_network_os for name, p in registry().items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gin directory as an Ansible dynamic inventory")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="all groups and hosts (JSON)")
    mode.add_argument("--host", metavar="NAME", help="one host's variables (JSON)")
    args = ap.parse_args(argv)
    _python_with_gin()
    from directory import exports
    from directory.errors import DirectoryError
    from directory.store import Directory

    try:
        directory = Directory(os.environ.get("GIN_DB"), actor="ansible-inventory")
        with directory.transaction() as session:
            data: Any = (exports.ansible_inventory(session, network_os_table()) if args.list
                         else exports.host(session, args.host, network_os_table()))
        directory.close()
    except DirectoryError as exc:
        print(f"gin_inventory: {exc}", file=sys.stderr)
        return 1
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    # Run as a file, Python puts this folder first on the path; the checkout goes there instead.
    sys.path[0] = str(ROOT)
    sys.exit(main())

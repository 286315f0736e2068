"""The dynamic inventory script, run as Ansible runs it (a subprocess) and through ansible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from directory.store import Directory
from directory.transfer import import_files

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "devices" / "ansible_content" / "gin_inventory.py"
SAMPLE = """\
agencies:
  - {code: DOPA, name_en: Department of Provincial Administration, name_th: กรมการปกครอง}
sites:
  - {agency: DOPA, code: TH-50, name: Chiang Mai Provincial Hall}
devices:
  - {hostname: dopa-cmi-ce1, agency: DOPA, site: TH-50, role: ce, platform: frr,
     mgmt_address: 192.0.2.10, mgmt_port: 2222, credential_ref: "vault:dopa/ce"}
  - {hostname: dopa-cmi-fw1, agency: DOPA, site: TH-50, role: firewall, platform: juniper_junos,
     mgmt_address: "2001:db8::10"}
"""


@pytest.fixture
def db(tmp_path) -> str:
    path = tmp_path / "directory.sqlite"
    (tmp_path / "s.yaml").write_text(SAMPLE, encoding="utf-8")
    d = Directory(str(path), actor="t")
    import_files(d, [str(tmp_path / "s.yaml")])
    d.close()
    return str(path)


def _run(db: str, *args: str) -> dict:
    env = {**os.environ, "GIN_DB": db}
    out = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    return json.loads(out.stdout)


def test_script_is_executable():
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3")


def test_list(db):
    inv = _run(db, "--list")
    assert inv["role_ce"]["hosts"] == ["dopa-cmi-ce1"]
    assert inv["agency_dopa"]["hosts"] == ["dopa-cmi-ce1", "dopa-cmi-fw1"]
    ce = inv["_meta"]["hostvars"]["dopa-cmi-ce1"]
    assert ce["ansible_host"] == "192.0.2.10" and ce["ansible_port"] == 2222
    assert ce["ansible_network_os"] == "frr.frr.frr"
    assert ce["ansible_connection"] == "ansible.netcommon.network_cli"
    assert ce["gin_credential_ref"] == "vault:dopa/ce"
    fw = inv["_meta"]["hostvars"]["dopa-cmi-fw1"]
    assert fw["ansible_network_os"] == "junipernetworks.junos.junos"


def test_host(db):
    assert _run(db, "--host", "dopa-cmi-fw1")["ansible_host"] == "2001:db8::10"
    assert _run(db, "--host", "unknown") == {}


def test_usage_error_without_mode(db):
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                         env={**os.environ, "GIN_DB": db}, timeout=60)
    assert out.returncode == 2 and "--list" in out.stderr


def test_bad_database_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--list"], capture_output=True,
                         text=True, timeout=60,
                         env={**os.environ, "GIN_DB": "postgresql://nobody@127.0.0.1:1/x"})
    assert out.returncode == 1 and out.stderr.startswith("gin_inventory: ")
    assert "Traceback" not in out.stderr


def test_ansible_reads_it(db):
    tool = shutil.which("ansible-inventory") or str(Path(sys.executable).with_name(
        "ansible-inventory"))
    if not os.path.exists(tool):
        pytest.skip("ansible-inventory is not installed")
    env = {**os.environ, "GIN_DB": db, "GIN_PYTHON": sys.executable,
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    out = subprocess.run([tool, "-i", str(SCRIPT), "--list"], capture_output=True, text=True,
                         env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    inv = json.loads(out.stdout)
    assert inv["_meta"]["hostvars"]["dopa-cmi-ce1"]["gin_site"] == "TH-50"
    graph = subprocess.run([tool, "-i", str(SCRIPT), "--graph", "roles"], capture_output=True,
                           text=True, env=env, timeout=180)
    assert "role_firewall" in graph.stdout and "dopa-cmi-fw1" in graph.stdout


def test_runs_under_a_python_without_gin(db):
    """Ansible calls it via /usr/bin/env python3: it re-runs itself under GIN_PYTHON."""
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("no system python3")
    out = subprocess.run([system, str(SCRIPT), "--list"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "GIN_DB": db,
                                           "GIN_PYTHON": sys.executable})
    assert out.returncode == 0, out.stderr
    assert "dopa-cmi-ce1" in json.loads(out.stdout)["_meta"]["hostvars"]

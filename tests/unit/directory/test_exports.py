"""Ansible inventory and Prometheus file_sd exports, checked with the real tools."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from _fixtures_transfer import SAMPLE_YAML, write

from devices.platforms import registry
from directory import exports
from directory.transfer import import_files

NETWORK_OS = {name: p.ansible_network_os for name, p in registry().items()}
EXTRA = """\
devices:
  - {hostname: bare-sensor, agency: GIN, site: NOC, role: sensor, platform: linux}
"""


@pytest.fixture
def filled(directory, tmp_path):
    import_files(directory, [write(tmp_path / "s.yaml", SAMPLE_YAML),
                             write(tmp_path / "extra.yaml", EXTRA)])
    return directory


def _inventory(d):
    with d.transaction() as s:
        return exports.ansible_inventory(s, NETWORK_OS)


def test_groups_and_hostvars(filled):
    inv = _inventory(filled)
    assert inv["role_pe"]["hosts"] == ["gin-pe1"]
    assert inv["role_ce"]["hosts"] == ["dopa-cmi-ce1"]
    assert inv["agency_dopa"]["hosts"] == ["dopa-cmi-ce1"]
    assert inv["platform_cisco_xe"]["hosts"] == ["gin-pe1"]
    assert set(inv["roles"]["children"]) == {"role_pe", "role_ce", "role_sensor"}
    assert "agency_gin" in inv["agencies"]["children"]
    pe = inv["_meta"]["hostvars"]["gin-pe1"]
    assert pe == {"ansible_host": "2001:db8::1", "ansible_port": 22,
                  "ansible_network_os": "cisco.ios.ios",
                  "ansible_connection": "ansible.netcommon.network_cli",
                  "gin_agency": "GIN", "gin_site": "NOC", "gin_role": "pe",
                  "gin_platform": "cisco_xe"}
    ce = inv["_meta"]["hostvars"]["dopa-cmi-ce1"]
    assert ce["ansible_network_os"] == "frr.frr.frr"
    assert ce["gin_credential_ref"] == "vault:dopa"  # the reference, never a secret
    sensor = inv["_meta"]["hostvars"]["bare-sensor"]
    assert "ansible_network_os" not in sensor and "ansible_host" not in sensor


def test_platform_table_mapping():
    assert NETWORK_OS["frr"] == "frr.frr.frr"
    assert NETWORK_OS["cisco_ios"] == NETWORK_OS["cisco_xe"] == "cisco.ios.ios"
    assert NETWORK_OS["juniper_junos"] == "junipernetworks.junos.junos"


def test_group_names_are_ansible_safe():
    assert exports.group_name("role", "vpn-gateway") == "role_vpn_gateway"
    assert exports.group_name("agency", "A.B-C") == "agency_a_b_c"


def test_host_lookup(filled):
    with filled.transaction() as s:
        assert exports.host(s, "gin-pe1", NETWORK_OS)["ansible_host"] == "2001:db8::1"
        assert exports.host(s, "nope", NETWORK_OS) == {}


def test_static_yaml_inventory_read_by_ansible(filled, tmp_path):
    text = exports.ansible_yaml(_inventory(filled))
    doc = yaml.safe_load(text)
    assert doc["all"]["hosts"]["gin-pe1"]["ansible_network_os"] == "cisco.ios.ios"
    tool = shutil.which("ansible-inventory") or _venv_tool("ansible-inventory")
    if tool is None:
        pytest.skip("ansible-inventory is not installed")
    path = write(tmp_path / "inventory.yml", text)
    out = subprocess.run([tool, "-i", path, "--list"], capture_output=True, text=True,
                         check=True, timeout=120)
    listed = json.loads(out.stdout)
    assert listed["_meta"]["hostvars"]["dopa-cmi-ce1"]["gin_agency"] == "DOPA"
    assert sorted(listed["role_pe"]["hosts"]) == ["gin-pe1"]


def _venv_tool(name):
    import sys
    from pathlib import Path

    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else None


def test_file_sd_targets_and_labels(filled):
    with filled.transaction() as s:
        groups = exports.file_sd(s)
        with_port = exports.file_sd(s, port=161)
    assert groups == [
        {"targets": ["192.0.2.10"], "labels": {"agency": "DOPA", "site": "CMI",
                                               "device": "dopa-cmi-ce1", "role": "ce",
                                               "platform": "frr"}},
        {"targets": ["[2001:db8::1]"], "labels": {"agency": "GIN", "site": "NOC",
                                                  "device": "gin-pe1", "role": "pe",
                                                  "platform": "cisco_xe"}},
    ]  # the sensor has no address: not a target
    assert [g["targets"][0] for g in with_port] == ["192.0.2.10:161", "[2001:db8::1]:161"]
    assert all(set(g["labels"]) == {"agency", "site", "device", "role", "platform"}
               for g in groups)


def test_file_sd_accepted_by_promtool(filled, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    with filled.transaction() as s:
        write(tmp_path / "gin.json", exports.file_sd_json(exports.file_sd(s, port=161)))
    config = write(tmp_path / "prometheus.yml", f"""\
scrape_configs:
  - job_name: gin-snmp
    file_sd_configs:
      - files: ["{tmp_path / 'gin.json'}"]
""")
    out = subprocess.run([promtool, "check", "config", config], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_exports_of_the_synthetic_directory(tmp_path):
    from devices.platforms import interface_names
    from directory.store import Directory
    from directory.synth import synthesize
    from directory.transfer import write_export

    data = synthesize(40, seed=1, prefixes=False, ports=interface_names())
    write_export(data, "json", tmp_path / "s.json")
    d = Directory(f"sqlite:///{tmp_path / 'x.sqlite'}", actor="t")
    import_files(d, [str(tmp_path / "s.json")])
    inv = _inventory(d)
    hosts = inv["_meta"]["hostvars"]
    assert len(hosts) == len(inv["role_pe"]["hosts"]) + len(inv["role_ce"]["hosts"])
    assert {v["ansible_network_os"] for v in hosts.values()} <= set(NETWORK_OS.values())
    with d.transaction() as s:
        assert len(exports.file_sd(s)) == len(hosts)
    d.close()


def _gin(*args: str) -> int:
    from gin.cli import main

    return main(list(args))


def test_inventory_command(filled, tmp_path, capsys, db_url):
    out = tmp_path / "inv.yml"
    assert _gin("--db", db_url, "directory", "inventory", "--ansible", "-o", str(out)) == 0
    assert yaml.safe_load(out.read_text())["all"]["hosts"]["gin-pe1"]["ansible_port"] == 22
    assert _gin("--db", db_url, "directory", "inventory", "--ansible", "--json") == 0
    assert "role_pe" in json.loads(capsys.readouterr().out)
    sd = tmp_path / "sd" / "gin.json"
    assert _gin("--db", db_url, "directory", "inventory", "--file-sd", "--port", "161",
                "-o", str(sd)) == 0
    assert json.loads(sd.read_text())[0]["targets"] == ["192.0.2.10:161"]
    assert _gin("--db", db_url, "directory", "inventory") == 2

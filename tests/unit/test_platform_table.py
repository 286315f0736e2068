"""The platform table: gin's platforms as read from their platform.yaml, ``extends``, and a
bad definition refused with one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.evidence import guess_platform
from devices import platforms
from devices.errors import ConfigError
from directory.platform_names import registered
from monitor.snmp import oids
from monitor.snmp.targets import Profile, bgp_mibs
from vpn.render import linux_gateways, routers

GIN_PLATFORMS = ("cisco_ios", "cisco_xe", "frr", "juniper_junos", "linux", "strongswan")


def test_every_gin_platform_is_registered_and_loads():
    table = platforms.registry()
    assert set(GIN_PLATFORMS) <= set(table)
    assert set(registered()) == set(table)  # the directory's names are the table's
    for name in GIN_PLATFORMS:
        p = table[name]
        assert p.name == name and (p.folder / "platform.yaml").is_file()
        assert set(p.bgp_mibs) <= set(oids.BGP_TABLES)
        if p.hier_platform is not None:  # a router gin renders links for
            assert (p.template_dir / "baseline.j2").is_file(), name
            assert {"uplink", "lan"} <= set(p.interfaces), name


def test_extends_inherits_and_overrides():
    ios, xe = platforms.get("cisco_ios"), platforms.get("cisco_xe")
    assert xe.netmiko_device_type == "cisco_xe" and xe.ansible_network_os == "cisco.ios.ios"
    assert xe.template_dir == ios.template_dir and xe.templates == "cisco_ios"
    assert xe.verify == ios.verify and xe.gsi_ordered == ios.gsi_ordered
    assert xe.audit_dialect == "cisco_ios" and xe.recognise == ()  # never inherited
    assert "46" in xe.vpn_router["tunnel_mode"] and "46" not in ios.vpn_router["tunnel_mode"]
    assert xe.vpn_router["keywords"] == ios.vpn_router["keywords"] == "cisco_xe"


def test_consumers_read_the_table():
    assert set(linux_gateways()) == {"frr", "linux", "strongswan"}
    assert set(routers()) == {"cisco_ios", "cisco_xe", "juniper_junos"}
    assert bgp_mibs(Profile(), "frr") == ("bgp4", "bgp4v2")
    assert bgp_mibs(Profile(), "no_such_platform") == ()
    assert guess_platform("frr version 8.4\nhostname r1\ninterface eth0\n") == "frr"
    assert guess_platform("set version 21.4R1\n") == "juniper_junos"
    assert guess_platform("hostname r1\ninterface Gi0/0\n") == "cisco_ios"


def _build(tmp_path: Path, text: str) -> platforms.Platform:
    import yaml

    (tmp_path / "platform.yaml").write_text(text)
    return platforms.build("acme", tmp_path, yaml.safe_load(text), tmp_path)


@pytest.mark.parametrize("text,message", [
    ("name: acme\ncolour: red\n", "unknown key 'colour'"),
    ("name: acme\nvpn: {tunnels: [ikev2]}\n", "unknown key vpn.tunnels"),
    ("name: acme\nsnmp: {bgp_mibs: bgp4}\n", "bgp_mibs must be a list of strings"),
    ("name: acme\nlab_pushable: yes please\n", "lab_pushable must be true or false"),
    ("name: other\n", "name 'other' differs from its entry point 'acme'"),
    ("name: acme\nconfig: {syntax: xml}\n", "config.syntax must be one of"),
    ("name: acme\nrecognise: {patterns: ['^(oops']}\n", "recognise pattern"),
    ("name: acme\nvpn: {tunnel_types: [ikev2], router: {template: t.j2}}\n",
     "vpn.router lacks auth, esp_lifetime, ike_lifetime, interface, keywords"),
])
def test_a_bad_definition_is_one_line_naming_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        _build(tmp_path, text)
    text_of = str(info.value)
    assert message in text_of and str(tmp_path / "platform.yaml") in text_of
    assert "\n" not in text_of


def test_a_minimal_definition_gets_the_defaults(tmp_path):
    p = _build(tmp_path, "name: acme\n")
    assert p.audit_dialect == "acme" and p.tunnel_types == () and p.vpn_router is None
    assert p.hier_platform is None and p.negate("description x") == "no description"

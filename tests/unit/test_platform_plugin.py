"""A platform from outside gin: installed through the ``gin.platforms`` entry point only.

The test writes a tiny distribution into a folder (a package holding ``platform.yaml`` and
its templates, and a ``.dist-info`` with the entry point), puts it on ``PYTHONPATH`` and runs
the real ``gin`` as a subprocess: the directory stores a device of it, a link renders with
its templates, and the audit recognises its config and reads it with the dialect it names.
Nothing in gin's tree is written.  Without the folder on the path the same platform is
refused at the CLI and at the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GIN = [str(Path(sys.executable).parent / "gin")]  # the installed command, as a user runs it

PLATFORM_YAML = """\
    name: acme_os
    description: ACME OS, an IOS-like router sold to a few agencies
    transport: {netmiko: cisco_ios, ansible: cisco.ios.ios}
    config:
      parser: CISCO_IOS
      noise_prefixes: [Building configuration, Current configuration, end]
    verify:
      bgp_neighbors: show bgp ipv6 unicast neighbors {peer}
      interface: show interfaces {ifname}
      route: show bgp ipv6 unicast {prefix}
    interfaces: {uplink: wan0, lan: lan0}
    snmp: {bgp_mibs: [bgp4]}
    audit: {dialect: cisco_ios}
    recognise:
      precedence: 5
      patterns: ['^! ACME-OS ']
"""
BASELINE = """\
    ! ACME-OS 4.2
    hostname {{ me.hostname }}
    no ip http server
    no ip http secure-server
    ip ssh version 2
    line vty 0 15
     transport input ssh
     exec-timeout {{ baseline.exec_timeout_minutes }} 0
    exit
"""
LINK_CE = """\
    interface {{ me.ifname }}
     description {{ ("ACME uplink " ~ link.name) | cfg_text }}
     ipv6 address {{ me.address6 }}
    exit
    router bgp {{ me.asn }}
     neighbor {{ peer.address6.ip }} remote-as {{ peer.asn }}
    exit
    end
"""


def _plugin(site: Path) -> Path:
    """The out-of-tree distribution ``acme-gin-platform`` in ``site``."""
    package = site / "acme_gin_platform"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""ACME OS for gin."""\n')
    (package / "platform.yaml").write_text(textwrap.dedent(PLATFORM_YAML))
    (package / "baseline.j2").write_text(textwrap.dedent(BASELINE))
    (package / "link_ce.j2").write_text(textwrap.dedent(LINK_CE))
    info = site / "acme_gin_platform-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-gin-platform\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[gin.platforms]\nacme_os = acme_gin_platform\n")
    return site


@pytest.fixture
def gin(tmp_path):
    """``gin(*args, plugin=True)`` -> (exit code, stdout, stderr), one process each."""
    site = _plugin(tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(GIN_DB=str(tmp_path / "gin.sqlite"), GIN_ACTOR="plugin-test",
               GIN_BACKUP_DIR=str(tmp_path / "backups"))

    def run(*args: str, plugin: bool = True) -> tuple[int, str, str]:
        paths = [str(site), str(ROOT)] if plugin else [str(ROOT)]
        proc = subprocess.run([*GIN, *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path, env={**env, "PYTHONPATH": os.pathsep.join(paths)})
        return proc.returncode, proc.stdout, proc.stderr

    return run


def test_out_of_tree_platform_is_stored_rendered_and_audited(gin, tmp_path):
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "devices").rglob("*")
                    if "__pycache__" not in p.parts)
    code, out, _ = gin("directory", "device", "add", "--help")
    assert code == 0 and "acme_os" in out  # --platform offers the plug-in's platform

    for cmd in (["plan", "apply"],
                ["agency", "add", "GIN", "--name-en", "GIN operator", "--kind", "gin"],
                ["agency", "add", "DOPA", "--name-en", "Dept of Provincial Administration"],
                ["site", "add", "GIN", "core"], ["site", "add", "DOPA", "hq"],
                ["device", "add", "pe1", "--agency", "GIN", "--site", "core", "--role", "pe",
                 "--platform", "frr", "--asn", "65000"],
                ["device", "add", "ce1", "--agency", "DOPA", "--site", "hq", "--role", "ce",
                 "--platform", "acme_os"]):
        code, _, err = gin("directory", *cmd)
        assert code == 0, (cmd, err)
    code, out, _ = gin("directory", "device", "show", "ce1", "--json")
    assert code == 0 and json.loads(out)["platform"] == "acme_os"

    code, _, err = gin("link", "plan", "DOPA", "--site", "hq", "--pe", "pe1:eth1",
                       "--ce", "ce1:wan0")
    assert code == 0, err
    code, out, err = gin("link", "render", "dopa-ce1", "--device", "ce1", "--json")
    assert code == 0, err
    config = json.loads(out)["ce1"]
    # the plug-in's own templates, with the link's addresses and AS numbers filled in
    assert config.startswith("! ACME-OS 4.2\nhostname ce1\n")
    assert "interface wan0\n description ACME uplink dopa-ce1\n ipv6 address 2001:db8:" in config
    assert "neighbor 2001:db8:" in config and "remote-as 65000" in config

    # the audit recognises the text (no platform in the file name) and applies the IOS
    # dialect's rules, as the plug-in's audit.dialect says
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "ce1.cfg").write_text(config)
    code, out, err = gin("audit", "check", "--configs", str(configs), "--json")
    assert code in (0, 1), err
    report = json.loads(out)
    assert [d["platform"] for d in report["devices"] if d["device"] == "ce1"] == ["acme_os"]
    mine = {f["check"]: f for f in report["findings"] if f["device"] == "ce1"}
    assert {f["platform"] for f in mine.values()} == {"acme_os"}
    assert mine["mgmt.ssh_v2_only"]["status"] == "pass"      # `ip ssh version 2`
    assert mine["svc.http_off"]["status"] == "pass"          # `no ip http server`
    assert mine["mgmt.login_banner"]["status"] == "fail"     # its templates set no banner
    assert not [f for f in mine.values() if "no rule for platform" in f["reason"]]

    after = sorted(p.relative_to(ROOT) for p in (ROOT / "devices").rglob("*")
                   if "__pycache__" not in p.parts)
    assert after == before  # gin's tree was not touched


def test_unregistered_platform_is_refused_at_cli_and_store(gin):
    code, _, err = gin("directory", "device", "add", "--help", plugin=False)
    assert code == 0
    assert gin("directory", "agency", "add", "DOPA", "--name-en", "DOPA", plugin=False)[0] == 0
    assert gin("directory", "site", "add", "DOPA", "hq", plugin=False)[0] == 0
    code, _, err = gin("directory", "device", "add", "ce1", "--agency", "DOPA", "--site", "hq",
                       "--role", "ce", "--platform", "acme_os", plugin=False)
    assert code == 2 and "'acme_os' is not one of" in err  # click's usage error lists them
    code, out, err = gin("directory", "device", "list", "--json", plugin=False)
    assert code == 0 and json.loads(out) == []


def test_store_refuses_an_unregistered_platform_with_the_known_ones(tmp_path):
    from directory import store
    from directory.errors import Invalid

    d = store.Directory(f"sqlite:///{tmp_path / 'x.sqlite'}", actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="DOPA")
        store.add_site(s, "DOPA", code="hq")
    with pytest.raises(Invalid, match=r"platform: 'acme_os' is not a registered platform "
                                      r"\(known: cisco_ios, cisco_xe, frr, "), d.transaction() as s:
        store.add_device(s, "DOPA", "hq", hostname="ce1", role="ce", platform="acme_os")
    with d.transaction() as s:
        store.add_device(s, "DOPA", "hq", hostname="ce1", role="ce", platform="Juniper_Junos")
        assert store.get_device(s, "ce1").platform == "juniper_junos"

"""Every config gin renders stands on its own: each list, map, policy, filter, group and view
it names is defined in it, and each one it defines is used.

Run for every platform and every link shape a directory can hold (link with or without
IPv4, agency with none, one or two IPv6 /48s and IPv4 blocks, with or without a LAN),
both ends with their baseline, and for the GSI cut-off config.  The checker is the audit's
own (``audit.references``), so what the tests demand of gin's configs is what the audit
demands of a device's.
"""

from __future__ import annotations

import ipaddress as ip
import itertools
import shutil
import subprocess

import pytest

from audit.parse import parse
from audit.references import references
from links.intent import End, LinkIntent
from links.render import render
from monitor.sensor.edge import render as render_gsi
from tests.conftest import need
from tests.unit.audit.conftest import as_running

PLATFORMS = ["frr", "cisco_ios", "cisco_xe", "juniper_junos"]
V6 = [ip.IPv6Network("2001:db8:1::/48"), ip.IPv6Network("2001:db8:7::/48")]
V4 = [ip.IPv4Network("192.0.2.0/24"), ip.IPv4Network("198.51.100.0/24")]
LANS = {"none": (None, None, None),
        "v6": ("eth2", ip.IPv6Interface("2001:db8:1:100::1/64"), None),
        "dual": ("eth2", ip.IPv6Interface("2001:db8:1:100::1/64"),
                 ip.IPv4Interface("192.0.2.1/26"))}
SHAPES = list(itertools.product((True, False), (0, 1, 2), (0, 1, 2), LANS))


def shaped(platform: str, link4: bool, n6: int, n4: int, lan: str) -> LinkIntent:
    lan_ifname, lan6, lan4 = LANS[lan]
    return LinkIntent(
        name="pe1-ce1", agency_code="DOPA", agency_name="Department of Provincial Administration",
        pe=End("pe1", platform, "eth1", ip.IPv6Interface("2001:db8:ffff::/127"), 65000,
               ip.IPv4Interface("100.64.0.0/31") if link4 else None),
        ce=End("ce1", platform, "eth0", ip.IPv6Interface("2001:db8:ffff::1/127"), 4200000001,
               ip.IPv4Interface("100.64.0.1/31") if link4 else None, "198.18.0.1"),
        agency_prefixes6=tuple(V6[:n6]), agency_prefixes4=tuple(V4[:n4]),
        lan_ifname=lan_ifname, lan6=lan6, lan4=lan4, bandwidth_mbps=1000)


def problems(platform: str, text: str) -> list[str]:
    refs = references(parse(as_running(platform, text), platform))
    return ([f"undefined {r.describe()}: {r.node.text}" for r in refs.undefined()]
            + [f"unused {r.describe()}: {r.node.text}" for r in refs.unused()])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_link_shape_renders_configs_that_stand_on_their_own(platform: str) -> None:
    bad = {}
    for shape in SHAPES:
        for host, text in render(shaped(platform, *shape)).items():
            found = problems(platform, text)
            if found:
                bad[(shape, host)] = found
    assert not bad, bad


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("nets", [["203.0.113.7/32"], ["2001:db8:bad::1/128"],
                                  ["203.0.113.0/24", "2001:db8:bad::/48", "2001:db8:bad::1"]])
def test_gsi_block_config_stands_on_its_own(platform: str, nets: list[str]) -> None:
    text = render_gsi(platform, nets, ["eth1", "eth2"])
    assert text.strip()
    assert problems(platform, text) == []


def test_the_shapes_cover_the_cases_that_broke() -> None:
    """An IPv6-only agency on a dual-stack link (the CE's GIN-ANNOUNCE-V4), an agency with no
    prefix yet, a link without LAN: each is one of the shapes rendered above."""
    assert (True, 1, 0, "dual") in SHAPES and (True, 0, 0, "none") in SHAPES
    assert (False, 1, 1, "v6") in SHAPES


def test_frr_parses_every_shape_it_is_given(tmp_path) -> None:
    """FRR's own parser (``vtysh --dryrun``) takes every FRR config rendered above, the lists
    that match nothing included: the checker's view and the router's agree on the syntax."""
    vtysh = shutil.which("vtysh")
    need(vtysh is not None, "needs FRR's vtysh (Debian package frr)")
    (tmp_path / "vtysh.conf").write_text("")
    bad = {}
    for shape in SHAPES:
        for host, text in render(shaped("frr", *shape)).items():
            path = tmp_path / f"{host}.conf"
            path.write_text(text)
            run = subprocess.run([vtysh, "--dryrun", "-f", str(path), "--config_dir",
                                  str(tmp_path)], capture_output=True, text=True, timeout=60)
            if run.returncode != 0:
                bad[(shape, host)] = run.stdout + run.stderr
    assert not bad, bad

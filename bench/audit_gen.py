"""Generate a realistic GIN of device configs for the audit benchmark.

Each device is rendered with gin's own templates: the security baseline plus several PE
links (each to a different agency), merged into one tree (``configtree.union``: sections
such as ``router bgp`` appear once, as on a real router) and wrapped as the router prints
it (IOS/FRR ``end``, Junos ``set version``).  About 15 % of the devices get one realistic
fault (telnet on the VTYs, a public community, no NTP, weak IKE, no time-out), so the
report has something to show.  Deterministic for a given seed.
"""

from __future__ import annotations

import ipaddress as ip
import random
from pathlib import Path

import yaml

from devices import platforms
from devices.configtree import lines_of, union
from links.intent import End, LinkIntent
from links.render import render_parts

PLATFORMS = ("cisco_ios", "cisco_xe", "juniper_junos", "frr")
LINKS = {"cisco_ios": 9, "cisco_xe": 9, "juniper_junos": 15, "frr": 10}  # ~300 lines each
FAULTS = {
    "hierarchical": [("line vty 0 15\n transport input ssh",
                      "line vty 0 15\n transport input telnet ssh"),
                     ("no snmp-server community public", "snmp-server community public RO"),
                     ("ntp server", "! ntp server"),
                     ("exec-timeout 5 0", "exec-timeout 0 0")],
    "set": [("delete system services telnet", "set system services telnet"),
            ("set system ntp server", "# set system ntp server"),
            ("set system login idle-timeout 5", "set system login idle-timeout 60")],
}
WEAK_IKE = {"hierarchical": "crypto isakmp policy 10\n encryption 3des\n hash sha\n group 2\n",
            "set": "set security ike proposal OLD encryption-algorithm 3des-cbc\n"
                   "set security ike proposal OLD dh-group group2\n"}


def _intent(platform: str, dev: int, link: int, agency: str) -> LinkIntent:
    base = dev * 64 + link
    net6 = ip.IPv6Network((0x20010DB8FFFF << 80 | base << 8, 127))
    a4 = ip.IPv4Address(0x64400000 + base * 2)
    return LinkIntent(
        name=f"{agency.lower()}-l{link}", agency_code=f"{agency}L{link}", agency_name=agency,
        pe=End(f"pe{dev}", platform, f"eth{link + 1}", ip.IPv6Interface(f"{net6[0]}/127"),
               65000, ip.IPv4Interface(f"{a4}/31")),
        ce=End(f"ce{dev}-{link}", platform, "eth0", ip.IPv6Interface(f"{net6[1]}/127"),
               4200000000 + base, ip.IPv4Interface(f"{a4 + 1}/31")),
        agency_prefixes6=(ip.IPv6Network((0x20010DB8 << 96 | base << 80, 48)),),
        agency_prefixes4=(ip.IPv4Network((0xC0000000 | base << 8, 24)),),
        bandwidth_mbps=1000,
    )


def device_config(platform: str, dev: int, agency: str, rng: random.Random) -> str:
    p = platforms.get(platform)
    parts: list[str] = []
    for link in range(LINKS[platform]):
        baseline, own = render_parts(_intent(platform, dev, link, agency), "pe")
        if link == 0:
            parts.append(baseline)
        parts.append(own)
    body = "\n".join(lines_of(p, union(p, parts))) + "\n"
    syntax = p.syntax
    if platform != "frr" and rng.random() < 0.15:
        old, new = rng.choice(FAULTS[syntax])
        body = body.replace(old, new, 1)
        if rng.random() < 0.3:
            body += WEAK_IKE[syntax]
    if syntax == "set":
        return f"## Last commit: 2026-11-20 10:00:00 UTC by gin\nset version 21.4R3\n{body}"
    if platform == "frr":
        return f"Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n" \
               f"frr defaults traditional\nhostname pe{dev}\n!\n{body}!\nend\n"
    return f"Building configuration...\n\nCurrent configuration : 9999 bytes\n!\n" \
           f"hostname pe{dev}\n!\n{body}!\nend\n"


def generate(out: Path, count: int = 2154, seed: int = 17) -> Path:
    """Write ``count`` configs and a ``devices.yaml`` into ``out`` (reused if complete)."""
    out.mkdir(parents=True, exist_ok=True)
    index = out / "devices.yaml"
    if index.is_file() and len(list(out.glob("*.cfg"))) == count:
        return out
    rng = random.Random(seed)
    facts = {}
    for dev in range(count):
        platform = PLATFORMS[dev % len(PLATFORMS)]
        agency = f"AG{dev:04d}"
        name = f"pe{dev:04d}"
        (out / f"{name}.cfg").write_text(device_config(platform, dev, agency, rng))
        facts[name] = {"platform": platform, "role": "pe", "agency": agency}
    index.write_text(yaml.safe_dump(facts))
    return out

"""The platform table: what gin knows about each kind of router, as data.

A platform is one small :class:`Platform` definition (in a module of this package, or
any installed distribution's ``devices.platforms`` entry point) plus a folder of Jinja2
templates.  Rendering, diffing, pushing and verifying read this table; adding a platform
touches no other code (scrapli's idea: behaviour as data, not subclasses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

TEMPLATES = Path(__file__).parent


@dataclass(frozen=True)
class Platform:
    """How to talk to, render for, and verify one router platform."""

    name: str
    #: Netmiko ``device_type`` for the direct transport.
    netmiko_device_type: str
    #: ``ansible_network_os`` for the Ansible transport (None: not supported there).
    ansible_network_os: str | None
    #: hier_config platform used to diff running and intended configuration.
    hier_platform: str
    #: Folder (beside this module) holding ``link_pe.j2``, ``link_ce.j2``, ``baseline.j2``...
    templates: str
    #: Command that prints the running configuration.
    show_running: str = "show running-config"
    #: Lines of the running config that are not configuration (banners, version stamps).
    noise_prefixes: tuple[str, ...] = ()
    #: Lines that close a section in running-config output, dropped before diffing.
    section_closers: tuple[str, ...] = ("!", "exit", "exit-address-family")
    #: Show commands whose JSON/text verify a link (keys used by links.verify).
    verify: dict[str, str] = field(default_factory=dict)
    #: Can this platform be pushed to in this project's tests (a real router exists)?
    lab_pushable: bool = False
    #: Config syntax: "hierarchical" (indent-based) or "set" (Junos set commands).
    syntax: str = "hierarchical"
    #: Does the platform enforce IPv6 unicast RPF on an interface?
    urpf: bool = True
    #: Lines whose negation is not ``no`` + the line: (prefix, negation) pairs.
    negations: tuple[tuple[str, str], ...] = (("description ", "no description"),)
    #: Sections of the GSI cut-off config (``gsi_block.j2``) whose entry order matters
    #: (ACLs ending in a permit): a change rewrites such a section whole instead of
    #: appending entries after the permit.
    gsi_ordered: tuple[str, ...] = ()

    def negate(self, line: str) -> str:
        """The command that removes ``line`` (``no ...``, or ``delete ...`` for set syntax)."""
        if self.syntax == "set":
            return "delete " + line.removeprefix("set ")
        for prefix, negation in self.negations:
            if line.startswith(prefix):
                return negation
        return "no " + line

    @property
    def template_dir(self) -> Path:
        return TEMPLATES / self.templates


FRR = Platform(
    name="frr",
    netmiko_device_type="cisco_ios",  # vtysh speaks IOS-like CLI; Netmiko has no FRR type
    ansible_network_os="frr.frr.frr",
    hier_platform="CISCO_IOS",
    templates="frr",
    noise_prefixes=("frr version", "frr defaults", "Building configuration",
                    "Current configuration", "end"),
    section_closers=("!", "exit", "exit-address-family", "exit-vrf", "end"),
    verify={
        "bgp_neighbors": "show bgp neighbors {peer} json",
        "interface": "show interface {ifname} json",
        "route": "show bgp ipv6 unicast {prefix} json",
        # no "ping": vtysh's ping runs without a count (forever) and in the login's
        # namespace, so FRR proves reachability by the route it received instead.
    },
    lab_pushable=True,
    urpf=False,  # FRR has no uRPF; the Linux kernel's rp_filter covers IPv4 only
)

CISCO_IOS = Platform(
    name="cisco_ios",
    netmiko_device_type="cisco_ios",
    ansible_network_os="cisco.ios.ios",
    hier_platform="CISCO_IOS",
    templates="cisco_ios",
    noise_prefixes=("Building configuration", "Current configuration", "version ", "end",
                    "! Last configuration change", "! NVRAM config last updated"),
    verify={
        "bgp_neighbors": "show bgp ipv6 unicast neighbors {peer}",
        "interface": "show interfaces {ifname}",
        "route": "show bgp ipv6 unicast {prefix}",
        "ping": "ping {address} repeat 3 timeout 1",
    },
    gsi_ordered=("ip access-list ", "ipv6 access-list "),
)

CISCO_XE = Platform(
    name="cisco_xe",
    netmiko_device_type="cisco_xe",
    ansible_network_os="cisco.ios.ios",
    hier_platform="CISCO_IOS",
    templates="cisco_ios",
    noise_prefixes=CISCO_IOS.noise_prefixes,
    verify=CISCO_IOS.verify,
    gsi_ordered=CISCO_IOS.gsi_ordered,
)

JUNIPER_JUNOS = Platform(
    name="juniper_junos",
    netmiko_device_type="juniper_junos",
    ansible_network_os="junipernetworks.junos.junos",
    hier_platform="JUNIPER_JUNOS",
    templates="juniper_junos",
    show_running="show configuration | display set",
    noise_prefixes=("## Last commit", "version "),
    section_closers=(),
    verify={
        "bgp_neighbors": "show bgp neighbor {peer}",
        "interface": "show interfaces {ifname} terse",
        "route": "show route {prefix} protocol bgp",
        "ping": "ping {address} count 3 rapid wait 1",
    },
    syntax="set",
)

BUILTIN = (FRR, CISCO_IOS, CISCO_XE, JUNIPER_JUNOS)


def registry() -> dict[str, Platform]:
    """Built-in platforms plus those other distributions register as ``devices.platforms``."""
    table = {p.name: p for p in BUILTIN}
    for ep in entry_points(group="devices.platforms"):
        platform = ep.load()
        if isinstance(platform, Platform):
            table[platform.name] = platform
    return table


def get(name: str) -> Platform:
    """The platform called ``name``, or a clear error listing the known ones."""
    table = registry()
    if name not in table:
        from devices.errors import ConfigError

        raise ConfigError(f"unknown platform {name!r}; known: {', '.join(sorted(table))}")
    return table[name]

"""The platform table: everything gin knows about one kind of router, as data.

A platform is a folder: ``platform.yaml`` (how to reach it, parse and diff its config, verify
a link, which tunnels it builds and its VPN limits, the BGP MIBs it serves, which audit rules
read it, its interface names, how to recognise its config) beside the Jinja2 templates that
render for it.  Every consumer reads this table, so adding a platform touches no code.

Platforms are registered as entry points of the ``gin.platforms`` group, gin's own ones
included (nornir's way): ``name = "package"`` names an importable package whose folder holds
``platform.yaml``.  An out-of-tree platform is a small distribution with such a package and
entry point; gin's code does not change.  The directory stores any registered name.

``extends: <platform>`` starts from another platform's definition (sections merged key by
key, ``recognise`` not inherited) and, when the folder has no templates of its own, renders
with that platform's templates: IOS-XE is IOS with other limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import yaml

from devices import confirmed
from devices.errors import ConfigError
from directory.platform_names import GROUP, NAME_RE

__all__ = ["GROUP", "Platform", "get", "interface_names", "names", "registry"]

DEFINITION = "platform.yaml"
SYNTAXES = ("hierarchical", "set")


@dataclass(frozen=True)
class Platform:
    """How to talk to, render for, verify, monitor and audit one router platform."""

    name: str
    #: The folder holding ``platform.yaml`` (and its templates, unless it has none).
    folder: Path
    #: The folder the templates are loaded from (this one's, or the ``extends`` base's).
    template_dir: Path
    description: str = ""
    # -- transport --------------------------------------------------------------------------
    #: Netmiko ``device_type`` for the direct transport (None: Netmiko cannot reach it).
    netmiko_device_type: str | None = None
    #: ``ansible_network_os`` for the Ansible transport (None: not supported there).
    ansible_network_os: str | None = None
    # -- configuration ----------------------------------------------------------------------
    #: hier_config platform used to diff running and intended configuration (None: gin
    #: does not parse this platform's configuration).
    hier_platform: str | None = None
    #: Command that prints the running configuration.
    show_running: str = "show running-config"
    #: Lines of the running config that are not configuration (banners, version stamps).
    noise_prefixes: tuple[str, ...] = ()
    #: Regular expressions (multi-line) matching a config line that holds a secret (a
    #: password, a PSK, an SNMP community): a config holding one is kept only sealed.
    secret_lines: tuple[str, ...] = ()
    #: Lines that close a section in running-config output, dropped before diffing.
    section_closers: tuple[str, ...] = ("!", "exit", "exit-address-family")
    #: Config syntax: "hierarchical" (indent-based) or "set" (Junos set commands).
    syntax: str = "hierarchical"
    #: Lines whose negation is not ``no`` + the line: (prefix, negation) pairs.
    negations: tuple[tuple[str, str], ...] = (("description ", "no description"),)
    #: Sections of the GSI cut-off config (``gsi_block.j2``) whose entry order matters
    #: (ACLs ending in a permit): a change rewrites such a section whole instead of
    #: appending entries after the permit.
    gsi_ordered: tuple[str, ...] = ()
    #: Does the platform enforce IPv6 unicast RPF on an interface?
    urpf: bool = True
    #: A change that reverts itself unless confirmed (Junos ``commit confirmed``, IOS-XE's
    #: revert timer): how to push, confirm and revert it (see ``devices/confirmed.py``);
    #: None: the platform has none, and the journal alone protects a change.
    commit_confirmed: Mapping[str, Any] | None = None
    #: Lines that make a configuration session's change take effect (Junos ``commit``):
    #: the transport ends every session with them unless it ends with a commit already,
    #: and a commit is also what survives a reboot (nothing else to save).
    commit_lines: tuple[str, ...] = ()
    # -- links ------------------------------------------------------------------------------
    #: Show commands whose JSON/text verify a link (keys used by links.verify).
    verify: Mapping[str, str] = field(default_factory=dict)
    #: Can this platform be pushed to in this project's tests (a real router exists)?
    lab_pushable: bool = False
    #: Interface names by purpose: ``uplink`` and ``lan`` of a CE, ``trunk`` of a PE.
    interfaces: Mapping[str, str] = field(default_factory=dict)
    # -- VPN --------------------------------------------------------------------------------
    #: Tunnel types this platform can terminate (``ikev2``, ``wireguard``).
    tunnel_types: tuple[str, ...] = ()
    #: A Linux host: strongSwan/WireGuard run there (``swanctl.conf``, ``wg.conf``).
    linux_gateway: bool = False
    #: A router terminating IKEv2 itself: its template (in :attr:`template_dir`), keyword
    #: table, interface and limits (see ``vpn/render.py``); None for Linux gateways.
    vpn_router: Mapping[str, Any] | None = None
    # -- monitoring -------------------------------------------------------------------------
    #: BGP MIBs it may serve (names of ``monitor.snmp.oids.BGP_TABLES``).
    bgp_mibs: tuple[str, ...] = ()
    # -- audit ------------------------------------------------------------------------------
    #: Whose audit rules read this platform's config (the checks are keyed by dialect).
    audit_dialect: str = ""
    #: A Linux box whose /etc files ``gin audit backup --host-files`` collects.
    host_files: bool = False
    #: Regular expressions (multi-line) on a config's first 4 KiB that say "this platform".
    recognise: tuple[str, ...] = ()
    #: Order in which platforms try to recognise a config (lower first: the more specific).
    recognise_precedence: int = 100

    def negate(self, line: str) -> str:
        """The command that removes ``line`` (``no ...``, or ``delete ...`` for set syntax)."""
        if self.syntax == "set":
            return "delete " + line.removeprefix("set ")
        for prefix, negation in self.negations:
            if line.startswith(prefix):
                return negation
        return "no " + line

    @property
    def templates(self) -> str:
        """The name of the folder its templates come from (``cisco_ios`` for IOS-XE)."""
        return self.template_dir.name


#: platform.yaml sections -> {key: Platform field}.  Top-level keys map to themselves.
SECTIONS: dict[str, dict[str, str]] = {
    "transport": {"netmiko": "netmiko_device_type", "ansible": "ansible_network_os"},
    "config": {"parser": "hier_platform", "show_running": "show_running",
               "noise_prefixes": "noise_prefixes", "section_closers": "section_closers",
               "syntax": "syntax", "negations": "negations", "gsi_ordered": "gsi_ordered",
               "urpf": "urpf", "secret_lines": "secret_lines"},
    "vpn": {"tunnel_types": "tunnel_types", "linux_gateway": "linux_gateway",
            "router": "vpn_router"},
    "commit": {"confirmed": "commit_confirmed", "lines": "commit_lines"},
    "snmp": {"bgp_mibs": "bgp_mibs"},
    "audit": {"dialect": "audit_dialect", "host_files": "host_files"},
    "recognise": {"patterns": "recognise", "precedence": "recognise_precedence"},
}
#: What a router's ``vpn.router`` must say (vpn/render.py reads these).
ROUTER_KEYS = {"template", "keywords", "interface", "auth", "ike_lifetime", "esp_lifetime"}
TOP = {"name", "description", "extends", "verify", "lab_pushable", "interfaces"}
_FIELDS = {f.name: f for f in fields(Platform)}


def _merge(base: Mapping[str, Any], own: Mapping[str, Any], top: bool = True
           ) -> dict[str, Any]:
    """``own`` over ``base``, mappings merged key by key at every depth; at the top,
    ``name``, ``description`` and ``recognise`` are never inherited (two platforms claiming
    the same text would make the guess depend on order)."""
    skip = ("recognise", "name", "description") if top else ()
    out = {k: v for k, v in base.items() if k not in skip}
    for key, value in own.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value, top=False)
        else:
            out[key] = value
    return out


def _value(where: str, name: str, raw: Any) -> Any:
    """A YAML value checked against the field's type, as the dataclass keeps it."""
    kind = str(_FIELDS[name].type)
    if kind.startswith("tuple[tuple"):
        if not isinstance(raw, list) or not all(isinstance(p, list) and len(p) == 2
                                                for p in raw):
            raise ConfigError(f"{where}: {name} must be a list of [prefix, negation] pairs")
        return tuple((str(a), str(b)) for a, b in raw)
    if kind.startswith("tuple"):
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ConfigError(f"{where}: {name} must be a list of strings")
        return tuple(raw)
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: {name} must be true or false")
        return raw
    if kind == "int":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ConfigError(f"{where}: {name} must be a whole number")
        return raw
    if kind.startswith("Mapping"):
        if raw is None and "None" in kind:
            return None
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: {name} must be a mapping")
        return MappingProxyType(dict(raw))
    if raw is None and "None" in kind:
        return None
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: {name} must be a string")
    return raw


def build(name: str, folder: Path, data: Mapping[str, Any], template_dir: Path) -> Platform:
    """A :class:`Platform` from a (merged) ``platform.yaml`` mapping, every key checked."""
    where = str(folder / DEFINITION)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key == "extends":
            continue
        if key in SECTIONS:
            if raw is None:
                continue
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{where}: {key} must be a mapping")
            for sub, sub_raw in raw.items():
                if sub not in SECTIONS[key]:
                    raise ConfigError(f"{where}: unknown key {key}.{sub} (known: "
                                      f"{', '.join(SECTIONS[key])})")
                target = SECTIONS[key][sub]
                values[target] = _value(where, target, sub_raw)
        elif key in TOP:
            values[key] = _value(where, key, raw)
        else:
            raise ConfigError(f"{where}: unknown key {key!r} (known: "
                              f"{', '.join(sorted(TOP | set(SECTIONS)))})")
    if values.get("name") != name:
        raise ConfigError(f"{where}: name {values.get('name')!r} differs from its entry "
                          f"point {name!r} (group {GROUP})")
    if values.get("syntax", "hierarchical") not in SYNTAXES:
        raise ConfigError(f"{where}: config.syntax must be one of {', '.join(SYNTAXES)}")
    for pattern in (*values.get("recognise", ()), *values.get("secret_lines", ())):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: recognise pattern {pattern!r}: {exc}") from None
    router = values.get("vpn_router")
    if router is not None:
        lacking = sorted(ROUTER_KEYS - set(router))
        if lacking:
            raise ConfigError(f"{where}: vpn.router lacks {', '.join(lacking)}")
        if "ikev2" not in values.get("tunnel_types", ()):
            raise ConfigError(f"{where}: vpn.router renders IKEv2, but vpn.tunnel_types "
                              f"does not list ikev2")
    if values.get("commit_confirmed") is not None:
        confirmed.parse(where, values["commit_confirmed"])  # one clear error, at load
    values.setdefault("audit_dialect", name)
    return Platform(folder=folder, template_dir=template_dir, **values)


def _folder(ep: EntryPoint) -> Path:
    """The folder of the package an entry point names (its ``platform.yaml`` is there)."""
    where = f"entry point {ep.name} = {ep.value} (group {GROUP})"
    try:
        module = ep.load()
    except Exception as exc:
        raise ConfigError(f"{where}: cannot import it: {type(exc).__name__}: {exc}") from None
    if not isinstance(module, ModuleType) or not getattr(module, "__path__", None):
        raise ConfigError(f"{where}: must name a package whose folder holds {DEFINITION}")
    folder = Path(list(module.__path__)[0])
    if not (folder / DEFINITION).is_file():
        raise ConfigError(f"{where}: {folder} has no {DEFINITION}")
    return folder


def _read(folder: Path) -> dict[str, Any]:
    path = folder / DEFINITION
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    return data


@cache
def registry() -> Mapping[str, Platform]:
    """Every platform registered under ``gin.platforms``, by name (read once a process)."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for ep in entry_points(group=GROUP):
        if not NAME_RE.fullmatch(ep.name):
            raise ConfigError(f"entry point {ep.name!r} (group {GROUP}): a platform name is "
                              f"lower-case letters, digits and _ (at most 32)")
        folder = _folder(ep)
        found[ep.name] = (folder, _read(folder))
    if not found:
        raise ConfigError(f"no platform is registered (entry-point group {GROUP}): is gin "
                          f"installed? run scripts/setup.sh")
    table: dict[str, Platform] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> tuple[dict[str, Any], Path]:
        folder, data = found[name]
        base = data.get("extends")
        if base is None:
            return data, folder
        if base not in found:
            raise ConfigError(f"{folder / DEFINITION}: extends {base!r}, which is not a "
                              f"registered platform")
        if base in chain:
            raise ConfigError(f"{folder / DEFINITION}: extends loops ({' -> '.join(chain)})")
        base_data, base_templates = resolve(base, chain + (base,))
        own_templates = any(folder.glob("*.j2"))
        return _merge(base_data, data), folder if own_templates else base_templates

    for name in sorted(found):
        data, templates = resolve(name, (name,))
        table[name] = build(name, found[name][0], data, templates)
    return MappingProxyType(table)


def names() -> tuple[str, ...]:
    """The registered platforms' names, sorted, without loading their definitions."""
    from directory.platform_names import registered

    return registered()


def get(name: str) -> Platform:
    """The platform called ``name``, or a clear error listing the known ones."""
    table = registry()
    if name not in table:
        raise ConfigError(f"unknown platform {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def interface_names() -> dict[str, dict[str, str]]:
    """``platform -> {purpose: interface name}`` (the synthetic directory names ports so)."""
    return {name: dict(p.interfaces) for name, p in registry().items()}

"""Configuration text as a tree (hier_config), and the differences between two trees.

Running configs carry noise a diff must ignore (FRR's ``frr version`` stamp, ``!``
separators, ``exit`` closers), and intended configs cover only what gin owns.  So a push
sends only the lines the router lacks, and a rollback computes the full remediation back
to the saved running config.
"""

from __future__ import annotations

from collections.abc import Sequence

from hier_config import HConfig, WorkflowRemediation, get_hconfig
from hier_config import Platform as HierPlatform

from devices.errors import GinError
from devices.platforms import Platform


def clean(platform: Platform, text: str) -> str:
    """Drop version stamps, comments and section closers; keep indentation.

    A repeated top-level line without children is kept once: FRR 8.4 prints global lines
    such as ``service password-encryption`` once per daemon.
    """
    lines = [ln.rstrip() for ln in text.splitlines()]
    kept: list[str] = []
    seen: set[str] = set()
    delimiter: str | None = None  # inside a banner: its text is kept as printed
    for i, line in enumerate(lines):
        bare = line.strip()
        if delimiter is not None:
            kept.append(line)
            if delimiter in bare:
                delimiter = None
            continue
        if line.startswith("banner ") and len(bare.split()) > 2:
            delimiter = _banner_delimiter(bare)
            kept.append(line)
            continue
        if not bare or bare in platform.section_closers or bare.startswith("!"):
            continue
        top = line == bare
        if top and any(bare.startswith(p) for p in platform.noise_prefixes):
            continue
        if top:
            nxt = next((n for n in lines[i + 1:] if n.strip() and not n.strip().startswith("!")),
                       "")
            leaf = not nxt.startswith(" ")
            if leaf and bare in seen:
                continue
            seen.add(bare)
        kept.append(line)
    return "\n".join(kept) + "\n"


def _banner_delimiter(line: str) -> str | None:
    """The delimiter a ``banner <kind> <delim>...`` line opens, None when the banner closes
    on the same line: a banner's closing ``^C`` or repeated text is not a duplicate line."""
    word = line.split(None, 2)[2]
    if word[0].isalnum():
        return None  # FRR's "banner motd line <text>": no delimiter
    delim = word[:2] if word.startswith("^") else word[:1]
    return None if delim in word[len(delim):] else delim


def tree(platform: Platform, text: str) -> HConfig:
    """Parse config text; a config gin cannot parse is an error, never a silent guess."""
    if platform.hier_platform is None:
        raise GinError(f"gin does not parse {platform.name} configurations (its platform.yaml "
                       f"has no config.parser)")
    try:
        return get_hconfig(getattr(HierPlatform, platform.hier_platform), clean(platform, text))
    except Exception as exc:
        raise GinError(f"cannot parse {platform.name} configuration: {exc}") from exc


def lines_of(platform: Platform, config: HConfig) -> list[str]:
    """A tree as commands to type, with explicit exits so every platform's CLI follows."""
    out: list[str] = []

    def walk(node: HConfig | object, depth: int) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            out.append(" " * depth + child.text)
            if child.children:
                walk(child, depth + 1)
                if platform.syntax == "hierarchical":
                    closer = "exit-address-family" if child.text.startswith(
                        "address-family") else "exit"
                    out.append(" " * depth + closer)

    walk(config, 0)
    return out


def missing(platform: Platform, running: str, intended: str) -> list[str]:
    """Commands of ``intended`` that ``running`` lacks: what a push has to send."""
    diff = tree(platform, intended).difference(tree(platform, running))
    return lines_of(platform, diff)


def remediation(platform: Platform, current: str, target: str) -> list[str]:
    """Commands that turn ``current`` into exactly ``target`` (used to roll back)."""
    wfr = WorkflowRemediation(tree(platform, current), tree(platform, target))
    return lines_of(platform, wfr.remediation_config)


def union(platform: Platform, texts: Sequence[str]) -> HConfig:
    """One tree holding every line of several configs (sections merged, not repeated)."""
    merged = tree(platform, "")
    for text in texts:
        merged.merge(tree(platform, text))
    return merged


def removal(platform: Platform, running: str, mine: str,
            shared: Sequence[str] = ()) -> list[str]:
    """Commands that remove what only ``mine`` needs from ``running``, and nothing else.

    A section only ``mine`` has (a CE's ``router bgp``, a route-map) is negated whole; a
    section others share too (the PE's ``router bgp``, an interface: a physical port is
    never deleted) keeps its header and loses only the owned lines that are present.
    """
    run, own, common = tree(platform, running), tree(platform, mine), union(platform, shared)
    out: list[str] = []

    def walk(node: HConfig, present: HConfig | None, kept: HConfig | None, depth: int) -> None:
        for child in node.children:
            here = present.get_child(equals=child.text) if present is not None else None
            if here is None:
                continue  # not on the device (any more)
            other = kept.get_child(equals=child.text) if kept is not None else None
            pad = " " * depth
            whole = (child.children and other is None
                     and not child.text.startswith("interface "))
            if not child.children or whole:
                if other is None:
                    out.append(pad + platform.negate(child.text))
                continue
            before = len(out)
            out.append(pad + child.text)
            walk(child, here, other, depth + 1)
            if len(out) == before + 1:
                out.pop()  # nothing to remove inside
            elif platform.syntax == "hierarchical":
                out.append(pad + ("exit-address-family"
                                  if child.text.startswith("address-family") else "exit"))

    walk(own, run, common, 0)
    return out

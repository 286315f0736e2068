"""The house's import rules, read from the code itself (every import, also those inside
functions and under TYPE_CHECKING: a late import is still a dependency).

(a) Floors: directory <- devices <- {links, vpn, monitor, audit} <- gin.  A package
    imports only from floors below it, and the features do not import each other: what
    two features share (the baseline, device targets, the Jinja environment, converge)
    lives on the devices floor.  A feature may read another's *data* only through an
    entry in ``SIDEWAYS_DATA`` (empty today).
(b) No import cycle between modules, not even inside a package.  ``KNOWN_CYCLES`` names
    the cycles being removed on other branches; it is to be emptied when they land.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {"directory": 0, "devices": 1, "links": 2, "vpn": 2, "monitor": 2, "audit": 2,
          "gin": 3}
#: (importing feature module or package, imported feature module): allowed data reads.
SIDEWAYS_DATA: set[tuple[str, str]] = set()
#: Cycles other branches remove, by name -> the modules in the cycle; empty it at merge.
KNOWN_CYCLES: dict[str, frozenset[str]] = {
    "directory.allocator <-> directory.plan": frozenset(
        {"directory.allocator", "directory.plan"}),
    "directory.bulkload <-> directory.importer": frozenset(
        {"directory.bulkload", "directory.importer"}),
}


@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the house: dotted name -> (file, is a package's __init__)."""
    out = {}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            out[".".join(parts)] = (path, is_package)
    return out


def _known(name: str) -> str | None:
    """The house module ``name`` is, or lies in (an attribute of a module), if any."""
    mods = modules()
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported house module, line) for every import statement of ``module``."""
    path, is_package = modules()[module]
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (found := _known(alias.name)) is not None:
                    yield found, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                found = (f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules()
                         else _known(source))
                if found is not None:
                    yield found, node.lineno


@cache
def graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(t for t, _ in imports(m) if t != m) for m in modules()}


def test_every_floor_is_found():
    found = {m.split(".")[0] for m in modules()}
    assert found == set(FLOORS)
    assert "devices.converge" in modules() and "gin.lab.state" in modules()


def test_no_import_runs_up_a_floor_or_sideways_between_features():
    wrong = []
    for module in modules():
        mine = module.split(".")[0]
        for target, line in imports(module):
            theirs = target.split(".")[0]
            if theirs == mine:
                continue
            where = f"{modules()[module][0].relative_to(ROOT)}:{line}"
            if FLOORS[theirs] > FLOORS[mine]:
                wrong.append(f"{where}: {module} imports {target} (a floor above)")
            elif FLOORS[theirs] == FLOORS[mine] and (module, target) not in SIDEWAYS_DATA:
                wrong.append(f"{where}: {module} imports {target} (feature to feature: "
                             "move what both need to devices/)")
    assert not wrong, "\n".join(wrong)


def cycles() -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_no_import_cycles_beyond_the_named_ones():
    found = cycles()
    new = [sorted(c) for c in found if c not in KNOWN_CYCLES.values()]
    assert not new, f"import cycles: {new}"


def test_the_known_cycles_are_still_there_or_are_removed_from_the_list():
    """A cycle fixed elsewhere must leave KNOWN_CYCLES too, so the list only shrinks."""
    found = cycles()
    gone = [name for name, c in KNOWN_CYCLES.items() if c not in found]
    assert not gone, f"no longer cycles, remove them from KNOWN_CYCLES: {gone}"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The rules are only as good as the parser: a late import inside a function and a
    relative import are both dependencies."""
    pkg = tmp_path / "links"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from gin.cli import main\n    return main\n")
    (pkg / "b.py").write_text("from .a import f\nfrom . import c\n")
    (pkg / "c.py").write_text("import links.b\n")
    for other in set(FLOORS) - {"links"}:
        (tmp_path / other).mkdir()
        (tmp_path / other / "__init__.py").write_text("")
    (tmp_path / "gin" / "cli.py").write_text("main = None\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    modules.cache_clear()
    graph.cache_clear()
    try:
        assert dict(imports("links.a")) == {"gin.cli": 2}
        assert {t for t, _ in imports("links.b")} == {"links.a", "links.c"}
        assert cycles() == [frozenset({"links.b", "links.c"})]
    finally:
        modules.cache_clear()
        graph.cache_clear()

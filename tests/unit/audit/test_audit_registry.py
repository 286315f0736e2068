"""Checks register themselves; the runner runs every registered check; no import cycle in
the audit package (checks <-> runner was one)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import audit
import audit.checks
from audit.checks import ALL, BY_ID, registry
from audit.checks.base import SUBJECTS, Check, Context, Result, Status


def test_every_check_module_registers_its_checks() -> None:
    modules = [i.name for i in pkgutil.iter_modules(audit.checks.__path__)
               if i.name not in registry.NOT_CHECKS]
    assert modules  # found by the registry itself, no list to keep
    for name in modules:
        module = importlib.import_module(f"audit.checks.{name}")
        assert module.CHECKS, name
        assert all(BY_ID[c.id] is c for c in module.CHECKS), name
    assert [c.id for c in registry.of("config")] == [c.id for c in ALL]
    assert {c.subject for c in BY_ID.values()} == set(SUBJECTS)  # every kind is judged


def test_registering_mistakes_are_refused() -> None:
    def rule(_config: object, _ctx: Context) -> Result:
        return Result(Status.PASS, "ok")

    taken = next(iter(BY_ID.values()))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Check(taken.id, "again", "low", {"*": rule}))
    with pytest.raises(ValueError, match="unknown subject 'router'"):
        registry.register(Check("x.new", "new", "low", {"*": rule}, subject="router"))
    assert "x.new" not in registry.by_id()


def _imports(path: Path, known: set[str]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out & known


def test_the_audit_package_has_no_import_cycle() -> None:
    root = Path(audit.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    assert "audit.checks.registry" in graph["audit.runner"]  # the graph is really read
    for name in graph:  # imports inside functions count too: they are edges all the same
        seen: set[str] = set()
        todo = list(graph[name])
        while todo:
            here = todo.pop()
            assert here != name, f"import cycle through {name}"
            if here not in seen:
                seen.add(here)
                todo.extend(graph[here])

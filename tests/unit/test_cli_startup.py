"""Start-up stays cheap: `gin --help` and `gin directory whois` import only what they use.

The commands run as whole processes (as a user runs them) and report the modules they
loaded; nothing here is timed (bench/startup_bench.py measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest

from gin.cli import cli, main
from gin.lazy_group import LazyCommand, LazyGroup

# Run the CLI's own entry point, then print every module it loaded (also when click ends the
# process itself, as shell completion does).
PROBE = """
import json, sys
from gin.cli import main
try:
    code = main(sys.argv[1:])
finally:
    print("\\x00" + json.dumps(sorted(sys.modules)), end="")
sys.exit(code)
"""

NEVER_FOR_HELP = ("sqlalchemy", "rich", "alembic", "audit", "yaml", "jinja2", "hier_config",
                  "netaddr", "cryptography", "directory.store", "directory.models",
                  "devices.transport", "links", "vpn", "monitor", "gin.output")
NEVER_FOR_WHOIS = ("audit", "alembic", "yaml", "jinja2", "hier_config", "links", "vpn",
                   "monitor", "devices.transport", "directory.importer", "directory.exports",
                   "gin.commands.transfer", "gin.commands.link", "gin.commands.audit",
                   "rich.progress")


def probe(*args: str, env: dict[str, str]) -> tuple[int, str, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env, timeout=120)
    out, _, modules = done.stdout.partition("\x00")
    return done.returncode, out, set(json.loads(modules or "[]"))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "GIN_DB": str(tmp_path / "startup.sqlite"), "GIN_ACTOR": "startup"}


def test_help_lists_every_group_without_importing_them(env):
    code, out, modules = probe("--help", env=env)
    assert code == 0
    for name in ("audit", "directory", "lab", "link", "monitor", "vpn"):
        assert f"\n  {name} " in out
    assert "The agency network directory" in out
    assert loaded(modules, NEVER_FOR_HELP) == []
    assert not [m for m in modules if m.startswith("gin.commands.")]


def test_completing_a_command_name_imports_no_command(env):
    env = {**env, "_GIN_COMPLETE": "bash_complete", "COMP_WORDS": "gin di", "COMP_CWORD": "1"}
    code, out, modules = probe(env=env)
    assert code == 0 and out.split() == ["plain,directory"]
    assert loaded(modules, NEVER_FOR_HELP) == []
    env = {**env, "COMP_WORDS": "gin directory w", "COMP_CWORD": "2"}
    code, out, modules = probe(env=env)
    assert code == 0 and out.split() == ["plain,whois"]
    assert "gin.commands.directory" in modules and "gin.commands.prefix" not in modules


def test_whois_loads_the_directory_but_not_the_other_features(env):
    subprocess.run([sys.executable, "-m", "gin.cli", "directory", "prefix", "add",
                    "2001:db8:77::/48", "--role", "agency", "--description", "startup probe"],
                   env=env, check=True, capture_output=True, timeout=120)
    code, out, modules = probe("directory", "whois", "2001:db8:77::1", "--json", env=env)
    assert code == 0
    found = json.loads(out)
    assert found["prefix"] == "2001:db8:77::/48" and found["description"] == "startup probe"
    assert "directory.whois" in modules and "sqlalchemy" in modules
    assert loaded(modules, NEVER_FOR_WHOIS) == []


def _lazy_groups(group: click.Group, path: tuple[str, ...] = ()):
    ctx = click.Context(group)
    if isinstance(group, LazyGroup):
        yield path, group
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if isinstance(sub, click.Group):
            yield from _lazy_groups(sub, path + (name,))


def test_lazy_tables_name_real_commands_with_their_own_help():
    groups = list(_lazy_groups(cli))
    assert {path for path, _ in groups} >= {(), ("directory",)}
    for path, group in groups:
        ctx = click.Context(group)
        for name, entry in group.lazy.items():
            command = group.get_command(ctx, name)
            where = " ".join((*path, name))
            assert command is not None and command.name == name, where
            listed = click.Command(name, help=entry.help)
            for limit in (45, 80, 200):  # the table says what the command's docstring says
                assert listed.get_short_help_str(limit) == command.get_short_help_str(limit), where


def test_an_added_command_wins_over_the_table_and_unknown_names_are_usage_errors(capsys):
    @click.command("whois")
    def replacement() -> None:
        """Stand-in registered by a test."""
        click.echo("replacement ran")

    group = LazyGroup("g", lazy={"whois": LazyCommand("gin.commands.prefix:whois", "Whois.")})
    group.add_command(replacement)
    assert group.main(["whois"], standalone_mode=False) is None
    assert capsys.readouterr().out == "replacement ran\n"
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err

"""The CLI contract: help everywhere, --json, one-line errors with the documented exit codes."""

from __future__ import annotations

import json

import click
import pytest

from directory.store import os_user
from gin.cli import cli, main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIN_DB", str(tmp_path / "cli.sqlite"))
    monkeypatch.setenv("GIN_ACTOR", "cli-test")

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, prefix + (name,))


def test_every_command_explains_itself(run):
    run("--help")
    paths = list(_all_commands(cli))
    assert ("directory", "agency", "add") in paths
    for path in paths:
        code, out, _ = run(*path, "--help")
        assert code == 0, path
        assert "Usage:" in out and len(out.splitlines()) > 3, path


def test_add_list_show_json(run):
    assert run("directory", "agency", "add", "moi", "--name-en", "Ministry of Interior",
               "--name-th", "กระทรวงมหาดไทย", "--kind", "ministry")[0] == 0
    code, out, _ = run("directory", "agency", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows == [{"code": "MOI", "name_en": "Ministry of Interior",
                     "name_th": "กระทรวงมหาดไทย", "kind": "ministry", "parent": None,
                     "asn": None, "description": None}]
    code, out, _ = run("directory", "agency", "show", "MOI", "--json")
    assert json.loads(out)["sites"] == []
    code, out, _ = run("directory", "history", "--json")
    assert json.loads(out)[0]["actor"] == f"cli:{os_user()} as cli-test"


def test_user_error_is_one_line_exit_1(run):
    code, out, err = run("directory", "agency", "show", "NOPE")
    assert code == 1
    assert err.strip() == "gin: error: agency 'NOPE' not found"
    assert "Traceback" not in err + out


def test_hostile_name_is_refused(run):
    code, _, err = run("directory", "agency", "add", "X", "--name-en", "evil\nhostname pwned")
    assert code == 1 and "control character" in err and len(err.strip().splitlines()) == 1


def test_usage_error_exit_2(run):
    code, _, err = run("directory", "agency", "add", "X")
    assert code == 2 and "--name-en" in err


def test_debug_shows_traceback(run):
    code, _, err = run("--debug", "directory", "agency", "show", "NOPE")
    assert code == 1 and "Traceback" in err


def test_bad_database_url_is_one_line(run):
    code, _, err = run("--db", "nosuchdialect://x/y", "directory", "agency", "list")
    assert code == 1 and err.startswith("gin: error: cannot open directory database")

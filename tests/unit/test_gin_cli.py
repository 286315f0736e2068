"""The CLI contract: help everywhere, --json, one-line errors with the documented exit codes."""

from __future__ import annotations

import json

import click
import pytest

from directory.store import Directory
from gin.cli import cli, main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIN_DB", str(tmp_path / "cli.sqlite"))
    monkeypatch.setenv("GIN_ACTOR", "cli-test")
    Directory(str(tmp_path / "cli.sqlite")).close()  # exists: no 'created' notice

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, prefix + (name,))


def test_every_command_explains_itself(run):
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
    assert json.loads(out)[0]["actor"] == "cli-test"


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


def test_a_named_sqlite_file_that_does_not_exist_is_created_with_a_notice(tmp_path, capsys,
                                                                           monkeypatch):
    """A typo in --db or GIN_DB must not silently give an empty directory."""
    monkeypatch.delenv("GIN_DB", raising=False)
    new = tmp_path / "typo.sqlite"
    assert main(["--db", str(new), "directory", "agency", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == []  # stdout stays clean JSON
    assert err.splitlines() == [f"gin: the directory database {new} (--db / GIN_DB) did not "
                                "exist: created a new, empty one"]
    assert main(["--db", str(new), "directory", "agency", "list", "--json"]) == 0
    assert capsys.readouterr().err == ""  # said once, when it was created
    monkeypatch.setenv("GIN_DB", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert main(["directory", "agency", "show", "MOF"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "env.sqlite (--db / GIN_DB) did not exist" in err[0]
    assert err[1] == "gin: error: agency 'MOF' not found"


def test_json_lists_come_in_pages_and_never_end_silently(run):
    for i in range(5):
        assert run("directory", "agency", "add", f"AG{i}", "--name-en", f"Agency {i}")[0] == 0
        assert run("directory", "prefix", "add", f"2001:db8:{i}::/48", "--agency", f"AG{i}",
                   "--role", "agency")[0] == 0
    code, out, err = run("directory", "prefix", "list", "--json", "--limit", "2")
    first = [p["prefix"] for p in json.loads(out)]
    assert code == 0 and first == ["2001:db8::/48", "2001:db8:1::/48"]
    assert err == "gin: 3 more prefixes after these 2 (next page: --offset 2)\n"
    code, out, err = run("directory", "prefix", "list", "--json", "--limit", "2", "--offset", "4")
    assert [p["prefix"] for p in json.loads(out)] == ["2001:db8:4::/48"] and err == ""
    pages = [json.loads(run("directory", "prefix", "list", "--json", "--limit", "2",
                            "--offset", str(o))[1]) for o in (0, 2, 4)]
    assert [p["prefix"] for page in pages for p in page] == [f"2001:db8:{i}::/48" if i else
                                                            "2001:db8::/48" for i in range(5)]
    code, out, err = run("directory", "history", "--json", "--limit", "3")
    newest = json.loads(out)
    assert len(newest) == 3 and "more older changes after these 3 (next page: --offset 3)" in err
    code, out, err = run("directory", "history", "--json", "--limit", "3", "--offset", "3")
    assert [c["id"] for c in json.loads(out)] == [newest[-1]["id"] - i for i in (1, 2, 3)]
    code, out, err = run("directory", "history", "--json", "--limit", "100")
    assert len(json.loads(out)) == 10 and err == ""

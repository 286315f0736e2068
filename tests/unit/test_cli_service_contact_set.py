"""`gin directory service set` and `gin directory contact set`: only the options given change,
a refusal is one line and changes nothing, and the change log names the CLI's actor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from directory import store
from directory.store import Directory
from gin.cli import main


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    Directory(url).engine.dispose()  # exists: no "created a new one" notice
    args = ["--db", url, "--actor", "cli-test"]
    assert main([*args, "directory", "agency", "add", "DGA", "--name-en", "DGA"]) == 0
    assert main([*args, "directory", "agency", "add", "MOF", "--name-en", "MOF"]) == 0
    assert main([*args, "directory", "service", "add", "DGA", "portal",
                 "https://www.dga.or.th/", "--host", "dga.or.th", "--description", "old"]) == 0
    assert main([*args, "directory", "service", "add", "DGA", "mail",
                 "https://mail.dga.or.th/"]) == 0
    assert main([*args, "directory", "contact", "add", "DGA", "Somchai", "--role", "NOC",
                 "--email", "noc@dga.or.th"]) == 0
    return args


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_service_set_changes_only_what_is_given(base: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "directory", "service", "set", "DGA", "portal",
                 "--url", "https://e.dga.or.th/th", "--json"]) == 0
    row = _json(capsys)
    assert row["url"] == "https://e.dga.or.th/th" and row["description"] == "old"
    assert row["hosts"] == ["e.dga.or.th", "dga.or.th"]
    assert main([*base, "directory", "service", "set", "dga", "PORTAL", "--rename", "eservice",
                 "--host", "a.dga.or.th", "--host", "b.dga.or.th", "--description", "",
                 "--json"]) == 0
    row = _json(capsys)
    assert row["name"] == "eservice" and row["description"] is None
    assert row["hosts"] == ["e.dga.or.th", "a.dga.or.th", "b.dga.or.th"]
    d = Directory(base[1])
    with d.transaction() as s:
        entries = store.history(s, "service", limit=2)
        assert [e.action for e in entries] == ["update", "update"]
        assert all("cli-test" in e.actor for e in entries)
    d.close()


@pytest.mark.parametrize(("argv", "message"), [
    (["--url", "https://admin:pw@www.dga.or.th/"], "must not contain a user name or password"),
    (["--url", "gopher://x.or.th/"], "must start with http"),
    (["--rename", "mail"], "service DGA/mail already exists"),
    (["--rename", "bad name"], "not a valid name"),
    (["--host", "x" * 300], "longer than 253"),
    (["--description", "x" * 256], "longer than 255"),
    (["--description", "a\x1b[31m"], "control character"),
])
def test_service_set_refusals_are_one_line_and_change_nothing(
        base: list[str], capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    assert main([*base, "directory", "service", "list", "--json"]) == 0
    before = capsys.readouterr().out
    assert main([*base, "directory", "service", "set", "DGA", "portal",
                 "--description", "half done", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "admin:pw" not in err
    assert main([*base, "directory", "service", "list", "--json"]) == 0
    assert capsys.readouterr().out == before


def test_contact_set(base: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*base, "directory", "contact", "list", "--json"]) == 0
    [contact] = json.loads(capsys.readouterr().out)
    cid = str(contact["id"])
    assert main([*base, "directory", "contact", "set", "DGA", cid, "--name", "สมหญิง <b>ใจดี</b>",
                 "--email", "", "--json"]) == 0
    row = _json(capsys)
    assert row == {**contact, "name": "สมหญิง <b>ใจดี</b>", "email": None}
    assert main([*base, "directory", "contact", "set", "DGA", cid, "--email", "nope"]) == 1
    assert "email: 'nope' is not an e-mail address" in capsys.readouterr().err
    assert main([*base, "directory", "contact", "set", "MOF", cid, "--role", "x"]) == 1
    assert f"contact {cid} of MOF not found" in capsys.readouterr().err
    assert main([*base, "directory", "contact", "set", "DGA", "0", "--role", "x"]) == 2
    assert main([*base, "directory", "contact", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [row]

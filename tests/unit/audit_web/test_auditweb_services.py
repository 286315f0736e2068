"""Agencies' public services in the directory: validation, change log, CLI, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import store
from directory.errors import Conflict, DirectoryError, Invalid, NotFound
from directory.store import Directory
from gin.cli import main


@pytest.fixture
def d(tmp_path: Path) -> store.Directory:
    directory = store.Directory(f"sqlite:///{tmp_path / 'd.sqlite'}", actor="svc-test")
    with directory.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Ministry of Finance")
    return directory


def test_add_list_remove_with_change_log(db_url: str) -> None:
    """On SQLite and on PostgreSQL (migration 0003, JSON host list)."""
    d = store.Directory(db_url, actor="svc-test")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Ministry of Finance")
    with d.transaction() as s:
        sv = store.add_service(s, "mof", "WWW", "HTTPS://WWW.Mof.go.th:8443/e-service?x=1#top",
                               hosts=["mof.go.th", "www.mof.go.th", "กรมบัญชีกลาง.ไทย"])
        assert sv.url == "https://www.mof.go.th:8443/e-service?x=1"  # no fragment
        assert sv.hosts[0] == "www.mof.go.th" and sv.hosts[1] == "mof.go.th"
        assert sv.hosts[2].startswith("xn--") and len(sv.hosts) == 3
    with d.transaction() as s:
        assert [(x.agency.code, x.name) for x in store.list_services(s)] == [("MOF", "www")]
        assert store.list_services(s, "MOF")[0].hosts[0] == "www.mof.go.th"
        with pytest.raises(Conflict, match="still used by services"):
            store.remove(s, store.get_agency(s, "MOF"))
    with d.transaction() as s, pytest.raises(Conflict, match="already exists"):
        store.add_service(s, "MOF", "www", "https://other.go.th/")
    with d.transaction() as s:
        store.remove_service(s, "MOF", "www")
        changes = [(c.action, c.object_type) for c in store.history(s, "service")]
        assert changes == [("delete", "service"), ("create", "service")]
        assert store.list_services(s) == []
    with d.transaction() as s, pytest.raises(NotFound):
        store.remove_service(s, "MOF", "www")
    d.close()


@pytest.mark.parametrize("url, message", [
    ("ftp://www.mof.go.th/", "must start with http"),
    ("javascript:alert(1)", "must start with http"),
    ("https://user:secret@www.mof.go.th/", "user name or password"),
    ("https://www.mof.go.th\n/", "control character"),
    ("https://www.mof.go.th/\x00", "control character"),
    ("https://www.mof.go.th/a b", "spaces"),
    ("https://-bad-.go.th/", "not a valid DNS name"),
    ("https://www.mof.go.th:99999/", "not a valid URL"),
    ("https://www.mof.go.th:0/", "port 0"),
    ("https://" + "a" * 64 + ".go.th/", "not a valid DNS name"),
    ("https://www.mof.go.th/" + "x" * 3000, "longer than 2048"),
    ("https:///nohost", "url host: must not be empty"),
    ('https://www.mof.go.th"/', "not a valid DNS name"),
])
def test_bad_urls_are_one_line_errors_and_change_nothing(d: store.Directory, url: str,
                                                         message: str) -> None:
    with pytest.raises(Invalid, match=message) as err, d.transaction() as s:
        store.add_service(s, "MOF", "www", url)
    assert "\n" not in str(err.value) and "secret" not in str(err.value)
    with d.transaction() as s:
        assert store.list_services(s) == [] and store.history(s, "service") == []


@pytest.mark.parametrize("name, hosts, message", [
    ("a\nb", [], "control character"),
    ("x" * 65, [], "longer than 64"),
    ("bad name", [], "not a valid name"),
    ("www", ["ok.go.th", "evil.go.th\r\nX-Injected: 1"], "control character"),
    ("www", ["'; DROP TABLE service; --"], "not a valid DNS name"),
    ("www", [f"h{i}.go.th" for i in range(40)], "more than 32"),
    ("www", "www.mof.go.th", "expected a list"),
])
def test_bad_names_and_hosts(d: store.Directory, name: str, hosts: list[str],
                             message: str) -> None:
    with pytest.raises(Invalid, match=message), d.transaction() as s:
        store.add_service(s, "MOF", name, "https://www.mof.go.th/", hosts=hosts)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=300), host=st.text(max_size=80))
def test_any_text_is_stored_clean_or_refused(d: store.Directory, url: str, host: str) -> None:
    try:
        with d.transaction() as s:
            sv = store.add_service(s, "MOF", "fuzz", url, hosts=[host])
            stored = (sv.url, list(sv.hosts))
            store.remove_service(s, "MOF", "fuzz")
    except DirectoryError as exc:
        assert "\n" not in str(exc)
        return
    assert stored[0].startswith(("http://", "https://"))
    assert all(ch.isprintable() and not ch.isspace() for ch in stored[0])
    assert all(h.isascii() and h == h.lower() for h in stored[1])


def test_cli_add_list_rm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", f"sqlite:///{tmp_path / 'cli.sqlite'}", "--actor", "cli"]
    assert main([*base, "directory", "agency", "add", "DGA", "--name-en", "DGA"]) == 0
    assert main([*base, "directory", "service", "add", "DGA", "portal",
                 "https://www.dga.or.th/", "--host", "dga.or.th", "--json"]) == 0
    assert '"dga.or.th"' in capsys.readouterr().out
    assert main([*base, "directory", "service", "list", "--json"]) == 0
    assert '"https://www.dga.or.th/"' in capsys.readouterr().out
    assert main([*base, "directory", "service", "add", "DGA", "x",
                 "https://a.go.th/\x1b[31m"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "control character" in err
    assert main([*base, "directory", "service", "add", "NOPE", "x", "https://a.go.th/"]) == 1
    assert "agency 'NOPE' not found" in capsys.readouterr().err
    assert main([*base, "directory", "service", "rm", "DGA", "portal"]) == 0
    assert main([*base, "directory", "service", "rm", "DGA", "portal"]) == 1
    assert "not found" in capsys.readouterr().err


def test_audit_web_without_services_is_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", f"sqlite:///{tmp_path / 'empty.sqlite'}"]
    Directory(base[1]).engine.dispose()  # exists: no "created a new one" notice
    assert main([*base, "audit", "web", "--evidence-dir", str(tmp_path / "ev")]) == 1
    err = capsys.readouterr().err
    assert "no public services recorded" in err and err.count("\n") == 1
    assert not (tmp_path / "ev").exists()
    assert main([*base, "audit", "web", "--nameserver", "not-an-ip"]) == 2
    assert "not an IP address" in capsys.readouterr().err


@pytest.mark.parametrize("agency", ["MOF\nrm -rf /", "'; DROP TABLE agency; --", "\x1b[2J",
                                    "A" * 5000, "NOPE"])
def test_audit_web_hostile_agency_is_one_line(tmp_path: Path, agency: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", f"sqlite:///{tmp_path / 'h.sqlite'}"]
    Directory(base[1]).engine.dispose()  # exists: no "created a new one" notice
    assert main([*base, "audit", "web", "--agency", agency, "--evidence-dir",
                 str(tmp_path / "ev")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gin: error:")
    assert not (tmp_path / "ev").exists()


def test_help_of_the_new_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["audit", "web", "--help"], ["directory", "service", "--help"],
                 ["directory", "service", "add", "--help"]):
        assert main(argv) == 0
        assert "Usage:" in capsys.readouterr().out

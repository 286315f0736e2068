"""Public services in import and export: the store's rules, one-line errors, all-or-nothing.

The round trip of a directory with services through every format is in test_transfer.py
(the shared sample holds two services); here: what is stored, what is refused and how.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from _fixtures_transfer import SAMPLE_YAML, counts, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import store
from directory.errors import DirectoryError, ImportFailed
from directory.store import MAX_SERVICE_HOSTS, Directory
from directory.transfer import export_data, export_directory, import_files

AGENCIES = "code,name_en\nDGA,Digital Government Development Agency\nMOF,Finance\n"
HEADER = "agency,name,url,hosts,description\n"


def _rejects(d: Directory, paths: list[str], *needles: str, **kw: object) -> list[str]:
    """The import fails, names every needle, and writes nothing (change log included)."""
    before = counts(d)
    with pytest.raises(ImportFailed) as exc:
        import_files(d, paths, **kw)
    text = "\n".join(exc.value.errors)
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert counts(d) == before
    for line in exc.value.errors:  # file:line: field: what, one line each
        where, field, what = line.split(": ", 2)
        assert where.rsplit(":", 1)[1].isdigit() and field and what and "\n" not in line
    return exc.value.errors


def _services(d: Directory) -> list[dict[str, object]]:
    with d.transaction() as s:
        return export_data(s)["services"]


def test_stored_like_the_store_stores_them(directory, tmp_path):
    """URL normalised, host names IDNA, the URL's host first and each name once."""
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    sv = write(tmp_path / "services.csv", HEADER +
               'dga,Portal,HTTPS://WWW.DGA.example.go.th:8443/x?a=1#frag,'
               '"dga.example.go.th  WWW.dga.example.go.th  ระบบ.example.go.th dga.example.go.th",'
               'e-Service\n'
               "MOF,www,http://mof.example.go.th,,\n")
    report = import_files(directory, [ag, sv])
    assert report.created == {"agencies": 2, "services": 2}
    with directory.transaction() as s:
        portal = store.get_service(s, "DGA", "portal")
        assert portal.url == "https://www.dga.example.go.th:8443/x?a=1"
        assert portal.hosts == ["www.dga.example.go.th", "dga.example.go.th",
                                "ระบบ.example.go.th".encode("idna").decode("ascii")]
        assert store.get_service(s, "MOF", "www").hosts == ["mof.example.go.th"]
        assert [(c.action, c.object_type) for c in store.history(s, "service")] == [
            ("create", "service")] * 2


@pytest.mark.parametrize("fast", [True, False])
def test_fast_and_careful_paths_store_the_same(tmp_path, fast):
    from directory.importer import import_rows, read_files

    d = Directory(f"sqlite:///{tmp_path / 'd.sqlite'}", actor="t")
    with d.transaction() as s:
        report = import_rows(s, read_files([write(tmp_path / "s.yaml", SAMPLE_YAML)]).rows,
                             fast=fast)
    assert not report.errors and report.created["services"] == 2
    assert _services(d) == [
        {"agency": "DOPA", "name": "portal",
         "url": "https://www.dopa.example.go.th/e-service?lang=th",
         "hosts": ["www.dopa.example.go.th", "dopa.example.go.th",
                   "xn--12c3c1ab8ek.example.go.th"], "description": "e-Service portal"},
        {"agency": "MOI", "name": "www", "url": "http://moi.example.go.th/",
         "hosts": ["moi.example.go.th"], "description": None}]
    d.close()


def test_the_most_host_names_the_store_holds_round_trip(directory, tmp_path):
    """The URL's host plus MAX_SERVICE_HOSTS others: an export lists them all, and imports."""
    with directory.transaction() as s:
        store.add_agency(s, code="DGA", name_en="DGA")
        store.add_service(s, "DGA", "big", "https://www.dga.example.go.th/",
                          [f"h{i}.dga.example.go.th" for i in range(MAX_SERVICE_HOSTS)])
    first = _services(directory)
    assert len(first[0]["hosts"]) == MAX_SERVICE_HOSTS + 1
    for fmt in ("csv", "yaml"):
        out = tmp_path / ("out" if fmt == "csv" else "out.yaml")
        export_directory(directory, fmt, out)
        other = Directory(f"sqlite:///{tmp_path / f'{fmt}.sqlite'}", actor="t")
        import_files(other, [str(out)])
        assert _services(other) == first
        other.close()
    too_many = write(tmp_path / "x.json", json.dumps({"services": [
        {"agency": "DGA", "name": "more", "url": "https://www.dga.example.go.th/",
         "hosts": [f"h{i}.example.go.th" for i in range(MAX_SERVICE_HOSTS + 1)]}]}))
    _rejects(directory, [too_many], f"{too_many}:1: hosts: more than {MAX_SERVICE_HOSTS}")


def test_hostile_rows_are_each_refused_on_their_line(directory, tmp_path):
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    rows = [
        ["DGA", "ftp", "ftp://files.example.go.th/", "", ""],                       # 2
        ["DGA", "js", "javascript:alert(1)", "", ""],                               # 3
        ["DGA", "creds", "https://admin:s3cret@www.example.go.th/", "", ""],        # 4
        ["DGA", "formula", '=HYPERLINK("http://evil.example","click")', "", ""],    # 5
        ["DGA", "fhost", "https://a.example.go.th/", "=cmd|' /C calc'!A0", ""],     # 6
        ["DGA", "crlf", "https://a.example.go.th/", "ok.example.go.th\r\nX-Evil:1", ""],  # 7
        ["DGA", "sql", "https://a.example.go.th/", "x.go.th';DROP TABLE service;--", ""],  # 9
        ["DGA", "bad name", "https://a.example.go.th/", "", ""],                    # 10
        ["DGA", "nul", "https://a.example.go.th/\x00", "", ""],                     # 11
        ["DGA", "semi", "https://a.example.go.th/", "a.example.go.th;b.example.go.th", ""],  # 12
        ["NOPE", "orphan", "https://a.example.go.th/", "", ""],                     # 13
        ["DGA", "nourl", "", "a.example.go.th", ""],                                # 14
        ["DGA", "Dup", "https://a.example.go.th/", "", ""],                         # 15
        ["DGA", "dup", "https://b.example.go.th/", "", ""],                         # 16
        ["DGA", "long", "https://a.example.go.th/" + "x" * 3000, "", ""],          # 17
        ["DGA", "nohost", "https:///path", "", ""],                                 # 18
        ["DGA", "badhost", "https://-x-.example.go.th/", "", ""],                   # 19
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER.strip().split(","))
    writer.writerows(rows)
    sv = write(tmp_path / "services.csv", buf.getvalue())
    errors = _rejects(
        directory, [ag, sv],
        f"{sv}:2: url: 'ftp://files.example.go.th/' must start with http:// or https://",
        f"{sv}:3: url: 'javascript:alert(1)' must start with http",
        f"{sv}:4: url: must not contain a user name or password",
        f"{sv}:5: url:",
        f"{sv}:6: hosts: \"=cmd|'\" is not a valid DNS name",
        f"{sv}:7: hosts: control character '\\r' is not allowed",
        f"{sv}:9: hosts: \"x.go.th';DROP\" is not a valid DNS name",
        f"{sv}:10: name: 'bad name' is not a valid service name",
        f"{sv}:11: url: control character '\\x00' is not allowed",
        f"{sv}:12: hosts: 'a.example.go.th;b.example.go.th' is not a valid DNS name",
        f"{sv}:13: agency: 'NOPE' not found in the file or the directory",
        f"{sv}:14: url: must not be empty",
        f"{sv}:16: name: duplicate service 'DGA/dup', first given at {sv}:15",
        f"{sv}:17: url: longer than 2048 characters",
        f"{sv}:18: url: host must not be empty",
        f"{sv}:19: url: host '-x-.example.go.th' is not a valid DNS name")
    assert not any("s3cret" in line for line in errors)  # a password is never echoed
    assert len(errors) == 16


def test_json_and_yaml_hosts_are_a_list(directory, tmp_path):
    base = {"agency": "DGA", "name": "portal", "url": "https://www.dga.example.go.th/"}
    doc = {"agencies": [{"code": "DGA", "name_en": "DGA"}],
           "services": [base | {"hosts": "www.dga.example.go.th dga.example.go.th"},
                        base | {"name": "n", "hosts": [1, None]},
                        base | {"name": "d", "hosts": {"a": "b"}},
                        base | {"name": "e", "url": ["https://x.example.go.th/"]}]}
    path = write(tmp_path / "x.json", json.dumps(doc, indent=1).replace("}, {", "},\n{"))
    _rejects(directory, [path], "hosts: expected a list of host names, got str",
             "hosts: expected text, got int", "hosts: expected a list of host names, got dict",
             "url: expected text, got list")
    y = write(tmp_path / "x.yaml", "agencies: [{code: DGA, name_en: DGA}]\nservices:\n"
              "  - {agency: DGA, name: p, url: 'https://p.example.go.th/',\n"
              "     hosts: [a.example.go.th, \"evil\\nX-Injected: 1\"]}\n")
    _rejects(directory, [y], f"{y}:3: hosts: control character '\\n' is not allowed")


def test_agency_in_the_same_import_or_rejected_with_it(directory, tmp_path):
    sv = write(tmp_path / "services.csv", HEADER + "NEW,www,https://new.example.go.th/,,\n")
    _rejects(directory, [sv], f"{sv}:2: agency: 'NEW' not found in the file or the directory")
    bad = write(tmp_path / "agencies.csv", "code,name_en\nNEW,\n")
    _rejects(directory, [bad, sv], f"{sv}:2: agency: agency 'NEW' was rejected ({bad}:2)")
    good = write(tmp_path / "more-agencies.csv", "code,name_en\nNEW,New Agency\n")
    assert import_files(directory, [sv, good]).created == {"agencies": 1, "services": 1}


def test_partial_imports_the_good_services(directory, tmp_path):
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    sv = write(tmp_path / "services.csv", HEADER +
               "DGA,good,https://www.dga.example.go.th/,dga.example.go.th,\n"
               "DGA,bad,https://u:p@www.dga.example.go.th/,,\n"
               "MOF,fine,https://www.mof.example.go.th/,,\n")
    report = import_files(directory, [ag, sv], partial=True)
    assert report.created == {"agencies": 2, "services": 2}
    assert report.errors == [f"{sv}:3: url: must not contain a user name or password"]
    assert [(r["agency"], r["name"]) for r in _services(directory)] == [("DGA", "good"),
                                                                      ("MOF", "fine")]


def test_modes_create_skip_upsert(directory, tmp_path):
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    first = write(tmp_path / "services.csv", HEADER +
                  "DGA,www,https://www.dga.example.go.th/,dga.example.go.th old.example.go.th,"
                  "Portal\n")
    import_files(directory, [ag, first])
    _rejects(directory, [first], f"{first}:2: name: service 'DGA/www' already exists in the "
             "directory (use --mode upsert")
    assert import_files(directory, [first], mode="skip").unchanged == {"services": 1}
    assert import_files(directory, [first], mode="upsert").unchanged == {"services": 1}
    moved = write(tmp_path / "moved-services.csv", "agency,name,url\n"
                  "DGA,www,https://portal.dga.example.go.th/\n")
    assert import_files(directory, [moved], mode="upsert").updated == {"services": 1}
    (row,) = _services(directory)  # no hosts column: the others stay, the new URL's host first
    assert row["hosts"] == ["portal.dga.example.go.th", "dga.example.go.th", "old.example.go.th"]
    assert row["description"] == "Portal"
    cleared = write(tmp_path / "cleared-services.csv", HEADER +
                    "DGA,www,https://portal.dga.example.go.th/,,\n")
    assert import_files(directory, [cleared], mode="upsert").updated == {"services": 1}
    (row,) = _services(directory)  # an empty cell clears: only the URL's host is left
    assert row["hosts"] == ["portal.dga.example.go.th"] and row["description"] is None
    with directory.transaction() as s:
        actions = [c.action for c in store.history(s, "service")]
    assert actions == ["update", "update", "create"]


def test_description_formula_is_kept_as_text_like_every_description(directory, tmp_path):
    """Only free text can start with '=': it is stored and exported as the text it is."""
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    sv = write(tmp_path / "services.csv", HEADER +
               'DGA,www,https://www.dga.example.go.th/,,"=1+1"\n')
    import_files(directory, [ag, sv])
    assert _services(directory)[0]["description"] == "=1+1"


def test_import_command_help_and_errors(tmp_path, capsys):
    from gin.cli import main

    assert main(["directory", "import", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "services: agency*, name*, url*, hosts, description" in help_text
    assert "separated by spaces" in help_text
    db = str(tmp_path / "cli.sqlite")
    Directory(db).close()  # exists: no 'created a new directory' notice on stderr
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    sv = write(tmp_path / "services.csv", HEADER + "DGA,www,https://a:b@x.example.go.th/,,\n"
                                                   "DGA,w2,https://x.example.go.th/\x1b[2J,,\n")
    assert main(["--db", db, "directory", "import", ag, sv]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["gin: error: import rejected, nothing written (2 errors):",
                   f"{sv}:2: url: must not contain a user name or password",
                   f"{sv}:3: url: control character '\\x1b' is not allowed"]


# --- anything either imports clean or is refused whole ---------------------------------------

host_text = st.one_of(st.text(max_size=30), st.sampled_from(
    ["www.dga.example.go.th", "ระบบ.example.go.th", "a b", "x\ny", "=1+1", "-bad-.go.th",
     "a" * 64 + ".go.th", "", " ", "xn--r3caz6c.example.go.th", "HOST.EXAMPLE.GO.TH."]))
url_text = st.one_of(st.text(max_size=40), st.sampled_from(
    ["https://www.dga.example.go.th/", "http://a.example.go.th:8080/p?q=1#f",
     "https://u:p@a.example.go.th/", "https://ระบบ.example.go.th/", "ftp://a.go.th/",
     "https://a.example.go.th:0/", "https:///", "=HYPERLINK(\"x\")"]))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(url=url_text, hosts=st.lists(host_text, max_size=4), name=st.sampled_from(
    ["www", "portal", "Bad Name", "", "x" * 65]), fmt=st.sampled_from(["csv", "json"]),
    partial=st.booleans())
def test_fuzz_services(tmp_path_factory, url, hosts, name, fmt, partial):
    tmp = tmp_path_factory.mktemp("fz")
    d = Directory(f"sqlite:///{tmp / 'f.sqlite'}", actor="fuzz")
    import_files(d, [write(tmp / "agencies.csv", AGENCIES)])
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([["agency", "name", "url", "hosts"],
                                   ["DGA", name, url, " ".join(hosts)]])
        path = write(tmp / "services.csv", buf.getvalue())
    else:
        path = write(tmp / "s.json", json.dumps(
            {"services": [{"agency": "DGA", "name": name, "url": url, "hosts": hosts}]}))
    before = counts(d)
    try:
        report = import_files(d, [path], partial=partial)
    except DirectoryError as exc:
        assert counts(d) == before
        assert all("\n" not in line for line in getattr(exc, "errors", [str(exc)]))
        d.close()
        return
    for row in _services(d):
        assert str(row["url"]).startswith(("http://", "https://")) and "@" not in row["url"]
        hosts_out = row["hosts"]
        assert isinstance(hosts_out, list) and len(set(hosts_out)) == len(hosts_out)
        assert all(h.isascii() and h == h.lower() and " " not in h for h in hosts_out)
    assert report.created.get("services", 0) + len(report.errors) >= 1
    d.close()


def test_many_services_take_the_bulk_path_like_the_careful_one(tmp_path, monkeypatch):
    """More rows than one batch; the result and the change log match the careful path."""
    from directory import bulkload
    from directory.importer import import_rows, read_files

    monkeypatch.setattr(bulkload, "BATCH", 50)
    lines = [HEADER.strip()] + [f"DGA,s{i},https://s{i}.dga.example.go.th/,"
                                f"a{i}.example.go.th b{i}.example.go.th,Service {i}"
                                for i in range(120)]
    ag = write(tmp_path / "agencies.csv", AGENCIES)
    sv = write(tmp_path / "services.csv", "\n".join(lines) + "\n")
    results = []
    for fast in (True, False):
        d = Directory(f"sqlite:///{tmp_path / f'{fast}.sqlite'}", actor="t")
        with d.transaction() as s:
            report = import_rows(s, read_files([ag, sv]).rows, fast=fast)
        assert not report.errors and report.created["services"] == 120
        results.append((_services(d), counts(d)))
        d.close()
    assert results[0] == results[1]
    assert results[0][1]["change_log"] == 2 + 120


def test_a_service_the_database_already_has_lands_on_its_row(directory, tmp_path,
                                                             monkeypatch):
    """Another writer added DGA/www after the key maps were read: the batch is redone."""
    from directory import bulkload

    import_files(directory, [write(tmp_path / "agencies.csv", AGENCIES)])
    with directory.transaction() as s:
        store.add_service(s, "DGA", "www", "https://www.dga.example.go.th/")
    real_load = bulkload.BulkLoader._load

    def stale(self, kind):
        real_load(self, kind)
        if kind == "services":
            self.ids[kind].pop(("DGA", "www"), None)

    monkeypatch.setattr(bulkload.BulkLoader, "_load", stale)
    sv = write(tmp_path / "services.csv", HEADER + "DGA,new,https://n.example.go.th/,,\n"
                                                   "DGA,www,https://w.example.go.th/,,\n")
    _rejects(directory, [sv], f"{sv}:3: name: service 'DGA/www' already exists")
    report = import_files(directory, [sv], partial=True)
    assert report.created == {"services": 1} and len(report.errors) == 1

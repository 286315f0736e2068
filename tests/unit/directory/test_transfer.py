"""Import and export: round trips, modes, and hostile files that must write nothing."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
import yaml
from _fixtures_transfer import SAMPLE_YAML, counts, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import store
from directory.errors import DirectoryError, ImportFailed, Invalid
from directory.transfer import FIELDS, KINDS, export_data, export_directory, import_files, to_yaml


def _errors(exc: pytest.ExceptionInfo[ImportFailed]) -> str:
    return "\n".join(exc.value.errors)


def _rejects(d, paths, *needles, **kw) -> ImportFailed:
    """Import must fail, every needle must be in the errors, and nothing may change."""
    before = counts(d)
    with pytest.raises(ImportFailed) as exc:
        import_files(d, paths if isinstance(paths, list) else [paths], **kw)
    text = _errors(exc)
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert counts(d) == before
    return exc.value


@pytest.fixture
def sample(tmp_path) -> str:
    return write(tmp_path / "sample.yaml", SAMPLE_YAML)


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_round_trip_through_every_format(directory, sample, tmp_path, fmt):
    report = import_files(directory, [sample])
    assert report.created == {"agencies": 3, "sites": 2, "devices": 2, "interfaces": 2,
                              "links": 1, "contacts": 1, "services": 2}
    dest = tmp_path / ("out" if fmt == "csv" else f"out.{fmt}")
    export_directory(directory, fmt, dest)
    with directory.transaction() as s:
        first = export_data(s)

    from directory.store import Directory

    other = Directory(f"sqlite:///{tmp_path / 'other.sqlite'}", actor="tester")
    import_files(other, [str(dest)])
    with other.transaction() as s:
        second = export_data(s)
    assert second == first
    again = tmp_path / ("again" if fmt == "csv" else f"again.{fmt}")
    export_directory(other, fmt, again)
    if fmt == "csv":
        for name in os.listdir(dest):
            assert (dest / name).read_bytes() == (again / name).read_bytes()
    else:
        assert dest.read_bytes() == again.read_bytes()


def test_thai_names_survive_and_are_nfc(directory, tmp_path):
    path = write(tmp_path / "agencies.csv",
                 "code,name_en,name_th\nDOPA,Provincial  Administration Cafe\u0301,"
                 "กรมการปกครอง\nMOF,Finance,กระทรวงการคลัง\n")
    import_files(directory, [path])
    with directory.transaction() as s:
        dopa = store.get_agency(s, "dopa")
        assert dopa.name_th == "กรมการปกครอง"
        assert dopa.name_en == "Provincial Administration Caf\u00e9"  # NFC, spaces folded
    text = to_yaml(_export(directory))
    assert "กระทรวงการคลัง" in text  # readable Thai, not \u escapes


def _export(d):
    with d.transaction() as s:
        return export_data(s)


def test_json_export_is_utf8_and_reimportable(directory, sample, tmp_path):
    import_files(directory, [sample])
    out = tmp_path / "x.json"
    export_directory(directory, "json", out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "gin-directory" and doc["version"] == 1
    assert any(c["name"] == "สมชาย ใจดี" for c in doc["contacts"])
    assert "credential_ref" in doc["devices"][0]  # a reference, never a secret


def test_csv_folder_is_one_file_per_kind(directory, sample, tmp_path):
    import_files(directory, [sample])
    files = export_directory(directory, "csv", tmp_path / "csv")
    names = sorted(os.path.basename(f) for f in files)
    assert names == sorted(["agencies.csv", "sites.csv", "devices.csv", "interfaces.csv",
                            "links.csv", "prefixes.csv", "contacts.csv", "services.csv"])
    header = (tmp_path / "csv" / "agencies.csv").read_text().splitlines()[0]
    assert header == "code,name_en,name_th,kind,parent,asn,description"


# --- modes and ordering ----------------------------------------------------------------------


def test_parents_and_kinds_in_any_order(directory, tmp_path):
    path = write(tmp_path / "x.yaml", """\
sites:
  - {agency: C, code: HQ}
agencies:
  - {code: C, name_en: Child, parent: B}
  - {code: B, name_en: Bureau, parent: A}
  - {code: A, name_en: Apex, kind: ministry}
""")
    import_files(directory, [path])
    with directory.transaction() as s:
        assert store.get_agency(s, "C").parent.code == "B"
        assert store.get_site(s, "C", "HQ").code == "HQ"


def test_create_mode_refuses_what_exists_upsert_updates_skip_leaves(directory, sample, tmp_path):
    import_files(directory, [sample])
    _rejects(directory, sample, "already exists in the directory", "sample.yaml:4: code:")
    changed = write(tmp_path / "agencies.csv", "code,name_en\nMOI,Ministry of the Interior\n"
                                               "NEW,New Agency\n")
    report = import_files(directory, [changed], mode="skip")
    assert report.unchanged["agencies"] == 1 and report.created["agencies"] == 1
    with directory.transaction() as s:
        assert store.get_agency(s, "MOI").name_en == "Ministry of Interior"
    report = import_files(directory, [changed], mode="upsert")
    assert report.updated["agencies"] == 1 and report.unchanged["agencies"] == 1
    with directory.transaction() as s:
        moi = store.get_agency(s, "MOI")
        assert moi.name_en == "Ministry of the Interior"
        assert moi.name_th == "กระทรวงมหาดไทย"  # a column absent from the file is kept
        assert moi.kind == "ministry"
    again = import_files(directory, [sample], mode="upsert")
    assert not again.errors and again.updated["agencies"] == 1  # name_en back


def test_upsert_cannot_move_link_ends(directory, sample, tmp_path):
    import_files(directory, [sample])
    moved = write(tmp_path / "links.csv", "name,a_device,a_interface,b_device,b_interface\n"
                                          "GIN-DOPA-CMI,gin-pe1,Gi0/0/2,dopa-cmi-ce1,eth0\n")
    _rejects(directory, moved, "links.csv:2: a_interface:", "cannot move", mode="upsert")


def test_partial_imports_good_rows_and_reports_bad(directory, tmp_path):
    path = write(tmp_path / "agencies.csv",
                 "code,name_en,kind\nGOOD,Good Agency,department\nBAD!,Bad,department\n"
                 "ALSO,Also Good,nonsense\nFINE,Fine,\n")
    before = counts(directory)
    report = import_files(directory, [path], partial=True)
    assert report.created["agencies"] == 2
    assert any(e.startswith(f"{path}:3: code:") for e in report.errors)
    assert any(e.startswith(f"{path}:4: kind:") for e in report.errors)
    assert counts(directory)["agency"] == before["agency"] + 2


def test_partial_reports_dependents_of_rejected_rows(directory, tmp_path):
    path = write(tmp_path / "x.yaml", """\
agencies:
  - {code: OK, name_en: Fine}
  - {code: BROKEN, name_en: "bad\\u0000name"}
sites:
  - {agency: BROKEN, code: HQ}
  - {agency: OK, code: HQ}
""")
    report = import_files(directory, [path], partial=True)
    assert report.created == {"agencies": 1, "sites": 1}
    text = "\n".join(report.errors)
    assert f"{path}:3: name_en: control character" in text
    assert f"{path}:5: agency: agency 'BROKEN' was rejected ({path}:3)" in text


def test_agency_cycle_is_refused(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en,parent\nA,A,B\nB,B,A\nC,C,\n")
    _rejects(directory, path, "cycle")


# --- hostile input ---------------------------------------------------------------------------


def test_unbalanced_quote(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", 'code,name_en\nMOF,Finance\nX,"Open quote\nY,Z\n')
    _rejects(directory, path, f"{path}:3: row: unbalanced quote")


def test_wrong_column_count_reports_each_line(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en\nA,B,C\nD\nE,F\n")
    _rejects(directory, path, f"{path}:2: row: has 3 columns", f"{path}:3: row: has 1 columns")


def test_multiline_csv_record_keeps_its_first_line(directory, tmp_path):
    path = write(tmp_path / "agencies.csv",
                 'code,name_en,description\nA,"Two\nlines",ok\nB!,bad,x\n')
    exc = _rejects(directory, path, f"{path}:2: name_en: control character",
                   f"{path}:4: code:")
    assert len(exc.errors) == 2


def test_non_utf8_bytes(directory, tmp_path):
    path = write(tmp_path / "agencies.csv",
                 b"code,name_en\nMOF,Finance\n" + "TIS,ภาษาไทย\n".encode("tis-620"))
    _rejects(directory, path, f"{path}:3: encoding: bytes are not utf-8",
             "Thai Windows-874/TIS-620", "--encoding cp874")
    report = import_files(directory, [path], encoding="cp874")
    assert report.created["agencies"] == 2
    from directory.store import get_agency

    with directory.transaction() as s:
        assert get_agency(s, "TIS").name_en == "ภาษาไทย"
    with pytest.raises(Invalid):
        import_files(directory, [path], encoding="klingon")


def test_utf16_is_refused_bom_utf8_is_fine(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en\nMOF,Finance\n".encode("utf-16"))
    _rejects(directory, path, "UTF-16")
    ok = write(tmp_path / "ok-agencies.csv", b"\xef\xbb\xbfcode,name_en\nMOF,Finance\n")
    assert import_files(directory, [ok]).created["agencies"] == 1


def test_duplicate_codes_in_the_file(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en\nMOF,Finance\nmof,Again\n")
    _rejects(directory, path, f"{path}:3: code: duplicate agency 'MOF', first given at {path}:2")


@pytest.mark.parametrize("mode", ["create", "upsert", "skip"])
def test_duplicates_on_one_json_line(directory, tmp_path, mode):
    path = write(tmp_path / "x.json", '{"agencies": [{"code": "A", "name_en": "One"}, '
                                      '{"code": "a", "name_en": "Two"}]}')
    _rejects(directory, path, f"{path}:1: code: duplicate agency 'A', first given at {path}:1",
             mode=mode)


def test_duplicates_across_files_and_formats(directory, tmp_path):
    a = write(tmp_path / "agencies.csv", "code,name_en\nMOF,Finance\n")
    b = write(tmp_path / "more.json", '{"agencies": [\n{"code": "MOF", "name_en": "F"}]}')
    _rejects(directory, [a, b], f"{b}:2: code: duplicate agency 'MOF', first given at {a}:2")


def test_duplicate_against_the_directory(directory, sample, tmp_path):
    import_files(directory, [sample])
    path = write(tmp_path / "devices.csv", "hostname,agency,site,role,platform\n"
                                           "gin-pe1,GIN,NOC,pe,frr\n")
    _rejects(directory, path, f"{path}:2: hostname: device 'gin-pe1' already exists")


@pytest.mark.parametrize("value", ["Bad\nname", "Bad\x00name", "Bad\x1bname", "Bad\u2028name"])
def test_control_characters_in_names(directory, tmp_path, value):
    path = write(tmp_path / "x.json",
                 json.dumps({"agencies": [{"code": "X", "name_en": value}]}))
    _rejects(directory, path, f"{path}:1: name_en: control character")


def test_lone_surrogate_in_json(directory, tmp_path):
    path = write(tmp_path / "x.json", '{"agencies": [{"code": "S", "name_en": "a \\ud800 b"}]}')
    _rejects(directory, path, f"{path}:1: name_en: not valid Unicode")


def test_nul_in_csv(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en\nX,Bad\x00name\n")
    _rejects(directory, path, f"{path}:2: name_en: control character")


def test_unknown_fields_and_sections(directory, tmp_path):
    csv_path = write(tmp_path / "agencies.csv", "code,name_en,colour\nX,Y,red\n")
    _rejects(directory, csv_path, f"{csv_path}:2: colour: unknown field")
    y = write(tmp_path / "x.yaml", "agencies: []\nrouters:\n  - {hostname: a}\n")
    _rejects(directory, y, f"{y}:2: routers: unknown section")


def test_wrong_types(directory, tmp_path):
    path = write(tmp_path / "x.yaml", """\
agencies:
  - {code: 42, name_en: Number code}
  - {code: OK, name_en: [a, list]}
  - {code: OK2, name_en: Fine, asn: twelve}
  - {code: OK3, name_en: Fine, asn: true}
sites:
  - {agency: OK, code: S, latitude: 123.0}
  - {agency: OK, code: T, longitude: .nan}
interfaces:
  - {device: x, name: eth0, enabled: maybe}
agencies_extra: 1
""")
    _rejects(directory, path, f"{path}:2: code: expected text, got int",
             f"{path}:3: name_en: expected text, got list",
             f"{path}:4: asn: 'twelve' is not a whole number",
             f"{path}:5: asn: expected a whole number, got bool",
             f"{path}:7: latitude:", f"{path}:8: longitude:",
             f"{path}:10: enabled: 'maybe' is not true or false")


def test_missing_references(directory, tmp_path):
    path = write(tmp_path / "devices.csv", "hostname,agency,site,role,platform\n"
                                           "r1,NOPE,HQ,ce,frr\n")
    _rejects(directory, path, f"{path}:2: agency: 'NOPE' not found in the file or the directory")


def test_yaml_alias_bomb_is_refused_without_expanding(directory, tmp_path):
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        bomb.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ",".join([f"*{prev}"] * 9)
                    + "]")
    path = write(tmp_path / "bomb.yaml", "\n".join(bomb) + "\n")
    _rejects(directory, path, f"{path}:2: yaml: aliases (*a) are not allowed")


def test_yaml_merge_keys_need_aliases_and_are_refused(directory, tmp_path):
    path = write(tmp_path / "x.yaml", "agencies:\n  - &base {code: A, name_en: A}\n"
                                      "  - {<<: *base, code: B}\n")
    _rejects(directory, path, "merge keys (<<) are not allowed")


def test_deep_nesting(directory, tmp_path):
    y = write(tmp_path / "deep.yaml", "agencies: " + "[" * 100000 + "]" * 100000 + "\n")
    _rejects(directory, y, "yaml: nested deeper than 16 levels")
    y = write(tmp_path / "deep2.yaml", "agencies:\n" + "".join(
        "  " * i + "- \n" for i in range(1, 20)))
    _rejects(directory, y, "yaml: nested deeper than 16 levels")
    j = write(tmp_path / "deep.json", '{"agencies": [' + "[" * 200000 + "]" * 200000 + "]}")
    _rejects(directory, j, "json: nested too deeply")


def test_yaml_python_tags_are_refused(directory, tmp_path):
    path = write(tmp_path / "x.yaml",
                 "agencies:\n  - {code: A, name_en: !!python/object/apply:os.system [id]}\n")
    _rejects(directory, path, f"{path}:2: yaml:")


def test_yaml_syntax_error_has_line(directory, tmp_path):
    path = write(tmp_path / "x.yaml", "agencies:\n  - {code: A, name_en: B}\n  - {code: [\n")
    _rejects(directory, path, "yaml:")


def test_json_syntax_error_has_line(directory, tmp_path):
    path = write(tmp_path / "x.json",
                 '{"agencies": [\n{"code": "A", "name_en": "B"},\n{"code"}\n]}')
    _rejects(directory, path, f"{path}:3: json:")


def test_json_nan_and_dupe_keys(directory, tmp_path):
    path = write(tmp_path / "x.json",
                 '{"agencies": [\n{"code": "A", "code": "B", "name_en": "x"},\n'
                 '{"code": "C", "name_en": "y", "asn": NaN}]}')
    _rejects(directory, path, f"{path}:2: code: given twice")


def test_file_over_the_size_limit_is_refused_before_reading(directory, tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # sparse: 100 MB on paper, no disk used
        fh.truncate(100 * 1024 * 1024)
    real_open = open

    def no_open(path, *a, **kw):
        assert str(path) != str(big), "the file must not be opened"
        return real_open(path, *a, **kw)

    monkeypatch.setattr("builtins.open", no_open)
    _rejects(directory, str(big), "100.0 MB, over the 50.0 MB import limit")


def test_size_limit_is_configurable(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "code,name_en\n" + "".join(
        f"A{i},Agency {i}\n" for i in range(100)))
    _rejects(directory, path, "over the 100 bytes import limit", max_bytes=100)
    assert import_files(directory, [path], max_bytes=10_000).created["agencies"] == 100


def test_unknown_kind_and_format(directory, tmp_path):
    path = write(tmp_path / "stuff.csv", "code,name_en\nA,B\n")
    _rejects(directory, path, "cannot tell which kind")
    assert import_files(directory, [path], kind="agencies").created["agencies"] == 1
    txt = write(tmp_path / "x.txt", "hello")
    _rejects(directory, txt, "cannot tell the format")
    with pytest.raises(Invalid):
        import_files(directory, [txt], fmt="xml")


def test_missing_file(directory, tmp_path):
    _rejects(directory, str(tmp_path / "nope.csv"), "cannot read it")


def test_empty_files(directory, tmp_path):
    _rejects(directory, write(tmp_path / "agencies.csv", ""), "the file is empty")
    assert import_files(directory, [write(tmp_path / "e.yaml", "")]).rows == 0
    assert import_files(directory, [write(tmp_path / "n.yaml", "agencies:\n")]).rows == 0


def test_bad_mode(directory, sample):
    with pytest.raises(DirectoryError):
        import_files(directory, [sample], mode="merge")


def test_every_error_is_file_line_field(directory, tmp_path):
    path = write(tmp_path / "x.yaml", """\
agencies:
  - {code: "", name_en: A}
  - {code: B}
  - {code: C, name_en: C, kind: tribe, extra: 1}
""")
    exc = _rejects(directory, path)
    for line in exc.errors:
        where, field, what = line.split(": ", 2)
        assert where.startswith(path + ":") and where.rsplit(":", 1)[1].isdigit()
        assert field and what


def test_export_of_empty_directory_round_trips(directory, tmp_path):
    out = tmp_path / "e.yaml"
    export_directory(directory, "yaml", out)
    doc = yaml.safe_load(out.read_text())
    assert doc["agencies"] == [] and doc["format"] == "gin-directory"
    assert import_files(directory, [str(out)]).rows == 0


# --- prefixes (through the allocator) -----------------------------------------------------------

PREFIXES = """\
prefixes:
  - {prefix: "2001:db8::/32", role: supernet}
  - {prefix: "2001:db8:1::/48", role: agency, agency: DOPA}
  - {prefix: "2001:db8:1:100::/56", role: site, agency: DOPA, site: CMI}
  - {prefix: "2001:db8:ffff::/127", role: p2p, link: GIN-DOPA-CMI}
  - {prefix: "2001:db8:1:100::1/128", role: loopback, device: dopa-cmi-ce1,
     interface: "dopa-cmi-ce1:eth0", status: reserved}
  - {prefix: 10.0.0.0/31, role: p2p, description: transit}
"""


def test_prefixes_round_trip(directory, sample, tmp_path):
    import_files(directory, [sample, write(tmp_path / "p.yaml", PREFIXES)])
    with directory.transaction() as s:
        first = export_data(s)
        child, parent = store.get_prefix(s, "2001:db8:1::/48"), store.get_prefix(s, "2001:db8::/32")
        assert child.parent_id == parent.id
    assert [p["prefix"] for p in first["prefixes"]][0] == "10.0.0.0/31"
    out = tmp_path / "out"
    export_directory(directory, "csv", out)
    from directory.store import Directory

    other = Directory(f"sqlite:///{tmp_path / 'o.sqlite'}", actor="t")
    import_files(other, [str(out)])
    with other.transaction() as s:
        assert export_data(s) == first


def test_overlapping_and_duplicate_prefixes(directory, sample, tmp_path):
    import_files(directory, [sample, write(tmp_path / "p.yaml", PREFIXES)])
    path = write(tmp_path / "prefixes.csv", "prefix,agency,role\n"
                 "2001:db8:1::/48,DOPA,agency\n"            # already in the directory
                 "2001:db8:1:100::/60,GIN,lan\n"            # inside DOPA's space
                 "2001:DB8:2::/48,,other\n"
                 "2001:db8:2:0::/48,,other\n"               # same prefix again
                 "192.0.2.1/24,,other\n"                    # host bits set
                 "10.0.0.0/31,,other\n")
    _rejects(directory, path, f"{path}:2: prefix: prefix '2001:db8:1::/48' already exists",
             f"{path}:3: prefix: 2001:db8:1:100::/60 lies inside 2001:db8:1:100::/56, which "
             "belongs to agency DOPA",
             f"{path}:5: prefix: duplicate prefix '2001:db8:2::/48', first given at {path}:4",
             f"{path}:6: prefix: '192.0.2.1/24' is not a valid prefix",
             f"{path}:7: prefix: prefix '10.0.0.0/31' already exists")


def test_prefix_upsert(directory, sample, tmp_path):
    import_files(directory, [sample, write(tmp_path / "p.yaml", PREFIXES)])
    path = write(tmp_path / "prefixes.csv", "prefix,status,description\n"
                 "10.0.0.0/31,reserved,spare transit\n")
    assert import_files(directory, [path], mode="upsert").updated["prefixes"] == 1
    with directory.transaction() as s:
        p = store.get_prefix(s, "10.0.0.0/31")
        assert (p.status, p.description, p.role) == ("reserved", "spare transit", "p2p")


# --- fuzzing: anything either imports or is refused whole, never another exception ------------

fuzz_settings = settings(max_examples=120, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
FIELD_NAMES = sorted({f for spec in FIELDS.values() for f in spec} | {"bogus", ""})
values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                   st.floats(allow_nan=True), st.text(max_size=40),
                   st.sampled_from(["MOI", "DOPA", "frr", "pe", "ce", "10.0.0.0/31", "eth0",
                                    "2001:db8::/48", "กรมการปกครอง", "a\nb", "x\x00y",
                                    "lone \ud800 surrogate"]),
                   st.lists(st.integers(), max_size=2))
rows_strategy = st.dictionaries(st.sampled_from(KINDS),
                                st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), values,
                                                         max_size=8), max_size=5), max_size=4)


def _fuzz_once(d, path: str, fmt: str, partial: bool = False, mode: str = "create") -> None:
    before = counts(d)
    try:
        import_files(d, [path], fmt, partial=partial, mode=mode,
                     kind="agencies" if fmt == "csv" else None)
    except DirectoryError:
        assert counts(d) == before  # refused whole: nothing written


@pytest.fixture
def fuzz_dir(tmp_path, sample):
    from directory.store import Directory

    d = Directory(f"sqlite:///{tmp_path / 'fuzz.sqlite'}", actor="fuzz")
    import_files(d, [sample])
    yield d
    d.close()


@fuzz_settings
@given(data=st.binary(max_size=400), fmt=st.sampled_from(["csv", "json", "yaml"]))
def test_fuzz_random_bytes(fuzz_dir, tmp_path, data, fmt):
    _fuzz_once(fuzz_dir, write(tmp_path / f"f.{fmt}", data), fmt)


@fuzz_settings
@given(text=st.text(alphabet=st.sampled_from(list('{}[]:,"\'-&*!|>#\n \tab1.%@<กร')),
                    max_size=200), fmt=st.sampled_from(["csv", "json", "yaml"]))
def test_fuzz_syntax_soup(fuzz_dir, tmp_path, text, fmt):
    _fuzz_once(fuzz_dir, write(tmp_path / f"f.{fmt}", text), fmt)


@fuzz_settings
@given(doc=rows_strategy, fmt=st.sampled_from(["json", "yaml"]), partial=st.booleans())
def test_fuzz_structured_rows(fuzz_dir, tmp_path, doc, fmt, partial):
    if fmt == "json":
        text = json.dumps(doc, allow_nan=True)
    else:
        text = yaml.safe_dump(doc, allow_unicode=True)
    _fuzz_once(fuzz_dir, write(tmp_path / f"f.{fmt}", text), fmt, partial)


@fuzz_settings
@given(rows=st.lists(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(
    ["MOI", "X", "ministry", "", "1", "true"])), min_size=0, max_size=6), max_size=6),
    header=st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=6),
    partial=st.booleans())
def test_fuzz_csv_rows(fuzz_dir, tmp_path, rows, header, partial):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    _fuzz_once(fuzz_dir, write(tmp_path / "agencies.csv", buf.getvalue()), "csv", partial)


# --- the fast path and the careful path agree ----------------------------------------------


def _synth_file(tmp_path, agencies: int = 25, fmt: str = "json") -> str:
    from devices.platforms import interface_names
    from directory.synth import synthesize
    from directory.transfer import write_export

    dest = tmp_path / ("synth" if fmt == "csv" else f"synth.{fmt}")
    write_export(synthesize(agencies, seed=7, ports=interface_names()), fmt, dest)
    return str(dest)


def test_fast_and_careful_paths_write_the_same(tmp_path):
    from directory.importer import import_rows, read_files
    from directory.store import Directory

    path = _synth_file(tmp_path)
    exports, logs = [], []
    for fast in (True, False):
        d = Directory(f"sqlite:///{tmp_path / f'{fast}.sqlite'}", actor="t")
        parsed = read_files([path])
        with d.transaction() as s:
            report = import_rows(s, parsed.rows, fast=fast)
        assert not report.errors
        exports.append(_export(d))
        logs.append(counts(d))
        d.close()
    assert exports[0] == exports[1]
    assert logs[0] == logs[1]  # one change-log row per object either way
    assert logs[0]["change_log"] == sum(v for k, v in logs[0].items() if k != "change_log")


def test_a_batch_the_database_refuses_is_redone_row_by_row(directory, sample, tmp_path,
                                                           monkeypatch):
    """Another writer added MOF after the key maps were read: the error lands on the row."""
    from directory import bulkload

    import_files(directory, [sample])
    real_load = bulkload.BulkLoader._load

    def stale(self, kind):
        real_load(self, kind)
        if kind == "agencies":
            self.ids[kind].pop(("MOI",), None)  # as if MOI had been added meanwhile

    monkeypatch.setattr(bulkload.BulkLoader, "_load", stale)
    path = write(tmp_path / "agencies.csv", "code,name_en\nNEW1,New One\nMOI,Interior\n"
                                            "NEW2,New Two\n")
    _rejects(directory, path, f"{path}:3: code: agency 'MOI' already exists")
    report = import_files(directory, [path], partial=True)
    assert report.created["agencies"] == 2 and len(report.errors) == 1


def test_links_cannot_share_an_interface(directory, sample, tmp_path):
    import_files(directory, [sample])
    path = write(tmp_path / "links.csv", "name,a_device,a_interface,b_device,b_interface\n"
                 "L2,gin-pe1,Gi0/0/9,dopa-cmi-ce1,eth1\n"
                 "L3,gin-pe1,Gi0/0/9,dopa-cmi-ce1,eth2\n"       # Gi0/0/9 taken by L2
                 "L4,gin-pe1,Gi0/0/1,dopa-cmi-ce1,eth3\n"       # Gi0/0/1 carries GIN-DOPA-CMI
                 "L5,gin-pe1,Gi0/0/5,gin-pe1,Gi0/0/6\n")        # both ends on one device
    _rejects(directory, path, f"{path}:3: a_interface: interface gin-pe1:Gi0/0/9 already",
             f"{path}:4: a_interface: interface gin-pe1:Gi0/0/1 already",
             f"{path}:5: link:")


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_synthetic_directory_imports_and_round_trips(tmp_path, fmt):
    from devices.platforms import interface_names
    from directory.store import Directory
    from directory.synth import synthesize

    path = _synth_file(tmp_path, 30, fmt)
    d = Directory(f"sqlite:///{tmp_path / 's.sqlite'}", actor="t")
    report = import_files(d, [path])
    assert not report.errors
    data = synthesize(30, seed=7, ports=interface_names())
    assert _export(d) == {k: [_full(k, r) for r in v] for k, v in data.items()}
    d.close()


def _full(kind, row):
    return {f: row.get(f) for f in FIELDS[kind]} | (
        {"enabled": row.get("enabled", True)} if kind == "interfaces" else {})


# --- the commands -------------------------------------------------------------------------------


def _gin(*args: str) -> int:
    from gin.cli import main

    return main(list(args))


def test_import_and_export_commands(tmp_path, sample, capsys):
    db = str(tmp_path / "cli.sqlite")
    assert _gin("--db", db, "directory", "import", sample) == 0
    assert "agencies" in capsys.readouterr().out
    out = tmp_path / "e.yaml"
    assert _gin("--db", db, "directory", "export", "-o", str(out)) == 0
    assert "กรมการปกครอง" in out.read_text(encoding="utf-8")
    assert _gin("--db", db, "directory", "export", "--format", "csv", "-o",
                str(tmp_path / "csv")) == 0
    assert (tmp_path / "csv" / "sites.csv").exists()
    capsys.readouterr()
    assert _gin("--db", db, "directory", "export", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["format"] == "gin-directory"
    db2 = str(tmp_path / "cli2.sqlite")
    assert _gin("--db", db2, "directory", "import", str(tmp_path / "csv")) == 0


def test_import_command_errors_are_one_line_each(tmp_path, capsys):
    db = str(tmp_path / "cli.sqlite")
    store.Directory(db).close()  # exists: no 'created a new directory' notice on stderr
    bad = write(tmp_path / "agencies.csv", "code,name_en\n" + "A,\n" * 3 + "B," + "x" * 300 + "\n")
    assert _gin("--db", db, "directory", "import", bad) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "gin: error: import rejected, nothing written (4 errors):"
    assert err[1] == f"{bad}:2: name_en: must not be empty"
    assert err[4].startswith(f"{bad}:5: name_en: longer than 255")
    assert _gin("--db", db, "directory", "import", bad, "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["imported"] is False and doc["rejected"] == 4


def test_import_command_partial_and_modes(tmp_path, capsys):
    db = str(tmp_path / "cli.sqlite")
    path = write(tmp_path / "agencies.csv", "code,name_en\nGOOD,Good\nBAD!,Bad\n")
    assert _gin("--db", db, "directory", "import", path, "--partial", "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["created"] == {"agencies": 1} and doc["rejected"] == 1
    fixed = write(tmp_path / "fixed-agencies.csv", "code,name_en\nGOOD,Better\nBAD,Fixed\n")
    assert _gin("--db", db, "directory", "import", fixed, "--mode", "upsert", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["created"] == {"agencies": 1} and doc["updated"] == {"agencies": 1}


def test_import_command_refuses_a_huge_file(tmp_path, capsys):
    big = tmp_path / "huge.json"
    with open(big, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    db = str(tmp_path / "cli.sqlite")
    assert _gin("--db", db, "directory", "import", str(big)) == 1
    assert "over the 50.0 MB import limit" in capsys.readouterr().err
    small = tmp_path / "small.json"
    with open(small, "wb") as fh:
        fh.truncate(3 * 1024 * 1024)
    assert _gin("--db", db, "directory", "import", str(small), "--max-size", "1") == 1
    assert "over the 1.0 MB import limit" in capsys.readouterr().err
    assert _gin("--db", db, "directory", "import", str(small), "--max-size", "5") == 1
    assert "json:" in capsys.readouterr().err  # read (NULs), then refused as bad JSON


def test_csv_export_needs_a_folder(tmp_path, capsys):
    assert _gin("--db", str(tmp_path / "x.sqlite"), "directory", "export", "--format",
                "csv") == 2


def test_upsert_cannot_make_a_cycle_through_the_directory(directory, tmp_path):
    first = write(tmp_path / "agencies.csv", "code,name_en,parent\nA,Apex,\nB,Bureau,A\n"
                                             "C,Centre,B\n")
    import_files(directory, [first])
    loop = write(tmp_path / "loop-agencies.csv", "code,name_en,parent\nA,Apex,C\n")
    _rejects(directory, loop, f"{loop}:2: parent: agency A would be its own ancestor",
             mode="upsert")
    selfish = write(tmp_path / "self-agencies.csv", "code,name_en,parent\nB,Bureau,B\n")
    _rejects(directory, selfish, "agencies form a cycle (B -> B)", mode="upsert")


def test_dry_run_reports_and_writes_nothing(directory, sample, capsys, tmp_path):
    before = counts(directory)
    report = import_files(directory, [sample], dry_run=True)
    assert report.created["agencies"] == 3 and not report.errors
    assert counts(directory) == before
    db = str(tmp_path / "dry.sqlite")
    assert _gin("--db", db, "directory", "import", sample, "--dry-run") == 0
    assert "dry run, nothing written" in capsys.readouterr().out
    assert _gin("--db", db, "directory", "import", sample, "--dry-run", "--json") == 0
    assert json.loads(capsys.readouterr().out)["created"]["agencies"] == 3


def test_export_to_unwritable_places_is_one_line(tmp_path, capsys):
    db = str(tmp_path / "x.sqlite")
    afile = write(tmp_path / "plain.txt", "x")
    assert _gin("--db", db, "directory", "export", "--format", "csv", "-o", afile) == 1
    assert "is not a folder" in " ".join(capsys.readouterr().err.split())  # rich may wrap
    assert _gin("--db", db, "directory", "export", "-o", str(tmp_path / "no" / "x.json")) == 0
    capsys.readouterr()
    assert _gin("--db", db, "directory", "export", "-o", f"{afile}/x.json") == 1
    assert "plain.txt is not a folder" in " ".join(capsys.readouterr().err.split())


SAMPLE_DOC = yaml.safe_load(SAMPLE_YAML)
mutation = st.tuples(st.sampled_from(KINDS), st.integers(0, 3),
                     st.sampled_from(FIELD_NAMES), st.one_of(values, st.just(KeyError)))


@fuzz_settings
@given(mutations=st.lists(mutation, max_size=4), mode=st.sampled_from(["create", "upsert",
                                                                        "skip"]),
       partial=st.booleans(), rename=st.booleans(), prefixes=st.booleans())
def test_fuzz_mutated_real_directory(fuzz_dir, tmp_path, mutations, mode, partial, rename,
                                     prefixes):
    """A valid file with a few fields changed or removed: deep into the database phase."""
    import copy

    doc = copy.deepcopy(SAMPLE_DOC)
    if prefixes:
        doc.update(yaml.safe_load(PREFIXES))
    if rename:  # new keys, so rows are created (fast path) rather than found
        for row in doc["agencies"]:
            row["code"] = row["code"] + "2"
            if row.get("parent"):
                row["parent"] += "2"
        for kind in ("sites", "contacts", "links", "services"):
            for row in doc.get(kind, []):
                if row.get("agency"):
                    row["agency"] += "2"
        for row in doc["devices"]:
            row["agency"] += "2"
            row["hostname"] += "-2"
        for row in doc["interfaces"]:
            row["device"] += "-2"
        for row in doc["links"]:
            row["a_device"] += "-2"
            row["b_device"] += "-2"
            row["name"] += "-2"
        for row in doc.get("prefixes", []):
            row.pop("link", None)
            for field in ("agency", "device"):
                if row.get(field):
                    row[field] += "2" if field == "agency" else "-2"
            if row.get("interface"):
                host, _, ifname = row["interface"].partition(":")
                row["interface"] = f"{host}-2:{ifname}"
    for kind, index, field, value in mutations:
        rows = doc.get(kind) or []
        if not rows:
            continue
        row = rows[index % len(rows)]
        if value is KeyError:
            row.pop(field, None)
        else:
            row[field] = value
    _fuzz_once(fuzz_dir, write(tmp_path / "m.json", json.dumps(doc)), "json", partial, mode)

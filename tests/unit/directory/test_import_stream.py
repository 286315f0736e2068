"""The streaming import against hostile input: any chunking, any bytes, bounded output.

The readers are fed through :class:`directory.readers.TextChunks` with tiny chunks, so every
row and every syntax error straddles a chunk boundary somewhere; what they yield must not
depend on the chunk size, must never be an exception, and the importer's error report
must stay small whatever the number of bad rows.
"""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
import yaml
from _fixtures_transfer import counts, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import readers
from directory.errors import ImportFailed
from directory.import_errors import MAX_PROBLEMS, SHOWN, ErrorLog
from directory.importer import import_files
from directory.readers import KINDS, Problem, Row, TextChunks, iter_chunks

quick = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


def _read(data: bytes, fmt: str, chunk: int, source: str = "f") -> list[tuple]:
    chunks = TextChunks(io.BytesIO(data), "utf-8", 10**9, chunk=chunk)
    out = []
    for item in iter_chunks(chunks, fmt, source, "agencies" if fmt == "csv" else None):
        if isinstance(item, Row):
            out.append(("row", item.kind, item.line, repr(item.data)))
        else:
            assert isinstance(item, Problem)
            out.append(("problem", item.line, item.message))
    return out


cells = st.one_of(st.text(max_size=12), st.sampled_from(["MOI", "", "a,b", 'q"q', "x\ny",
                                                          "กรม", "x\x00y", "\r"]))
entries = st.dictionaries(st.sampled_from(["code", "name_en", "parent", "asn", "bogus"]),
                          st.one_of(cells, st.integers(-10**20, 10**20), st.none(),
                                    st.lists(st.integers(), max_size=2)), max_size=4)
docs = st.dictionaries(st.sampled_from([*KINDS, "format", "other"]),
                       st.lists(entries, max_size=4), max_size=3)


@quick
@given(doc=docs, chunk=st.integers(1, 9), fmt=st.sampled_from(["json", "yaml"]),
       indent=st.sampled_from([None, 0, 2]))
def test_json_and_yaml_rows_do_not_depend_on_the_chunk_size(doc, chunk, fmt, indent):
    if fmt == "json":
        data = json.dumps(doc, indent=indent, ensure_ascii=indent is None).encode()
    else:
        data = yaml.safe_dump(doc, allow_unicode=True).encode()
    whole = _read(data, fmt, 1 << 20)
    assert _read(data, fmt, chunk) == whole
    rows = [r for r in whole if r[0] == "row"]
    assert len(rows) == sum(len(v) for k, v in doc.items() if k in KINDS)


@quick
@given(rows=st.lists(st.lists(cells, min_size=2, max_size=2), max_size=6),
       chunk=st.integers(1, 9), crlf=st.booleans())
def test_csv_rows_do_not_depend_on_the_chunk_size(rows, chunk, crlf):
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows([["code", "name_en"],
                                                                        *rows])
    data = buf.getvalue().encode()
    whole = _read(data, "csv", 1 << 20)
    assert _read(data, "csv", chunk) == whole


@quick
@given(data=st.binary(max_size=300), chunk=st.integers(1, 64),
       fmt=st.sampled_from(["csv", "json", "yaml"]))
def test_any_bytes_give_problems_never_exceptions(data, chunk, fmt):
    out = _read(data, fmt, chunk)
    assert all(kind in ("row", "problem") for kind, *_ in out)


soup = st.text(alphabet=st.sampled_from(list('{}[]:,"\'-&*!|>#\n\r \tab1.%@<\x00\\กร')),
               max_size=300)


@quick
@given(text=soup, chunk=st.integers(1, 16), fmt=st.sampled_from(["csv", "json", "yaml"]))
def test_syntax_soup_gives_the_same_problems_at_any_chunk_size(text, chunk, fmt):
    if fmt == "yaml":  # a control character is refused as its chunk is read, which may come
        text = text.replace("\x00", "")  # before or after libyaml meets a syntax error
    data = text.encode()
    assert _read(data, fmt, chunk) == _read(data, fmt, 1 << 20)


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_a_control_character_in_yaml_is_named_with_its_line(chunk):
    out = _read(b"agencies:\n  - code: A\n    name_en: x\x00y\n", "yaml", chunk)
    assert out[-1] == ("problem", 3, "yaml: control character U+0000 is not allowed in YAML "
                                     "(remove it, or quote it as an escape)")


@pytest.mark.parametrize("fmt,data", [
    ("json", b'{"agencies": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"),
    ("json", b'{"agencies": [{"code": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}]}"),
    ("yaml", b"agencies:\n  - " + b"[" * 5_000 + b"]" * 5_000 + b"\n"),
    ("yaml", b"agencies:\n" + b"".join(b"  " * i + b"- \n" for i in range(200))),
])
def test_deep_nesting_is_one_problem(fmt, data):
    out = _read(data, fmt, 4096)
    problems = [p for p in out if p[0] == "problem"]
    assert problems and all(p[1] >= 1 for p in problems)
    assert any("nest" in p[2] for p in problems), problems


def test_an_oversized_entry_is_refused_without_holding_the_file(monkeypatch):
    monkeypatch.setattr(readers, "MAX_ENTRY", 10_000)
    big = '{"agencies": [{"code": "A", "name_en": "' + "x" * 100_000 + '"}]}'
    out = _read(big.encode(), "json", 1024)
    assert out == [("problem", 1, "json: an entry longer than 10,000 characters (or a syntax "
                                  "error inside it)")]
    line = "code,name_en\nA," + "y" * 100_000 + "\n"
    out = _read(line.encode(), "csv", 1024)
    assert out[-1][0] == "problem" and "longer than 10,000 characters" in out[-1][2]


def test_a_csv_field_over_the_csv_limit_is_a_problem():
    data = ("code,name_en\nA," + "z" * 200_000 + "\nB,fine\n").encode()
    out = _read(data, "csv", 4096)
    assert out[-1][0] == "problem" and "field larger than field limit" in out[-1][2]


def test_nul_bytes(directory, tmp_path):
    """A NUL inside a CSV cell is a control character; a raw NUL in JSON is bad syntax."""
    csv_path = write(tmp_path / "agencies.csv", b"code,name_en\nA,x\x00y\nB,ok\n")
    with pytest.raises(ImportFailed) as exc:
        import_files(directory, [csv_path])
    assert exc.value.errors == [f"{csv_path}:2: name_en: control character U+0000 is not "
                                "allowed"] or "name_en: control character" in exc.value.errors[0]
    js = write(tmp_path / "x.json", b'{"agencies": [{"code": "A\x00", "name_en": "x"}]}')
    with pytest.raises(ImportFailed) as exc:
        import_files(directory, [js])
    assert exc.value.errors[0].startswith(f"{js}:1: json: Invalid control character")


def test_reading_streams_in_bounded_memory(tmp_path):
    """A 20 MB JSON file is read with a peak far below its size (rows are not kept)."""
    path = tmp_path / "big.json"
    entry = '  {"code": "A%07d", "name_en": "Agency %d of many", "kind": "department"},\n'
    with open(path, "w") as fh:
        fh.write('{"agencies": [\n')
        n = 0
        while fh.tell() < 20 * 2**20:
            fh.write("".join(entry % (i, i) for i in range(n, n + 1000)))
            n += 1000
        fh.write('  {"code": "LAST", "name_en": "Last"}\n]}\n')
    tracemalloc.start()
    try:
        rows = sum(isinstance(item, Row) for item in
                   readers.iter_file(str(path), "json", str(path), max_bytes=2**30))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == n + 1
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MB reading a 20 MB file"


def test_a_million_bad_rows_give_a_short_report(directory, tmp_path):
    path = tmp_path / "bad.json"
    with open(path, "w") as fh:
        fh.write('{"agencies": [\n')
        fh.write('{"code": "BAD!", "name_en": "x"},\n' * 999_999)
        fh.write('{"code": "BAD!", "name_en": "x"}\n]}\n')
    before = counts(directory)
    with pytest.raises(ImportFailed) as exc:
        import_files(directory, [str(path)], max_bytes=2**30)
    assert counts(directory) == before
    assert exc.value.total == 1_000_000
    assert len(exc.value.errors) == SHOWN + 1
    assert exc.value.errors[0].startswith(f"{path}:2: code: ")
    assert exc.value.errors[-1] == (f"{path}:5: code: ... and 999,997 more like it "
                                    f"(from here to {path}:1000001)")
    assert "1,000,000 errors" in str(exc.value)


def test_errors_are_sorted_by_line_and_named_as_the_files_columns(directory, tmp_path):
    path = write(tmp_path / "agencies.csv", "Code,Name_EN,KIND\nA,,department\nB,b,nope\n"
                                            "C,,ministry\nD,d,nope\n")
    with pytest.raises(ImportFailed) as exc:
        import_files(directory, [path])
    assert exc.value.errors == [
        f"{path}:2: Name_EN: must not be empty",
        f"{path}:3: KIND: 'nope' is not one of " + exc.value.errors[1].split("one of ")[1],
        f"{path}:4: Name_EN: must not be empty",
        f"{path}:5: KIND: 'nope' is not one of " + exc.value.errors[3].split("one of ")[1],
    ]


def test_partial_still_imports_the_good_rows_of_a_big_bad_file(directory, tmp_path):
    path = tmp_path / "agencies.csv"
    with open(path, "w") as fh:
        fh.write("code,name_en\n")
        for i in range(3000):
            fh.write(f"G{i},Good {i}\n" if i % 3 else f"B{i}!,Bad\n")
    report = import_files(directory, [str(path)], partial=True)
    assert report.created["agencies"] == 2000 and report.rejected == 1000
    assert len(report.errors) == SHOWN + 1
    assert counts(directory)["agency"] >= 2000


@quick
@given(errors=st.lists(st.tuples(st.sampled_from(["a.csv", "b.json"]), st.integers(1, 10**7),
                                 st.sampled_from(["code: 'X1' is bad", "code: 'Y22' is bad",
                                                  "name_en: must not be empty",
                                                  "row: has 3 columns, the header has 2"])),
                       max_size=60))
def test_error_log_is_sorted_bounded_and_counts_everything(errors):
    log = ErrorLog(["a.csv", "b.json"])
    for source, line, message in errors:
        log.add(source, line, message)
    lines = log.lines()
    assert log.total == len(errors)
    assert len(lines) <= 3 * (SHOWN + 1)  # three distinct problems at most
    places = [(0 if text.startswith("a.csv") else 1, int(text.split(":")[1])) for text in lines]
    assert places == sorted(places)
    more = sum(int(t.split("and ")[1].split(" more")[0].replace(",", ""))
               for t in lines if "more like it" in t)
    assert len(lines) - sum("more like it" in t for t in lines) + more == len(errors)


def test_error_log_caps_the_number_of_distinct_problems():
    log = ErrorLog()
    for i in range(MAX_PROBLEMS + 50):
        log.add("f", i + 1, f"field{'x' * (i % 7)}{chr(65 + i % 26) * (i // 26 + 1)}: bad")
    lines = log.lines()
    assert log.total == MAX_PROBLEMS + 50
    assert lines[-1].startswith("... and 50 more errors of other kinds")


def test_a_file_read_again_per_kind_reports_each_error_once(directory, tmp_path):
    """Sections out of writing order make the import start again, reading the file once
    per kind: the rows still land parents first, and each problem is listed once."""
    path = write(tmp_path / "x.yaml", """\
sites:
  - {agency: B, code: HQ}
  - {agency: B, code: "bad code"}
routers: []
agencies:
  - {code: B, name_en: Bureau, parent: A, colour: red}
  - {code: A, name_en: Apex}
""")
    with pytest.raises(ImportFailed) as exc:
        import_files(directory, [path])
    assert exc.value.errors == [
        f"{path}:2: agency: agency 'B' was rejected ({path}:6)",
        f"{path}:3: code: 'bad code' is not a valid code (A-Z, 0-9, _ . -, max 32)",
        f"{path}:4: routers: unknown section; expected one of {', '.join(KINDS)}",
        f"{path}:6: colour: unknown field (expected one of code, name_en, name_th, kind, "
        "parent, asn, description)",
    ]
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    fixed = write(tmp_path / "y.yaml", text.replace('  - {agency: B, code: "bad code"}\n', "")
                  .replace("routers: []\n", "").replace(", colour: red", ""))
    report = import_files(directory, [fixed])
    assert report.created == {"agencies": 2, "sites": 1}

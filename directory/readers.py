"""Safe readers for import files: CSV, JSON and YAML, each row tagged with its line.

Why a module of its own: an import file is hostile until proven otherwise.  Each reader

- refuses a file over the size limit from ``stat`` *before* reading it (a 100 MB file is
  turned away in microseconds, not after filling memory);
- decodes strictly as UTF-8 (a UTF-8 BOM is fine; UTF-16 or Latin-1 bytes get a clear error
  with the line where they start);
- never expands YAML aliases (the "billion laughs" bomb) and never recurses deeper than
  :data:`MAX_DEPTH` (deep nesting would otherwise exhaust the C stack);
- reports problems as ``file:line: field: what is wrong`` and keeps going where it can, so
  one run lists every error in the file.

Readers only shape the file into :class:`Row` objects (kind, where, field values); checking
the values is :mod:`directory.importer`'s job.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 16
FORMATS = ("csv", "json", "yaml")
#: The kinds of object a file may hold, in the order they must be written.
KINDS = ("agencies", "sites", "devices", "interfaces", "links", "prefixes", "contacts",
         "services")
#: Fields holding a list (a JSON/YAML list); in CSV one cell, items joined by
#: :data:`LIST_SEPARATOR`, a character no item may contain (host names have no spaces).
LIST_FIELDS = {("services", "hosts")}
LIST_SEPARATOR = " "
_SINGULAR = {k[:-1] if k != "agencies" else "agency": k for k in KINDS}
_SINGULAR["prefix"] = "prefixes"
META_KEYS = {"format", "version", "exported_at"}
FORMAT_TAG = "gin-directory"
FORMAT_VERSION = 1


@dataclass
class Row:
    """One object read from a file: what kind, where it came from, and its raw fields."""

    kind: str
    source: str
    line: int
    data: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class Parsed:
    """What a reader found: the rows, and every error as ``file:line: field: what``."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def kind_of(name: str) -> str | None:
    """``agencies``/``agency``/``moi-sites`` -> the kind, or None if the name says nothing."""
    key = name.strip().lower()
    if key in KINDS:
        return key
    if key in _SINGULAR:
        return _SINGULAR[key]
    for sep in ("-", "_", "."):
        if sep in key:
            return kind_of(key.rsplit(sep, 1)[1])
    return None


def shown(name: Any) -> str:
    """A user-supplied name, safe to print in an error line (no newlines, no surrogates)."""
    text = str(name)
    if text.isprintable() and text.encode("utf-8", "replace").decode() == text:
        return text
    return repr(text)


def guess_format(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


# --- bytes -> text ----------------------------------------------------------------------------


def read_limited(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, or ``ValueError`` if it is bigger than ``max_bytes``.

    The size is checked with ``stat`` first, and the read itself is bounded too, so a pipe,
    ``-`` (stdin) or a file growing under us cannot push past the limit either.
    """
    limit_text = _size(max_bytes)
    if path == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
    else:
        st = os.stat(path)
        if st.st_size > max_bytes:
            raise ValueError(f"file is {_size(st.st_size)}, over the {limit_text} import limit "
                             "(split it, or raise the limit with --max-size)")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"file is over the {limit_text} import limit "
                         "(split it, or raise the limit with --max-size)")
    return data


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """Strict decoding (UTF-8 by default, BOM allowed); ``ValueError`` naming the line.

    Thai spreadsheets are often saved as Windows-874 / TIS-620: the error says so and how
    to fix it (save as "CSV UTF-8", or import with ``--encoding cp874``).
    """
    utf8 = codecs.lookup(encoding).name == "utf-8"
    if utf8 and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("1: encoding: the file is UTF-16; save it as UTF-8")
    if utf8 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.start + 1].hex()
        hint = f"save the file as {encoding}" if not utf8 else "save the file as UTF-8"
        if utf8 and _looks_thai_windows(data):
            hint = ("it looks like Thai Windows-874/TIS-620 text: save it as 'CSV UTF-8' "
                    "or import with --encoding cp874")
        raise ValueError(f"{line}: encoding: bytes are not {encoding} (0x{bad} at byte "
                         f"{exc.start}); {hint}") from None


def _looks_thai_windows(data: bytes) -> bool:
    try:
        text = data.decode("cp874")
    except UnicodeDecodeError:
        return False
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


# --- CSV ----------------------------------------------------------------------------------------


def read_csv(text: str, source: str, kind: str | None) -> Parsed:
    """One kind per CSV file, header row of field names (NetBox bulk-import style)."""
    out = Parsed()
    kind = kind or kind_of(Path(source).stem)
    if kind is None:
        out.errors.append(f"{source}:1: file: cannot tell which kind of object it holds; name it "
                          f"after one of {', '.join(KINDS)} (e.g. sites.csv) or pass --kind")
        return out
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [h.strip().lower() for h in record]
                dupes = sorted({h for h in header if header.count(h) > 1})
                if dupes:
                    out.errors.append(f"{source}:{line}: header: column(s) {', '.join(dupes)} "
                                      "appear more than once")
                    return out
                if not any(header):
                    out.errors.append(f"{source}:{line}: header: the first row must name the "
                                      "columns")
                    return out
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) != len(header):
                out.errors.append(f"{source}:{line}: row: has {len(record)} columns, the header "
                                  f"has {len(header)}")
                continue
            data = {h: _csv_value(kind, h, v) for h, v in zip(header, record, strict=True)
                    if h}
            out.rows.append(Row(kind, source, line, data))
    except csv.Error as exc:
        what = ("unbalanced quote: a quoted field opened here never closes"
                if "end of data" in str(exc) else f"malformed CSV ({exc})")
        out.errors.append(f"{source}:{start}: row: {what}")
    if header is None:
        out.errors.append(f"{source}:1: header: the file is empty")
    return out


def _csv_value(kind: str, name: str, cell: str) -> str | list[str] | None:
    """A cell as the importer takes it: empty is None; a list field is split into its items.

    Only the separator splits (not every kind of white space), so a newline or other control
    character stays inside its item and is refused there by name.
    """
    if not cell.strip():
        return None
    if (kind, name) in LIST_FIELDS:
        return [item for item in cell.split(LIST_SEPARATOR) if item]
    return cell


# --- JSON ---------------------------------------------------------------------------------------


class _Dupes(dict):  # type: ignore[type-arg]
    """A JSON object that remembers keys given twice (plain ``json`` keeps the last)."""

    dupes: list[str]


_Dupes.__name__ = _Dupes.__qualname__ = "dict"  # messages say "expected text, got dict"


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _Dupes()
    obj.dupes = []
    for key, value in pairs:
        if key in obj:
            obj.dupes.append(key)
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(text: str, source: str) -> Parsed:
    """``{"agencies": [{...}, ...], "sites": [...]}``; rows keep the line their ``{`` is on.

    The top level is walked by hand and each row decoded with the C decoder
    (``raw_decode``), so line numbers are exact at the decoder's speed.
    """
    out = Parsed()
    lines = _line_index(text)
    decoder = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)

    def at(pos: int) -> int:
        return bisect.bisect_right(lines, pos - 1) + 1

    def value(pos: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _Stop(f"{source}:{exc.lineno}: json: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise _Stop(f"{source}:{at(pos)}: json: nested too deeply") from None
        except ValueError as exc:
            raise _Stop(f"{source}:{at(pos)}: json: {exc}") from None

    try:
        pos = _skip_ws(text, 0)
        if pos >= len(text) or text[pos] != "{":
            raise _Stop(f"{source}:{at(pos)}: json: expected an object with a list per kind "
                        f"({', '.join(KINDS)})")
        pos = _skip_ws(text, pos + 1)
        seen: set[str] = set()
        while pos < len(text) and text[pos] != "}":
            key_line = at(pos)
            if text[pos] != '"':
                raise _Stop(f"{source}:{key_line}: json: expected a key in double quotes")
            key, pos = value(pos)
            pos = _skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ":":
                raise _Stop(f"{source}:{at(pos)}: json: expected ':' after {key!r}")
            pos = _skip_ws(text, pos + 1)
            if key in seen:
                out.errors.append(f"{source}:{key_line}: {shown(key)}: given twice")
            seen.add(key)
            kind = kind_of(key) if key not in META_KEYS else None
            if kind is None or text[pos:pos + 1] != "[":
                item, pos = value(pos)
                _top_level(out, source, key_line, key, item, kind)
            else:
                pos = _json_list(text, pos, kind, source, out, value, at)
            pos = _skip_ws(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            elif pos < len(text) and text[pos] != "}":
                raise _Stop(f"{source}:{at(pos)}: json: expected ',' or '}}'")
        if pos >= len(text):
            raise _Stop(f"{source}:{at(pos)}: json: the file ends inside the top-level object")
        if _skip_ws(text, pos + 1) < len(text):
            raise _Stop(f"{source}:{at(pos + 1)}: json: extra data after the top-level object")
    except _Stop as stop:
        out.errors.append(str(stop))
    return out


def _json_list(text: str, pos: int, kind: str, source: str, out: Parsed,
               value: Callable[[int], tuple[Any, int]], at: Callable[[int], int]) -> int:
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        line = at(pos)
        item, pos = value(pos)
        _add_row(out, kind, source, line, item)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            raise _Stop(f"{source}:{at(pos)}: json: expected ',' or ']' in the {kind} list")
    if pos >= len(text):
        raise _Stop(f"{source}:{at(pos)}: json: the file ends inside the {kind} list")
    return pos + 1


class _Stop(Exception):
    """A syntax error after which the rest of the file cannot be read."""


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_index(text: str) -> list[int]:
    out = []
    pos = text.find("\n")
    while pos != -1:
        out.append(pos)
        pos = text.find("\n", pos + 1)
    return out


def _top_level(out: Parsed, source: str, line: int, key: Any, item: Any, kind: str | None) -> None:
    """A top-level entry that is not a list of rows: metadata, or an error."""
    if key == "format":
        if item != FORMAT_TAG:
            out.errors.append(f"{source}:{line}: format: expected {FORMAT_TAG!r}, got {item!r}")
    elif key == "version":
        if item != FORMAT_VERSION:
            out.errors.append(f"{source}:{line}: version: this gin reads version "
                              f"{FORMAT_VERSION}, the file says {item!r}")
    elif key == "exported_at":
        pass
    elif kind is None:
        out.errors.append(f"{source}:{line}: {shown(key)}: unknown section; expected one of "
                          f"{', '.join(KINDS)}")
    elif item is not None:  # ``sites: null`` / an empty YAML section is fine
        out.errors.append(f"{source}:{line}: {key}: expected a list of {kind}, "
                          f"got {type(item).__name__}")


def _add_row(out: Parsed, kind: str, source: str, line: int, item: Any) -> None:
    if not isinstance(item, dict):
        out.errors.append(f"{source}:{line}: {kind}: each entry must be an object of fields, "
                          f"got {type(item).__name__}")
        return
    for key in getattr(item, "dupes", ()):
        out.errors.append(f"{source}:{line}: {shown(key)}: given twice in one entry")
    bad = [k for k in item if not isinstance(k, str)]
    for key in bad:
        out.errors.append(f"{source}:{line}: {key!r}: field names must be text")
    out.rows.append(Row(kind, source, line, {k: v for k, v in item.items() if isinstance(k, str)}))


# --- YAML ---------------------------------------------------------------------------------------

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str, source: str) -> Parsed:
    """The JSON layout in YAML.  Built from the event stream, not ``yaml.load``.

    Building values from events ourselves is what makes this safe and precise: an alias
    (``*name``) is refused on sight instead of being expanded, depth is bounded, and every
    mapping keeps the line of its first key (the loader's mark).
    """
    out = Parsed()
    loader = _Loader(text)
    try:
        doc = _yaml_document(loader, source)
    except _Stop as stop:
        out.errors.append(str(stop))
        return out
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = str(exc.problem or exc)
        if "nest" in problem.lower():  # libyaml's own depth limit, met before ours on one line
            problem = _TOO_DEEP
        out.errors.append(f"{source}:{line}: yaml: {problem}")
        return out
    except yaml.YAMLError as exc:
        out.errors.append(f"{source}:1: yaml: {exc}")
        return out
    finally:
        loader.dispose()
    if doc is None:
        return out
    value, line = doc
    if not isinstance(value, dict):
        out.errors.append(f"{source}:{line}: yaml: expected a mapping with a list per kind "
                          f"({', '.join(KINDS)})")
        return out
    for key, (item, key_line) in value.items():
        kind = kind_of(key) if isinstance(key, str) and key not in META_KEYS else None
        if kind is not None and isinstance(item, list):
            for entry, entry_line in item:
                if isinstance(entry, dict):
                    out.errors.extend(entry.dupes)
                _add_row(out, kind, source, entry_line, _plain(entry))
        else:
            _top_level(out, source, key_line, key, _plain(item), kind)
    out.errors[:0] = getattr(value, "dupes", [])
    return out


class _YDict(dict):  # type: ignore[type-arg]
    dupes: list[str]


def _yaml_document(loader: Any, source: str) -> tuple[Any, int] | None:
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        return None
    loader.get_event()  # DocumentStart
    result = _yaml_node(loader, source, 0)
    loader.get_event()  # DocumentEnd
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.peek_event()
        raise _Stop(f"{source}:{event.start_mark.line + 1}: yaml: only one document "
                    "(no '---' separators) is allowed")
    return result


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_PLAIN_TAGS = (None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def _yaml_node(loader: Any, source: str, depth: int) -> tuple[Any, int]:
    event = loader.get_event()
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        raise _Stop(f"{source}:{line}: yaml: aliases (*{event.anchor}) are not allowed in "
                    "import files; write the value out")
    if depth >= MAX_DEPTH:
        raise _Stop(f"{source}:{line}: yaml: {_TOO_DEEP}")
    if isinstance(event, yaml.ScalarEvent):
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:merge":
            raise _Stop(f"{source}:{line}: yaml: merge keys (<<) are not allowed in import "
                        "files; write the fields out")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return loader.construct_object(node, deep=True), line
        except yaml.YAMLError as exc:
            raise _Stop(f"{source}:{line}: yaml: {getattr(exc, 'problem', None) or exc}") from None
    if isinstance(event, yaml.CollectionStartEvent) and event.tag not in _PLAIN_TAGS:
        raise _Stop(f"{source}:{line}: yaml: tag {event.tag} is not allowed in import files")
    if isinstance(event, yaml.SequenceStartEvent):
        items = []
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(_yaml_node(loader, source, depth + 1))
        loader.get_event()
        return items, line
    if isinstance(event, yaml.MappingStartEvent):
        mapping = _YDict()
        mapping.dupes = []
        while not loader.check_event(yaml.MappingEndEvent):
            key, key_line = _yaml_node(loader, source, depth + 1)
            item = _yaml_node(loader, source, depth + 1)
            if isinstance(key, list | dict):
                raise _Stop(f"{source}:{key_line}: yaml: a key must be plain text")
            if key in mapping:
                mapping.dupes.append(f"{source}:{key_line}: {shown(key)}: given twice")
            mapping[key] = (item[0], key_line)  # messages about a key point at the key
        loader.get_event()
        return mapping, line
    raise _Stop(f"{source}:{line}: yaml: unexpected {type(event).__name__}")


def _plain(value: Any) -> Any:
    """Strip the (value, line) pairs from a YAML subtree (for messages about it)."""
    if isinstance(value, list):
        return [_plain(v) for v, _l in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, (v, _l) in value.items()}
    return value


def read_text(text: str, fmt: str, source: str, kind: str | None = None) -> Parsed:
    """Dispatch on format."""
    if fmt == "csv":
        return read_csv(text, source, kind)
    if fmt == "json":
        return read_json(text, source)
    if fmt == "yaml":
        return read_yaml(text, source)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")

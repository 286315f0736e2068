"""Safe readers for import files: CSV, JSON and YAML, each row tagged with its line.

Why a module of its own: an import file is hostile until proven otherwise.  Each reader

- streams: it reads the file in chunks of :data:`CHUNK` and yields one row at a time, so
  memory is bounded by the largest row (:data:`MAX_ENTRY`), not by the file;
- refuses a file over the size limit from ``stat`` *before* reading it, and stops reading
  at the limit (a pipe or a growing file cannot push past it either);
- decodes strictly as UTF-8 (a UTF-8 BOM is fine; UTF-16 or Latin-1 bytes get a clear error
  with the line where they start);
- never expands YAML aliases (the "billion laughs" bomb) and never recurses deeper than
  :data:`MAX_DEPTH` (deep nesting would otherwise exhaust the C stack);
- reports problems as ``file:line: field: what is wrong`` and keeps going where it can, so
  one run lists every error in the file.

Readers only shape the file into :class:`Row` objects (kind, where, field values) and
:class:`Problem` objects (a line's error), yielded in file order; checking the values is
:mod:`directory.importer`'s job.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 16
#: Bytes read at a time.
CHUNK = 1024 * 1024
#: The longest single row (a JSON entry, a CSV line) a reader holds in memory, in characters.
MAX_ENTRY = 4 * 1024 * 1024
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
    #: The file's own spelling of each field (a CSV header ``Name_EN`` -> ``name_en``), so
    #: that errors name the column as the file does; None when the names are the fields'.
    columns: dict[str, str] | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def column(self, name: str) -> str:
        """How the file spells field ``name``."""
        return self.columns.get(name, name) if self.columns else name


@dataclass
class Problem:
    """Something wrong at one line of a file: ``message`` is ``field: what is wrong``."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


@dataclass
class Parsed:
    """What a reader found: the rows, and every error as ``file:line: field: what``."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, items: Iterable[Row | Problem]) -> Parsed:
        for item in items:
            if isinstance(item, Row):
                self.rows.append(item)
            else:
                self.errors.append(str(item))
        return self


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


class _Stop(Exception):
    """A problem after which the rest of the file cannot be read."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def check_size(path: str, max_bytes: int) -> None:
    """``ValueError`` if the file is bigger than ``max_bytes``, from ``stat``, unopened."""
    size = os.stat(path).st_size
    if size > max_bytes:
        raise ValueError(f"file is {_size(size)}, over the {_size(max_bytes)} import limit "
                         "(split it, or raise the limit with --max-size)")


class TextChunks:
    """A binary file decoded strictly, a chunk at a time, never past ``max_bytes``.

    Thai spreadsheets are often saved as Windows-874 / TIS-620: a decoding error says so
    and how to fix it (save as "CSV UTF-8", or import with ``--encoding cp874``), with the
    line where the bad bytes are.
    """

    def __init__(self, fh: IO[bytes], encoding: str = "utf-8",
                 max_bytes: int = DEFAULT_MAX_BYTES, chunk: int = CHUNK) -> None:
        self.fh = fh
        self.encoding = encoding
        self.utf8 = codecs.lookup(encoding).name == "utf-8"
        self.decoder = codecs.getincrementaldecoder(encoding)("strict")
        self.max_bytes = max_bytes
        self.chunk = chunk
        self.done = 0  # bytes read so far
        self.lines = 0  # newlines in them
        self.eof = False

    def read(self, _size: int = -1) -> str:
        """The next piece of text; ``""`` at the end.  (``_size`` is ignored: libyaml asks.)"""
        while not self.eof:
            data = self.fh.read(min(self.chunk, self.max_bytes + 1 - self.done))
            first = self.done == 0
            self.done += len(data)
            if self.done > self.max_bytes:
                raise _Stop(self.lines + 1, f"file: file is over the {_size(self.max_bytes)} "
                            "import limit (split it, or raise the limit with --max-size)")
            if not data:
                self.eof = True
            if first and self.utf8:
                if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise _Stop(1, "encoding: the file is UTF-16; save it as UTF-8")
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
            try:
                text = self.decoder.decode(data, final=self.eof)
            except UnicodeDecodeError as exc:
                raise self._bad_bytes(exc, len(data)) from None
            self.lines += data.count(b"\n")
            if text:
                return text
        return ""

    def _bad_bytes(self, exc: UnicodeDecodeError, new: int) -> _Stop:
        seen = bytes(exc.object)
        line = self.lines + seen.count(b"\n", 0, exc.start) + 1
        offset = self.done - new - (len(seen) - new) + exc.start
        bad = seen[exc.start:exc.start + 1].hex()
        hint = f"save the file as {self.encoding}" if not self.utf8 else "save the file as UTF-8"
        if self.utf8 and _looks_thai_windows(seen):
            hint = ("it looks like Thai Windows-874/TIS-620 text: save it as 'CSV UTF-8' "
                    "or import with --encoding cp874")
        return _Stop(line, f"encoding: bytes are not {self.encoding} (0x{bad} at byte "
                           f"{offset}); {hint}")


def _looks_thai_windows(data: bytes) -> bool:
    try:
        text = data.decode("cp874")
    except UnicodeDecodeError:
        return False
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


class _Given:
    """Text already in memory, read as chunks (for :func:`read_text`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, _size: int = -1) -> str:
        text, self.text = self.text, ""
        return text


def iter_file(path: str, fmt: str, source: str, kind: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES, encoding: str = "utf-8",
              ) -> Iterator[Row | Problem]:
    """Stream one file's rows and problems; nothing is raised, every problem is yielded.

    The size is checked with ``stat`` before the file is opened.
    """
    try:
        check_size(path, max_bytes)
        fh = open(path, "rb")  # noqa: SIM115 (closed below, also when the caller stops early)
    except OSError as exc:
        yield Problem(source, 1, f"file: cannot read it ({exc.strerror or exc})")
        return
    except ValueError as exc:
        yield Problem(source, 1, f"file: {exc}")
        return
    with fh:
        yield from iter_chunks(TextChunks(fh, encoding, max_bytes), fmt, source, kind)


def iter_chunks(chunks: TextChunks | _Given, fmt: str, source: str,
                kind: str | None = None) -> Iterator[Row | Problem]:
    """Dispatch on format; a problem that ends the file is yielded last."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    try:
        if fmt == "csv":
            yield from _iter_csv(chunks, source, kind)
        elif fmt == "json":
            yield from _JsonStream(chunks, source).rows()
        else:
            yield from _iter_yaml(chunks, source)
    except _Stop as stop:
        yield Problem(source, stop.line, stop.message)


def read_text(text: str, fmt: str, source: str, kind: str | None = None) -> Parsed:
    """Text already in memory, all at once (small inputs: samples, tests)."""
    return Parsed().add(iter_chunks(_Given(text), fmt, source, kind))


def read_yaml(text: str, source: str) -> Parsed:
    """A YAML document in memory (see :func:`read_text`)."""
    return read_text(text, "yaml", source)


# --- CSV ----------------------------------------------------------------------------------------


def _lines(chunks: TextChunks | _Given) -> Iterator[str]:
    """Lines ending in ``\\n`` (a ``\\r`` before it stays: the csv module takes it)."""
    rest = ""
    count = 0
    while piece := chunks.read():
        parts = (rest + piece).split("\n")
        rest = parts.pop()
        for part in parts:
            count += 1
            yield part + "\n"
        if len(rest) > MAX_ENTRY:
            raise _Stop(count + 1, f"row: a line longer than {MAX_ENTRY:,} characters")
    if rest:
        yield rest


def _iter_csv(chunks: TextChunks | _Given, source: str,
              kind: str | None) -> Iterator[Row | Problem]:
    """One kind per CSV file, header row of field names (NetBox bulk-import style)."""
    kind = kind or kind_of(Path(source).stem)
    if kind is None:
        yield Problem(source, 1, "file: cannot tell which kind of object it holds; name it "
                                 f"after one of {', '.join(KINDS)} (e.g. sites.csv) or pass --kind")
        return
    reader = csv.reader(_lines(chunks), strict=True)
    header: list[str] | None = None
    columns: dict[str, str] = {}
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [h.strip().lower() for h in record]
                dupes = sorted({h for h in header if header.count(h) > 1})
                if dupes:
                    yield Problem(source, line, f"header: column(s) {', '.join(dupes)} "
                                                "appear more than once")
                    return
                if not any(header):
                    yield Problem(source, line, "header: the first row must name the columns")
                    return
                columns = {h.strip().lower(): shown(h.strip()) for h in record
                           if h.strip() != h.strip().lower()}
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) != len(header):
                yield Problem(source, line, f"row: has {len(record)} columns, the header "
                                            f"has {len(header)}")
                continue
            data = {h: _csv_value(kind, h, v) for h, v in zip(header, record, strict=True)
                    if h}
            yield Row(kind, source, line, data, columns or None)
    except csv.Error as exc:
        what = ("unbalanced quote: a quoted field opened here never closes"
                if "end of data" in str(exc) else f"malformed CSV ({exc})")
        yield Problem(source, start, f"row: {what}")
    if header is None:
        yield Problem(source, 1, "header: the file is empty")


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


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)


class _JsonStream:
    """``{"agencies": [{...}, ...], "sites": [...]}`` read a chunk at a time.

    The top level is walked by hand and each entry decoded with the C decoder
    (``raw_decode``) from a window of the file, so line numbers are exact at the decoder's
    speed and memory holds one window, not the file.  An entry cut by the window's end
    makes the decoder fail: the window grows and the entry is decoded again (an entry
    longer than :data:`MAX_ENTRY` is refused).
    """

    def __init__(self, chunks: TextChunks | _Given, source: str) -> None:
        self.chunks = chunks
        self.source = source
        self.buf = ""
        self.pos = 0
        self.line = 1  # the line at ``pos``
        self.counted = 0  # newlines are counted up to here
        self.eof = False

    # --- the window -------------------------------------------------------------------------

    def _more(self) -> bool:
        if self.eof:
            return False
        piece = self.chunks.read()
        if not piece:
            self.eof = True
            return False
        if self.pos > len(self.buf) // 2:  # drop what is done
            self._count(self.pos)
            self.buf = self.buf[self.pos:]
            self.counted -= self.pos
            self.pos = 0
        self.buf += piece
        return True

    def _count(self, upto: int) -> None:
        if upto > self.counted:
            self.line += self.buf.count("\n", self.counted, upto)
            self.counted = upto

    def at(self) -> int:
        self._count(self.pos)
        return self.line

    def stop(self, message: str) -> _Stop:
        return _Stop(self.at(), f"json: {message}")

    def peek(self) -> str:
        """The next character after white space, ``""`` at the end."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def value(self) -> Any:
        """Decode the next value (growing the window until it holds all of it)."""
        self.peek()
        while True:
            try:
                item, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._grow():
                    continue
                self._count(self.pos)
                line = self.line + self.buf.count("\n", self.pos, exc.pos)
                col = exc.pos - self.buf.rfind("\n", 0, exc.pos)
                raise _Stop(line, f"json: {exc.msg} (column {col})") from None
            except RecursionError:
                raise self.stop("nested too deeply") from None
            except ValueError as exc:
                raise self.stop(str(exc)) from None
            if end >= len(self.buf) and self._grow():  # a number may go on
                continue
            self.pos = end
            return item

    def _grow(self) -> bool:
        if len(self.buf) - self.pos > MAX_ENTRY:
            raise self.stop(f"an entry longer than {MAX_ENTRY:,} characters (or a syntax "
                            "error inside it)")
        return self._more()

    # --- the layout -------------------------------------------------------------------------

    def rows(self) -> Iterator[Row | Problem]:
        source = self.source
        if self.peek() != "{":
            raise self.stop(f"expected an object with a list per kind ({', '.join(KINDS)})")
        self.pos += 1
        seen: set[str] = set()
        while (ch := self.peek()) not in ("}", ""):
            key_line = self.at()
            if ch != '"':
                raise self.stop("expected a key in double quotes")
            key = self.value()
            if self.peek() != ":":
                raise self.stop(f"expected ':' after {key!r}")
            self.pos += 1
            if key in seen:
                yield Problem(source, key_line, f"{shown(key)}: given twice")
            seen.add(key)
            kind = kind_of(key) if key not in META_KEYS else None
            if kind is None or self.peek() != "[":
                yield from _top_level(source, key_line, key, self.value(), kind)
            else:
                yield from self._list(kind)
            ch = self.peek()
            if ch == ",":
                self.pos += 1
            elif ch not in ("}", ""):
                raise self.stop("expected ',' or '}'")
        if self.peek() == "":
            raise self.stop("the file ends inside the top-level object")
        self.pos += 1
        if self.peek() != "":
            raise self.stop("extra data after the top-level object")

    def _list(self, kind: str) -> Iterator[Row | Problem]:
        self.pos += 1
        while (ch := self.peek()) not in ("]", ""):
            line = self.at()
            yield from _entry(kind, self.source, line, self.value())
            ch = self.peek()
            if ch == ",":
                self.pos += 1
            elif ch not in ("]", ""):
                raise self.stop(f"expected ',' or ']' in the {kind} list")
        if ch == "":
            raise self.stop(f"the file ends inside the {kind} list")
        self.pos += 1


def _top_level(source: str, line: int, key: Any, item: Any,
               kind: str | None) -> Iterator[Problem]:
    """A top-level entry that is not a list of rows: metadata, or an error."""
    if key == "format":
        if item != FORMAT_TAG:
            yield Problem(source, line, f"format: expected {FORMAT_TAG!r}, got {item!r}")
    elif key == "version":
        if item != FORMAT_VERSION:
            yield Problem(source, line, f"version: this gin reads version {FORMAT_VERSION}, "
                                        f"the file says {item!r}")
    elif key == "exported_at":
        pass
    elif kind is None:
        yield Problem(source, line, f"{shown(key)}: unknown section; expected one of "
                                    f"{', '.join(KINDS)}")
    elif item is not None:  # ``sites: null`` / an empty YAML section is fine
        yield Problem(source, line, f"{key}: expected a list of {kind}, "
                                    f"got {type(item).__name__}")


def _entry(kind: str, source: str, line: int, item: Any) -> Iterator[Row | Problem]:
    if not isinstance(item, dict):
        yield Problem(source, line, f"{kind}: each entry must be an object of fields, "
                                    f"got {type(item).__name__}")
        return
    for key in getattr(item, "dupes", ()):
        yield Problem(source, line, f"{shown(key)}: given twice in one entry")
    for key in item:
        if not isinstance(key, str):
            yield Problem(source, line, f"{key!r}: field names must be text")
    yield Row(kind, source, line, {k: v for k, v in item.items() if isinstance(k, str)})


# --- YAML ---------------------------------------------------------------------------------------

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
_PLAIN_TAGS = (None, "!", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


def _iter_yaml(chunks: TextChunks | _Given, source: str) -> Iterator[Row | Problem]:
    """The JSON layout in YAML, from the parser's event stream (not ``yaml.load``).

    Building values from events ourselves is what makes this safe and precise: an alias
    (``*name``) is refused on sight instead of being expanded, depth is bounded, every
    mapping keeps the line of its first key (the loader's mark), and each entry of a list
    is yielded as soon as it is parsed.
    """
    loader = _Loader(_YamlText(chunks))
    try:
        yield from _yaml_document(loader, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = str(exc.problem or exc)
        if "nest" in problem.lower():  # libyaml's own depth limit, met before ours on one line
            problem = _TOO_DEEP
        yield Problem(source, line, f"yaml: {problem}")
    except yaml.YAMLError as exc:
        yield Problem(source, 1, f"yaml: {exc}")
    finally:
        loader.dispose()


#: Characters YAML does not allow in a stream (YAML 1.1 "printable").  Found here, before
#: libyaml, so the error is the same wherever its buffer happens to end.
_NOT_YAML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff"
                       "\ufffe\uffff]")


class _YamlText:
    """The chunks of a YAML file, refusing characters YAML does not allow (with the line)."""

    def __init__(self, chunks: TextChunks | _Given) -> None:
        self.chunks = chunks
        self.line = 1

    def read(self, _size: int = -1) -> str:
        text = self.chunks.read(_size)
        bad = _NOT_YAML.search(text)
        if bad:
            line = self.line + text.count("\n", 0, bad.start())
            raise _Stop(line, f"yaml: control character U+{ord(bad.group()):04X} is not "
                              "allowed in YAML (remove it, or quote it as an escape)")
        self.line += text.count("\n")
        return text


class _YDict(dict):  # type: ignore[type-arg]
    dupes: list[str]


def _yaml_document(loader: Any, source: str) -> Iterator[Row | Problem]:
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        return
    loader.get_event()  # DocumentStart
    if not loader.check_event(yaml.MappingStartEvent):
        value, line = _yaml_node(loader, source, 0)
        if value is None:  # an empty document
            _yaml_end(loader, source)
            return
        raise _Stop(line, f"yaml: expected a mapping with a list per kind ({', '.join(KINDS)})")
    event = loader.get_event()
    if event.tag not in _PLAIN_TAGS:
        raise _Stop(event.start_mark.line + 1, f"yaml: tag {event.tag} is not allowed in "
                                               "import files")
    seen: set[Any] = set()
    while not loader.check_event(yaml.MappingEndEvent):
        key, key_line = _yaml_node(loader, source, 1)
        if isinstance(key, list | dict):
            raise _Stop(key_line, "yaml: a key must be plain text")
        if key in seen:
            yield Problem(source, key_line, f"{shown(key)}: given twice")
        seen.add(key)
        kind = kind_of(key) if isinstance(key, str) and key not in META_KEYS else None
        if kind is not None and loader.check_event(yaml.SequenceStartEvent):
            event = loader.get_event()
            if event.tag not in _PLAIN_TAGS:
                raise _Stop(event.start_mark.line + 1, f"yaml: tag {event.tag} is not allowed "
                                                       "in import files")
            while not loader.check_event(yaml.SequenceEndEvent):
                entry, entry_line = _yaml_node(loader, source, 2)
                if isinstance(entry, dict):
                    yield from entry.dupes
                yield from _entry(kind, source, entry_line, _plain(entry))
            loader.get_event()
        else:
            item, _line = _yaml_node(loader, source, 1)
            yield from _top_level(source, key_line, key, _plain(item), kind)
    loader.get_event()
    _yaml_end(loader, source)


def _yaml_end(loader: Any, source: str) -> None:
    loader.get_event()  # DocumentEnd
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.peek_event()
        raise _Stop(event.start_mark.line + 1, "yaml: only one document (no '---' separators) "
                                               "is allowed")


def _yaml_node(loader: Any, source: str, depth: int) -> tuple[Any, int]:
    event = loader.get_event()
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        raise _Stop(line, f"yaml: aliases (*{event.anchor}) are not allowed in import files; "
                          "write the value out")
    if depth >= MAX_DEPTH:
        raise _Stop(line, f"yaml: {_TOO_DEEP}")
    if isinstance(event, yaml.ScalarEvent):
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == "tag:yaml.org,2002:merge":
            raise _Stop(line, "yaml: merge keys (<<) are not allowed in import files; write "
                              "the fields out")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return loader.construct_object(node, deep=True), line
        except yaml.YAMLError as exc:
            raise _Stop(line, f"yaml: {getattr(exc, 'problem', None) or exc}") from None
    if isinstance(event, yaml.CollectionStartEvent) and event.tag not in _PLAIN_TAGS:
        raise _Stop(line, f"yaml: tag {event.tag} is not allowed in import files")
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
                raise _Stop(key_line, "yaml: a key must be plain text")
            if key in mapping:
                mapping.dupes.append(Problem(source, key_line, f"{shown(key)}: given twice"))
            mapping[key] = (item[0], key_line)  # messages about a key point at the key
        loader.get_event()
        return mapping, line
    raise _Stop(line, f"yaml: unexpected {type(event).__name__}")


def _plain(value: Any) -> Any:
    """Strip the (value, line) pairs from a YAML subtree (for messages about it)."""
    if isinstance(value, list):
        return [_plain(v) for v, _l in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, (v, _l) in value.items()}
    return value

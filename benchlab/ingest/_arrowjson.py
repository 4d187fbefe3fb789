"""An exact-or-nothing fast path for large JSON files: Arrow parses, Python decides.

``json.loads`` builds a Python object for every value of a document, including
the many an importer never reads (pytest-benchmark writes seventeen statistics
and six options per benchmark; benchlab needs six).  PyArrow's JSON reader with
an explicit schema builds only the declared columns, typed, in C++: on a
260 MB pytest-benchmark file (200,000 benchmarks) it takes 0.5 s where
``json.loads`` takes 1.4 s, and the numbers arrive as Arrow arrays ready for
vectorised checks.  Undeclared keys are skipped (``unexpected_field_behavior=
"ignore"``), or, for formats where an unknown field is an error (benchlab's
own), make the parse decline (``strict``).

Arrow is stricter than Python's parser in most ways (a number where a string
was declared, a key given twice, a lone surrogate, a number beyond a double
such as ``1e400`` are all errors) but not in all, and an Arrow struct cannot
say whether a key was missing or ``null``, nor keep an arbitrary JSON object.
So this module only ever *declines*: :func:`arrow_document` and
:func:`arrow_lines` return ``None`` for anything they cannot read exactly as
``json.loads`` would, and the importer then runs its exact, per-record path,
which is the reference for every result and every error message.  The
conditions:

* the bytes are UTF-8 without a byte-order mark, and contain no backslash: with
  no escape sequences a ``"`` always delimits a string, so a key can be found
  in the text by :meth:`ArrowDocument.objects` without a tokenizer;
* the document is exactly one JSON object that Arrow parses under the schema
  (nothing else is handed to Arrow at all: its reader crashes on a document
  that starts with a top-level ``null``); for JSON Lines, every line is one
  object (see :func:`arrow_lines`).

Objects of free shape (pytest-benchmark ``params``, ``extra_info``,
``machine_info``) are declared as empty structs (Arrow then says only whether
each is present) and taken from the text by :meth:`ArrowDocument.objects`, parsed by
Python's own ``json`` so that their values are exactly what the exact path sees.

One difference is deliberate: Arrow's parser is iterative, so a document nested
deeper than Python's recursion limit (about 1000 levels) in a part the importer
ignores is read instead of refused as "nested too deeply".
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from itertools import compress
from operator import itemgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj

__all__ = ["OBJECT", "ArrowDocument", "ArrowLines", "arrow_document", "arrow_lines"]

#: Declare a JSON object of any content: Arrow records only whether it is present.
OBJECT = pa.struct([])

_WS = "[ \t\n\r]*"
# A flat object: no nested object or array outside strings (strings hold no escapes here).
_FLAT = r'\{[^{}\[\]"]*(?:"[^"]*"[^{}\[\]"]*)*\}'
_DECODER = json.JSONDecoder()
_OBJECT_START = re.compile(rb"[ \t\n\r]*\{")
_MAX_BLOCK = (1 << 31) - 2


class _TextObjects:
    """Free-form objects of a JSON text found by key, for a file Arrow parsed (see :meth:`objects`)."""

    def __init__(self, data: bytes | str, digest: str, found: dict) -> None:
        self._data = data  # ASCII bytes, or the decoded text: offsets of the key search index it
        self.digest = digest
        self._found = found

    def objects(self, expected: dict[str, int]) -> dict[str, list[dict]] | None:
        """Every object value of each key, in document order, parsed by Python's ``json``.

        ``expected`` maps each key (one of those given to :func:`arrow_document`)
        to how many objects the caller knows of from Arrow.  Any other count
        means the key also names objects elsewhere, or is spelled in a way the
        text search misses, and the answer is ``None``: the objects could not be
        matched to their records.  Flat objects are parsed in one ``json.loads``
        call, nested ones where they stand.
        """
        out: dict[str, list[dict]] = {}
        data = self._data
        bytes_ = isinstance(data, bytes)
        try:
            for key, n in expected.items():
                flats = self._found[key]
                if len(flats) != n:
                    return None
                if all(flats):  # all flat: one parse for the lot
                    objs = json.loads((b"[" + b",".join(flats) + b"]") if bytes_ else "[" + ",".join(flats) + "]")
                else:
                    objs = []
                    for m in _keys_pattern((key,), bytes_).finditer(data):  # type: ignore[arg-type]
                        flat = m.group(2)
                        objs.append(json.loads(flat) if flat else _object_at(data, m.end()))
                        if len(objs) == n:  # a key at the top usually comes first: stop early
                            break
                if len(objs) != n or (objs and set(map(type, objs)) != {dict}):
                    return None
                out[key] = objs
        except (ValueError, RecursionError):
            return None
        return out


class ArrowDocument(_TextObjects):
    """A JSON file parsed by Arrow under a schema, with its free-form objects found in the text.

    Attributes
    ----------
    digest : str
        SHA-256 of the bytes read (what :func:`~benchlab.ingest.file_digest` gives).
    fields : dict of str to pyarrow.Scalar
        The declared top-level fields.
    """

    def __init__(self, data: bytes | str, digest: str, fields: dict[str, pa.Scalar], found: dict) -> None:
        super().__init__(data, digest, found)
        self.fields = fields


class ArrowLines(_TextObjects):
    """A JSON Lines file parsed by Arrow under a schema (one row per line), objects found in the text.

    Attributes
    ----------
    digest : str
        SHA-256 of the bytes read.
    table : pyarrow.Table
        The declared fields, one row per line.
    """

    def __init__(self, data: bytes | str, digest: str, table: pa.Table, found: dict) -> None:
        super().__init__(data, digest, found)
        self.table = table


def _object_at(data: bytes | str, start: int) -> object:
    """The JSON value at ``start``, parsed by Python (ASCII bytes are decoded a window at a time)."""
    if isinstance(data, str):
        return _DECODER.raw_decode(data, start)[0]
    window = 1 << 16
    while True:
        try:
            return _DECODER.raw_decode(data[start : start + window].decode("ascii"))[0]
        except ValueError:
            if start + window >= len(data):
                raise
            window *= 16  # cut short by the window, or malformed: look further


def arrow_document(
    path: Path, schema: pa.Schema, keys: tuple[str, ...] = (), *, strict: bool = False
) -> ArrowDocument | None:
    """Parse a one-object JSON file under ``schema``; ``None`` when that would not be exact.

    ``keys`` name the free-form objects to find in the text for
    :meth:`ArrowDocument.objects`.  ``strict`` makes a key the schema does not
    declare (at any level but inside free-form objects) a reason to decline,
    for formats where an unknown field is an error.  Arrow parses in a second thread while this one
    searches the text and takes the digest: neither needs the other, and Arrow
    releases the GIL.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw or len(raw) > _MAX_BLOCK or b"\\" in raw:
        return None
    # Only a document that is an object: Arrow's reader crashes on a leading top-level null.
    # (This also refuses a byte-order mark, which the exact path strips.)
    if not _OBJECT_START.match(raw) or _last_byte(raw) != b"}":
        return None
    block = max(len(raw) + 1, 1 << 16)
    with ThreadPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(_parse, raw, schema, block=block, threads=False, strict=strict)
        data, found, digest = _search(raw, keys)
        table = parsed.result()
    if data is None or table is None:
        return None
    if table.num_rows != 1:
        return None
    return ArrowDocument(data, digest, {name: table.column(name)[0] for name in schema.names}, found)


def arrow_lines(path: Path, schema: pa.Schema, keys: tuple[str, ...] = ()) -> ArrowLines | None:
    """Parse a JSON Lines file under ``schema``, strictly; ``None`` when that would not be exact.

    Exact means one row per line of text, each a JSON object, as Python reads
    the file line by line: every line starts with ``{`` and ends with ``}``
    (Arrow would read two objects on one line as two rows, and crashes on a
    leading ``null``), no blank line (Python skips it, Arrow would too, but
    then the counts could not be compared), no carriage return (Python splits
    lines there), and, as for documents, no backslash and UTF-8 text.  Arrow
    parses blocks of lines on
    its own threads while this one searches the text and takes the digest.
    A key the schema does not declare (but inside free-form objects) declines.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if not raw or len(raw) > _MAX_BLOCK or b"\\" in raw or b"\r" in raw:
        return None
    body = raw[:-1] if raw.endswith(b"\n") else raw
    lines = body.count(b"\n") + 1
    if not (body.startswith(b"{") and body.endswith(b"}")) or body.count(b"}\n{") != lines - 1:
        return None  # every line break is between two objects
    with ThreadPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(_parse, raw, schema, block=1 << 22, threads=True, strict=True)
        data, found, digest = _search(raw, keys)
        table = parsed.result()
    if data is None or table is None or table.num_rows != lines:
        return None
    return ArrowLines(data, digest, table, found)


def _search(raw: bytes, keys: tuple[str, ...]) -> tuple[bytes | str | None, dict, str]:
    """(text to search, flat objects of each key in document order, digest); text ``None``: not UTF-8."""
    data: bytes | str | None = raw
    if not raw.isascii():  # then offsets must count characters, and the bytes must be UTF-8
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError:
            data = None
    found: dict = {k: [] for k in keys}
    keys = tuple(k for k in keys if f'"{k}"'.encode() in raw)  # a pass over the text only for keys it holds
    if data is not None and keys:
        matches = _keys_pattern(keys, isinstance(data, bytes)).findall(data)  # type: ignore[arg-type]
        if matches:
            names, flats = list(map(itemgetter(0), matches)), list(map(itemgetter(1), matches))
            for k in keys:
                name = k.encode() if isinstance(data, bytes) else k
                found[k] = list(compress(flats, map(name.__eq__, names)))
    return data, found, hashlib.sha256(raw).hexdigest()


def _parse(raw: bytes, schema: pa.Schema, *, block: int, threads: bool, strict: bool) -> pa.Table | None:
    try:
        table = pj.read_json(
            pa.BufferReader(raw),
            read_options=pj.ReadOptions(use_threads=threads, block_size=block),
            parse_options=pj.ParseOptions(
                explicit_schema=schema,
                # Strict: undeclared keys are inferred and then refused (Arrow's "error" would
                # also refuse the keys of free-form objects, which belong to the object).
                unexpected_field_behavior="infer" if strict else "ignore",
                newlines_in_values=False,
            ),
        )
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    if strict and not (
        table.schema.names == schema.names
        and all(_conforms(a.type, d.type) for a, d in zip(table.schema, schema, strict=True))
    ):
        return None
    return table


def _conforms(actual: pa.DataType, declared: pa.DataType) -> bool:
    """Whether ``actual`` is ``declared``, but for what Arrow inferred inside free-form objects."""
    if declared == OBJECT:
        return pa.types.is_struct(actual)
    if pa.types.is_struct(declared):
        return (
            pa.types.is_struct(actual)
            and [f.name for f in actual] == [f.name for f in declared]
            and all(_conforms(a.type, d.type) for a, d in zip(actual, declared, strict=True))
        )
    if pa.types.is_list(declared):
        return pa.types.is_list(actual) and _conforms(actual.value_type, declared.value_type)
    return actual == declared


def _last_byte(raw: bytes) -> bytes:
    i = len(raw) - 1
    while i >= 0 and raw[i] in b" \t\n\r":
        i -= 1
    return raw[i : i + 1]


@functools.lru_cache(maxsize=16)
def _keys_pattern(keys: tuple[str, ...], binary: bool) -> re.Pattern:
    alt = "|".join(map(re.escape, keys))
    pattern = f'"({alt})"{_WS}:{_WS}(?=\\{{)({_FLAT})?'
    return re.compile(pattern.encode() if binary else pattern)

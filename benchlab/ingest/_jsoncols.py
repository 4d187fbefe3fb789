"""Column-wise JSON: DuckDB reads a large array of flat records, Polars writes JSON text.

Two halves of the MLPerf round-table fast path (``mlperf.py``), kept apart from
the format because neither knows anything about MLPerf.

Reading.  ``json.loads`` builds a Python dict for each of 200,000 records of a
round table (1.2 s for 272 MB) before an importer has looked at one.  DuckDB's
``read_json`` parses the same array in C++ into one column per declared field.
Each field is declared as DuckDB's ``JSON`` type, so the column holds the JSON
text of the value (``"x"``, ``96.0``, ``true``): the importer sees the value's
JSON type, not a conversion of it, and can decline a record whose type it does
not expect.  :func:`json_array_columns` only ever *declines* (returns ``None``)
when the result might differ from what ``json.loads`` gives; the importer then
runs its exact, per-record path, which is the reference for every result and
every error message.  The conditions:

* the file is one JSON array of objects (``records=true``: anything else is an
  error), the bytes are UTF-8 (checked by Python's own codec when not ASCII)
  and hold no backslash: without escape sequences a string's JSON text is the
  string between two quotes, and nothing is lost to DuckDB's re-encoding;
* no vertical tab or form feed anywhere (DuckDB accepts them as whitespace
  between records, Python's parser does not);
* a declared key given twice in a record is an error in DuckDB (Python keeps
  the last value): the file is declined;
* the path has no glob characters (DuckDB would expand them).

A non-finite number in a declared field arrives as its own text (``NaN``,
``nan``, ``Infinity``, ``-inf``): callers decline whatever is not a plain JSON
number where they expect one, and parse anything else with ``json.loads``.  One
difference is deliberate: DuckDB accepts ``nan`` and ``inf`` in any letter case
where Python accepts exactly ``NaN``, ``Infinity`` and ``-Infinity``, so such a
literal in a field the importer does not declare (and so never reads) lets the
file be read instead of refused as malformed.

Writing.  :func:`json_object` assembles per-row JSON objects from columns of
value texts with the layout ``json.dumps(obj, sort_keys=True)`` produces (keys
sorted, ``", "`` and ``": "`` separators, absent values left out), and
:func:`json_str` and :func:`json_float` give the value texts ``json.dumps``
would write for text and floats.  An importer builds per-record metadata of
10⁵ rows this way in tens of milliseconds instead of a ``json.dumps`` call per
dict, and the text is the same, so the fast and the exact path agree byte for
byte.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

__all__ = [
    "JsonColumns",
    "json_array_columns",
    "is_text",
    "is_number",
    "text_of",
    "json_str",
    "json_float",
    "json_object",
    "by_value",
    "per_distinct",
    "distinct_rows",
]

_GLOB = frozenset("*?[")
_MAX_BYTES = 1 << 34
#: A JSON number as the grammar spells it (finite: ``NaN`` and friends are not numbers here).
NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
# Text json.dumps writes between two quotes unchanged: printable ASCII but '"' and '\'.
_PLAIN = r"^[ !#-\[\]-~]*$"


@dataclass
class JsonColumns:
    """A JSON array of records as columns of JSON text.

    Attributes
    ----------
    frame : polars.DataFrame
        One ``Utf8`` column per declared field, in record order: the JSON text of
        the record's value, null where the key is missing or the value is ``null``.
    sha256 : hashlib.sha256
        Of the bytes read (its ``hexdigest`` is what :func:`~benchlab.ingest.file_digest`
        gives); copy it to hash more files after this one.
    plain : bool
        Whether the file holds printable ASCII only (and whitespace between tokens):
        then every string read from it, and every substring of one, is written by
        ``json.dumps`` as it is, between quotes (see :func:`json_str`).
    """

    frame: pl.DataFrame
    sha256: Any  # hashlib's object: callers that hash more files after this one copy it
    plain: bool  # the file is printable ASCII: every string in it is json.dumps's text between quotes

    @property
    def digest(self) -> str:
        return self.sha256.hexdigest()


def json_array_columns(path: Path, fields: Sequence[str]) -> JsonColumns | None:
    """Read ``fields`` of every record of a JSON array file; ``None`` when that would not be exact.

    DuckDB parses in a second thread (it reads the file itself and releases
    the GIL) while this one reads the bytes, checks them and takes the digest.
    """
    try:
        target = str(path.resolve())
    except (OSError, RuntimeError):
        return None
    if _GLOB.intersection(target):
        return None
    con = duckdb.connect(":memory:")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            parsed = pool.submit(_read, con, target, fields)
            checked = _check(path)
            if checked is None:
                con.interrupt()  # the answer is no whatever DuckDB finds: stop it
            frame = parsed.result()
    finally:
        con.close()
    if checked is None or frame is None:
        return None
    return JsonColumns(frame, *checked)


def _check(path: Path) -> tuple[Any, bool] | None:
    """(SHA-256, plain) of the file, or ``None`` if DuckDB's reading might not be Python's.

    The file is mapped rather than read: the checks and the hash look at each
    byte once or twice, and a copy of a large file would cost as much again.
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if not 0 < size <= _MAX_BYTES:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                if mm.find(b"\\") != -1 or mm.find(b"\x0b") != -1 or mm.find(b"\x0c") != -1:
                    return None
                view = np.frombuffer(mm, dtype=np.uint8)
                # Printable ASCII (control characters are refused in strings by both parsers).
                plain = int(view.max()) < 0x7F
                del view  # the map cannot close while a view of it exists
                if not plain:
                    try:
                        mm[:].decode("utf-8")
                    except UnicodeDecodeError:
                        return None
                return hashlib.sha256(mm), plain
    except (OSError, ValueError):
        return None


def _read(con: duckdb.DuckDBPyConnection, target: str, fields: Sequence[str]) -> pl.DataFrame | None:
    columns = "{" + ", ".join(f"{_sql_text(f)}: 'JSON'" for f in fields) + "}"
    names = ", ".join(_sql_name(f) for f in fields)
    try:
        rel = con.sql(
            # compression='none': the bytes as they are, whatever the file is called (as Python reads them).
            f"SELECT {names} FROM read_json(?, format='array', records=true, compression='none', columns={columns})",
            params=[target],
        )
        frame = rel.pl()
    # ValueError: DuckDB's message about undecodable bytes is itself undecodable (UnicodeDecodeError).
    except (duckdb.Error, pl.exceptions.PolarsError, ValueError, MemoryError, RuntimeError):
        return None
    if frame.columns != list(fields):
        return None
    return frame.cast(dict.fromkeys(fields, pl.Utf8))


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _sql_name(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


# -- reading the value texts ----------------------------------------------------


def is_text(col: pl.Expr) -> pl.Expr:
    """Whether each value is a JSON string or absent."""
    return col.is_null() | col.str.starts_with('"')


def is_number(col: pl.Expr) -> pl.Expr:
    """Whether each value is a finite JSON number as the grammar spells it (false where absent)."""
    return col.str.contains(NUMBER).fill_null(False)


def text_of(col: pl.Expr) -> pl.Expr:
    """The string of each JSON string value (null for other values).

    Exact because the text holds no escape sequence (see
    :func:`json_array_columns`): the string is what lies between the quotes.
    """
    return pl.when(col.str.starts_with('"')).then(col.str.strip_prefix('"').str.strip_suffix('"'))


def by_value(col: pl.Series, fn: Callable[[Any], Any], dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    """``fn(json.loads(text))`` for each row, computed once per distinct text.

    For fields with few distinct values (a system's processor, a node count):
    the value ``fn`` sees is exactly what ``json.loads`` gives the exact path,
    whatever its JSON type.  A null text is ``None``.  ``ValueError`` from
    ``json.loads`` (a literal only DuckDB accepts) propagates: decline.
    """
    return per_distinct([col], lambda t: fn(None if t is None else json.loads(t)), dtype)


def per_distinct(
    cols: Sequence[pl.Series], fn: Callable[..., Any], dtype: pl.DataType | type[pl.DataType]
) -> pl.Series:
    """``fn(*values)`` for each row, computed once per distinct combination of the columns' values."""
    if len(cols) == 1:  # one column: a hash lookup beats the join
        distinct = cols[0].unique(maintain_order=True)
        out = pl.Series([fn(v) for v in distinct.to_list()], dtype=dtype)
        return cols[0].replace_strict(distinct, out, return_dtype=dtype)
    codes, rows = distinct_rows(cols)
    return pl.Series([fn(*row) for row in rows], dtype=dtype).gather(codes)


def distinct_rows(cols: Sequence[pl.Series]) -> tuple[pl.Series, list[tuple[Any, ...]]]:
    """(code of each row, distinct rows in order of first appearance) of columns taken together."""
    frame = pl.DataFrame({f"c{i}": c for i, c in enumerate(cols)})
    distinct = frame.unique(maintain_order=True)
    coded = distinct.with_row_index("__code")
    codes = frame.join(coded, on=list(frame.columns), how="left", nulls_equal=True, maintain_order="left")
    return codes.get_column("__code"), distinct.rows()


# -- writing JSON text column-wise ----------------------------------------------


def json_str(s: pl.Series, *, plain: bool = False) -> pl.Series:
    """``json.dumps`` of each string (ASCII escapes), null stays null.

    Printable ASCII without quotes or backslashes is quoted as it is; anything
    else (rare) goes through the encoder ``json.dumps`` uses, once per value.
    ``plain`` says the caller knows every string is such text (it comes from
    a :class:`JsonColumns` whose ``plain`` is true), which saves the check.
    """
    quoted = pl.select(pl.concat_str([pl.lit('"'), pl.lit(s), pl.lit('"')])).to_series().alias(s.name)
    if plain:
        return quoted
    ok = s.str.contains(_PLAIN).fill_null(True)
    if ok.all():
        return quoted
    table = {v: encode_basestring_ascii(v) for v in s.filter(~ok).unique().to_list()}
    other = s.replace_strict(table, default=None, return_dtype=pl.Utf8)
    return pl.select(pl.when(ok).then(quoted).otherwise(other)).to_series().alias(s.name)


def _python_float_text(x: float) -> str:
    return json.dumps(x)


_FLOAT_PROBE = [0.0, -0.0, 1.0, 96.0, 0.1, 0.30000000000000004, 44.43, 1e-4, 0.00012345678901234, 123456.789,
                1e15, 9999999999999998.0, 1e16, 1.2345e20, 1.7976931348623157e308, 4016878.0, 2.0**60]  # fmt: skip
# Polars writes floats as Python's repr does from 1e-4 up (shortest round-trip
# digits, exponent from 1e16); below that it avoids the exponent Python uses.
_POLARS_REPR = pl.Series(_FLOAT_PROBE).cast(pl.Utf8).to_list() == list(map(repr, _FLOAT_PROBE))


def json_float(col: pl.Series) -> pl.Series:
    """``json.dumps`` of each float (``float.__repr__``; ``NaN``/``Infinity``), null stays null.

    Polars' own formatting where it is the same as Python's (finite, zero or at
    least 1e-4 in magnitude, checked on a probe when this module loads); Python
    for the rest.
    """
    s = col.cast(pl.Float64)
    if not _POLARS_REPR:  # pragma: no cover - a Polars that formats floats otherwise
        return pl.Series(s.name, [None if x is None else _python_float_text(x) for x in s.to_list()], dtype=pl.Utf8)
    same = s.is_finite() & ((s == 0) | (s.abs() >= 1e-4))
    text = s.cast(pl.Utf8)
    odd = (~same).fill_null(False)
    if not odd.any():
        return text
    fixed = text.to_list()
    for i, x in zip(odd.arg_true().to_list(), s.filter(odd).to_list(), strict=True):
        fixed[i] = _python_float_text(x)
    return pl.Series(s.name, fixed, dtype=pl.Utf8)


def json_object(pairs: Mapping[str, pl.Expr]) -> pl.Expr:
    """Per row, ``json.dumps(obj, sort_keys=True)`` of the object whose values' texts are given.

    ``pairs`` maps each key to an expression of the JSON text of its value;
    a null text leaves the key out (as ``compact`` does before ``json.dumps``).
    """
    parts = [pl.lit(encode_basestring_ascii(k) + ": ") + pairs[k] for k in sorted(pairs)]
    if not parts:
        return pl.lit("{}")
    return pl.concat_str([pl.lit("{"), pl.concat_str(parts, separator=", ", ignore_nulls=True), pl.lit("}")])

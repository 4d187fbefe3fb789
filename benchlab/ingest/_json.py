"""Shared helpers of the third-party JSON importers: peeking, parsing, type checks.

Every importer here must turn *any* bytes into either a :class:`Batch` or an
:class:`~benchlab.errors.IngestError`.  Parsing and the small type checks that
make that true live here once, so each format module reads as a mapping of
fields rather than as defensive boilerplate.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchlab.errors import IngestError

__all__ = [
    "head",
    "head_text",
    "load_json",
    "parse_json_text",
    "finite",
    "count",
    "text",
    "clean_text",
    "compact",
    "capacity_gb",
    "paused_gc",
]

_INF = math.inf
_MAX_INT_FLOAT = int(sys.float_info.max)
_INT64_MAX = (1 << 63) - 1


def paused_gc(read: Callable[..., Any]) -> Callable[..., Any]:
    """Run an importer's ``read`` with the cyclic garbage collector paused.

    Parsing a large file creates millions of small, acyclic dicts and lists;
    the collector would rescan all of them on every generation-2 pass, which
    costs 10–40 % of the import time at 10⁵–10⁶ results.  Reference counting
    still frees everything; the collector is re-enabled (if it was) on exit.
    """

    @functools.wraps(read)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return read(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


def head(path: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file (sniffers only ever look at these)."""
    with open(path, "rb") as fh:
        return fh.read(n)


def head_text(path: Path, n: int = 4096) -> str:
    """The first ``n`` bytes as text; undecodable bytes become U+FFFD."""
    return head(path, n).decode("utf-8", errors="replace")


_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")


def _lone_surrogate(doc: Any) -> str | None:
    """The first string (or key) holding half a UTF-16 surrogate pair, if any.

    ``json.loads`` turns the escape ``"\\ud800"`` into a string that cannot be
    encoded as UTF-8, which Arrow, Polars and DuckDB all refuse later.
    """
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                return x
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return None


def parse_json_text(path: object, data: bytes | str, *, offset_lines: int = 0, offset_cols: int = 0) -> Any:
    """Parse JSON text, turning every parser failure into an :class:`IngestError`.

    Bare ``NaN``/``Infinity`` are accepted (asv writes them); callers decide what
    a non-finite number means.  ``offset_lines`` shifts reported line numbers when
    the JSON starts part-way into the file (``data.js``), ``offset_cols`` the
    columns of its first line.  Text with a lone
    surrogate escape is refused here, where the error can still name the file.
    """
    if isinstance(data, bytes):
        # UTF-8 only (every tool here writes it); json.loads would otherwise guess UTF-16/32.
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IngestError(path, f"byte {exc.start}", "not UTF-8 text") from None
        data = data.removeprefix("\ufeff")
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        col = exc.colno + (offset_cols if exc.lineno == 1 else 0)
        where = f"line {exc.lineno + offset_lines} column {col}"
        raise IngestError(path, where, f"malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise IngestError(path, None, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise IngestError(path, None, f"malformed JSON: {exc}") from None
    # The regex only where there is a backslash at all (a plain find is ten times faster).
    if "\\" in data and _SURROGATE_ESCAPE.search(data) and (bad := _lone_surrogate(doc)) is not None:
        shown = bad.encode("utf-8", "backslashreplace").decode("ascii", "replace")[:60]
        raise IngestError(path, None, f"invalid text {shown!r}: a \\u escape encodes half a surrogate pair")
    return doc


def read_utf8(path: Path) -> str:
    """A text file's content, UTF-8 only; unreadable or non-UTF-8 files are an :class:`IngestError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"byte {exc.start}", "not UTF-8 text") from None


def load_json(path: Path) -> Any:
    """Read and parse a JSON file (see :func:`parse_json_text`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_json_text(path, data)


def finite(value: object) -> float | None:
    """``value`` as a float if it is a finite, non-negative JSON number, else ``None``.

    Booleans are not numbers here (``true`` as a latency is a bug in the source).
    """
    t = type(value)
    if t is float:
        return value if 0.0 <= value < _INF else None  # type: ignore[operator, return-value]
    if t is int:
        return float(value) if 0 <= value <= _MAX_INT_FLOAT else None  # type: ignore[arg-type, operator]
    return None


def count(value: object) -> int | None:
    """``value`` as a non-negative int64 if it is a whole JSON number, else ``None``."""
    t = type(value)
    if t is int:
        return value if 0 <= value <= _INT64_MAX else None  # type: ignore[operator, return-value]
    if t is float and value == value and 0 <= value <= _INT64_MAX and float(value).is_integer():  # type: ignore[operator, comparison-overlap]
        return int(value)  # type: ignore[arg-type]
    return None


def text(value: object) -> str | None:
    """A non-empty string, or ``None`` for anything else."""
    return value if type(value) is str and value else None  # type: ignore[return-value]


_MISSING = {"", "n/a", "na", "none", "null", "todo", "tbd", "-", "unknown"}


def clean_text(value: object) -> str | None:
    """A string field of a hand-written description, with placeholders as ``None``.

    System descriptions write ``"N/A"``, ``"TODO"`` or ``""`` for unknown values.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        v = value.strip()
        return None if v.lower() in _MISSING else v
    return None


def compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` without ``None``/empty values (for metadata JSON)."""
    return {k: v for k, v in mapping.items() if v is not None and v != "" and v != {} and v != []}


_CAPACITY = re.compile(r"(\d+(?:\.\d+)?)\s*([TGM])(i?)B?(?![a-zA-Z])", re.IGNORECASE)


def capacity_gb(value: object) -> float | None:
    """``"192 GB"``, ``"1.5TiB"``, ``"80GB"`` in a name → gigabytes; ``None`` if absent."""
    s = clean_text(value)
    if s is None:
        return None
    m = _CAPACITY.search(s)
    if not m:
        return None
    x, unit, binary = float(m.group(1)), m.group(2).upper(), bool(m.group(3))
    scale = {"T": 1e3, "G": 1.0, "M": 1e-3}[unit]
    if binary:
        scale *= {"T": 1024**4, "G": 1024**3, "M": 1024**2}[unit] / {"T": 1e12, "G": 1e9, "M": 1e6}[unit]
    return x * scale

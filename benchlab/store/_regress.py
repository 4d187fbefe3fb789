"""Store-side SQL for regression triage (schema version 2, table ``triage``).

Functions take a :class:`~benchlab.store.Store` so that only the store package
speaks SQL; :mod:`benchlab.regress._triage` validates input and calls them.
Every value travels as a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from benchlab.store._connection import fetch

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["TRIAGE_COLUMNS", "insert_triage", "triage_rows", "latest_triage"]

#: Columns of the ``triage`` table, in order.
TRIAGE_COLUMNS: dict[str, pl.DataType] = {
    "triage_id": pl.Int64(),
    "change_id": pl.Utf8(),
    "series_key": pl.Utf8(),
    "provenance": pl.Utf8(),
    "kind": pl.Utf8(),
    "status": pl.Utf8(),
    "note": pl.Utf8(),
    "link": pl.Utf8(),
    "author": pl.Utf8(),
    "created_at": pl.Datetime("us", "UTC"),
    "first_bad_commit": pl.Utf8(),
    "first_bad_timestamp": pl.Datetime("us", "UTC"),
    "last_good_commit": pl.Utf8(),
    "last_good_timestamp": pl.Datetime("us", "UTC"),
}
_WRITABLE = [c for c in TRIAGE_COLUMNS if c not in ("triage_id", "created_at")]
_SELECT = ", ".join(TRIAGE_COLUMNS)


def _typed(df: pl.DataFrame) -> pl.DataFrame:
    if df.is_empty() and not df.columns:
        return pl.DataFrame(schema=TRIAGE_COLUMNS)
    return df.select(list(TRIAGE_COLUMNS)).cast(TRIAGE_COLUMNS)  # type: ignore[arg-type]


def insert_triage(store: Store, row: Mapping[str, Any]) -> pl.DataFrame:
    """Append one triage row (validated by the caller); returns it as stored."""
    values = [row.get(c) for c in _WRITABLE]
    placeholders = ", ".join("?" * len(_WRITABLE))
    with store._connect(write=True) as con:
        df = fetch(
            con,
            f"INSERT INTO triage ({', '.join(_WRITABLE)}) VALUES ({placeholders}) RETURNING {_SELECT}",
            values,
        )
    return _typed(df)


def _in(column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    vals = list(values)
    if not vals:
        return " WHERE FALSE", []
    return f" WHERE {column} IN ({', '.join('?' * len(vals))})", vals


def triage_rows(store: Store, change_id: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Every triage decision (of ``change_id`` if given), oldest first."""
    ids = [change_id] if isinstance(change_id, str) else change_id
    clause, params = _in("change_id", ids)
    with store._connect() as con:
        df = fetch(con, f"SELECT {_SELECT} FROM triage{clause} ORDER BY triage_id", params)
    return _typed(df)


def latest_triage(
    store: Store, *, change_ids: Sequence[str] | None = None, series_keys: Sequence[str] | None = None
) -> pl.DataFrame:
    """The latest decision per change, optionally for some changes or series only."""
    if change_ids is not None:
        clause, params = _in("change_id", change_ids)
    else:
        clause, params = _in("series_key", series_keys)
    q = (
        f"SELECT {_SELECT} FROM triage{clause} "
        "QUALIFY row_number() OVER (PARTITION BY change_id ORDER BY triage_id DESC) = 1 "
        "ORDER BY change_id"
    )
    with store._connect() as con:
        df = fetch(con, q, params)
    return _typed(df)

"""Stored predictions (schema migration 003): save and load, with their provenance.

Predictions live in their own ``predictions`` table, never in ``results``, and
every row records the model name, version and the hash of the training inputs
that made it.  Frames read back always carry ``provenance = "predicted"``.

Functions take a :class:`~benchlab.store.Store` (wire them in as
``Store.save_predictions`` / ``Store.predictions`` if wanted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from benchlab.errors import QueryError
from benchlab.store._query import condition

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["save_predictions", "load_predictions", "PREDICTION_COLUMNS"]

_CONFIG = {
    "series_key": pl.Utf8, "benchmark": pl.Utf8, "model": pl.Utf8, "hardware": pl.Utf8,
    "batch_size": pl.Int64, "seq_len": pl.Int64, "precision": pl.Utf8, "params": pl.Utf8,
    "metric": pl.Utf8, "unit": pl.Utf8, "direction": pl.Utf8,
}  # fmt: skip
_FIGURES = {
    "prediction": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "coverage": pl.Float64,
    "basis": pl.Utf8,
}
_MODEL = {"model_name": pl.Utf8, "model_version": pl.Utf8, "training_hash": pl.Utf8, "n_train": pl.Int64}
#: Columns of the predictions table that a saved frame provides (besides id and time).
PREDICTION_COLUMNS = (*_MODEL, *_CONFIG, *_FIGURES)
_FILTERABLE = (*_MODEL, *_CONFIG, "prediction_id", "basis")


def save_predictions(store: Store, frame: pl.DataFrame, model_info: Mapping[str, Any]) -> list[int]:
    """Append predictions to the store.

    Parameters
    ----------
    store : Store
    frame : polars.DataFrame
        Output of :meth:`PerformanceModel.predict` (or any frame with ``metric``
        and ``prediction`` — or ``value`` — plus configuration columns).  Rows
        must not be marked measured or simulated.
    model_info : mapping
        ``model_name``, ``model_version`` and ``training_hash`` (and optionally
        ``n_train``) — :attr:`PerformanceModel.info`.

    Returns
    -------
    list of int
        The new ``prediction_id`` values, in row order.

    Raises
    ------
    QueryError
        If model information or required columns are missing, or a row is not a
        prediction.
    """
    missing = [k for k in ("model_name", "model_version", "training_hash") if not model_info.get(k)]
    if missing:
        raise QueryError(f"model_info lacks {', '.join(missing)}; pass PerformanceModel.info")
    if frame.is_empty():
        return []
    f = frame
    if "prediction" not in f.columns:
        if "value" not in f.columns:
            raise QueryError("the frame has no 'prediction' (or 'value') column")
        f = f.with_columns(prediction=pl.col("value"))
    if "metric" not in f.columns:
        raise QueryError("the frame has no 'metric' column")
    if "provenance" in f.columns:
        bad = f.filter(pl.col("provenance").is_not_null() & (pl.col("provenance") != "predicted"))
        if bad.height:
            kinds = ", ".join(sorted(set(bad["provenance"].to_list())))
            raise QueryError(f"{bad.height} row(s) are {kinds}, not predictions; only predictions can be saved here")
    if f["prediction"].null_count():
        raise QueryError(f"{f['prediction'].null_count()} row(s) have no prediction")
    cols = {**_CONFIG, **_FIGURES}
    table = f.select(
        [pl.lit(model_info.get(k), dtype=t).alias(k) for k, t in _MODEL.items()]
        + [(pl.col(c) if c in f.columns else pl.lit(None)).cast(t).alias(c) for c, t in cols.items()]
    )
    names = ", ".join(f'"{c}"' for c in table.columns)
    with store._connect(write=True) as con:
        con.register("_bl_predictions", table.to_arrow())
        try:
            rows = con.execute(
                f"INSERT INTO predictions ({names}) SELECT {names} FROM _bl_predictions RETURNING prediction_id"
            ).fetchall()
        finally:
            con.unregister("_bl_predictions")
    return sorted(int(r[0]) for r in rows)


def load_predictions(store: Store, **filters: Any) -> pl.DataFrame:
    """Stored predictions matching ``filters``, oldest first.

    Parameters
    ----------
    store : Store
    **filters
        ``column=value`` or ``column=[values]`` on ``model_name``,
        ``model_version``, ``training_hash``, ``prediction_id``, ``basis`` and
        the configuration columns (``model``, ``hardware``, ``metric`` …);
        ``None`` matches missing values.

    Returns
    -------
    polars.DataFrame
        The table's columns plus ``provenance = "predicted"`` and ``value``
        (= ``prediction``), so the frame can be drawn next to results.
    """
    bad = sorted(set(filters) - set(_FILTERABLE))
    if bad:
        raise QueryError(f"cannot filter predictions on {bad}; filterable: {', '.join(_FILTERABLE)}")
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in filters.items():  # names were checked against _FILTERABLE above
        clause, values = condition(f'"{name}"', value)
        clauses.append(clause)
        params.extend(values)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    query = f"SELECT * FROM predictions{where} ORDER BY prediction_id"
    with store._connect() as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "predictions" not in tables:
            return pl.DataFrame()
        rel = con.sql(query, params=params)
        df = rel.pl() if rel is not None else pl.DataFrame()
    return df.with_columns(value=pl.col("prediction"), provenance=pl.lit("predicted"))

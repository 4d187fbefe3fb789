"""Vectorized validation of flat result tables (CSV, Parquet).

The per-record path of :class:`~benchlab.ingest.BatchBuilder` costs a few
microseconds a row; a 10-million-row Parquet file needs the same checks done
column-wise.  Every check here mirrors one in ``BatchBuilder.add_result`` and
reports the first offending row by its position in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from benchlab.errors import IngestError
from benchlab.frame import (
    PROVENANCES,
    SPREAD_COLUMNS,
    canonical_params,
    normalize_hardware_type,
    normalize_precision,
    series_key,
)
from benchlab.ingest._batch import (
    HARDWARE_SCHEMA,
    MODEL_SCHEMA,
    RESULT_SCHEMA,
    RUN_SCHEMA,
    Batch,
    COMPAT_SCHEMA,
    TEST_SCHEMA,
    file_digest,
    guess_hardware_type,
    parse_timestamp,
)
from benchlab.units import UnknownUnitError, default_direction, parse_unit

RUN_COLUMNS = ("run", "commit", "branch", "machine", "started_at", "ended_at", "provenance")
NUMERIC = ("value", "n_samples", "batch_size", "seq_len", *SPREAD_COLUMNS)
KNOWN = {
    *RESULT_SCHEMA,
    *RUN_COLUMNS,
    "timestamp",
    "simulated",
    "model_family",
} - {"run_index", "series_key", "orig_value", "orig_unit"}


def frame_to_batch(
    path: str, format: str, df: pl.DataFrame, where: Callable[[int], str], digest: str | None = None
) -> Batch:
    """Validate a flat results table and turn it into a :class:`Batch`.

    Parameters
    ----------
    path, format : str
        Source and importer name for errors and provenance.
    df : polars.DataFrame
        One row per result, native column names (see ``docs/formats.md``).
    where : callable
        Maps a 0-based row position to the location text of errors.
    """

    def fail(row: int | None, reason: str) -> IngestError:
        return IngestError(path, None if row is None else where(row), reason)

    if df.height == 0:
        raise fail(None, "no results found (the table is empty)")
    if "timestamp" in df.columns and "started_at" not in df.columns:
        df = df.rename({"timestamp": "started_at"})
    for col in ("metric", "value", "unit"):
        if col not in df.columns:
            raise fail(None, f"missing required column {col!r}")
    if "benchmark" not in df.columns and "model" not in df.columns:
        raise fail(None, "missing required column 'benchmark' (or 'model')")
    unknown = [c for c in df.columns if c not in KNOWN]
    if unknown:
        raise fail(None, f"unknown column(s) {unknown}; see docs/formats.md for the native columns")

    df = df.with_row_index("__row")

    def first_bad(mask: pl.Expr) -> int | None:
        hit = df.select(pl.col("__row").filter(mask).first()).item()
        return None if hit is None else int(hit)

    # Numbers: present, numeric, finite, non-negative.
    casts = {}
    for col in NUMERIC:
        if col not in df.columns:
            continue
        src = pl.col(col)
        num = src.cast(pl.Float64, strict=False) if df.schema[col] != pl.Float64 else src
        required = col == "value"
        if required and (row := first_bad(src.is_null())) is not None:
            raise fail(row, "value is missing")
        if (row := first_bad(src.is_not_null() & num.is_null())) is not None:
            bad = df.item(row, col)
            raise fail(row, f"{col} must be a number, got {bad!r}")
        if (row := first_bad(num.is_nan() | num.is_infinite())) is not None:
            raise fail(row, f"{col} is {df.item(row, col)!r}; a measurement must be finite")
        if (row := first_bad(num < 0)) is not None:
            raise fail(row, f"{col} is negative ({df.item(row, col)!r})")
        if col in ("batch_size", "seq_len", "n_samples"):
            if (row := first_bad(num.is_not_null() & (num != num.floor()))) is not None:
                raise fail(row, f"{col} must be a whole number, got {df.item(row, col)!r}")
            if col == "batch_size" and (row := first_bad(num == 0)) is not None:
                raise fail(row, "batch_size must be positive, got 0")
            num = num.cast(pl.Int64)
        casts[col] = num
    df = df.with_columns(**casts)

    for col in ("metric", "benchmark", "model", "hardware", "unit", "precision", "hardware_type",
                "direction", "run", "commit", "branch", "machine", "provenance", "model_family"):  # fmt: skip
        if col in df.columns and df.schema[col] != pl.Utf8:
            df = df.with_columns(pl.col(col).cast(pl.Utf8))
    if (row := first_bad(pl.col("metric").is_null() | (pl.col("metric") == ""))) is not None:
        raise fail(row, "missing required field 'metric'")
    name = pl.coalesce(
        [pl.col(c).replace("", None) for c in ("benchmark", "model") if c in df.columns]
    )
    if (row := first_bad(name.is_null())) is not None:
        raise fail(row, "missing required field 'benchmark' (or 'model')")
    df = df.with_columns(benchmark=name)

    # Units: parse each distinct spelling once.
    mapping: dict[str | None, Any] = {}
    for text in df.get_column("unit").unique().to_list():
        try:
            mapping[text] = parse_unit(text)
        except UnknownUnitError as exc:
            row = first_bad(pl.col("unit").eq_missing(text))
            raise fail(row, f"{exc}; see benchlab.units for the accepted units") from None
    units = pl.DataFrame(
        {
            "unit": list(mapping),
            "__canon": [u.canonical for u in mapping.values()],
            # Multiply by factor >= 1, divide by the reciprocal otherwise (exact decimals).
            "__factor": [u.factor if u.factor >= 1 else 1.0 / u.factor for u in mapping.values()],
            "__divide": [u.factor < 1 for u in mapping.values()],
            "__dir": [default_direction(u) for u in mapping.values()],
        },
        schema={"unit": pl.Utf8, "__canon": pl.Utf8, "__factor": pl.Float64, "__divide": pl.Boolean, "__dir": pl.Utf8},
    )
    df = df.join(units, on="unit", how="left", nulls_equal=True)
    if "direction" in df.columns:
        bad = pl.col("direction").is_not_null() & ~pl.col("direction").is_in(["lower", "higher"])
        if (row := first_bad(bad)) is not None:
            raise fail(row, f"direction must be 'lower' or 'higher', got {df.item(row, 'direction')!r}")
        direction = pl.coalesce("direction", "__dir")
    else:
        direction = pl.col("__dir")

    def mapped(col: str, fn: Callable[[Any], Any]) -> pl.Expr:
        if col not in df.columns:
            return pl.lit(None, dtype=pl.Utf8)
        values = df.get_column(col).unique().to_list()
        return pl.col(col).replace_strict(values, [fn(v) for v in values], return_dtype=pl.Utf8)

    if "params" in df.columns:
        if isinstance(df.schema["params"], pl.Struct):
            df = df.with_columns(pl.col("params").struct.json_encode())
        for text in df.get_column("params").unique().to_list():
            try:
                canonical_params(text)
            except (ValueError, TypeError):
                row = first_bad(pl.col("params").eq_missing(text))
                raise fail(row, f"params must be a JSON object, got {text!r}") from None
    hw_type = mapped("hardware_type", normalize_hardware_type)
    if "hardware" in df.columns:
        guess = mapped("hardware", lambda h: None if h is None else guess_hardware_type(h))
        hw_type = pl.when(pl.col("hardware").is_null()).then(None).otherwise(pl.coalesce(hw_type, guess))

    def conv(col: str) -> pl.Expr:
        c = pl.col(col)
        return pl.when(pl.col("__divide")).then(c / pl.col("__factor")).otherwise(c * pl.col("__factor"))

    out = df.select(
        pl.col("__row"),
        pl.col("benchmark"),
        *(pl.col(c) if c in df.columns else pl.lit(None, dtype=RESULT_SCHEMA[c]).alias(c)
          for c in ("model", "hardware", "batch_size", "seq_len")),  # fmt: skip
        hw_type.alias("hardware_type"),
        mapped("precision", normalize_precision).alias("precision"),
        mapped("params", canonical_params).alias("params"),
        pl.col("metric"),
        pl.col("__canon").alias("unit"),
        conv("value").alias("value"),
        direction.alias("direction"),
        (pl.col("n_samples") if "n_samples" in df.columns else pl.lit(None, pl.Int64)).alias("n_samples"),
        *((conv(c) if c in df.columns else pl.lit(None, pl.Float64)).alias(c) for c in SPREAD_COLUMNS),
        pl.col("value").alias("orig_value"),
        pl.col("unit").alias("orig_unit"),
        *(pl.col(c) if c in df.columns else pl.lit(None, dtype=pl.Utf8).alias(c)
          for c in ("run", "commit", "branch", "machine", "model_family")),  # fmt: skip
        *(pl.col(c).cast(pl.Utf8) if c in df.columns else pl.lit(None, dtype=pl.Utf8).alias(c)
          for c in ("started_at", "ended_at")),  # fmt: skip
        _provenance(df).alias("provenance"),
    )
    if (row := _first(out, ~pl.col("provenance").is_in(PROVENANCES))) is not None:
        raise fail(row, f"provenance must be one of {PROVENANCES}")

    # Series keys: hash each distinct series once.
    ident = ["benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric"]
    series = out.select(ident).unique()
    series = series.with_columns(
        pl.Series("series_key", [series_key(*r) for r in series.iter_rows()], dtype=pl.Utf8)
    )
    out = out.join(series, on=ident, how="left", nulls_equal=True)

    # Runs: one per distinct run identity.
    run_cols = ["run", "commit", "branch", "machine", "started_at", "ended_at", "provenance"]
    runs = out.select(run_cols).unique(maintain_order=True).with_row_index("run_index")
    runs = runs.with_columns(pl.col("run_index").cast(pl.Int64))
    out = out.join(runs, on=run_cols, how="left", nulls_equal=True)
    stamps = {}
    for col in ("started_at", "ended_at"):
        parsed = []
        for i, text in enumerate(runs.get_column(col).to_list()):
            try:
                parsed.append(parse_timestamp(text))
            except ValueError as exc:
                first = out.filter(pl.col("run_index") == i).get_column("__row")[0]
                raise fail(int(first), str(exc)) from None
        stamps[col] = pl.Series(col, parsed, dtype=pl.Datetime("us", "UTC"))
    run_frame = runs.select(
        pl.col("run_index"),
        pl.col("run").alias("run_key"),
        "commit",
        "branch",
        "machine",
        stamps["started_at"],
        stamps["ended_at"],
        pl.lit(None, pl.Utf8).alias("environment"),
        "provenance",
        pl.lit(None, pl.Utf8).alias("metadata"),
    ).select(list(RUN_SCHEMA))

    models = (
        out.filter(pl.col("model_family").is_not_null())
        .group_by("model")
        .agg(pl.col("model_family").first().alias("family"))
        .select(
            pl.col("model").alias("name"),
            "family",
            pl.lit(None, pl.Utf8).alias("modality"),
            pl.lit(None, pl.Float64).alias("params_m"),
            pl.lit(None, pl.Utf8).alias("metadata"),
        )
    )
    results = out.with_columns(pl.lit(None, pl.List(pl.Float64)).alias("samples")).select(
        [pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]
    )
    return Batch(
        path=path,
        format=format,
        digest=digest or file_digest(path),
        runs=run_frame,
        results=results,
        hardware=pl.DataFrame(schema=HARDWARE_SCHEMA),
        models=models.cast(MODEL_SCHEMA),  # type: ignore[arg-type]
        compatibility=pl.DataFrame(schema=COMPAT_SCHEMA),
        integration_tests=pl.DataFrame(schema=TEST_SCHEMA),
    )


def _provenance(df: pl.DataFrame) -> pl.Expr:
    if "provenance" in df.columns:
        return pl.col("provenance").fill_null("measured")
    if "simulated" in df.columns:
        flag = pl.col("simulated").cast(pl.Utf8).str.to_lowercase().is_in(["true", "1", "yes"])
        return pl.when(flag).then(pl.lit("simulated")).otherwise(pl.lit("measured"))
    return pl.lit("measured")


def _first(df: pl.DataFrame, mask: pl.Expr) -> int | None:
    hit = df.select(pl.col("__row").filter(mask).first()).item()
    return None if hit is None else int(hit)


__all__ = ["frame_to_batch", "KNOWN"]

"""Vectorized validation of flat result tables (CSV, Parquet).

The per-record path of :class:`~benchlab.ingest.BatchBuilder` costs a few
microseconds a row; a 10-million-row Parquet file needs the same checks done
column-wise.  Every check here mirrors one in ``BatchBuilder.add_result`` and
reports the first offending row by its position in the file.

How it stays fast (``benchmarks/store_ingest.py`` measures it):

* the checks run as one pass of boolean reductions; only a check that fails
  pays for locating its first row;
* each text column is coded once as integers (a Polars categorical over a
  private, throw-away category set), so unit parsing, precision and hardware
  normalization run once per *distinct* value and are applied with gathers;
* rows are grouped into series and runs by combining those codes
  arithmetically into one integer key (:func:`_group_key`) instead of a
  multi-column ``unique`` followed by a join of the whole table, which was most
  of the import time.  The combination is hand-written because Polars has no
  exact "group id per row" for several columns; it is exact (no hashing);
* new per-row columns are split into the file's chunks before they join the
  table, because a frame with misaligned chunks is copied whole (by Polars'
  ``with_columns`` and by the Arrow export the store hands to DuckDB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    COMPAT_SCHEMA,
    HARDWARE_SCHEMA,
    MODEL_SCHEMA,
    RESULT_SCHEMA,
    RUN_SCHEMA,
    TEST_SCHEMA,
    Batch,
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
TEXT_COLUMNS = ("metric", "benchmark", "model", "hardware", "unit", "precision", "hardware_type",
                "direction", "run", "commit", "branch", "machine", "provenance", "model_family")  # fmt: skip
IDENTITY = ("benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric")

# Integer codes of a column whose values span less than this are the values
# themselves (minus the minimum); wider ones are looked up.
_DIRECT_SPAN = 1 << 22
# A combined key is renumbered before it could overflow.
_KEY_SPAN = 1 << 62
# Keys up to this are mapped to values through a lookup table, larger ones hashed.
_LOOKUP_SPAN = 1 << 24


def frame_to_batch(
    path: str,
    format: str,  # the importer's word
    df: pl.DataFrame,
    where: Callable[[int], str],
    digest: str | None = None,
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
    n = df.height

    def first_bad(mask: pl.Expr) -> int | None:
        hit = df.select(mask.arg_true().first()).item()
        return None if hit is None else int(hit)

    def check_all(checks: Sequence[tuple[pl.Expr, Callable[[int], str]]]) -> None:
        # One pass answers "is anything wrong?"; the first failing check (in
        # the order listed, as the per-record path would meet them) is located.
        if not checks:
            return
        flags = df.select(m.any().alias(f"c{i}") for i, (m, _) in enumerate(checks)).row(0)
        for flag, (mask, message) in zip(flags, checks, strict=True):
            if flag:
                row = first_bad(mask)
                assert row is not None
                raise fail(row, message(row))

    # Numbers: present, numeric, finite, non-negative.  Checks that cannot fail
    # for the column's type (an integer column is numeric, finite and whole) are
    # left out rather than run over every row.
    checks: list[tuple[pl.Expr, Callable[[int], str]]] = []
    casts = {}
    for col in NUMERIC:
        if col not in df.columns:
            continue
        dtype = df.schema[col]
        numeric, integer = dtype.is_numeric(), dtype.is_integer()
        src = pl.col(col)
        num = src.cast(pl.Float64, strict=False) if dtype != pl.Float64 else src
        if col == "value" and df.get_column(col).null_count():
            checks.append((src.is_null(), lambda r: "value is missing"))
        if not numeric:
            checks.append(
                (src.is_not_null() & num.is_null(), lambda r, c=col: f"{c} must be a number, got {df.item(r, c)!r}")
            )
        if not integer:
            checks.append(
                (~num.is_finite(), lambda r, c=col: f"{c} is {df.item(r, c)!r}; a measurement must be finite")
            )
        checks.append(((src if integer else num) < 0, lambda r, c=col: f"{c} is negative ({df.item(r, c)!r})"))
        if col in ("batch_size", "seq_len", "n_samples"):
            if not integer:
                checks.append(
                    (
                        num.is_not_null() & (num != num.floor()),
                        lambda r, c=col: f"{c} must be a whole number, got {df.item(r, c)!r}",
                    )
                )
            if col == "batch_size":
                checks.append(((src if integer else num) == 0, lambda r: "batch_size must be positive, got 0"))
            if integer and _exact_in_float(df.get_column(col)):
                num = src.cast(pl.Int64)  # the same as through Float64, without the two passes
            else:
                num = num.cast(pl.Int64)
        casts[col] = num

    def prepare_text(df: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, _Coded]]:
        # Text columns as text, then coded; independent of the numbers.
        text = [c for c in TEXT_COLUMNS if c in df.columns and df.schema[c] != pl.Utf8]
        if text:
            df = df.with_columns(pl.col(c).cast(pl.Utf8) for c in text)
        if "params" in df.columns and isinstance(df.schema["params"], pl.Struct):
            df = df.with_columns(pl.col("params").struct.json_encode())
        if "started_at" in df.columns or "ended_at" in df.columns:
            # Run identity is on the time as text (what gets parsed); non-text,
            # non-integer times are turned into text here, the rest per distinct value.
            df = df.with_columns(
                pl.col(c).cast(pl.Utf8)
                for c in ("started_at", "ended_at")
                if c in df.columns and not _integer_like(df.schema[c]) and df.schema[c] != pl.Utf8
            )
        if "provenance" in df.columns or "simulated" in df.columns:
            df = df.with_columns(provenance=_provenance(df))
        wanted = (*IDENTITY, *RUN_COLUMNS, "unit", "hardware_type")
        return df, _encode(df, [c for c in wanted if c in df.columns and c not in NUMERIC])

    # The text is coded while the numbers are checked; a bad number is still
    # reported first, as the per-record path would.
    with ThreadPoolExecutor(max_workers=1) as pool:
        text_job = pool.submit(prepare_text, df)
        check_all(checks)
        text_df, coded = text_job.result()
    df = text_df.with_columns(**casts)
    coded.update(_encode(df, [c for c in ("batch_size", "seq_len") if c in df.columns]))
    coded.setdefault("provenance", _Coded(pl.repeat(0, n, dtype=pl.UInt32, eager=True), ["measured"]))

    # Required text: checked on the distinct values.
    row = coded["metric"].first_row(lambda v: v is None or v == "")
    if row is not None:
        raise fail(row, "missing required field 'metric'")
    names = [c for c in ("benchmark", "model") if c in df.columns]
    if coded[names[0]].first_row(lambda v: v is None or v == "") is None:
        # Every row has its first choice (the usual case): no per-row coalesce.
        coded["benchmark"] = coded[names[0]]
        df = df.with_columns(benchmark=pl.col(names[0]))
    else:
        name = pl.coalesce([pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)) for c in names])
        if (row := first_bad(name.is_null())) is not None:
            raise fail(row, "missing required field 'benchmark' (or 'model')")
        df = df.with_columns(benchmark=name)
        coded["benchmark"] = _encode(df, ["benchmark"])["benchmark"]

    # Units: parse each distinct spelling once.
    unit = coded["unit"]
    parsed: list[Any] = []
    bad_units: dict[int, Exception] = {}
    for code, text_ in enumerate(unit.values):
        try:
            parsed.append(parse_unit(text_))
        except UnknownUnitError as exc:
            parsed.append(None)
            bad_units[code] = exc
    if bad_units:
        row = unit.first_row(bad_units)
        assert row is not None
        raise fail(row, f"{bad_units[unit.code(row)]}; see benchlab.units for the accepted units")
    if "direction" in df.columns:
        bad = pl.col("direction").is_not_null() & ~pl.col("direction").is_in(["lower", "higher"])
        if (row := first_bad(bad)) is not None:
            raise fail(row, f"direction must be 'lower' or 'higher', got {df.item(row, 'direction')!r}")

    if "params" in coded:
        params = coded["params"]
        bad_params = {}
        for code, value in enumerate(params.values):
            try:
                canonical_params(value)
            except (ValueError, TypeError):
                bad_params[code] = value
        if bad_params:
            row = params.first_row(bad_params)
            assert row is not None
            raise fail(row, f"params must be a JSON object, got {bad_params[params.code(row)]!r}")
        coded["params"] = params.normalized(canonical_params)
    if "precision" in coded:
        coded["precision"] = coded["precision"].normalized(normalize_precision)

    prov = coded["provenance"]
    row = prov.first_row(lambda v: v is not None and v not in PROVENANCES)
    if row is not None:
        raise fail(row, f"provenance must be one of {PROVENANCES}")

    # Codes side by side with the data (same chunks), and the group keys.
    layout = _layout(df)
    df = df.with_columns(_split(c.codes, layout).alias(f"__{name}") for name, c in coded.items())

    def series_keys() -> pl.Series:
        # Hash each distinct series once.
        key = _group_key(df, coded, [c for c in IDENTITY if c in coded])
        first = _first_rows(key)
        at_first = {c: coded[c].at(first) for c in IDENTITY if c in coded}
        labels = [series_key(*(at_first[c][i] if c in at_first else None for c in IDENTITY)) for i in range(len(first))]
        return _split(_spread(key, key.gather(first), pl.Series(labels, dtype=pl.Utf8)), layout)

    def runs() -> tuple[pl.Series, pl.DataFrame]:
        # One run per distinct run identity, numbered in order of first appearance.
        key = _group_key(df, coded, [c for c in RUN_COLUMNS if c in coded])
        run_first = _first_rows(key)
        numbered = _spread(key, key.gather(run_first), pl.int_range(len(run_first), dtype=pl.Int64, eager=True))
        reps = df.select(
            *(
                pl.col(c).gather(run_first) if c in df.columns else pl.lit(None, pl.Utf8).alias(c)
                for c in RUN_COLUMNS
                if c != "provenance"
            ),
            pl.Series("provenance", prov.at(run_first), dtype=pl.Utf8),
        )
        stamps = {}
        for col in ("started_at", "ended_at"):
            parsed_times = []
            for i, value in enumerate(reps.get_column(col).cast(pl.Utf8).to_list()):
                try:
                    parsed_times.append(parse_timestamp(value))
                except ValueError as exc:
                    raise fail(int(run_first[i]), str(exc)) from None
            stamps[col] = pl.Series(col, parsed_times, dtype=pl.Datetime("us", "UTC"))
        run_frame = reps.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("run_index"),
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
        return _split(numbered, layout), run_frame

    def per_row(col: str, by_code: list[Any], dtype: pl.DataType) -> pl.Series:
        # A value per distinct code, spread to the rows (in the file's chunks).
        return _split(pl.Series(by_code, dtype=dtype).gather(df.get_column(f"__{col}")), layout)

    def lookups() -> list[pl.Series]:
        hw_type = _hardware_type(df, coded.get("hardware"), coded.get("hardware_type"))
        return [
            # Multiply by factor >= 1, divide by the reciprocal otherwise (exact
            # decimals); a divisor is stored negated, so one column says both.
            per_row("unit", [u.factor if u.factor >= 1 else -1.0 / u.factor for u in parsed], pl.Float64()).alias(
                "__factor"
            ),
            per_row("unit", [default_direction(u) for u in parsed], pl.Utf8()).alias("__dir"),
            per_row("unit", [u.canonical for u in parsed], pl.Utf8()).alias("__unit"),
            *(
                per_row(c, coded[c].values, pl.Utf8()).alias(f"__{c}_value")
                for c in ("precision", "params")
                if c in coded
            ),
            *([] if hw_type is None else [_split(hw_type, layout).alias("__hardware_type_value")]),
        ]

    # The pieces are independent, and Polars, NumPy and hashlib release the GIL.
    with ThreadPoolExecutor(max_workers=4) as pool:
        digest_job = None if digest else pool.submit(file_digest, path)
        keys_job, runs_job, lookups_job = pool.submit(series_keys), pool.submit(runs), pool.submit(lookups)
        models = _models(df, coded.get("model"))
        run_index, run_frame = runs_job.result()
        df = df.with_columns(
            keys_job.result().alias("__series_key"), run_index.alias("__run_index"), *lookups_job.result()
        )
        if digest_job is not None:
            digest = digest_job.result()

    def conv(col: str) -> pl.Expr:
        # Multiply by factor >= 1, divide by the reciprocal otherwise (exact decimals).
        c, f = pl.col(col), pl.col("__factor")
        return pl.when(f < 0).then(c / -f).otherwise(c * f)

    def given(col: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(col) if col in df.columns else pl.lit(None, dtype).alias(col)

    results = df.select(
        pl.col("__run_index").alias("run_index"),
        pl.col("__series_key").alias("series_key"),
        pl.col("benchmark"),
        given("model", pl.Utf8()),
        given("hardware", pl.Utf8()),
        given("__hardware_type_value", pl.Utf8()).alias("hardware_type"),
        given("batch_size", pl.Int64()),
        given("seq_len", pl.Int64()),
        given("__precision_value", pl.Utf8()).alias("precision"),
        given("__params_value", pl.Utf8()).alias("params"),
        pl.col("metric"),
        pl.col("__unit").alias("unit"),
        conv("value").alias("value"),
        (pl.coalesce(pl.col("direction"), pl.col("__dir")) if "direction" in df.columns else pl.col("__dir")).alias(
            "direction"
        ),
        given("n_samples", pl.Int64()),
        *((conv(c) if c in df.columns else pl.lit(None, pl.Float64)).alias(c) for c in SPREAD_COLUMNS),
        pl.col("value").alias("orig_value"),
        pl.col("unit").alias("orig_unit"),
        pl.lit(None, pl.List(pl.Float64)).alias("samples"),
    )
    results = _aligned(results.select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]))
    return Batch(
        path=path,
        format=format,
        digest=digest or "",  # set above when not given
        runs=run_frame,
        results=results,
        hardware=pl.DataFrame(schema=HARDWARE_SCHEMA),
        models=models.cast(MODEL_SCHEMA),  # type: ignore[arg-type]
        compatibility=pl.DataFrame(schema=COMPAT_SCHEMA),
        integration_tests=pl.DataFrame(schema=TEST_SCHEMA),
    )


def _layout(df: pl.DataFrame) -> list[int] | None:
    """The chunk lengths all columns of ``df`` share, if they do."""
    layouts = {tuple(s.chunk_lengths()) for s in df.get_columns()}
    return list(layouts.pop()) if len(layouts) == 1 else None


def _split(s: pl.Series, layout: list[int] | None) -> pl.Series:
    """``s`` cut into chunks of ``layout`` (views, no copy) when it is one chunk."""
    if layout is None or len(layout) < 2 or s.n_chunks() > 1:
        return s
    starts = [0]
    for length in layout[:-1]:
        starts.append(starts[-1] + length)
    return pl.concat([s.slice(o, n) for o, n in zip(starts, layout, strict=True)], rechunk=False)


def _aligned(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every column split into the same chunks, without copying.

    Arrow export (how the store hands the table to DuckDB) would otherwise copy
    every multi-chunk column into one.
    """
    layouts = {tuple(s.chunk_lengths()) for s in df.get_columns() if s.n_chunks() > 1}
    if len(layouts) != 1:
        return df
    layout = list(layouts.pop())
    return pl.DataFrame([_split(s, layout) for s in df.get_columns()])


def _provenance(df: pl.DataFrame) -> pl.Expr:
    if "provenance" in df.columns:
        return pl.col("provenance").fill_null("measured")
    flag = pl.col("simulated").cast(pl.Utf8).str.to_lowercase().is_in(["true", "1", "yes"])
    return pl.when(flag).then(pl.lit("simulated")).otherwise(pl.lit("measured"))


# -- integer coding of columns ---------------------------------------------------


@dataclass
class _Coded:
    """A column as integer codes: row ``i`` holds ``values[codes[i]]``.

    ``codes`` has no nulls (a missing value has a code of its own); ``values``
    may hold values that no row uses.
    """

    codes: pl.Series
    values: list[Any]

    @property
    def span(self) -> int:
        return len(self.values)

    def code(self, row: int) -> int:
        return int(self.codes[row])

    def at(self, rows: pl.Series) -> list[Any]:
        """The values at ``rows``."""
        return [self.values[c] for c in self.codes.gather(rows).to_list()]

    def first_row(self, bad: Callable[[Any], bool] | Iterable[int]) -> int | None:
        """The first row whose value is ``bad`` (or whose code is in ``bad``), if any."""
        if callable(bad):
            bad = [i for i, v in enumerate(self.values) if bad(v)]
        codes = set(bad)
        if not codes:
            return None
        hit = pl.Series([i in codes for i in range(self.span)]).gather(self.codes).arg_true()
        return int(hit[0]) if len(hit) else None

    def map(self, fn: Callable[[int], Any], dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
        """``fn(code)`` for every code, as a Series indexed by code."""
        return pl.Series([fn(i) for i in range(self.span)], dtype=dtype)

    def rows(self, by_code: pl.Series) -> pl.Series:
        """The per-row column of a Series indexed by code."""
        return by_code.gather(self.codes)

    def normalized(self, fn: Callable[[Any], Any]) -> _Coded:
        """The column after ``fn`` is applied to each value (codes re-numbered)."""
        out: dict[Any, int] = {}
        lut = [out.setdefault(fn(v), len(out)) for v in self.values]
        return _Coded(pl.Series(lut, dtype=pl.UInt32).gather(self.codes), list(out))


def _exact_in_float(s: pl.Series) -> bool:
    """Whether every integer in ``s`` survives a round trip through Float64."""
    lo, hi = s.min(), s.max()
    return lo is None or (-(2**53) <= lo and hi <= 2**53)  # type: ignore[operator]


def _integer_like(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or dtype.is_temporal() or dtype == pl.Boolean


def _encode(df: pl.DataFrame, columns: list[str]) -> dict[str, _Coded]:
    """Integer-code ``columns`` of ``df`` (text via categoricals, numbers directly)."""
    text = [c for c in columns if df.schema[c] == pl.Utf8]
    others = [c for c in columns if c not in text]
    if not text:
        return {c: _encode_other(df.get_column(c)) for c in others}
    out: dict[str, _Coded] = {}
    # Run columns often hold one value (a file per run): a comparison is
    # cheaper than coding them.
    maybe = [c for c in text if c in RUN_COLUMNS and not df.get_column(c).has_nulls()]
    if maybe:
        same = df.select((pl.col(c) == pl.col(c).first()).all() for c in maybe).row(0)
        for c, constant in zip(maybe, same, strict=True):
            if constant:
                out[c] = _Coded(pl.repeat(0, df.height, dtype=pl.UInt32, eager=True), [df.get_column(c)[0]])
        text = [c for c in text if c not in out]
    with ThreadPoolExecutor(max_workers=1) as pool:
        jobs = {c: pool.submit(_encode_other, df.get_column(c)) for c in others}
        # A private category set per column: codes are small, and the mapping
        # is dropped with the frame instead of growing the global one.
        cats = {c: pl.Categories.random() for c in text}
        as_cat = df.select(pl.col(c).cast(pl.Categorical(cats[c])) for c in text)
        for c in text:
            values = cats[c].to_series().to_list()  # ``as_cat`` keeps the categories alive
            codes = as_cat.get_column(c).to_physical()
            if codes.null_count():
                codes = codes.fill_null(len(values))
                values.append(None)
            out[c] = _Coded(codes, values)
        del as_cat
        out.update((c, job.result()) for c, job in jobs.items())
    return out


def _encode_other(s: pl.Series) -> _Coded:
    """Integer codes of a column that is not text (numbers, times, others)."""
    if s.dtype == pl.Null or s.null_count() == len(s):
        return _Coded(pl.repeat(0, len(s), dtype=pl.UInt32, eager=True), [None])
    if _integer_like(s.dtype):
        phys = s.cast(pl.UInt8) if s.dtype == pl.Boolean else s.to_physical()
        lo, hi = int(phys.min()), int(phys.max())  # type: ignore[arg-type]
        if hi - lo < _DIRECT_SPAN:
            codes = phys.cast(pl.Int64) - lo
            values = pl.Series(range(lo, hi + 1), dtype=pl.Int64).cast(phys.dtype).cast(s.dtype).to_list()
            if codes.null_count():
                codes = codes.fill_null(hi - lo + 1)
                values.append(None)
            return _Coded(codes.cast(pl.UInt32), values)
    # Wide numbers (times) and other types: look the distinct values up,
    # only at the stretches of equal values when there are few of them.
    stretch = s.rle_id() if _integer_like(s.dtype) else None
    if stretch is not None and (stretch[-1] + 1) * 4 <= len(s):
        starts = stretch.search_sorted(pl.int_range(stretch[-1] + 1, dtype=stretch.dtype, eager=True))
        sample = s.gather(starts)
    else:
        stretch, sample = None, s
    distinct = pl.DataFrame({"v": sample.unique()}).with_row_index("c")
    found = pl.DataFrame({"v": sample}).join(distinct, on="v", how="left", nulls_equal=True, maintain_order="left")
    codes = found.get_column("c")
    if stretch is not None:
        codes = codes.gather(stretch)
    return _Coded(codes, distinct.get_column("v").to_list())


def _group_key(df: pl.DataFrame, coded: dict[str, _Coded], columns: list[str]) -> pl.Series:
    """A UInt64 per row, equal exactly when the rows agree on ``columns``.

    The mixed-radix number of the columns' codes (columns with one value add
    nothing); in the rare case it could overflow, the key is renumbered densely
    between columns.
    """
    cols = sorted((c for c in columns if coded[c].span > 1), key=lambda c: -coded[c].span)
    span = 1
    for c in cols:
        span *= coded[c].span
    if not cols:
        return pl.repeat(0, df.height, dtype=pl.UInt64, eager=True)
    if span < _KEY_SPAN:
        expr: pl.Expr = pl.lit(0, pl.UInt64)
        for c in cols:
            expr = expr * coded[c].span + pl.col(f"__{c}").cast(pl.UInt64)
        return df.select(expr.alias("key")).to_series()
    key = pl.repeat(0, df.height, dtype=pl.UInt64, eager=True)
    span = 1
    for c in cols:
        if span * coded[c].span >= _KEY_SPAN:
            distinct = key.unique()
            key = key.replace_strict(distinct, pl.int_range(len(distinct), dtype=pl.UInt64, eager=True))
            span = len(distinct)
        key = key * coded[c].span + df.get_column(f"__{c}").cast(pl.UInt64)
        span *= coded[c].span
    return key


def _first_rows(key: pl.Series) -> pl.Series:
    """The first row of each distinct value of ``key``, ascending."""
    stretch = key.rle_id()
    n_stretches = stretch[-1] + 1
    if n_stretches * 4 <= len(key):
        # Equal values sit together: only each stretch's first row can be first.
        starts = stretch.search_sorted(pl.int_range(n_stretches, dtype=stretch.dtype, eager=True))
        return starts.gather(key.gather(starts).is_first_distinct().arg_true())
    return key.is_first_distinct().arg_true()


def _spread(key: pl.Series, old: pl.Series, values: pl.Series) -> pl.Series:
    """``values[i]`` on every row whose key is ``old[i]`` (``old`` covers all keys, once each)."""
    stretch = key.rle_id()
    n_stretches = stretch[-1] + 1
    if n_stretches * 4 <= len(key):
        # Rows of one run sit together: look up each stretch of equal keys once.
        starts = stretch.search_sorted(pl.int_range(n_stretches, dtype=stretch.dtype, eager=True))
        return _spread(key.gather(starts), old, values).gather(stretch)
    span = int(old.max()) + 1  # type: ignore[arg-type]
    if span <= min(_LOOKUP_SPAN, 4 * len(key)):
        # A lookup table beats hashing every row.
        table = pl.zeros(span, dtype=pl.UInt32, eager=True)
        table.scatter(old, pl.int_range(len(old), dtype=pl.UInt32, eager=True))
        return values.gather(table.gather(key))
    return key.replace_strict(old, values, return_dtype=values.dtype)


def _hardware_type(df: pl.DataFrame, hardware: _Coded | None, hw_type: _Coded | None) -> pl.Series | None:
    """Normalized hardware type per row: as given, else guessed from the name (if there is one)."""
    if hardware is None:
        if hw_type is None:
            return None
        by_code = [normalize_hardware_type(v) for v in hw_type.values]
        return pl.Series(by_code, dtype=pl.Utf8).gather(hw_type.codes)
    if hw_type is None:
        by_code = [None if h is None else guess_hardware_type(h) for h in hardware.values]
        return pl.Series(by_code, dtype=pl.Utf8).gather(hardware.codes)
    key = _group_key(df, {"hardware": hardware, "hardware_type": hw_type}, ["hardware", "hardware_type"])
    first = _first_rows(key)
    # As add_result: the type given, else one guessed from the name (none without a name).
    values = [
        normalize_hardware_type(given) or (None if name is None else guess_hardware_type(name))
        for name, given in zip(hardware.at(first), hw_type.at(first), strict=True)
    ]
    return _spread(key, key.gather(first), pl.Series(values, dtype=pl.Utf8))


def _models(df: pl.DataFrame, model: _Coded | None) -> pl.DataFrame:
    """Catalogue rows: each model with the first family given for it."""
    rows: dict[Any, Any] = {}
    if "model_family" in df.columns and df.get_column("model_family").null_count() < df.height:
        family = df.get_column("model_family")
        # First row of each model among the rows that name a family.
        given = family.is_not_null().arg_true() if family.null_count() else None
        codes = model.codes if model is not None else pl.repeat(0, df.height, dtype=pl.UInt32, eager=True)
        if given is not None:
            codes = codes.gather(given)
        first = _first_rows(codes)
        if given is not None:
            first = given.gather(first)
        names = model.at(first) if model is not None else [None] * len(first)
        rows = dict(zip(names, family.gather(first).to_list(), strict=True))
    return pl.DataFrame(
        {
            "name": list(rows),
            "family": list(rows.values()),
            "modality": [None] * len(rows),
            "params_m": [None] * len(rows),
            "metadata": [None] * len(rows),
        },
        schema=MODEL_SCHEMA,
    )


__all__ = ["frame_to_batch", "KNOWN"]

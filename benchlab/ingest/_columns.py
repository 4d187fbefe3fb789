"""A columnar fast path for importers that produce many results per source.

:meth:`BatchBuilder.add_result <benchlab.ingest.BatchBuilder.add_result>`
validates one result in about 9 µs (keyword handling, nine ``_number`` calls,
canonical-params JSON per row).  Benchmark files of 10⁵–10⁶ results need less:
:class:`ResultColumns` splits a result into its *case* (benchmark, model,
hardware, batch size, precision, params …), normalized once per distinct case,
and the per-value part (run, metric, value, unit, spread), validated inline with
a few comparisons and appended to plain lists.  ``finish()`` assembles the
results table with Polars gathers and hands runs, hardware and models to the
importer's :class:`BatchBuilder`, so those keep a single set of checks.

Hand-written rather than delegated to ``_tabular.frame_to_batch`` because that
path drops raw samples and run metadata, which these formats carry.  Every check
mirrors one in ``BatchBuilder.add_result`` and produces the same error text;
``tests/ingest/test_ingest_properties.py`` checks both paths build identical
frames.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from benchlab.frame import SPREAD_COLUMNS, canonical_params, normalize_hardware_type, normalize_precision, series_key
from benchlab.ingest._batch import RESULT_SCHEMA, Batch, BatchBuilder, guess_hardware_type
from benchlab.units import UnknownUnitError, default_direction, parse_unit

__all__ = ["ResultColumns"]

_INF = math.inf
_MAX_INT_FLOAT = 1.7976931348623157e308
_INT64_MAX = (1 << 63) - 1
_CASE_SCHEMA = {
    "benchmark": pl.Utf8(),
    "model": pl.Utf8(),
    "hardware": pl.Utf8(),
    "hardware_type": pl.Utf8(),
    "batch_size": pl.Int64(),
    "seq_len": pl.Int64(),
    "precision": pl.Utf8(),
    "params": pl.Utf8(),
}


def _problem(what: str, value: object) -> str:
    """The same sentence ``BatchBuilder`` uses for a value that is not a measurement."""
    if isinstance(value, bool) or value is None:
        return f"{what} must be a number, got {value!r}"
    if isinstance(value, int | float):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return f"{what} is {value!r}; a measurement must be finite"
        if value < 0:
            return f"{what} is negative ({value!r})"
        return f"{what} is too large ({value!r})"
    if isinstance(value, str):
        return f"{what} must be a number, got {value!r}"
    return f"{what} must be a number, got {type(value).__name__}"


def _whole(value: object, what: str) -> int | None:
    """A non-negative whole number (int, or float with no fraction), else ``ValueError``."""
    if value is None or value == "":
        return None
    if type(value) is int:
        if 0 <= value <= _INT64_MAX:
            return value
    elif type(value) is float and value == value and 0 <= value <= _INT64_MAX:
        if value.is_integer():
            return int(value)
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    elif type(value) is str:
        try:
            return _whole(float(value.strip()), what)
        except ValueError:
            pass
    raise ValueError(_problem(what, value))


class ResultColumns:
    """Collects results column-wise for one :class:`BatchBuilder`.

    Parameters
    ----------
    builder : BatchBuilder
        Holds the runs, hardware and models of the same source; names the source
        in errors.

    Examples
    --------
    >>> cols = ResultColumns(b)                               # doctest: +SKIP
    >>> case = cols.case(benchmark="BM_sort/64", location="benchmarks[0]")
    >>> cols.add(run, case, "real_time", 12.5, "ns", "benchmarks[0]")
    >>> batch = cols.finish()
    """

    def __init__(self, builder: BatchBuilder) -> None:
        self.builder = builder
        self._cases: list[tuple[Any, ...]] = []
        self._case_index: dict[tuple[Any, ...], int] = {}
        self._units: dict[object, tuple[int, float, bool]] = {}
        self._unit_rows: list[tuple[str, str, str | None]] = []
        self._keys: dict[tuple[int, str], str] = {}
        self._run: list[int] = []
        self._key: list[str] = []
        self._case: list[int] = []
        self._metric: list[str] = []
        self._value: list[float] = []
        self._orig: list[float] = []
        self._unit: list[int] = []
        self._loc: list[str] = []
        self._stats: list[tuple[int, dict[str, float]]] = []
        self._samples: list[tuple[int, list[float]]] = []
        self._n: list[tuple[int, int]] = []
        self._direction: list[tuple[int, str]] = []
        self._n_runs = 0
        #: Run metadata decided after the run was added (run index → mapping);
        #: replaces what ``add_run`` was given, at :meth:`finish`.
        self.run_metadata: dict[int, Mapping[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._run)

    # -- runs -----------------------------------------------------------------
    def add_run(self, **kwargs: Any) -> int:
        """``BatchBuilder.add_run`` (same arguments); results may refer to the index it returns."""
        idx = self.builder.add_run(**kwargs)
        self._n_runs = idx + 1
        return idx

    # -- cases ----------------------------------------------------------------
    def case(
        self,
        *,
        location: str,
        benchmark: str | None = None,
        model: str | None = None,
        hardware: str | None = None,
        hardware_type: str | None = None,
        batch_size: object = None,
        seq_len: object = None,
        precision: object = None,
        params: Mapping[str, Any] | None = None,
    ) -> int:
        """Register (or find) a benchmark case; returns its id for :meth:`add`.

        Raises
        ------
        IngestError
            Same conditions and messages as ``BatchBuilder.add_result``.
        """
        b = self.builder
        name = benchmark if benchmark not in (None, "") else model
        if name in (None, ""):
            raise b.error(location, "missing required field 'benchmark' (or 'model')")
        try:
            bs = _whole(batch_size, "batch_size")
            sl = _whole(seq_len, "seq_len")
            p = canonical_params(params)
        except (ValueError, TypeError) as exc:
            raise b.error(location, str(exc)) from None
        if bs is not None and bs <= 0:
            raise b.error(location, f"batch_size must be positive, got {bs}")
        hw = None if hardware in (None, "") else str(hardware)
        hw_type = normalize_hardware_type(hardware_type)
        if hw is not None and hw_type is None:
            hw_type = guess_hardware_type(hw)
        mdl = None if model in (None, "") else str(model)
        row = (str(name), mdl, hw, hw_type, bs, sl, normalize_precision(precision), p)
        idx = self._case_index.get(row)
        if idx is None:
            idx = self._case_index[row] = len(self._cases)
            self._cases.append(row)
        return idx

    # -- values ---------------------------------------------------------------
    def _unit_of(self, unit: object, location: str) -> tuple[int, float, bool]:
        try:
            u = parse_unit(None if unit is None else str(unit))
        except UnknownUnitError as exc:
            raise self.builder.error(location, f"{exc}; see benchlab.units for the accepted units") from None
        # Same arithmetic as ``Unit.convert``: small factors divide by their exact
        # reciprocal, so 1400 us is exactly 1.4 ms.
        div = u.factor < 1
        entry = (len(self._unit_rows), 1.0 / u.factor if div else u.factor, div)
        self._unit_rows.append((u.canonical, default_direction(u), None if unit is None else str(unit)))
        self._units[unit] = entry
        return entry

    def add(
        self,
        run: int,
        case: int,
        metric: str,
        value: object,
        unit: str | None,
        location: str,
        *,
        stats: Mapping[str, object] | None = None,
        samples: Sequence[object] | None = None,
        n_samples: object = None,
        direction: str | None = None,
    ) -> None:
        """Add one value of ``metric`` for ``case`` in ``run``.

        ``stats`` maps spread names (``stddev``, ``min``, ``median``, ``p90``,
        ``p95``, ``p99``, ``max``) to values in ``unit``; ``None`` entries are
        ignored.  ``samples`` are raw measurements in ``unit``.

        Raises
        ------
        IngestError
            If the value, a statistic or a sample is not a finite non-negative
            number, the unit is unknown, or ``run``/``metric`` is invalid.
        """
        b = self.builder
        t = type(value)
        if t is float:
            v = value if 0.0 <= value < _INF else None  # type: ignore[operator]
        elif t is int:
            v = float(value) if 0 <= value <= _MAX_INT_FLOAT else None  # type: ignore[operator, arg-type]
        else:
            v = None
        if v is None:
            raise b.error(location, _problem("value", value))
        u = self._units.get(unit)
        if u is None:
            u = self._unit_of(unit, location)
        key = self._keys.get((case, metric))
        if key is None:
            if not metric or type(metric) is not str:
                raise b.error(location, "missing required field 'metric'")
            c = self._cases[case]
            key = self._keys[(case, metric)] = series_key(c[0], c[1], c[2], c[4], c[5], c[6], c[7], metric)
        if not 0 <= run < self._n_runs:
            raise b.error(location, f"result refers to unknown run {run}")
        f, div = u[1], u[2]
        row = len(self._run)
        if stats:
            scaled = {}
            for k, s in stats.items():
                if s is None:
                    continue
                sv = _num(s)
                if sv is None:
                    raise b.error(location, _problem(k, s))
                scaled[k] = sv / f if div else sv * f
            if scaled:
                self._stats.append((row, scaled))
        if samples is not None:
            raw = []
            for s in samples:
                sv = _num(s)
                if sv is None:
                    raise b.error(location, _problem("sample", s))
                raw.append(sv / f if div else sv * f)
            self._samples.append((row, raw))
            if n_samples is None:
                n_samples = len(raw)
        if n_samples is not None:
            try:
                n = _whole(n_samples, "n_samples")
            except ValueError as exc:
                raise b.error(location, str(exc)) from None
            if n is not None:
                self._n.append((row, n))
        if direction is not None:
            if direction not in ("lower", "higher"):
                raise b.error(location, f"direction must be 'lower' or 'higher', got {direction!r}")
            self._direction.append((row, direction))
        self._run.append(run)
        self._key.append(key)
        self._case.append(case)
        self._metric.append(metric)
        self._value.append(v / f if div else v * f)
        self._orig.append(v)
        self._unit.append(u[0])
        self._loc.append(location)

    # -- output ---------------------------------------------------------------
    def frame(self) -> pl.DataFrame:
        """The results table in ``RESULT_SCHEMA`` (run indices refer to the builder's runs)."""
        n = len(self._run)
        cols: dict[str, pl.Series] = {
            "run_index": pl.Series("run_index", self._run, dtype=pl.Int64),
            "series_key": pl.Series("series_key", self._key, dtype=pl.Utf8),
            "metric": pl.Series("metric", self._metric, dtype=pl.Utf8),
            "value": pl.Series("value", self._value, dtype=pl.Float64),
            "orig_value": pl.Series("orig_value", self._orig, dtype=pl.Float64),
        }
        # Case and unit fields: a gather from the (few) distinct rows.  Plain
        # Python indexing beats a Polars gather for the small files that dominate
        # folder imports; both are linear.
        case_ids, unit_ids = self._case, self._unit
        for j, (c, dtype) in enumerate(_CASE_SCHEMA.items()):
            distinct = [row[j] for row in self._cases]
            if all(v is None for v in distinct):
                cols[c] = _nulls(c, dtype, n)
            else:
                cols[c] = pl.Series(c, [distinct[i] for i in case_ids], dtype=dtype)
        for j, c in enumerate(("unit", "direction", "orig_unit")):
            distinct = [row[j] for row in self._unit_rows]
            cols[c] = pl.Series(c, [distinct[i] for i in unit_ids], dtype=pl.Utf8)
        if self._direction:
            d = cols["direction"].to_list()
            for i, v in self._direction:
                d[i] = v
            cols["direction"] = pl.Series("direction", d, dtype=pl.Utf8)
        spread: dict[str, list[float | None]] = {}
        for i, st in self._stats:
            for k, v in st.items():
                col = spread.get(k)
                if col is None:
                    col = spread[k] = [None] * n
                col[i] = v
        for k in SPREAD_COLUMNS:
            cols[k] = pl.Series(k, spread[k], dtype=pl.Float64) if k in spread else _nulls(k, pl.Float64(), n)
        if self._n:
            ns: list[int | None] = [None] * n
            for i, v in self._n:
                ns[i] = v
            cols["n_samples"] = pl.Series("n_samples", ns, dtype=pl.Int64)
        else:
            cols["n_samples"] = _nulls("n_samples", pl.Int64(), n)
        cols["samples"] = _list_column("samples", self._samples, n)
        return pl.DataFrame([cols[k] for k in RESULT_SCHEMA])

    def finish(self, *, allow_empty: bool = False) -> Batch:
        """The :class:`Batch`: the builder's runs and catalogue plus these results.

        Raises
        ------
        IngestError
            If there are no results, compatibility or test records (unless
            ``allow_empty``), or on any catalogue error the builder finds.
        """
        b = self.builder
        batch = b.build(allow_empty=True)
        results = self.frame()
        nothing = results.height == 0 and batch.compatibility.height == 0 and batch.integration_tests.height == 0
        if not allow_empty and (batch.runs.height == 0 or nothing):
            extra = f" ({len(b.skipped)} records skipped: {b.skipped[0]})" if b.skipped else ""
            raise b.error(None, f"no results found{extra}")
        runs = batch.runs
        if self.run_metadata:
            old = runs.get_column("metadata").to_list()
            texts = [
                json.dumps(self.run_metadata[i], sort_keys=True, default=str) if i in self.run_metadata else old[i]
                for i in range(len(old))
            ]
            runs = runs.with_columns(metadata=pl.Series(texts, dtype=pl.Utf8))
        return dataclasses.replace(batch, results=results, runs=runs)


def _nulls(name: str, dtype: pl.DataType, n: int) -> pl.Series:
    return pl.Series(name, [None] * n, dtype=dtype)


def _list_column(name: str, sparse: list[tuple[int, list[float]]], n: int) -> pl.Series:
    """A ``List(Float64)`` column from (row, values) pairs; null elsewhere.

    Polars builds list columns from nested Python lists slowly (about 20 µs a
    row); above a few thousand values the column is assembled from flat NumPy
    buffers and offsets through Arrow instead (about 5x faster).
    """
    dtype = pl.List(pl.Float64())
    if not sparse:
        return _nulls(name, dtype, n)
    total = sum(len(v) for _, v in sparse)
    if total < 5000:
        rows: list[list[float] | None] = [None] * n
        for i, v in sparse:
            rows[i] = v
        return pl.Series(name, rows, dtype=dtype)
    import numpy as np
    import pyarrow as pa

    lengths = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    flat: list[float] = []
    for i, v in sorted(sparse, key=lambda x: x[0]):
        lengths[i] = len(v)
        valid[i] = True
        flat.extend(v)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arr = pa.LargeListArray.from_arrays(
        pa.array(offsets), pa.array(np.asarray(flat, dtype=np.float64)), mask=pa.array(~valid)
    )
    return pl.Series(name, arr, dtype=dtype)


def _num(value: object) -> float | None:
    t = type(value)
    if t is float:
        return value if 0.0 <= value < _INF else None  # type: ignore[operator, return-value]
    if t is int:
        return float(value) if 0 <= value <= _MAX_INT_FLOAT else None  # type: ignore[operator, arg-type]
    return None

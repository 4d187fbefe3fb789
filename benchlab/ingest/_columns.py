"""A columnar fast path for importers that produce many results per source.

:meth:`BatchBuilder.add_result <benchlab.ingest.BatchBuilder.add_result>`
validates one result in about 9 µs (keyword handling, nine ``_number`` calls,
canonical-params JSON per row).  Benchmark files of 10⁵–10⁶ results need less:
:class:`ResultColumns` splits a result into its *case* (benchmark, model,
hardware, batch size, precision, params …), normalized once per distinct case,
and the per-value part (run, metric, value, unit, spread), validated inline with
a few comparisons and appended to plain lists (about 1 µs a value, 4 µs a new
case).  Raw samples are validated and converted in one NumPy pass and handed
to Polars through Arrow.  ``finish()`` assembles the results table and takes
runs, hardware and models from the importer's :class:`BatchBuilder`, so those
keep a single set of checks.

For many values at once, :meth:`ResultColumns.cases` registers the cases of a
parameter grid (shared fields normalized once) and :meth:`ResultColumns.add_many`
appends values of one metric and unit in bulk when they are all plain finite
non-negative numbers, falling back to :meth:`ResultColumns.add` one by one (same
rows, same first error) otherwise.  :func:`bulk_results` builds a results table
from whole, already validated columns (the pytest-benchmark and MLPerf
column-wise paths).

Hand-written rather than delegated to ``_tabular.frame_to_batch`` because that
path drops raw samples and run metadata, which these formats carry.  Every check
mirrors one in ``BatchBuilder.add_result`` and produces the same error text;
``tests/ingest/test_ingest_properties.py`` checks both paths build identical
frames, and that the bulk methods match the one-at-a-time ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from benchlab.frame import SPREAD_COLUMNS, canonical_params, normalize_hardware_type, normalize_precision
from benchlab.ingest._batch import RESULT_SCHEMA, Batch, BatchBuilder, guess_hardware_type
from benchlab.units import UnknownUnitError, default_direction, parse_unit

__all__ = ["ResultColumns", "bulk_results", "canonical_params_many"]

_INF = math.inf
_MISS = object()
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
        self._key_text: dict[int, str] = {}  # case id -> its series-key text but the metric
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
        self._samples: list[tuple[int, list[Any], float, bool, str]] = []
        self._params_text: dict[tuple[Any, ...], str | None] = {}
        self._labels: dict[tuple[Any, ...], str | None] = {}
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
        name = benchmark if benchmark not in (None, "") else model
        if name in (None, ""):
            raise self.builder.error(location, "missing required field 'benchmark' (or 'model')")
        try:
            bs = None if batch_size is None else _whole(batch_size, "batch_size")
            sl = None if seq_len is None else _whole(seq_len, "seq_len")
            p = self._params(params) if params else None
        except (ValueError, TypeError) as exc:
            raise self.builder.error(location, str(exc)) from None
        if bs is not None and bs <= 0:
            raise self.builder.error(location, f"batch_size must be positive, got {bs}")
        hw = None if hardware in (None, "") else str(hardware)
        # Label normalizations are pure functions of few distinct values: memoize.
        try:
            hw_type = self._labels[(1, hardware_type, hw)]
        except KeyError:
            hw_type = normalize_hardware_type(hardware_type)
            if hw is not None and hw_type is None:
                hw_type = guess_hardware_type(hw)
            self._labels[(1, hardware_type, hw)] = hw_type
        except TypeError:  # an unhashable label: normalize directly (it will be stringified)
            hw_type = normalize_hardware_type(hardware_type)
        try:
            prec = self._labels[(2, precision)]
        except KeyError:
            prec = self._labels[(2, precision)] = normalize_precision(precision)
        except TypeError:
            prec = normalize_precision(precision)
        mdl = None if model in (None, "") else str(model)
        row = (str(name), mdl, hw, hw_type, bs, sl, prec, p)
        idx = self._case_index.get(row)
        if idx is None:
            idx = self._case_index[row] = len(self._cases)
            self._cases.append(row)
        return idx

    def _params(self, params: Mapping[str, Any] | None) -> str | None:
        """``canonical_params``, memoized for flat mappings (asv grids repeat across benchmarks)."""
        if not params:
            return canonical_params(params)
        try:
            key = tuple(params.items())
            hit = self._params_text.get(key, _MISS)
        except TypeError:  # unhashable values: no memo
            return canonical_params(params)
        if hit is _MISS:
            hit = self._params_text[key] = fast_canonical_params(params)
        return hit  # type: ignore[return-value]

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
            pre = self._key_text.get(case)
            if pre is None:  # the series-key text of the case, shared by its metrics
                c = self._cases[case]
                pre = self._key_text[case] = "".join(
                    [("\x00" if p is None else str(p)) + "\x1f" for p in (c[0], c[1], c[2], c[4], c[5], c[6], c[7])]
                )
            key = self._keys[(case, metric)] = hashlib.blake2b((pre + metric).encode(), digest_size=8).hexdigest()
        if not 0 <= run < self._n_runs:
            raise b.error(location, f"result refers to unknown run {run}")
        f, div = u[1], u[2]
        row = len(self._run)
        if stats:
            scaled = {}
            for k, s in stats.items():
                ts = type(s)
                if ts is float and 0.0 <= s < _INF:  # type: ignore[operator]
                    scaled[k] = s / f if div else s * f  # type: ignore[operator]
                elif s is None:
                    continue
                else:
                    sv = _num(s)
                    if sv is None:
                        raise b.error(location, _problem(k, s))
                    scaled[k] = sv / f if div else sv * f
            if scaled:
                self._stats.append((row, scaled))
        if samples is not None:
            # Validated and converted in bulk by frame(): one NumPy pass instead of
            # a Python call per sample (hyperfine, pytest-benchmark keep thousands).
            raw = samples if type(samples) is list else list(samples)
            self._samples.append((row, raw, f, div, location))
            if n_samples is None:
                n_samples = len(raw)
        if n_samples is not None:
            if type(n_samples) is int and 0 <= n_samples <= _INT64_MAX:
                self._n.append((row, n_samples))
            else:
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

    # -- many values at once ---------------------------------------------------
    def cases(
        self,
        params: Sequence[Mapping[str, Any] | None],
        *,
        locations: Sequence[str],
        benchmark: str | None = None,
        model: str | None = None,
        hardware: str | None = None,
        hardware_type: str | None = None,
        batch_size: object = None,
        seq_len: object = None,
        precision: object = None,
        texts: Sequence[str | None] | None = None,
    ) -> list[int]:
        """:meth:`case` for many parameter mappings that share every other field.

        Same ids, checks and errors as calling :meth:`case` for each in turn;
        the shared fields are normalized once.  ``texts``, if given, are the
        mappings' ``canonical_params`` already (a caller that caches them).
        """
        if not params:
            return []
        shared: dict[str, Any] = dict(benchmark=benchmark, model=model, hardware=hardware, hardware_type=hardware_type,
                                      batch_size=batch_size, seq_len=seq_len, precision=precision)  # fmt: skip
        first = self.case(location=locations[0], params=params[0], **shared)
        head = self._cases[first][:7]
        key_head = "".join([("\x00" if x is None else str(x)) + "\x1f" for x in head[:3] + head[4:]])
        out = [first]
        memo, index, cases, key_text = self._params_text, self._case_index, self._cases, self._key_text
        first_params = self._cases[first][7]
        key_text[first] = key_head + ("\x00" if first_params is None else first_params) + "\x1f"
        for j in range(1, len(params)):
            p = params[j]
            try:
                text = texts[j] if texts is not None else memo[tuple(p.items())] if p else None
            except (KeyError, TypeError, AttributeError):
                out.append(self.case(location=locations[j], params=p, **shared))
                continue
            row = (*head, text)
            idx = index.get(row)
            if idx is None:
                idx = index[row] = len(cases)
                cases.append(row)
                key_text[idx] = key_head + ("\x00" if text is None else text) + "\x1f"
            out.append(idx)
        return out

    def add_many(
        self,
        run: int,
        cases: Sequence[int],
        metric: str,
        values: Sequence[object],
        unit: str | None,
        locations: Sequence[str],
        *,
        stats: Sequence[Mapping[str, object] | None] | None = None,
        n_samples: Sequence[object] | None = None,
    ) -> None:
        """:meth:`add` for many values of one metric and unit, in order.

        Same rows, checks and errors as calling :meth:`add` for each in turn:
        when every value and statistic is a plain finite non-negative number
        they are appended in bulk, otherwise each goes through :meth:`add`.
        """
        n = len(values)
        flat_stats = None if stats is None else [x for st in stats if st for x in st.values()]
        counts: list[Any] | None = None if n_samples is None else [x for x in n_samples if x is not None]
        plain = (
            type(metric) is str
            and metric
            and 0 <= run < self._n_runs
            and (stats is None or all(st is None or type(st) is dict for st in stats))
            and _plain_numbers(values)
            and (flat_stats is None or _plain_numbers(flat_stats, floats_only=True))
            and (counts is None or not counts or (set(map(type, counts)) == {int}
                                                  and 0 <= min(counts) and max(counts) <= _INT64_MAX))
        )  # fmt: skip
        if not plain:
            for j in range(n):
                self.add(run, cases[j], metric, values[j], unit, locations[j],
                         stats=None if stats is None else stats[j],
                         n_samples=None if n_samples is None else n_samples[j])  # fmt: skip
            return
        if n == 0:
            return
        u = self._units.get(unit)
        if u is None:
            u = self._unit_of(unit, locations[0])
        f, div = u[1], u[2]
        keys = self._keys
        missing = [c for c in dict.fromkeys(cases) if (c, metric) not in keys]
        if missing:
            # fast_series_key, from the text cases() prepared (or built here for other cases).
            rows, key_text, blake = self._cases, self._key_text, hashlib.blake2b
            texts = [
                key_text[c] + metric
                if c in key_text
                else "\x1f".join([*("\x00" if x is None else str(x) for x in (*rows[c][:3], *rows[c][4:])), metric])
                for c in missing
            ]
            keys.update(zip(
                [(c, metric) for c in missing], [blake(t.encode(), digest_size=8).hexdigest() for t in texts],
                strict=True,
            ))  # fmt: skip
        key_list = [keys[(c, metric)] for c in cases]
        row0 = len(self._run)
        if stats is not None:
            for j, st in enumerate(stats):
                if st:
                    self._stats.append((row0 + j, {k: x / f if div else x * f for k, x in st.items()}))  # type: ignore[operator]
        if n_samples is not None:
            self._n.extend((row0 + j, x) for j, x in enumerate(n_samples) if x is not None)  # type: ignore[misc]
        orig = [float(v) for v in values]  # type: ignore[arg-type]
        self._run.extend([run] * n)
        self._key.extend(key_list)
        self._case.extend(cases)
        self._metric.extend([metric] * n)
        self._value.extend([v / f for v in orig] if div else [v * f for v in orig])
        self._orig.extend(orig)
        self._unit.extend([u[0]] * n)
        self._loc.extend(locations)

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
        # Case and unit fields: a gather from the distinct rows.  Plain Python
        # indexing beats a Polars gather for the small files that dominate folder
        # imports; a Polars gather wins when there are many rows.
        case_ids, unit_ids = self._case, self._unit
        big = n > 5000
        ids = pl.Series(case_ids, dtype=pl.UInt32) if big else None
        for j, (c, dtype) in enumerate(_CASE_SCHEMA.items()):
            distinct = list(map(itemgetter(j), self._cases))
            if all(v is None for v in distinct):
                cols[c] = _nulls(c, dtype, n)
            elif ids is not None:
                cols[c] = pl.Series(c, distinct, dtype=dtype).gather(ids)
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
        cols["samples"] = self._samples_column(n)
        return pl.DataFrame([cols[k] for k in RESULT_SCHEMA])

    def _samples_column(self, n: int) -> pl.Series:
        """Raw samples as ``List(Float64)``, validated and converted in one pass.

        Polars builds list columns from nested Python lists slowly (about 20 µs
        a row), so the column is assembled from flat NumPy buffers and offsets
        through Arrow.
        """
        dtype = pl.List(pl.Float64())
        if not self._samples:
            return _nulls("samples", dtype, n)
        flat = [x for entry in self._samples for x in entry[1]]
        lengths = np.fromiter((len(e[1]) for e in self._samples), dtype=np.int64, count=len(self._samples))
        starts = np.concatenate(([0], np.cumsum(lengths)))
        bad_at: int | None = None
        if not set(map(type, flat)) <= {float, int}:
            bad_at = next(i for i, x in enumerate(flat) if type(x) is not float and type(x) is not int)
        else:
            try:
                arr = np.array(flat, dtype=np.float64)
            except OverflowError:
                arr = np.array([x if -_MAX_INT_FLOAT <= x <= _MAX_INT_FLOAT else math.inf for x in flat])
            ok = np.isfinite(arr) & (arr >= 0)
            if not ok.all():
                bad_at = int(np.argmin(ok))
        if bad_at is not None:
            entry = self._samples[int(np.searchsorted(starts, bad_at, side="right")) - 1]
            raise self.builder.error(entry[4], _problem("sample", flat[bad_at]))
        factors = np.repeat(np.fromiter((e[2] for e in self._samples), dtype=np.float64), lengths)
        divide = np.repeat(np.fromiter((e[3] for e in self._samples), dtype=bool), lengths)
        values = np.where(divide, arr / factors, arr * factors)  # same arithmetic as Unit.convert
        full = np.zeros(n, dtype=np.int64)
        valid = np.zeros(n, dtype=bool)
        rows = np.fromiter((e[0] for e in self._samples), dtype=np.int64, count=len(self._samples))
        full[rows] = lengths
        valid[rows] = True
        offsets = np.concatenate(([0], np.cumsum(full)))
        arrow = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values), mask=pa.array(~valid))
        return pl.Series("samples", arrow, dtype=dtype)

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


_SCALAR_JSON: dict[type, Any] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def fast_canonical_params(params: Mapping[str, Any]) -> str | None:
    """:func:`benchlab.frame.canonical_params` for flat mappings, without ``json.dumps``.

    Same text (sorted keys, compact separators, ASCII escapes, ``float.__repr__``)
    for string keys and scalar values; anything else goes to ``canonical_params``.
    Four times faster, which matters when every result is its own case.
    """
    parts = []
    for k, v in params.items():
        if type(k) is not str:
            return canonical_params(params)
        enc = _SCALAR_JSON.get(type(v))
        if enc is None:
            if type(v) is not float or not math.isfinite(v):
                return canonical_params(params)
            enc = float.__repr__
        parts.append((k, enc(v)))
    if not parts:
        return None
    parts.sort()
    return "{" + ",".join(encode_basestring_ascii(k) + ":" + v for k, v in parts) + "}"


def fast_series_key(*parts: object) -> str:
    """:func:`benchlab.frame.series_key` with a list instead of a generator (same digest)."""
    text = "\x1f".join(["\x00" if p is None else str(p) for p in parts])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _c_canonical(params: Mapping[str, Any]) -> str:
    # What json.dumps(params, sort_keys=True, separators=(",", ":"), default=str) runs
    # underneath, without rebuilding the encoder for every mapping.
    return "".join(_C_ENCODER(params, 0))


_C_ENCODER = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, str, encode_basestring_ascii, None, ":", ",", True, False, True)
)
_PROBE = {"b": [1.5, "\u00e9\n", None, True, 2**70, float("nan")], "a": {"z": 1, "y": {}}}
if _C_ENCODER is not None and _c_canonical(_PROBE) != canonical_params(_PROBE):  # pragma: no cover
    _C_ENCODER = None  # another Python whose encoder differs: use json.dumps


def canonical_params_many(items: Sequence[Mapping[str, Any] | None]) -> list[str | None]:
    """:func:`benchlab.frame.canonical_params` of many JSON-parsed mappings (same text).

    Uses the C encoder that ``json.dumps`` itself builds, once for all of them:
    0.4 µs a mapping instead of 3 µs.
    """
    enc = _C_ENCODER
    if enc is None:  # pragma: no cover - only without CPython's _json
        return [canonical_params(p) if p else None for p in items]
    join = "".join
    return [join(enc(p, 0)) if p else None for p in items]


def bulk_results(
    cases: pl.DataFrame,
    *,
    run_index: int | pl.Series,
    metric: str | pl.Series,
    unit: str | pl.Series,
    value: pl.Series,
    stats: Mapping[str, pl.Series] | None = None,
    n_samples: pl.Series | None = None,
    samples: pl.Series | None = None,
) -> pl.DataFrame:
    """A results table in ``RESULT_SCHEMA`` from whole, already validated columns.

    The column-wise counterpart of :meth:`ResultColumns.add` for importers that
    have already validated their values in bulk: nothing is checked here.

    Parameters
    ----------
    cases : polars.DataFrame
        One row per result with the normalized case fields ``benchmark``,
        ``model``, ``hardware``, ``hardware_type``, ``batch_size``, ``seq_len``,
        ``precision`` and ``params`` (canonical text), as :meth:`ResultColumns.case`
        would have produced them.
    run_index, metric, unit : int, str, str or polars.Series
        One for every row, or a column; ``unit`` is the unit the values are
        given in, and must be one :func:`~benchlab.units.parse_unit` knows.
    value : polars.Series
        Finite, non-negative Float64 values in ``unit``.
    stats : dict of str to polars.Series, optional
        Spread columns (``stddev``, ``min`` …) in ``unit``; nulls where absent.
    n_samples : polars.Series, optional
        Int64 sample counts.
    samples : polars.Series, optional
        ``List(Float64)`` raw samples in ``unit``, nulls where absent (one unit for
        every row only).
    """
    n = cases.height

    def every(x: object, name: str, dtype: pl.DataType) -> pl.Series:
        if isinstance(x, pl.Series):
            return x.cast(dtype).alias(name)
        return pl.Series(name, [x], dtype=dtype).new_from_index(0, n)

    units = every(unit, "orig_unit", pl.Utf8())
    distinct = units.unique(maintain_order=True).to_list()
    parsed = [parse_unit(u) for u in distinct]
    if len(parsed) == 1:
        u = parsed[0]
        div = u.factor < 1  # same arithmetic as ResultColumns and Unit.convert
        f = 1.0 / u.factor if div else u.factor

        def conv(s: pl.Series) -> pl.Series:
            return s / f if div else s * f

        canonical = every(u.canonical, "unit", pl.Utf8())
        direction = every(default_direction(u), "direction", pl.Utf8())
    else:
        if samples is not None:
            raise ValueError("bulk_results: samples need one unit for every row")
        # A factor per row: multiply by factors >= 1, divide by the reciprocal of smaller ones.
        signed = [u.factor if u.factor >= 1 else -1.0 / u.factor for u in parsed]
        factor = units.replace_strict(distinct, signed, return_dtype=pl.Float64)

        def conv(s: pl.Series) -> pl.Series:
            return pl.select(pl.when(factor < 0).then(s / -factor).otherwise(s * factor)).to_series()

        canonical = units.replace_strict(distinct, [u.canonical for u in parsed], return_dtype=pl.Utf8)
        direction = units.replace_strict(distinct, [default_direction(u) for u in parsed], return_dtype=pl.Utf8)

    metrics = every(metric, "metric", pl.Utf8())
    parts = [pl.col(c).cast(pl.Utf8).fill_null("\x00") for c in _CASE_SCHEMA if c != "hardware_type"]
    texts = cases.select(pl.concat_str([*parts, pl.lit(metrics)], separator="\x1f")).to_series().to_list()
    blake = hashlib.blake2b
    keys = [blake(t.encode(), digest_size=8).hexdigest() for t in texts]
    cols: dict[str, pl.Series] = {
        "run_index": every(run_index, "run_index", pl.Int64()),
        "series_key": pl.Series("series_key", keys, dtype=pl.Utf8),
        **{c: cases.get_column(c).cast(dtype).alias(c) for c, dtype in _CASE_SCHEMA.items()},
        "metric": metrics,
        "unit": canonical,
        "value": conv(value.cast(pl.Float64)).alias("value"),
        "direction": direction,
        "n_samples": _nulls("n_samples", pl.Int64(), n) if n_samples is None else n_samples.cast(pl.Int64),
        "orig_value": value.cast(pl.Float64).alias("orig_value"),
        "orig_unit": units,
        "samples": (
            _nulls("samples", pl.List(pl.Float64()), n)
            if samples is None
            else conv(samples.cast(pl.List(pl.Float64()))).alias("samples")
        ),
    }
    stats = stats or {}
    for k in SPREAD_COLUMNS:
        cols[k] = conv(stats[k].cast(pl.Float64)).alias(k) if k in stats else _nulls(k, pl.Float64(), n)
    return pl.DataFrame([cols[k].alias(k) for k in RESULT_SCHEMA])


def _plain_numbers(values: Sequence[object], *, floats_only: bool = False) -> bool:
    """Whether every value is a finite non-negative JSON number (what ``add`` takes without a word)."""
    if not values:
        return True
    types = set(map(type, values))
    if not types <= ({float} if floats_only else {float, int}):
        return False
    if float in types:
        floats = values if len(types) == 1 else [v for v in values if type(v) is float]
        if any(map(math.isnan, floats)):  # type: ignore[arg-type]
            return False
    return 0 <= min(values) and max(values) < _INF and (int not in types or max(values) <= _MAX_INT_FLOAT)  # type: ignore[type-var, operator]


def _nulls(name: str, dtype: pl.DataType, n: int) -> pl.Series:
    return pl.Series(name, [None] * n, dtype=dtype)


def _num(value: object) -> float | None:
    t = type(value)
    if t is float:
        return value if 0.0 <= value < _INF else None  # type: ignore[operator, return-value]
    if t is int:
        return float(value) if 0 <= value <= _MAX_INT_FLOAT else None  # type: ignore[operator, arg-type]
    return None

"""Regression and improvement detection over a results frame.

:func:`detect` is pure -- a results frame in, a frame of changes out -- and
deterministic.  Per series (``series_key``; measured, simulated and predicted
values are kept apart) it

1. orders the values by run timestamp then run id and aggregates several values
   of one commit (or run, ``by="run"``) to their median, so repeated runs of a
   commit count once;
2. finds change points with :func:`benchlab.regress.changepoints` (robust to
   lone spikes and missing values);
3. for each change point compares the two adjacent segments: their medians
   (the *before* and *after* levels), the relative change with a seeded
   bootstrap interval on the ratio of medians (see
   :mod:`benchlab.regress._common`), and a two-sided Mann–Whitney U p-value;
4. keeps changes whose effect reaches ``min_effect``, whose p-value is below
   ``alpha`` and whose interval excludes "no change"; labels them
   ``regression`` or ``improvement`` according to the metric's ``direction``,
   grades them with :data:`SEVERITY_LEVELS`, and gives each a stable
   ``change_id`` (series + first bad commit) for triage.

The p-value is nominal: the change point was chosen where the segments differ
most, so it overstates significance.  Together with ``min_effect`` it is a
guard against reporting noise, not a calibrated test.

:func:`detect_store` runs the same over ``store.history(...)`` and drops
changes someone already triaged (:mod:`benchlab.regress._triage`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from benchlab.errors import QueryError
from benchlab.frame import PROVENANCES, RESULTS_SCHEMA, SERIES_COLUMNS
from benchlab.regress._changepoints import MIN_POINTS, changepoints
from benchlab.regress._common import (
    DEFAULT_MIN_EFFECT,
    SEVERITY_LEVELS,
    change_id,
    effect_of,
    key_seed,
    mann_whitney_p,
    ratio_interval,
    severity_of,
)

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["detect", "detect_store", "DETECT_SCHEMA", "SEVERITY_LEVELS"]

_IDENTITY = ("series_key", "provenance", *SERIES_COLUMNS, "hardware_type", "unit", "direction")

#: Columns of the frame :func:`detect` returns, in order.
DETECT_SCHEMA: dict[str, pl.DataType] = {
    "change_id": pl.Utf8(),
    "kind": pl.Utf8(),
    "severity": pl.Utf8(),
    "series_key": pl.Utf8(),
    "provenance": pl.Utf8(),
    **{c: RESULTS_SCHEMA[c] for c in SERIES_COLUMNS},
    "hardware_type": pl.Utf8(),
    "unit": pl.Utf8(),
    "direction": pl.Utf8(),
    "position": pl.Int64(),
    "n_points": pl.Int64(),
    "before": pl.Float64(),
    "after": pl.Float64(),
    "change": pl.Float64(),
    "change_low": pl.Float64(),
    "change_high": pl.Float64(),
    "effect": pl.Float64(),
    "p_value": pl.Float64(),
    "n_before": pl.Int64(),
    "n_after": pl.Int64(),
    "last_good_commit": pl.Utf8(),
    "last_good_run_id": pl.Int64(),
    "last_good_timestamp": pl.Datetime("us", "UTC"),
    "first_bad_commit": pl.Utf8(),
    "first_bad_run_id": pl.Int64(),
    "first_bad_timestamp": pl.Datetime("us", "UTC"),
}

# Below this many points in total the work stays in this process: starting
# workers costs more than it saves.
_PARALLEL_MIN_POINTS = 200_000


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=DETECT_SCHEMA)


def _with_columns(frame: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """``frame`` restricted to ``names``, adding missing ones as typed nulls."""
    missing = [pl.lit(None, dtype=RESULTS_SCHEMA[c]).alias(c) for c in names if c not in frame.columns]
    return frame.with_columns(missing).select(names) if missing else frame.select(names)


@dataclass
class Points:
    """The series of a frame, ordered and ready for change-point search.

    Attributes
    ----------
    frame : polars.DataFrame
        The input's relevant columns (finite values only), in input order.
    series : polars.DataFrame
        One row per (``series_key``, ``provenance``) with its identity columns,
        ``offset`` and ``n_rows`` (its slice of ``values``).
    values, codes : numpy.ndarray
        Values and point codes (one code per commit, or per run), series after
        series, each series ordered by timestamp then run id.
    order : numpy.ndarray
        Row of ``frame`` behind each entry of ``values``.
    """

    frame: pl.DataFrame
    series: pl.DataFrame
    values: np.ndarray
    codes: np.ndarray
    order: np.ndarray

    def series_points(self, i: int) -> pl.DataFrame:
        """Aggregated points of series ``i``: ``position``, ``value``, ``commit``, ``run_id``, ``timestamp``."""
        off, n = int(self.series["offset"][i]), int(self.series["n_rows"][i])
        vals, first = aggregate(self.values[off : off + n], self.codes[off : off + n])
        info = self.frame[self.order[off + first]].select("commit", "run_id", "timestamp")
        return info.with_columns(position=pl.int_range(pl.len(), dtype=pl.Int64), value=pl.Series(vals))


def aggregate(x: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of the values of each point, points in order of first appearance.

    Returns the point values and, for each point, the index in ``x`` of its
    first (earliest) value.
    """
    srt_codes = np.sort(codes)
    if not (srt_codes[1:] == srt_codes[:-1]).any():  # the usual case: one value per point
        return x, np.arange(x.size)
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    group = rank[inverse.ravel()]
    srt = np.lexsort((x, group))
    xs = x[srt]
    counts = np.bincount(group, minlength=uniq.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = 0.5 * (xs[starts + (counts - 1) // 2] + xs[starts + counts // 2])
    return med, np.sort(first)


def _codes(column: pl.Series) -> pl.Series:
    """Exact dense integer codes of a string column (nulls stay null)."""
    cats = column.drop_nulls().unique().sort()
    return column.cast(pl.Enum(cats.to_list())).to_physical().cast(pl.Int64)


def points(frame: pl.DataFrame, *, by: Literal["commit", "run"] = "commit") -> Points:
    """Order and encode every series in ``frame`` for detection.

    Parameters
    ----------
    frame : polars.DataFrame
        A results frame (at least ``series_key`` and ``value``).
    by : {"commit", "run"}
        What one point is: all values of one commit (rows without a commit
        count per run), or of one run.  Rows naming neither count alone.

    Returns
    -------
    Points
    """
    if by not in ("commit", "run"):
        raise QueryError(f"by must be 'commit' or 'run', not {by!r}")
    for c in ("series_key", "value"):
        if c not in frame.columns:
            raise QueryError(f"detect needs a results frame with a {c!r} column; got {frame.columns}")
    f = _with_columns(frame, [*_IDENTITY, "value", "timestamp", "run_id", "commit"])
    if not f["value"].is_finite().fill_null(False).all():
        f = f.filter(pl.col("value").is_finite())
    f = f.filter(pl.col("series_key").is_not_null())
    if f.is_empty():
        series = pl.DataFrame(schema={c: RESULTS_SCHEMA[c] for c in _IDENTITY})
        series = series.with_columns(offset=pl.lit(0, pl.Int64), n_rows=pl.lit(0, pl.Int64)).clear()
        empty = np.zeros(0)
        return Points(f, series, empty, empty.astype(np.int64), empty.astype(np.int64))
    prov = f["provenance"].fill_null("measured")
    unknown = prov.filter(~prov.is_in(list(PROVENANCES))).unique().to_list()
    if unknown:
        raise QueryError(f"provenance must be one of {PROVENANCES}; the frame has {unknown}")
    # Exact integer codes (Enum casts) rather than string group-bys: several
    # times faster on millions of rows, and the per-series work moves to workers.
    sid = _codes(f["series_key"]) * len(PROVENANCES) + prov.cast(pl.Enum(list(PROVENANCES))).to_physical().cast(
        pl.Int64
    )
    run = f["run_id"]
    n = f.height
    run_min = int(run.min()) if run.null_count() < n else 0  # type: ignore[arg-type]
    run_span = (int(run.max()) - run_min + 1) if run.null_count() < n else 0  # type: ignore[arg-type]
    alone = pl.Series(np.arange(n, dtype=np.int64))
    run_code = (run - run_min).fill_null(alone + run_span)
    if by == "commit":
        commit = _codes(f["commit"])
        n_commits = int(commit.max()) + 1 if commit.null_count() < n else 0  # type: ignore[arg-type]
        code = commit.fill_null(run_code + n_commits)
    else:
        code = run_code
    keys = pl.DataFrame({"s": sid, "t": f["timestamp"], "r": run})
    order = keys.select(pl.arg_sort_by(["s", "t", "r"], nulls_last=False, maintain_order=True)).to_series().to_numpy()
    sid_sorted = sid.to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, sid_sorted[1:] != sid_sorted[:-1]])
    lengths = np.diff(np.r_[starts, n])
    series = (
        f[order[starts]]
        .select(_IDENTITY)
        .with_columns(
            provenance=pl.col("provenance").fill_null("measured"),
            offset=pl.Series(starts.astype(np.int64)),
            n_rows=pl.Series(lengths.astype(np.int64)),
        )
    )
    return Points(f, series, f["value"].to_numpy()[order], code.to_numpy()[order], order)


def _test_segments(
    before: np.ndarray,
    after: np.ndarray,
    thr: float,
    alpha: float,
    confidence: float,
    n_boot: int,
    rng_seed: list[int],
) -> tuple[bool, float, tuple[Any, ...]]:
    """Compare two adjacent segments: ``(passes, effect, statistics)``.

    The cheap tests run first, so a change too small to report costs two medians.
    """
    mb, ma = float(np.median(before)), float(np.median(after))
    ratio = ma / mb if mb > 0 else (math.inf if ma > 0 else math.nan)
    effect = effect_of(ratio)
    lo = hi = p = math.nan
    if not effect >= thr:  # also catches NaN (0 -> 0)
        return False, effect, ()
    p = mann_whitney_p(before, after)
    if not p < alpha:
        return False, effect, ()
    if mb > 0:
        lo, hi = ratio_interval(
            before, after, n_boot=n_boot, confidence=confidence, rng=np.random.default_rng(rng_seed)
        )
        if lo <= 1.0 <= hi:  # the interval admits "no change": too weak to report
            return False, effect, ()
    return True, effect, (mb, ma, ratio, lo, hi, effect, p, before.size, after.size)


def _scan(
    values: np.ndarray,
    codes: np.ndarray,
    offsets: np.ndarray,
    lengths: np.ndarray,
    sids: np.ndarray,
    thresholds: np.ndarray,
    seeds: np.ndarray,
    alpha: float,
    confidence: float,
    n_boot: int,
    seed: int,
    cp_options: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """Aggregate, find change points and compare segments for a batch of series.

    A change point whose adjacent segments fail the tests is removed and its
    neighbours are compared again over the merged segments (weakest first,
    until every remaining change point passes): a step followed by a short
    noisy stretch is then still reported, measured against the whole segment
    after it, instead of being lost between two weak change points.

    Runs in worker processes; returns one tuple per kept change with the
    positions of the first bad and last good points' earliest rows.
    """
    out: list[tuple[Any, ...]] = []
    for sid, off, n, thr, s_seed in zip(sids, offsets, lengths, thresholds, seeds, strict=True):
        x, first = aggregate(values[off : off + n], codes[off : off + n])
        m = x.size
        if m < MIN_POINTS:
            continue
        cps = changepoints(x, **cp_options)
        memo: dict[tuple[int, int, int], tuple[bool, float, tuple[Any, ...]]] = {}
        while cps:
            bounds = [0, *cps, m]
            tested = []
            for j, cp in enumerate(cps):
                key = (bounds[j], cp, bounds[j + 2])
                if key not in memo:
                    memo[key] = _test_segments(
                        x[key[0] : cp], x[cp : key[2]], thr, alpha, confidence, n_boot, [seed, int(s_seed), cp]
                    )
                tested.append(memo[key])
            failing = [j for j, (ok, _, _) in enumerate(tested) if not ok]
            if not failing:
                break
            # Drop the weakest failing change point (smallest effect, NaN first) and re-test.
            weakest = min(failing, key=lambda j: (tested[j][1] == tested[j][1], tested[j][1], j))
            cps = [c for k, c in enumerate(cps) if k != weakest]
        for cp, (_, _, stats) in zip(cps, tested if cps else [], strict=True):
            out.append((int(sid), int(cp), m, *stats, int(first[cp]), int(first[cp - 1])))
    return out


def _n_workers(requested: int | None, n_points: int) -> int:
    if requested is not None:
        if requested < 1:
            raise QueryError(f"workers must be at least 1, got {requested}")
        return requested
    if n_points < _PARALLEL_MIN_POINTS:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus)


def _thresholds(series: pl.DataFrame, min_effect: float | Mapping[str, float]) -> np.ndarray:
    if isinstance(min_effect, Mapping):
        bad = {k: v for k, v in min_effect.items() if not (isinstance(v, int | float) and v >= 0)}
        if bad:
            raise QueryError(f"min_effect values must be non-negative numbers; got {bad}")
        metric = series["metric"].to_list()
        return np.array([float(min_effect.get(m, DEFAULT_MIN_EFFECT)) for m in metric], dtype=np.float64)
    if not (isinstance(min_effect, int | float) and min_effect >= 0):
        raise QueryError(f"min_effect must be a non-negative number (0.05 = 5 %), got {min_effect!r}")
    return np.full(series.height, float(min_effect))


def detect(
    frame: pl.DataFrame,
    *,
    min_effect: float | Mapping[str, float] = DEFAULT_MIN_EFFECT,
    alpha: float = 0.01,
    confidence: float = 0.95,
    by: Literal["commit", "run"] = "commit",
    improvements: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    workers: int | None = None,
    changepoint_options: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Regressions and improvements in every series of a results frame.

    Parameters
    ----------
    frame : polars.DataFrame
        A results frame (:mod:`benchlab.frame`), e.g. ``store.history(...)``.
        Only ``series_key`` and ``value`` are required; ``timestamp``,
        ``run_id``, ``commit``, ``direction`` and the identity columns are used
        when present.
    min_effect : float or mapping, default 0.05
        Smallest effect reported, as a fraction (0.05 = 5 %; the effect is
        ``max(r, 1/r) - 1`` for the ratio of medians ``r``).  A mapping gives a
        threshold per metric (``{"latency": 0.05, "memory": 0.01}``); metrics
        it does not name use 0.05.
    alpha : float, default 0.01
        Changes whose Mann–Whitney p-value is not below ``alpha`` are dropped.
    confidence : float, default 0.95
        Level of the interval on the relative change; changes whose interval
        contains 0 (no change) are dropped.
    by : {"commit", "run"}, default "commit"
        Aggregate the values of one commit (or one run) to their median first.
    improvements : bool, default True
        Also report improvements (``False``: regressions only).
    n_boot : int, default 2000
        Bootstrap draws for the interval.
    seed : int, default 0
        Seed of the bootstrap; each change has its own stream derived from the
        seed, the series and the position, so results do not depend on which
        other series are in the frame or on ``workers``.
    workers : int, optional
        Processes for the change-point search.  Default: one for small frames,
        one per available CPU from 200 000 points on.
    changepoint_options : mapping, optional
        Passed to :func:`benchlab.regress.changepoints` (``penalty``,
        ``min_size``, ``model`` …).

    Returns
    -------
    polars.DataFrame
        One row per change (schema :data:`DETECT_SCHEMA`): ``change_id``,
        ``kind`` (``regression``/``improvement``), ``severity``, the series
        identity, ``position`` (index of the first bad point among the series'
        aggregated points) and ``n_points``, ``before``/``after`` levels (segment
        medians, in ``unit``), ``change`` (after / before - 1) with
        ``change_low``/``change_high``, ``effect``, ``p_value``, segment sizes,
        and the last good / first bad commit, run id and timestamp.  Regressions
        first, most severe first.

    Raises
    ------
    QueryError
        If the frame lacks ``series_key`` or ``value`` or an option is invalid.
    """
    if not 0 < alpha <= 1:
        raise QueryError(f"alpha must be in (0, 1], got {alpha!r}")
    if not 0 < confidence < 1:
        raise QueryError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_boot < 10:
        raise QueryError(f"n_boot must be at least 10, got {n_boot!r}")
    pts = points(frame, by=by)
    return _detect_points(
        pts, min_effect=min_effect, alpha=alpha, confidence=confidence, improvements=improvements,
        n_boot=n_boot, seed=seed, workers=workers, changepoint_options=changepoint_options or {},
    )  # fmt: skip


def _detect_points(
    pts: Points,
    *,
    min_effect: float | Mapping[str, float],
    alpha: float,
    confidence: float,
    improvements: bool,
    n_boot: int,
    seed: int,
    workers: int | None,
    changepoint_options: Mapping[str, Any],
) -> pl.DataFrame:
    series = pts.series
    if series.is_empty():
        return _empty()
    thresholds = _thresholds(series, min_effect)
    offsets = series["offset"].to_numpy()
    lengths = series["n_rows"].to_numpy()
    keys = series["series_key"].to_list()
    provs = series["provenance"].to_list()
    seeds = np.array([key_seed(k, p) for k, p in zip(keys, provs, strict=True)], dtype=np.uint64)
    todo = np.flatnonzero(lengths >= MIN_POINTS)
    args = (alpha, confidence, n_boot, seed, dict(changepoint_options))
    n_workers = _n_workers(workers, int(lengths[todo].sum()) if todo.size else 0)
    if n_workers == 1 or todo.size < 2:
        found = _scan(pts.values, pts.codes, offsets[todo], lengths[todo], todo, thresholds[todo], seeds[todo], *args)
    else:
        found = []
        # Chunks of about equal point counts, several per worker to even out the load.
        cum = np.cumsum(lengths[todo])
        n_chunks = min(todo.size, n_workers * 8)
        cuts = np.searchsorted(cum, np.linspace(0, cum[-1], n_chunks + 1)[1:-1])
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            futures = []
            for idx in np.split(np.arange(todo.size), cuts):
                if idx.size == 0:
                    continue
                sel = todo[idx]
                lo, hi = int(offsets[sel[0]]), int(offsets[sel[-1]] + lengths[sel[-1]])
                futures.append(
                    pool.submit(
                        _scan,
                        pts.values[lo:hi],
                        pts.codes[lo:hi],
                        offsets[sel] - lo,
                        lengths[sel],
                        sel,
                        thresholds[sel],
                        seeds[sel],
                        *args,
                    )  # fmt: skip
                )
            for fut in futures:
                found.extend(fut.result())
    if not found:
        return _empty()
    cols = list(zip(*found, strict=True))
    sid = np.array(cols[0], dtype=np.int64)
    ratio = np.array(cols[5], dtype=np.float64)
    changes = pl.DataFrame(
        {
            "_sid": sid,
            "position": np.array(cols[1], dtype=np.int64),
            "n_points": np.array(cols[2], dtype=np.int64),
            "before": np.array(cols[3], dtype=np.float64),
            "after": np.array(cols[4], dtype=np.float64),
            "change": ratio - 1.0,
            "change_low": np.array(cols[6], dtype=np.float64) - 1.0,
            "change_high": np.array(cols[7], dtype=np.float64) - 1.0,
            "effect": np.array(cols[8], dtype=np.float64),
            "p_value": np.array(cols[9], dtype=np.float64),
            "n_before": np.array(cols[10], dtype=np.int64),
            "n_after": np.array(cols[11], dtype=np.int64),
        }
    )
    changes = pl.concat([changes, series[sid].drop("offset", "n_rows")], how="horizontal")
    bad_rows = pts.order[offsets[sid] + np.array(cols[12], dtype=np.int64)]
    good_rows = pts.order[offsets[sid] + np.array(cols[13], dtype=np.int64)]
    info = ("commit", "run_id", "timestamp")
    good = pts.frame[good_rows].select(
        **{f"last_good_{c}": c for c in info}  # type: ignore[arg-type]
    )
    bad = pts.frame[bad_rows].select(**{f"first_bad_{c}": c for c in info})  # type: ignore[arg-type]
    changes = pl.concat([changes, good, bad], how="horizontal")
    direction = changes["direction"].fill_null("lower")
    worse = np.where(direction.to_numpy() == "higher", ratio < 1.0, ratio > 1.0)
    changes = changes.with_columns(
        kind=pl.Series(np.where(worse, "regression", "improvement")),
        severity=pl.Series([severity_of(e) for e in changes["effect"].to_list()], dtype=pl.Utf8),
        change_id=pl.Series(
            [
                change_id(k, p, _first_bad(c, t, r))
                for k, p, c, t, r in changes.select(
                    "series_key", "provenance", "first_bad_commit", "first_bad_timestamp", "first_bad_run_id"
                ).iter_rows()
            ],
            dtype=pl.Utf8,
        ),
    )
    if not improvements:
        changes = changes.filter(pl.col("kind") == "regression")
    rank = pl.col("severity").replace_strict(
        {name: -i for i, (name, _) in enumerate(SEVERITY_LEVELS)}, return_dtype=pl.Int64
    )
    changes = changes.sort(
        [pl.col("kind") != "regression", rank, pl.col("effect"), "series_key", "provenance", "position"],
        descending=[False, True, True, False, False, False],
    )
    return changes.select(list(DETECT_SCHEMA)).cast(DETECT_SCHEMA)  # type: ignore[arg-type]


def _first_bad(commit: str | None, timestamp: object, run_id: int | None) -> object:
    """What identifies the first bad point in a change id: commit, else time, else run."""
    if commit is not None:
        return commit
    if timestamp is not None:
        return timestamp.isoformat()  # type: ignore[attr-defined]
    return f"run:{run_id}"


def detect_store(
    store: Store,
    *,
    min_effect: float | Mapping[str, float] = DEFAULT_MIN_EFFECT,
    alpha: float = 0.01,
    confidence: float = 0.95,
    by: Literal["commit", "run"] = "commit",
    improvements: bool = True,
    include_triaged: bool = False,
    tolerance: int = 2,
    since: object = None,
    until: object = None,
    n_boot: int = 2000,
    seed: int = 0,
    workers: int | None = None,
    changepoint_options: Mapping[str, Any] | None = None,
    **filters: Any,
) -> pl.DataFrame:
    """:func:`detect` over ``store.history(...)``, without changes already triaged.

    Parameters
    ----------
    store : Store
        The store to read.
    include_triaged : bool, default False
        Keep triaged changes too (their latest status is in ``triage_status``).
    tolerance : int, default 2
        A change counts as triaged when its ``change_id`` was triaged, or when a
        triaged change of the same series, provenance and kind had its first
        bad point at most ``tolerance`` points away -- change-point locations can
        move by a point or two as more data arrives, and a triaged change must
        not come back under a new id.
    since, until, **filters
        Passed to :meth:`Store.history` (``model=``, ``hardware=``, ``metric=`` …).
    min_effect, alpha, confidence, by, improvements, n_boot, seed, workers, changepoint_options
        As in :func:`detect`.

    Returns
    -------
    polars.DataFrame
        :data:`DETECT_SCHEMA` plus ``triage_status`` (null for untriaged changes).
    """
    from benchlab.regress._triage import triage_status

    if not 0 < alpha <= 1:
        raise QueryError(f"alpha must be in (0, 1], got {alpha!r}")
    if not 0 < confidence < 1:
        raise QueryError(f"confidence must be in (0, 1), got {confidence!r}")
    frame = store.history(since=since, until=until, **filters)
    pts = points(frame, by=by)
    found = _detect_points(
        pts, min_effect=min_effect, alpha=alpha, confidence=confidence, improvements=improvements,
        n_boot=n_boot, seed=seed, workers=workers, changepoint_options=changepoint_options or {},
    )  # fmt: skip
    # The triage table is small (one row per decision): read it whole rather
    # than sending thousands of series keys as query parameters.
    status = triage_status(store).filter(
        pl.col("series_key").is_in(found["series_key"].unique().implode())
        | pl.col("change_id").is_in(found["change_id"].implode())
    )
    if status.is_empty():
        out = found.with_columns(triage_status=pl.lit(None, dtype=pl.Utf8))
    else:
        out = _match_triaged(found, status, pts, tolerance)
    if not include_triaged:
        out = out.filter(pl.col("triage_status").is_null())
    return out


def _match_triaged(found: pl.DataFrame, status: pl.DataFrame, pts: Points, tolerance: int) -> pl.DataFrame:
    """Add ``triage_status``: by ``change_id``, else by a nearby triaged change of the series."""
    by_id = status.select("change_id", triage_status="status")
    out = found.join(by_id, on="change_id", how="left")
    near = status.filter(pl.col("series_key").is_not_null()).with_columns(pl.col("provenance").fill_null("measured"))
    pending = out.filter(pl.col("triage_status").is_null())
    wanted = (
        pending.select("series_key", "provenance")
        .unique()
        .join(near.select("series_key", "provenance").unique(), on=["series_key", "provenance"])
    )
    if wanted.is_empty():
        return out
    # Locate each triaged change's first bad point among today's points of its series.
    index = pts.series.select("series_key", "provenance").with_row_index("_i")
    located = []
    for key, prov, i in wanted.join(index, on=["series_key", "provenance"]).iter_rows():
        located.append(pts.series_points(int(i)).with_columns(series_key=pl.lit(key), provenance=pl.lit(prov)))
    loc = pl.concat(located)
    by_commit = near.filter(pl.col("first_bad_commit").is_not_null()).join(
        loc.select("series_key", "provenance", "commit", "position"),
        left_on=["series_key", "provenance", "first_bad_commit"],
        right_on=["series_key", "provenance", "commit"],
    )
    by_time = near.filter(pl.col("first_bad_commit").is_null() & pl.col("first_bad_timestamp").is_not_null()).join(
        loc.select("series_key", "provenance", "timestamp", "position"),
        left_on=["series_key", "provenance", "first_bad_timestamp"],
        right_on=["series_key", "provenance", "timestamp"],
    )
    anchors = pl.concat(
        [by_commit.select("series_key", "provenance", "kind", "position", "status"),
         by_time.select("series_key", "provenance", "kind", "position", "status")]
    )  # fmt: skip
    if anchors.is_empty():
        return out
    pairs = (
        pending.select("change_id", "series_key", "provenance", "kind", "position")
        .join(anchors, on=["series_key", "provenance", "kind"], suffix="_triaged")
        .filter((pl.col("position") - pl.col("position_triaged")).abs() <= tolerance)
        .sort(["change_id", (pl.col("position") - pl.col("position_triaged")).abs()])
        .group_by("change_id", maintain_order=True)
        .agg(pl.col("status").first().alias("_near_status"))
    )
    return (
        out.join(pairs, on="change_id", how="left")
        .with_columns(pl.coalesce("triage_status", "_near_status").alias("triage_status"))
        .drop("_near_status")
    )

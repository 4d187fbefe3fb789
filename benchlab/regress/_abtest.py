"""A/B comparison: baseline vs contender, case by case, with a verdict.

For every case (a series, minus the column being compared) :func:`ab_compare`
pools the raw ``samples`` of each side when every run on both sides has them,
and otherwise the per-run values, then computes

* the medians of both sides and their ratio (contender / baseline) with a
  seeded percentile-bootstrap interval (exact bootstrap of the median, see
  :mod:`benchlab.regress._common`);
* a two-sided Mann–Whitney U p-value;
* a verdict, direction-aware, with ``f = min_factor`` and the interval of the
  *badness factor* ``g`` (the ratio for lower-is-better metrics, its inverse for
  higher-is-better ones; ``g > 1`` is worse):

  ``worse``
      ``p < alpha`` and the whole interval of ``g`` is at or above ``f``;
  ``better``
      ``p < alpha`` and the whole interval is at or below ``1/f``;
  ``unchanged``
      the whole interval lies strictly between ``1/f`` and ``f``;
  ``uncertain``
      anything else: too few observations on a side (fewer than ``min_n``),
      a case missing on one side, or an interval that straddles a threshold.

This is stricter than asv's rule (factor and significance of the point
estimate): a change that is significant but could be smaller than the factor is
``uncertain``, never ``worse``, which keeps noisy benchmarks from failing
builds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from benchlab.errors import QueryError
from benchlab.frame import RESULTS_SCHEMA, SERIES_COLUMNS
from benchlab.regress._common import (
    change_id,
    effect_of,
    key_seed,
    mann_whitney_p,
    ratio_interval,
    severity_of,
)

__all__ = ["ab_compare", "VERDICTS"]

VERDICTS: tuple[str, ...] = ("worse", "better", "unchanged", "uncertain")


def _selector(side: object, by: str, name: str) -> dict[str, Any]:
    if isinstance(side, Mapping):
        if not side:
            raise QueryError(f"{name} selects nothing: give a value of {by!r} or a mapping of filters")
        return dict(side)
    if side is None:
        raise QueryError(f"give {name}= (a value of {by!r}, or a mapping such as {{'branch': 'main'}})")
    return {by: side}


def _select(frame: pl.DataFrame, sel: Mapping[str, Any]) -> pl.DataFrame:
    cond = pl.lit(True)
    for col, value in sel.items():
        if col not in frame.columns:
            raise QueryError(f"cannot select on {col!r}: the frame has no such column")
        if value is None:
            cond = cond & pl.col(col).is_null()
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            cond = cond & pl.col(col).is_in(list(value))
        else:
            cond = cond & (pl.col(col) == value)
    return frame.filter(cond)


def _label(sel: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sel.items())


def _with_ident(frame: pl.DataFrame, ident: list[str]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=RESULTS_SCHEMA[c]).alias(c) for c in ident if c not in frame.columns]
    frame = frame.with_columns(missing)
    if "provenance" in ident:
        frame = frame.with_columns(pl.col("provenance").fill_null("measured"))
    return frame


def _inv(x: float) -> float:
    """``1 / x`` with ``1/0 = inf`` and ``1/inf = 0``."""
    if x == 0:
        return math.inf
    return 1.0 / x


def _side(frame: pl.DataFrame, case_cols: list[str]) -> pl.DataFrame:
    """Per case: values, pooled samples, whether every row had samples, commits."""
    f = frame
    for c in ("samples", "commit", "provenance", "unit", "direction", "series_key"):
        if c not in f.columns:
            f = f.with_columns(pl.lit(None, dtype=RESULTS_SCHEMA[c]).alias(c))
    f = f.with_columns(pl.col("provenance").fill_null("measured")).filter(pl.col("value").is_finite())
    has = pl.col("samples").is_not_null() & (pl.col("samples").list.len() > 0)
    return f.group_by(case_cols, maintain_order=True).agg(
        pl.col("value").alias("_values"),
        pl.col("samples").list.explode(keep_nulls=False, empty_as_null=False).alias("_samples"),
        has.all().alias("_all_samples"),
        pl.col("commit").drop_nulls().unique(maintain_order=True).alias("_commits"),
        pl.col("series_key").first(),
        pl.col("unit").first(),
        pl.col("direction").first(),
    )


def ab_compare(
    data: pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame] | Sequence[pl.DataFrame],
    baseline: object = None,
    contender: object = None,
    *,
    by: str = "commit",
    min_factor: float = 1.1,
    alpha: float = 0.01,
    confidence: float = 0.95,
    min_n: int = 2,
    n_boot: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """Compare a baseline and a contender case by case.

    Parameters
    ----------
    data : polars.DataFrame or (baseline_frame, contender_frame)
        One results frame holding both sides (then ``baseline`` and
        ``contender`` select them), or the two sides as two frames.  Raw samples
        are used when the frames carry them (``store.results(samples=True)``).
    baseline, contender : value or mapping
        With one frame: a value of ``by`` (``"a1b2c3"``) or a mapping of column
        filters (``{"branch": "main"}``) for each side.  With two frames:
        optional labels.
    by : str, default "commit"
        Column the plain values of ``baseline``/``contender`` refer to.
    min_factor : float, default 1.1
        Smallest factor that counts as a change (1.1 = 10 %).
    alpha : float, default 0.01
        Significance level of the Mann–Whitney U test.
    confidence : float, default 0.95
        Level of the bootstrap interval.
    min_n : int, default 2
        Fewest observations per side for a verdict other than ``uncertain``.
    n_boot, seed : int
        Bootstrap draws and seed (each case has its own stream derived from the
        seed and the case, so the result is deterministic).

    Returns
    -------
    polars.DataFrame
        One row per case on either side: the case identity (series columns
        except the compared ones, ``provenance``), ``series_key`` (the
        contender's), ``unit``, ``direction``, ``baseline`` and ``contender``
        (medians), ``n_baseline``, ``n_contender``, ``basis`` (``samples`` or
        ``values``), ``ratio`` with ``ratio_low``/``ratio_high``, ``change``
        (ratio - 1) with ``change_low``/``change_high``, ``p_value``,
        ``verdict``, ``kind`` (``regression``/``improvement`` for worse/better),
        ``severity`` (worse/better only), ``reason``, ``baseline_commit``,
        ``contender_commit`` and ``change_id``.  Worst first.
    """
    if not min_factor >= 1.0:
        raise QueryError(f"min_factor must be at least 1 (1.1 = 10 %), got {min_factor!r}")
    if not 0 < alpha <= 1:
        raise QueryError(f"alpha must be in (0, 1], got {alpha!r}")
    if not 0 < confidence < 1:
        raise QueryError(f"confidence must be in (0, 1), got {confidence!r}")
    if min_n < 1:
        raise QueryError(f"min_n must be at least 1, got {min_n!r}")
    if isinstance(data, pl.DataFrame):
        b_sel, c_sel = _selector(baseline, by, "baseline"), _selector(contender, by, "contender")
        varying = set(b_sel) | set(c_sel)
        base, cont = _select(data, b_sel), _select(data, c_sel)
        b_label, c_label = _label(b_sel), _label(c_sel)
    else:
        frames = list(data)
        if len(frames) != 2 or not all(isinstance(f, pl.DataFrame) for f in frames):
            raise QueryError("ab_compare takes one results frame or a pair (baseline_frame, contender_frame)")
        base, cont = frames
        varying = set()
        b_label = "baseline" if baseline is None else str(baseline)
        c_label = "contender" if contender is None else str(contender)
    for name, f in (("baseline", base), ("contender", cont)):
        for c in ("series_key", "value"):
            if c not in f.columns:
                raise QueryError(f"the {name} frame has no {c!r} column; pass results frames")
    ident = [c for c in (*SERIES_COLUMNS, "provenance") if c not in varying]
    base, cont = _with_ident(base, ident), _with_ident(cont, ident)
    side_b, side_c = _side(base, ident), _side(cont, ident)
    joined = side_c.join(side_b, on=ident, how="full", coalesce=True, nulls_equal=True, suffix="_b")
    rows = [
        _case(r, b_label, c_label, min_factor, alpha, confidence, min_n, n_boot, seed)
        for r in joined.iter_rows(named=True)
    ]
    schema = {
        **{k: RESULTS_SCHEMA[k] for k in ident},
        "series_key": pl.Utf8(), "unit": pl.Utf8(), "direction": pl.Utf8(),
        "baseline": pl.Float64(), "contender": pl.Float64(), "n_baseline": pl.Int64(), "n_contender": pl.Int64(),
        "basis": pl.Utf8(), "ratio": pl.Float64(), "ratio_low": pl.Float64(), "ratio_high": pl.Float64(),
        "change": pl.Float64(), "change_low": pl.Float64(), "change_high": pl.Float64(),
        "p_value": pl.Float64(), "verdict": pl.Utf8(), "kind": pl.Utf8(), "severity": pl.Utf8(),
        "effect": pl.Float64(), "reason": pl.Utf8(),
        "baseline_commit": pl.Utf8(), "contender_commit": pl.Utf8(), "change_id": pl.Utf8(),
    }  # fmt: skip
    out = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")
    rank = {"worse": 0, "uncertain": 1, "better": 2, "unchanged": 3}
    order = pl.col("verdict").replace_strict(rank, return_dtype=pl.Int64)
    sort_cols = [c for c in ident if c in out.columns]
    return out.sort([order, pl.col("effect").fill_nan(None).neg(), *sort_cols], nulls_last=True)


def _case(
    r: dict[str, Any],
    b_label: str,
    c_label: str,
    min_factor: float,
    alpha: float,
    confidence: float,
    min_n: int,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    use_samples = bool(r.get("_all_samples")) and bool(r.get("_all_samples_b"))
    key = "_samples" if use_samples else "_values"
    cv = np.asarray(r.get(key) or [], dtype=np.float64)
    bv = np.asarray(r.get(f"{key}_b") or [], dtype=np.float64)
    cv, bv = cv[np.isfinite(cv)], bv[np.isfinite(bv)]
    direction = r.get("direction") or r.get("direction_b") or "lower"
    series_key = r.get("series_key") or r.get("series_key_b")
    c_commits, b_commits = r.get("_commits") or [], r.get("_commits_b") or []
    out: dict[str, Any] = {
        **r,
        "series_key": series_key,
        "unit": r.get("unit") or r.get("unit_b"),
        "direction": direction,
        "n_baseline": int(bv.size),
        "n_contender": int(cv.size),
        "basis": "samples" if use_samples else "values",
        "baseline": float(np.median(bv)) if bv.size else None,
        "contender": float(np.median(cv)) if cv.size else None,
        "baseline_commit": b_commits[0] if len(b_commits) == 1 else None,
        "contender_commit": c_commits[0] if len(c_commits) == 1 else None,
    }
    first_bad = out["contender_commit"] or c_label
    out["change_id"] = change_id(series_key, r.get("provenance") or "measured", first_bad) if series_key else None
    if bv.size == 0 or cv.size == 0:
        missing = "baseline" if bv.size == 0 else "contender"
        return {**out, "verdict": "uncertain", "reason": f"no {missing} values for this case"}
    mb, mc = out["baseline"], out["contender"]
    ratio = mc / mb if mb > 0 else (math.inf if mc > 0 else math.nan)
    out.update(ratio=ratio, change=ratio - 1.0, effect=effect_of(ratio))
    if bv.size < min_n or cv.size < min_n:
        return {**out, "verdict": "uncertain",
                "reason": f"not enough data ({bv.size} baseline, {cv.size} contender values; need {min_n})"}  # fmt: skip
    p = mann_whitney_p(bv, cv)
    out["p_value"] = p
    if mb > 0:
        rng = np.random.default_rng([seed, key_seed(series_key, r.get("provenance"), b_label, c_label)])
        lo, hi = ratio_interval(bv, cv, n_boot=n_boot, confidence=confidence, rng=rng)
    else:
        lo, hi = (math.nan, math.nan) if mc == 0 else (math.inf, math.inf)
    out.update(ratio_low=lo, ratio_high=hi, change_low=lo - 1.0, change_high=hi - 1.0)
    # badness factor g (> 1 is worse) and its interval
    higher = direction == "higher"
    g_lo, g_hi = (_inv(hi), _inv(lo)) if higher else (lo, hi)
    f = min_factor
    if math.isnan(g_lo) or math.isnan(g_hi):
        verdict, reason = "uncertain", "the ratio is undefined (zero baseline)"
    elif p < alpha and g_lo >= f:
        verdict, reason = "worse", f"significant (p={p:.2g}) and at least {f:g}x worse"
    elif p < alpha and g_hi <= 1 / f:
        verdict, reason = "better", f"significant (p={p:.2g}) and at least {f:g}x better"
    elif 1 / f < g_lo and g_hi < f:
        verdict, reason = "unchanged", f"interval within {f:g}x"
    elif not p < alpha:
        verdict, reason = "uncertain", f"not significant (p={p:.2g}) and the interval reaches {f:g}x"
    else:
        verdict, reason = "uncertain", f"significant (p={p:.2g}) but the interval straddles {f:g}x"
    out.update(verdict=verdict, reason=reason)
    if verdict in ("worse", "better"):
        out.update(kind="regression" if verdict == "worse" else "improvement", severity=severity_of(effect_of(ratio)))
    return out

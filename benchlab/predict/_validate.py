"""Checking simulated or predicted results against measurements.

* :func:`validate` — per metric: MAPE, RMSE, bias, Spearman rank correlation
  and a rating;
* :func:`calibrate` — a log-linear correction from simulated to measured per
  hardware and metric, judged out of sample by K-fold cross-validation;
* :func:`drift` — whether a simulator's error changes over time, with the
  change-point engine :func:`benchlab.regress.changepoints`.

Ratings (:data:`RATINGS`) — a metric is rated

==============  =========  =============  ==================
rating          MAPE       abs(bias)      Spearman
==============  =========  =============  ==================
``good``        ≤ 10 %     ≤ 5 %          ≥ 0.90
``acceptable``  ≤ 25 %     ≤ 15 %         ≥ 0.70
``poor``        otherwise
==============  =========  =============  ==================

(Spearman is ignored with fewer than 3 pairs.)  ``bias`` is the geometric mean
ratio of simulated (predicted) to measured values minus one: +8 % means the
simulator reads 8 % high on average.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from benchlab.predict._model import PredictionError

__all__ = ["RATINGS", "validate", "calibrate", "Calibration", "drift", "pair"]

IDENTITY = ["benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric"]
#: (rating, max MAPE, max abs bias, min Spearman), best first.
RATINGS: tuple[tuple[str, float, float, float], ...] = (
    ("good", 0.10, 0.05, 0.90),
    ("acceptable", 0.25, 0.15, 0.70),
)


def _value_column(f: pl.DataFrame) -> str:
    for c in ("value", "prediction"):
        if c in f.columns:
            return c
    raise PredictionError(f"the frame has no 'value' or 'prediction' column (columns: {', '.join(f.columns)})")


def pair(estimated: pl.DataFrame, measured: pl.DataFrame, *, extra: Sequence[str] = ()) -> pl.DataFrame:
    """Join estimated and measured values of the same configuration.

    Several results of one configuration on a side are combined (median).
    Returns the identity columns (plus ``extra``) with ``estimate``,
    ``measured``, ``unit`` and ``estimate_provenance``.
    """
    keys = [c for c in IDENTITY if c in estimated.columns and c in measured.columns] + list(extra)
    if "metric" not in keys:
        raise PredictionError("both frames need a 'metric' column to be paired")
    ev, mv = _value_column(estimated), _value_column(measured)
    if "provenance" in measured.columns:
        measured = measured.filter(pl.col("provenance").is_null() | (pl.col("provenance") == "measured"))
    prov = pl.col("provenance").drop_nulls().first() if "provenance" in estimated.columns else pl.lit("estimated")
    est = estimated.filter(pl.col(ev) > 0).group_by(keys).agg(
        pl.col(ev).median().alias("estimate"), prov.alias("estimate_provenance"),
        *([pl.col("unit").first()] if "unit" in estimated.columns else []),
    )  # fmt: skip
    mea = measured.filter(pl.col(mv) > 0).group_by(keys).agg(pl.col(mv).median().alias("measured"))
    return est.join(mea, on=keys, how="inner", nulls_equal=True)


def _rating(mape: float, bias: float, rho: float) -> str:
    for name, m, b, r in RATINGS:
        if mape <= m and abs(bias) <= b and (not np.isfinite(rho) or rho >= r):
            return name
    return "poor"


def _stats(est: np.ndarray, mea: np.ndarray) -> dict[str, float]:
    ratio = est / mea
    lr = np.log(ratio)
    rho = float(spearmanr(est, mea)[0]) if len(est) >= 3 and np.ptp(est) > 0 and np.ptp(mea) > 0 else float("nan")
    return {
        "mape": float(np.mean(np.abs(ratio - 1))),
        "rmse": float(np.sqrt(np.mean((est - mea) ** 2))),
        "rmse_log": float(np.sqrt(np.mean(lr**2))),
        "bias": float(np.exp(np.mean(lr)) - 1),
        "spearman": rho,
    }


def validate(estimated: pl.DataFrame, measured: pl.DataFrame, *, by: Sequence[str] = ("metric",)) -> pl.DataFrame:
    """Accuracy of simulated or predicted results against measurements.

    Parameters
    ----------
    estimated : polars.DataFrame
        Simulated results (a results frame) or predictions (``prediction`` or
        ``value`` column).
    measured : polars.DataFrame
        Measured results of (some of) the same configurations.
    by : sequence of str
        Grouping, ``("metric",)`` by default; add ``"hardware"`` for a per
        system table.

    Returns
    -------
    polars.DataFrame
        Per group: ``n`` pairs, ``mape``, ``rmse`` (in the metric's unit),
        ``rmse_log``, ``bias``, ``spearman``, ``rating`` (see :data:`RATINGS`)
        and ``estimate_provenance``.

    Raises
    ------
    PredictionError
        If no configuration appears in both frames.
    """
    p = pair(estimated, measured)
    if p.is_empty():
        raise PredictionError("no configuration appears in both frames; nothing to validate")
    rows = []
    for key, g in p.group_by(list(by), maintain_order=True):
        s = _stats(g["estimate"].to_numpy(), g["measured"].to_numpy())
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "unit": g["unit"][0] if "unit" in g.columns else None,
                "n": g.height,
                **s,
                "rating": _rating(s["mape"], s["bias"], s["spearman"]),
                "estimate_provenance": g["estimate_provenance"].drop_nulls().first()
                if g["estimate_provenance"].drop_nulls().len()
                else None,
            }
        )
    return pl.DataFrame(rows).sort(list(by))


# -- calibration ------------------------------------------------------------------------------
def _fit_loglinear(x: np.ndarray, y: np.ndarray, min_slope_points: int) -> tuple[float, float]:
    """``log y = a + b log x``; with fewer than ``min_slope_points`` pairs only the offset (b = 1)."""
    lx, ly = np.log(x), np.log(y)
    if len(x) >= min_slope_points and np.ptp(lx) > 0:
        b, a = np.polyfit(lx, ly, 1)
        return float(a), float(b)
    return float(np.mean(ly - lx)), 1.0


@dataclass
class Calibration:
    """A per-(hardware, metric) log-linear correction of simulated results.

    Attributes
    ----------
    table : polars.DataFrame
        Per group: ``n``, intercept ``a`` and slope ``b`` of
        ``log(measured) = a + b log(simulated)``, the MAPE of the raw simulation
        and the cross-validated MAPE after correction (``mape_raw``,
        ``mape_calibrated_cv``), and ``use`` — whether the correction helps out
        of sample (only then does :meth:`apply` use it).
    by : list of str
        The grouping columns.
    """

    table: pl.DataFrame
    by: list[str] = field(default_factory=list)

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Correct ``frame``'s values where a helpful correction exists.

        The corrected value replaces ``value``; the original is kept as
        ``raw_value`` and ``calibrated`` says whether a correction was applied.
        Provenance is unchanged: a calibrated simulation is still simulated.
        """
        col = _value_column(frame)
        t = self.table.filter(pl.col("use")).select(*self.by, "a", "b")
        out = frame.join(t, on=self.by, how="left", nulls_equal=True)
        corrected = (pl.col("a") + pl.col("b") * pl.col(col).log()).exp()
        return (
            out.with_columns(
                raw_value=pl.col(col),
                calibrated=pl.col("a").is_not_null(),
            )
            .with_columns(pl.when(pl.col("a").is_not_null()).then(corrected).otherwise(pl.col(col)).alias(col))
            .drop("a", "b")
        )


def calibrate(
    simulated: pl.DataFrame,
    measured: pl.DataFrame,
    *,
    by: Sequence[str] = ("hardware", "metric"),
    k: int = 5,
    min_slope_points: int = 6,
    seed: int = 0,
) -> Calibration:
    """Fit a correction from simulated to measured values, judged out of sample.

    Parameters
    ----------
    simulated, measured : polars.DataFrame
        Results of the same configurations.
    by : sequence of str
        One correction per group (default: per hardware and metric).
    k : int
        Folds of the cross-validation (leave-one-out for small groups).
    min_slope_points : int
        Fewer pairs than this fit only a constant factor (slope 1).
    seed : int
        Fold assignment seed.

    Returns
    -------
    Calibration
    """
    p = pair(simulated, measured)
    if p.is_empty():
        raise PredictionError("no configuration appears in both frames; nothing to calibrate")
    rng = np.random.default_rng(seed)
    rows = []
    for key, g in p.group_by(list(by), maintain_order=True):
        x, y = g["estimate"].to_numpy(), g["measured"].to_numpy()
        n = len(x)
        a, b = _fit_loglinear(x, y, min_slope_points)
        raw = float(np.mean(np.abs(x / y - 1)))
        cv = float("nan")
        if n >= 2:
            kk = min(k, n)
            fold = rng.permutation(np.arange(n) % kk)
            pred = np.empty(n)
            for j in range(kk):
                tr, te = fold != j, fold == j
                aj, bj = _fit_loglinear(x[tr], y[tr], min_slope_points)
                pred[te] = np.exp(aj + bj * np.log(x[te]))
            cv = float(np.mean(np.abs(pred / y - 1)))
        rows.append({**dict(zip(by, key, strict=True)), "n": n, "a": a, "b": b, "mape_raw": raw,
                     "mape_calibrated_cv": cv, "use": bool(np.isfinite(cv) and cv < raw)})  # fmt: skip
    return Calibration(pl.DataFrame(rows).sort(list(by)), list(by))


# -- drift ------------------------------------------------------------------------------------
def drift(
    simulated: pl.DataFrame,
    measured: pl.DataFrame,
    *,
    by: Sequence[str] = ("hardware", "metric"),
    time: str = "timestamp",
    match: Sequence[str] = ("commit",),
    **changepoint_options: Any,
) -> pl.DataFrame:
    """Detect changes over time in a simulator's error.

    Simulated and measured results are paired per configuration and per
    ``match`` column (the commit, by default, when both sides have it), the
    log error ``log(simulated / measured)`` is ordered by the simulated
    result's ``time``, and :func:`benchlab.regress.changepoints` looks for
    shifts in it, per group.

    Returns
    -------
    polars.DataFrame
        Per group: ``n`` pairs, ``drifted`` (any change point), ``changes`` (the
        times at which the error changed), ``error_first`` and ``error_last``
        (mean error of the first and last segment, as a fraction: +0.1 = reads
        10 % high), and ``error_series`` (the errors in time order).
    """
    from benchlab.regress import changepoints

    for f, name in ((simulated, "simulated"), (measured, "measured")):
        if time not in f.columns:
            raise PredictionError(f"the {name} frame has no {time!r} column to order by")
    extra = [c for c in match if c in simulated.columns and c in measured.columns
             and simulated[c].null_count() < simulated.height and measured[c].null_count() < measured.height]  # fmt: skip
    sim = simulated.group_by([c for c in IDENTITY if c in simulated.columns] + extra).agg(pl.col(time).min())
    p = pair(simulated, measured, extra=extra).join(
        sim, on=[c for c in IDENTITY if c in simulated.columns] + extra, how="left", nulls_equal=True
    )
    if p.is_empty():
        raise PredictionError("no configuration appears in both frames; nothing to check for drift")
    rows = []
    for key, g in p.sort(time).group_by(list(by), maintain_order=True):
        err = np.log(g["estimate"].to_numpy() / g["measured"].to_numpy())
        cps = changepoints(err, **changepoint_options) if len(err) else []
        bounds = [0, *cps, len(err)]
        seg = [float(np.exp(np.mean(err[a:b])) - 1) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
        times = g[time].to_list()
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n": len(err),
                "drifted": bool(cps),
                "changes": [times[i] for i in cps],
                "error_first": seg[0] if seg else None,
                "error_last": seg[-1] if seg else None,
                "error_series": (np.exp(err) - 1).tolist(),
            }
        )
    return pl.DataFrame(rows).sort(list(by))

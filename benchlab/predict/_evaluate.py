"""Honest accuracy figures: K-fold cross-validation of the performance model.

Every row is predicted by a model fitted without it (nor anything fitted on
it: the conformal calibration runs inside each training fold), so the MAPE,
the share within ±10 % and the interval coverage printed here are what a user
should expect for a configuration nobody measured — as long as it resembles the
held-out ones (a row whose system appears nowhere else is as hard to predict in
production as it is here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr

__all__ = ["cross_validate", "accuracy"]


def accuracy(
    measured: np.ndarray, predicted: np.ndarray, lower: np.ndarray | None = None, upper: np.ndarray | None = None
) -> dict[str, float]:
    """MAPE, median APE, share within ±10 %, coverage, Spearman of paired values."""
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ok = np.isfinite(measured) & np.isfinite(predicted) & (measured > 0)
    ape = np.abs(predicted[ok] - measured[ok]) / measured[ok]
    out: dict[str, float] = {
        "n": float(ok.sum()),
        "mape": float(np.mean(ape)) if ok.any() else float("nan"),
        "median_ape": float(np.median(ape)) if ok.any() else float("nan"),
        "within_10pct": float(np.mean(ape <= 0.10)) if ok.any() else float("nan"),
        "spearman": float(spearmanr(measured[ok], predicted[ok])[0]) if ok.sum() > 2 else float("nan"),
    }
    if lower is not None and upper is not None:
        lo, hi = np.asarray(lower, dtype=float)[ok], np.asarray(upper, dtype=float)[ok]
        have = ~np.isnan(lo) & ~np.isnan(hi)
        m = measured[ok][have]
        out["coverage"] = float(np.mean((lo[have] <= m) & (m <= hi[have]))) if have.any() else float("nan")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["median_width_ratio"] = float(np.median(hi[have] / lo[have])) if have.any() else float("nan")
    return out


def cross_validate(
    frame: pl.DataFrame,
    *,
    k: int = 10,
    hardware: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
    coverage: float = 0.9,
    seed: int = 0,
    make_model: Callable[[], Any] | None = None,
    progress: bool = False,
) -> tuple[pl.DataFrame, dict[str, float]]:
    """K-fold cross-validation over rows.

    Parameters
    ----------
    frame : polars.DataFrame
        Results (with ``value``).
    k : int
        Number of folds.
    hardware, models : polars.DataFrame, optional
        Catalogues passed to :meth:`PerformanceModel.fit`.
    coverage : float
        Interval coverage asked for.
    seed : int
        Fold assignment seed.
    make_model : callable, optional
        Returns a fresh unfitted model (default :class:`PerformanceModel` with
        its defaults); anything with ``fit(frame, hardware=, models=)`` and
        ``predict(frame, coverage=)``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    rows : polars.DataFrame
        The input rows with ``fold``, ``prediction``, ``lower``, ``upper`` and
        ``ape`` (absolute percentage error, as a fraction).
    summary : dict
        ``accuracy()`` of all rows: ``mape``, ``median_ape``, ``within_10pct``,
        ``coverage``, ``spearman``, ``n``.
    """
    from benchlab._progress import progress_iter
    from benchlab.predict._model import PerformanceModel

    if make_model is None:
        make_model = PerformanceModel
    f = frame.filter(pl.col("value").is_not_null() & (pl.col("value") > 0)).with_row_index("_cv_row")
    n = f.height
    fold = np.random.default_rng(seed).permutation(np.arange(n) % k)
    f = f.with_columns(fold=pl.Series(fold))
    parts = []
    for j in progress_iter(range(k), enabled=progress, description="cross-validating"):
        train = f.filter(pl.col("fold") != j).drop("_cv_row", "fold")
        test = f.filter(pl.col("fold") == j)
        model = make_model().fit(train, hardware=hardware, models=models)
        p = model.predict(test.drop("fold"), coverage=coverage)
        parts.append(p.select("_cv_row", "prediction", "lower", "upper", "basis", "n_neighbours"))
    preds = pl.concat(parts)
    rows = f.join(preds, on="_cv_row", how="left").sort("_cv_row").drop("_cv_row")
    rows = rows.with_columns(ape=(pl.col("prediction") - pl.col("value")).abs() / pl.col("value"))
    summary = accuracy(
        rows["value"].to_numpy(), rows["prediction"].to_numpy(), rows["lower"].to_numpy(), rows["upper"].to_numpy()
    )
    return rows, summary

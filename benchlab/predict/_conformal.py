"""Conformal prediction intervals: normalized CV+ and split conformal.

Both work on *normalized* nonconformity scores ``R = |z - mu(x)| / sigma(x)``,
where ``z`` is the log-speed (or log-value) of a held-out cell, ``mu`` the
prediction of a model that did not see it and ``sigma`` that model's own
difficulty estimate for the cell (the spread of the estimates it pooled, see
:mod:`benchlab.predict._model`).  Normalizing makes intervals wide where the
model is unsure (an unseen system) and narrow where similar measurements agree,
while the conformal step calibrates the overall width.

CV+ (Barber, Candès, Ramdas & Tibshirani 2021, "Predictive inference with the
jackknife+", Ann. Statist.) with K folds: for a test point ``x`` the interval is
``[q_lo{mu_-k(i)(x) - R_i sigma_-k(i)(x)}, q_hi{mu_-k(i)(x) + R_i sigma_-k(i)(x)}]``
with ``q_lo`` the ``floor(alpha (n+1))``-th smallest and ``q_hi`` the
``ceil((1-alpha)(n+1))``-th smallest value over the n calibration cells; its
coverage is guaranteed to be at least ``1 - 2 alpha - sqrt(2/n)``-ish in the
worst case and is ``1 - alpha`` in practice.  Split conformal (Lei et al. 2018)
uses one calibration split and guarantees ``1 - alpha`` exactly (marginally);
benchlab switches to it for large data, where K refits would cost too much.

The model calibrates predictions that rest on measured neighbours, those that
rest on parallel workload pairs, those that rest on other metrics only and
those made from features alone separately, and each of these per rule set
(MLPerf's open and closed division) where it has enough calibration cells (a
Mondrian taxonomy, Vovk et al. 2005, "Algorithmic Learning in a Random
World", ch. 4), so that each kind gets the stated coverage rather than only
their mix.

Written by hand (about 60 lines) because the packaged implementations (MAPIE)
expect scikit-learn estimators over a fixed feature matrix, whereas these
models are refitted on cells with their own neighbourhood structure.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cv_plus_interval", "split_interval", "scores"]


def scores(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normalized nonconformity scores ``|z - mu| / sigma``."""
    return np.abs(z - mu) / sigma


def _ranks(n: int, alpha: float) -> tuple[int, int]:
    lo = math.floor(alpha * (n + 1))
    hi = math.ceil((1 - alpha) * (n + 1))
    return lo, hi


def split_interval(mu: np.ndarray, sigma: np.ndarray, r: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Split-conformal interval from calibration scores ``r``.

    Infinite when there are too few calibration scores for the level asked
    (fewer than ``1/alpha - 1``): no finite interval would be guaranteed.
    """
    n = len(r)
    _, hi = _ranks(n, alpha)
    if hi > n or n == 0:
        return np.full(len(mu), -np.inf), np.full(len(mu), np.inf)
    q = np.partition(r, hi - 1)[hi - 1]
    return mu - q * sigma, mu + q * sigma


def cv_plus_interval(
    mus: np.ndarray, sigmas: np.ndarray, fold_scores: list[np.ndarray], alpha: float, *, chunk_cells: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """Normalized CV+ interval.

    Parameters
    ----------
    mus, sigmas : ndarray, shape (K, T)
        Predictions and difficulty of each fold model at the T test points.
    fold_scores : list of ndarray
        The calibration scores of the cells each fold model held out.
    alpha : float
        Miscoverage level (0.1 for a 90 % interval).

    Returns
    -------
    lower, upper : ndarray, shape (T,)
        Infinite when there are too few calibration cells for the level.
    """
    n = sum(len(s) for s in fold_scores)
    k, t = mus.shape
    lo_rank, hi_rank = _ranks(n, alpha)
    if lo_rank < 1 or hi_rank > n:
        return np.full(t, -np.inf), np.full(t, np.inf)
    fold_of = np.concatenate([np.full(len(s), i) for i, s in enumerate(fold_scores)])
    r = np.concatenate(fold_scores)
    lower = np.empty(t)
    upper = np.empty(t)
    step = max(1, chunk_cells // max(n, 1))
    for a in range(0, t, step):
        b = min(t, a + step)
        m = mus[fold_of, a:b]  # (n, chunk)
        s = sigmas[fold_of, a:b]
        lows = m - r[:, None] * s
        highs = m + r[:, None] * s
        lower[a:b] = np.partition(lows, lo_rank - 1, axis=0)[lo_rank - 1]
        upper[a:b] = np.partition(highs, hi_rank - 1, axis=0)[hi_rank - 1]
    return lower, upper

"""Which benchmark to run next: expected information per unit of cost.

For each unmeasured candidate configuration ``x`` (log scale, one metric group)

* the model's uncertainty ``sigma^2(x)`` — the pooled variance of its estimate
  plus the disagreement between the neighbours it pooled (see
  :mod:`benchlab.predict._model`);
* the *committee spread* ``c(x)``: how differently the other systems that ran
  the same workload behave on it (variance of their values after removing each
  system's overall level).  A workload on which systems disagree tells the most
  about which of them a new system resembles; this also ranks candidates on a
  system with no measurement yet, where ``sigma^2`` is the same everywhere;

give the expected information of measuring ``x``, in nats, as for a Gaussian
observation with noise ``nu`` (the replicate noise of the data):
``I(x) = 0.5 * log(1 + (sigma^2(x) + c(x)) / nu)``.  On a system with no
measurement at all, the first measurement mainly fixes the system's overall
level, which a *typical* workload reveals best, so there the roles swap:
``I(x) = 0.5 * log(1 + sigma^2(x) / (nu + c(x)))``.

The score is ``I(x) / cost(x)``, with the cost the expected run time
(predicted latency × iterations, or iterations / predicted throughput) or a
column the user supplies.  ``k`` candidates are picked greedily; after each
pick the others' scores are multiplied by ``1 - diversity * sim``, where ``sim``
is the squared correlation of the candidate with the picked one: of their
workload profiles across systems when they share the system, of their system
profiles across workloads when they share the workload.  So a batch spreads
over dissimilar configurations instead of piling onto one region.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchlab.predict._model import _BASIS, PerformanceModel, PredictionError
from benchlab.units import UnknownUnitError, parse_unit

__all__ = ["suggest_next"]


def _centered(core: object) -> np.ndarray | None:
    """The group's hardware × workload matrix with each system's mean removed (NaN = missing)."""
    Y, M = getattr(core, "Y", None), getattr(core, "M", None)
    if Y is None or M is None:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (Y * M).sum(axis=1) / np.maximum(M.sum(axis=1), 1)
    return np.where(M > 0, Y - means[:, None], np.nan)


def _corr2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared correlation of vector ``a`` with each column of ``b`` over rows both have (NaN = missing)."""
    ok = ~np.isnan(b) & ~np.isnan(a)[:, None]
    n = ok.sum(axis=0)
    A = np.where(ok, a[:, None], 0.0)
    B = np.where(ok, b, 0.0)
    ma = A.sum(axis=0) / np.maximum(n, 1)
    mb = B.sum(axis=0) / np.maximum(n, 1)
    da = np.where(ok, A - ma, 0.0)
    db = np.where(ok, B - mb, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    return np.where((n >= 3) & np.isfinite(r), r * r, 0.0)


def _committee(core: object, C: np.ndarray, hi: np.ndarray, wi: np.ndarray) -> np.ndarray:
    """Disagreement of all systems that ran each candidate's workload, aligned to its system.

    Each other system ``r`` predicts ``z[r, w] + offset(h, r)`` (the mean
    difference over the workloads both ran) with weight ``1 / var(h, r)``, the
    consistency of that offset; the weighted variance of these predictions is
    what a measurement of ``(h, w)`` would settle.  For a system with no
    workload in common with ``r`` the offset is unknown and each system's own
    mean is removed instead (``C``).
    """
    out = np.zeros(len(hi))
    Y, M = core.Y, core.M  # type: ignore[attr-defined]
    for h in np.unique(hi):
        rows = np.nonzero((hi == h) & (wi >= 0))[0]
        if not len(rows):
            continue
        w = wi[rows]
        if h >= 0:
            n = core.pair_n[h]  # type: ignore[attr-defined]
            mean, var = core._shrunk(n, core.pair_s1[h], core.pair_s2[h])  # type: ignore[attr-defined]
            aligned = n >= 1
            aligned[h] = False
        else:
            aligned = np.zeros(Y.shape[0], dtype=bool)
            mean = var = np.zeros(Y.shape[0])
        # systems × candidates: aligned prediction where the offset is known, centred value otherwise
        e = np.where(aligned[:, None], Y[:, w] + mean[:, None], C[:, w])
        ok = M[:, w] > 0
        if h >= 0:
            ok[h, :] = False
        if aligned.any():
            wt = np.where(aligned, 1.0 / np.where(np.isfinite(var) & (var > 0), var, np.inf), 0.0)
            # an unaligned system counts like the least consistent aligned one
            fallback = wt[aligned].min() if aligned.any() else 1.0
            wt = np.where(aligned, wt, fallback)
        else:
            wt = np.ones(Y.shape[0])
        W = np.where(ok, wt[:, None], 0.0)
        sw = W.sum(axis=0)
        e = np.where(ok, e, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = (W * e).sum(axis=0) / sw
            d = (W * (e - mu) ** 2).sum(axis=0) / sw
        out[rows] = np.where((ok.sum(axis=0) >= 2) & np.isfinite(d), d, 0.0)
    return out


def _time_cost(units: list[str | None], prediction: np.ndarray, iterations: float) -> np.ndarray:
    """Expected run time (arbitrary but common units) of each candidate."""
    cost = np.ones(len(units))
    for i, (u, p) in enumerate(zip(units, prediction, strict=True)):
        try:
            dim = parse_unit(u).dimension
        except UnknownUnitError:
            continue
        if not np.isfinite(p) or p <= 0:
            continue
        if dim == "time":
            cost[i] = p * iterations  # ms per iteration × iterations
        elif dim == "rate":
            cost[i] = 1000.0 * iterations / p  # items/s → ms for `iterations` items
    return cost


def suggest_next(
    model: PerformanceModel,
    candidates: pl.DataFrame,
    *,
    k: int = 1,
    cost: str | None = None,
    iterations: float = 1.0,
    diversity: float = 1.0,
    coverage: float | None = None,
) -> pl.DataFrame:
    """Rank unmeasured configurations by expected information per unit cost.

    Parameters
    ----------
    model : PerformanceModel
        Fitted on what has been measured so far.
    candidates : polars.DataFrame
        Configurations that could be run next (same columns as for
        :meth:`PerformanceModel.predict`).
    k : int
        How many to pick.
    cost : str, optional
        ``None`` (default): the expected run time, from the model's own
        prediction of the candidate's latency (× ``iterations``) or throughput
        (``iterations`` items); candidates of other metrics cost 1.
        ``"uniform"``: every candidate costs 1.  Any other string: the name of a
        positive column of ``candidates`` holding the cost (a user weight).
    iterations : float
        Iterations a benchmark run takes (scales the expected run time).
    diversity : float, default 1.0
        Strength of the penalty for picks similar to earlier picks (0 = none).
    coverage : float, optional
        Coverage of the prediction intervals shown.

    Returns
    -------
    polars.DataFrame
        The ``k`` picks in order: the candidate's columns plus ``rank``,
        ``information`` (nats), ``cost``, ``score`` (information per cost after
        the diversity penalty), and the model's current ``prediction``,
        ``lower``, ``upper`` and ``basis`` — with ``provenance = "predicted"``.

    Raises
    ------
    PredictionError
        If ``cost`` names a missing or non-positive column, or the model cannot
        predict the candidates' metric.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if candidates.is_empty():
        raise PredictionError("no candidate configurations to choose from")
    model._check_fitted()
    level = model.coverage if coverage is None else coverage
    filled, prepared = model._prepare_rows(candidates)
    arr = model._arrays(prepared, level)
    t = prepared.height
    spread = np.zeros(t)
    fresh = np.zeros(t, dtype=bool)
    noise = np.ones(t)
    hw_idx = np.full(t, -1)
    wl_idx = np.full(t, -1)
    group_of = prepared["group"].to_numpy()
    profiles = {}
    for name, g in model._groups.items():
        sel = np.nonzero(group_of == name)[0]
        if not len(sel):
            continue
        core = g.core
        enc = g.shared.encoding.encode(prepared[sel])
        hc, wc = enc.codes["hw"], enc.codes["workload"]
        hi = np.where(hc >= 0, core.hw_map[np.maximum(hc, 0)], -1)
        wi = np.where(wc >= 0, core.wl_map[np.maximum(wc, 0)], -1)
        hw_idx[sel], wl_idx[sel] = hi, wi
        noise[sel] = max(core.rep_var, 1e-4)
        C = _centered(core)
        profiles[name] = C
        if C is None:
            continue
        spread[sel] = _committee(core, C, hi, wi)
        fresh[sel] = np.where(hi >= 0, core.M[np.maximum(hi, 0)].sum(axis=1) if core.M is not None else 0, 0) == 0
    var = np.nan_to_num(arr["var"], nan=1.0)
    # A system with no measurement yet: the first one mostly pins down its overall
    # level, and it does so best on a typical workload (small spread).  Later
    # measurements discriminate between the systems it may resemble.
    info = np.where(fresh, 0.5 * np.log1p(var / (noise + spread)), 0.5 * np.log1p((var + spread) / noise))
    if cost is None:
        costs = _time_cost(filled["unit"].to_list(), arr["pred"], iterations)
    elif cost == "uniform":
        costs = np.ones(t)
    else:
        if cost not in candidates.columns:
            raise PredictionError(
                f"cost column {cost!r} is not in the candidates (columns: {', '.join(candidates.columns)})"
            )
        costs = candidates[cost].cast(pl.Float64).to_numpy()
        if np.any(~np.isfinite(costs)) or np.any(costs <= 0):
            raise PredictionError(f"cost column {cost!r} must hold positive numbers for every candidate")
    base = info / costs
    score = base.copy()
    picked: list[int] = []
    final: list[float] = []
    hw_key = prepared["hw"].to_numpy()
    wl_key = prepared["workload"].to_numpy()
    for _ in range(min(k, t)):
        avail = np.ones(t, dtype=bool)
        avail[picked] = False
        i = int(np.argmax(np.where(avail, score, -np.inf)))
        picked.append(i)
        final.append(float(score[i]))
        if diversity <= 0:
            continue
        sim = np.zeros(t)
        same_hw = (hw_key == hw_key[i]) & (group_of == group_of[i])
        same_wl = (wl_key == wl_key[i]) & (group_of == group_of[i])
        sim[same_hw & same_wl] = 1.0
        C = profiles.get(group_of[i])
        if C is not None:
            if wl_idx[i] >= 0:
                m = same_hw & (wl_idx >= 0) & ~same_wl
                if m.any():
                    sim[m] = _corr2(C[:, wl_idx[i]], C[:, wl_idx[m]])
            if hw_idx[i] >= 0:
                m = same_wl & (hw_idx >= 0) & ~same_hw
                if m.any():
                    sim[m] = _corr2(C[hw_idx[i], :], C[hw_idx[m], :].T)
        score = score * (1.0 - diversity * np.clip(sim, 0.0, 1.0))
    order = np.array(picked, dtype=np.int64)
    return filled[order].with_columns(
        rank=pl.Series(np.arange(1, len(order) + 1)),
        information=pl.Series(info[order]),
        cost=pl.Series(costs[order]),
        score=pl.Series(final),
        prediction=pl.Series(arr["pred"][order]),
        lower=pl.Series(arr["lower"][order]).fill_nan(None),
        upper=pl.Series(arr["upper"][order]).fill_nan(None),
        basis=pl.Series(_BASIS[arr["basis"][order]]),
        provenance=pl.lit("predicted"),
    )

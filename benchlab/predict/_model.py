"""The performance model: a regularised additive prior refined by measured neighbours.

Method (per metric group, in log space; see :mod:`benchlab.predict._features`)
-------------------------------------------------------------------------------
1. **Prior: regularised additive log model.**  Ridge regression on a sparse
   one-hot design — hardware effect + workload effect + effects of every part
   of the workload (model, precision, batch size, scenario …) and of the
   hardware's catalogue attributes, plus interactions (this hardware × this
   model, GPU × this precision, log accelerator count × this scenario …).  It
   predicts any configuration, including a model never run on that hardware or
   an unseen batch size, from the effects it shares with measured ones.  Its
   error variance ``v0`` is measured on a random 10 % hold-out of the training
   cells (separately for cells whose hardware and workload were seen and those
   where one of them was new).
2. **Neighbours: ratios to similar measurements.**  Performance data are
   close to low-rank in log space: two systems differ by an almost constant
   factor over many workloads, and two workloads by an almost constant factor
   over many systems.  For a target (hardware h, workload w) every measured
   neighbour gives an estimate

   * *hardware side*: ``z[h', w] + mean_u(z[h, u] - z[h', u])`` over the
     workloads u both systems ran;
   * *workload side*: ``z[h, w'] + mean_g(z[g, w] - z[g, w'])`` over the systems
     g that ran both workloads;

   with variance ``s^2 (1 + 1/n)``, where ``s^2`` is the spread of those
   differences, shrunk towards a typical spread ``tau^2`` with one pseudo
   observation (``(SS + tau^2) / n``), and ``n`` the number of shared
   measurements.  (This is the neighbourhood model of collaborative filtering,
   with the neighbour weights set by how consistent each ratio is.)
3. **Pooling.**  The ``k`` most precise estimates (prior, neighbours and —
   when the configuration itself was measured — its own measurement) are
   combined by inverse-variance weighting.  The model's difficulty for the
   target is ``sigma^2 = 1/sum(w) + sum(w (e - mu)^2)/sum(w)``: the pooled
   variance plus the disagreement between the estimates.  Conformal prediction
   (:mod:`benchlab.predict._conformal`) turns ``sigma`` into calibrated
   intervals.

Everything is vectorised with NumPy/SciPy (dense hardware × workload matrices,
pairwise statistics by matrix products), so 100 000 results fit in seconds.
The neighbourhood step is skipped (prior only) when the hardware × workload
matrix of a group would exceed ``max_matrix`` cells.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.linalg
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from benchlab.errors import BenchlabError
from benchlab.frame import series_key
from benchlab.predict._conformal import cv_plus_interval, scores, split_interval
from benchlab.predict._features import Design, cells, prepare

__all__ = ["PerformanceModel", "PredictionError", "MODEL_NAME", "MODEL_VERSION"]

MODEL_NAME = "benchlab.predict.PerformanceModel"
#: Bump when the method changes in a way that changes predictions.
MODEL_VERSION = "1.0"

_BASIS = np.array(["features", "neighbours", "measured"])


class PredictionError(BenchlabError):
    """A prediction cannot be made from the data given (no training data for a metric …)."""


def _ridge(X: sp.csr_matrix, y: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge coefficients without intercept.

    Few cells: the exact dual solution ``X' (X X' + alpha I)^-1 y`` (a dense
    n × n solve, milliseconds for n ≤ 4000).  Many cells: scikit-learn's
    sparse LSQR solver.
    """
    n = X.shape[0]
    if n <= 4000:
        K = (X @ X.T).toarray()
        K[np.diag_indices(n)] += alpha
        c = scipy.linalg.solve(K, y, assume_a="pos")
        return np.asarray(X.T @ c).ravel()
    ridge = Ridge(alpha=alpha, fit_intercept=False, solver="lsqr", tol=1e-5)
    ridge.fit(X, y)
    return np.asarray(ridge.coef_, dtype=float)


# -- one metric group ---------------------------------------------------------------------
@dataclass
class _Core:
    """Prior + neighbourhood model of one metric group, fitted on cells."""

    ridge_alpha: float = 0.3
    neighbours: int = 5
    max_candidates: int = 128
    max_matrix: int = 10_000_000
    seed: int = 0
    # fitted state
    mean: float = 0.0
    design: Design = field(default_factory=Design)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v0_known: float = 1.0
    v0_new: float = 1.0
    tau2: float = 0.05
    rep_var: float = 0.01
    hw_index: pl.DataFrame | None = None
    wl_index: pl.DataFrame | None = None
    Y: np.ndarray | None = None
    M: np.ndarray | None = None
    cell_n: np.ndarray | None = None
    pair_n: np.ndarray | None = None
    pair_s1: np.ndarray | None = None
    pair_s2: np.ndarray | None = None

    # ---- fitting ----
    def _fit_prior(self, c: pl.DataFrame) -> tuple[Design, np.ndarray, float]:
        z = c["z"].to_numpy()
        mean = float(np.mean(z))
        design = Design().fit(c)
        X = design.transform(c)
        if X.shape[1] == 0 or X.nnz == 0:
            return design, np.zeros(X.shape[1]), mean
        return design, _ridge(X, z - mean, self.ridge_alpha), mean

    def _prior_variance(self, c: pl.DataFrame) -> tuple[float, float]:
        z = c["z"].to_numpy()
        n = len(z)
        total = float(np.var(z)) if n > 1 else 1.0
        if n < 20:
            return max(total, 1e-4), max(total, 1e-4)
        rng = np.random.default_rng(self.seed + 7919)
        m = min(max(5, n // 10), 5000)
        hold = np.zeros(n, dtype=bool)
        hold[rng.choice(n, m, replace=False)] = True
        train, test = c.filter(pl.Series(~hold)), c.filter(pl.Series(hold))
        design, coef, mean = self._fit_prior(train)
        err2 = (design.transform(test) @ coef + mean - test["z"].to_numpy()) ** 2
        seen = test["hw"].is_in(train["hw"].implode()).to_numpy() & test["workload"].is_in(train["workload"].implode()).to_numpy()
        overall = float(np.mean(err2))
        known = float(np.mean(err2[seen])) if seen.sum() >= 5 else overall
        # A new system or workload is at least as hard as a known one.
        new = max(float(np.mean(err2[~seen])) if (~seen).sum() >= 5 else max(overall, total), known)
        return max(known, 1e-4), max(new, 1e-4)

    def fit(self, c: pl.DataFrame) -> _Core:
        self.design, self.coef, self.mean = self._fit_prior(c)
        self.v0_known, self.v0_new = self._prior_variance(c)
        hw = c["hw"].unique(maintain_order=True)
        wl = c["workload"].unique(maintain_order=True)
        self.hw_index = pl.DataFrame({"hw": hw, "hi": np.arange(len(hw), dtype=np.int64)})
        self.wl_index = pl.DataFrame({"workload": wl, "wi": np.arange(len(wl), dtype=np.int64)})
        reps = c.filter(pl.col("n") > 1)
        dof = float((reps["n"] - 1).sum()) if reps.height else 0.0
        if len(hw) * len(wl) > self.max_matrix:
            self.Y = None
            self.rep_var = float(reps["ss"].sum()) / dof if dof > 0 else 0.25 * self.v0_known
            return self
        hi = self._lookup(c, self.hw_index, "hw", "hi")
        wi = self._lookup(c, self.wl_index, "workload", "wi")
        Y = np.zeros((len(hw), len(wl)))
        M = np.zeros((len(hw), len(wl)))
        cn = np.zeros((len(hw), len(wl)))
        Y[hi, wi] = c["z"].to_numpy()
        M[hi, wi] = 1.0
        cn[hi, wi] = c["n"].to_numpy()
        self.Y, self.M, self.cell_n = Y, M, cn
        # Pairwise hardware statistics over shared workloads (matrix products).
        Y2 = Y * Y
        self.pair_n = M @ M.T
        self.pair_s1 = Y @ M.T - M @ Y.T
        self.pair_s2 = Y2 @ M.T + M @ Y2.T - 2.0 * (Y @ Y.T)
        iu = np.triu_indices(len(hw), 1)
        pn = self.pair_n[iu]
        ok = pn >= 3
        if ok.any():
            ss = np.maximum(self.pair_s2[iu][ok] - self.pair_s1[iu][ok] ** 2 / pn[ok], 0.0)
            self.tau2 = float(max(np.median(ss / (pn[ok] - 1)), 1e-4))
        else:
            self.tau2 = self.v0_known
        self.rep_var = float(reps["ss"].sum()) / dof if dof > 0 else 0.25 * self.tau2
        self.rep_var = max(self.rep_var, 1e-6)
        return self

    @staticmethod
    def _lookup(f: pl.DataFrame, index: pl.DataFrame, key: str, col: str) -> np.ndarray:
        out = f.select(key).join(index, on=key, how="left", maintain_order="left")[col]
        return out.fill_null(-1).to_numpy().astype(np.int64)

    # ---- prediction ----
    def _shrunk(self, n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n >= 1, s1 / np.maximum(n, 1), 0.0)
            ss = np.maximum(s2 - s1 * mean, 0.0)
            s2hat = (ss + self.tau2) / np.maximum(n, 1)  # (SS + tau^2 * 1) / (n - 1 + 1)
            var = np.where(n >= 1, s2hat * (1.0 + 1.0 / np.maximum(n, 1)), np.inf)
        return mean, var

    def predict(self, f: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Prediction ``mu``, difficulty ``sigma^2``, basis code and neighbour count per row."""
        t = f.height
        mu0 = self.design.transform(f) @ self.coef + self.mean if self.coef.size else np.full(t, self.mean)
        hi = self._lookup(f, self.hw_index, "hw", "hi")  # type: ignore[arg-type]
        wi = self._lookup(f, self.wl_index, "workload", "wi")  # type: ignore[arg-type]
        both = (hi >= 0) & (wi >= 0)
        v0 = np.where(both, self.v0_known, self.v0_new)
        mu, var = mu0.copy(), v0.copy()
        basis = np.zeros(t, dtype=np.int64)
        n_nb = np.zeros(t, dtype=np.int64)
        if self.Y is None or not both.any():
            return mu, var, basis, n_nb
        rows = np.nonzero(both)[0]
        nh = self.Y.shape[0]
        width = 2 + nh + self.max_candidates
        step = max(1, 4_000_000 // width)
        for a in range(0, len(rows), step):
            r = rows[a : a + step]
            m, v, b, k = self._pool(hi[r], wi[r], mu0[r], v0[r])
            mu[r], var[r], basis[r], n_nb[r] = m, v, b, k
        return mu, var, basis, n_nb

    def _pool(self, h: np.ndarray, w: np.ndarray, mu0: np.ndarray, v0: np.ndarray) -> tuple[np.ndarray, ...]:
        Y, M = self.Y, self.M
        assert Y is not None and M is not None
        t = len(h)
        observed = M[h, w] > 0
        # direct: the configuration's own measurements
        d_e = Y[h, w]
        with np.errstate(divide="ignore"):
            d_v = np.where(observed, self.rep_var * (1.0 + 1.0 / np.maximum(self.cell_n[h, w], 1)), np.inf)  # type: ignore[index]
        # hardware side: other systems that ran workload w
        cand = M[:, w].T.copy()  # (t, nh)
        cand[np.arange(t), h] = 0.0
        n = self.pair_n[h] * 1.0  # type: ignore[index]
        s1 = self.pair_s1[h].copy()  # type: ignore[index]
        s2 = self.pair_s2[h].copy()  # type: ignore[index]
        if observed.any():
            # leave the target's own measurement out of the ratios that predict it
            o = np.nonzero(observed)[0]
            d = (Y[h[o], w[o]][:, None] - Y[:, w[o]].T) * M[:, w[o]].T
            n[o] -= M[:, w[o]].T
            s1[o] -= d
            s2[o] -= d * d
        mean, hv = self._shrunk(n, s1, s2)
        hv = np.where(cand > 0, hv, np.inf)
        he = Y[:, w].T + mean
        # workload side: other workloads this system ran
        we = np.zeros((t, self.max_candidates))
        wv = np.full((t, self.max_candidates), np.inf)
        for hh in np.unique(h):
            sel = np.nonzero(h == hh)[0]
            cands = np.nonzero(M[hh])[0]
            if len(cands) > self.max_candidates:
                rng = np.random.default_rng(self.seed * 1_000_003 + int(hh))
                cands = np.sort(rng.choice(cands, self.max_candidates, replace=False))
            if len(cands) == 0:
                continue
            tw = w[sel]
            A, B = M[:, tw], M[:, cands]
            YA, YB = Y[:, tw], Y[:, cands]
            cn = A.T @ B
            c1 = YA.T @ B - A.T @ YB
            c2 = (YA * YA).T @ B + A.T @ (YB * YB) - 2.0 * (YA.T @ YB)
            own = M[hh, tw][:, None]  # the target system itself, when it measured w
            dd = (Y[hh, tw][:, None] - Y[hh, cands][None, :]) * own
            cn -= own
            c1 -= dd
            c2 -= dd * dd
            cn[tw[:, None] == cands[None, :]] = 0.0
            mean_w, var_w = self._shrunk(cn, c1, c2)
            we[sel, : len(cands)] = Y[hh, cands][None, :] + mean_w
            wv[sel, : len(cands)] = var_w
        E = np.concatenate([mu0[:, None], d_e[:, None], he, we], axis=1)
        V = np.concatenate([v0[:, None], d_v[:, None], hv, wv], axis=1)
        k = min(self.neighbours, V.shape[1])
        idx = np.argpartition(V, k - 1, axis=1)[:, :k]
        Es = np.take_along_axis(E, idx, axis=1)
        Vs = np.take_along_axis(V, idx, axis=1)
        wts = np.where(np.isfinite(Vs), 1.0 / Vs, 0.0)
        sw = wts.sum(axis=1)
        Es = np.where(wts > 0, Es, 0.0)
        mu = (wts * Es).sum(axis=1) / sw
        spread = (wts * (Es - mu[:, None]) ** 2).sum(axis=1) / sw
        var = 1.0 / sw + spread
        used_nb = ((idx >= 2) & (wts > 0)).sum(axis=1)
        used_direct = ((idx == 1) & (wts > 0)).any(axis=1)
        basis = np.where(used_direct, 2, np.where(used_nb > 0, 1, 0))
        return mu, var, basis, used_nb


# -- the public model -----------------------------------------------------------------------
_CONFIG_COLUMNS = ("benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric", "unit", "direction")


def _training_hash(c: pl.DataFrame, settings: dict[str, Any]) -> str:
    """SHA-256 of the training cells and the model settings (identifies the inputs)."""
    h = hashlib.sha256()
    h.update(repr(sorted(settings.items())).encode())
    h.update(MODEL_VERSION.encode())
    part = c.select("group", "hw", "workload", "z", "n").sort("group", "hw", "workload")
    for row in part.iter_rows():
        h.update(repr(row).encode())
    return h.hexdigest()


@dataclass
class _Group:
    name: str
    core: _Core
    method: str  # "cv+", "split" or "none"
    folds: list[_Core] = field(default_factory=list)
    fold_scores: list[np.ndarray] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_cells: int = 0


class PerformanceModel:
    """Predict throughput, latency, memory … of configurations nobody measured.

    Fit on a results frame (:meth:`Store.results` / :meth:`Store.latest`); then
    :meth:`predict` any configuration — a model never run on that hardware, a new
    batch size or precision — with a calibrated interval.  See the module
    docstring of :mod:`benchlab.predict._model` for the method.

    Parameters
    ----------
    coverage : float, default 0.9
        Default coverage of the prediction intervals.
    conformal : {"auto", "cv+", "split", "none"}
        ``"cv+"``: K-fold CV+ (uses every measurement for the point prediction
        and the calibration; K+1 fits).  ``"split"``: split conformal (20 % of
        the cells calibrate; one fit).  ``"auto"``: CV+ up to ``cv_max_cells``
        cells per metric group, split above.  ``"none"``: no intervals.
    folds : int, optional
        K for CV+ (default 10 up to 2 000 cells, else 5).
    neighbours : int, default 5
        How many of the most precise estimates are pooled.
    ridge_alpha : float, default 0.3
        Ridge penalty of the additive prior (on one-hot columns).
    max_candidates : int, default 128
        Most workloads of the same system compared per target (random subset
        beyond that, for speed).
    measured_only : bool, default True
        Fit on ``provenance == "measured"`` rows only, so that simulated and
        predicted results never train the model.
    random_state : int, default 0
        Seed of folds, hold-outs and candidate subsets (results are deterministic).

    Examples
    --------
    >>> model = PerformanceModel().fit(store.latest(), hardware=store.hardware())  # doctest: +SKIP
    >>> model.predict(pl.DataFrame({"model": ["bert"], "hardware": ["cuda:0"], "batch_size": [64],
    ...                             "metric": ["throughput"]}))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        coverage: float = 0.9,
        conformal: str = "auto",
        folds: int | None = None,
        neighbours: int = 5,
        ridge_alpha: float = 0.3,
        max_candidates: int = 128,
        cv_max_cells: int = 20_000,
        measured_only: bool = True,
        random_state: int = 0,
    ) -> None:
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be between 0 and 1, got {coverage}")
        if conformal not in ("auto", "cv+", "split", "none"):
            raise ValueError(f"conformal must be 'auto', 'cv+', 'split' or 'none', got {conformal!r}")
        self.coverage = coverage
        self.conformal = conformal
        self.folds = folds
        self.neighbours = neighbours
        self.ridge_alpha = ridge_alpha
        self.max_candidates = max_candidates
        self.cv_max_cells = cv_max_cells
        self.measured_only = measured_only
        self.random_state = random_state
        self._groups: dict[str, _Group] = {}
        self._units: pl.DataFrame | None = None
        self._hardware: pl.DataFrame | None = None
        self._models: pl.DataFrame | None = None
        self.training_hash: str | None = None
        self.created_at: dt.datetime | None = None
        self.n_train: int = 0

    # ---- fitting ----
    def _settings(self) -> dict[str, Any]:
        return {
            "conformal": self.conformal, "folds": self.folds, "neighbours": self.neighbours,
            "ridge_alpha": self.ridge_alpha, "max_candidates": self.max_candidates,
            "cv_max_cells": self.cv_max_cells, "measured_only": self.measured_only,
            "random_state": self.random_state,
        }  # fmt: skip

    def _core(self, seed: int) -> _Core:
        return _Core(
            ridge_alpha=self.ridge_alpha, neighbours=self.neighbours, max_candidates=self.max_candidates, seed=seed
        )

    def fit(
        self,
        frame: pl.DataFrame,
        *,
        hardware: pl.DataFrame | None = None,
        models: pl.DataFrame | None = None,
    ) -> PerformanceModel:
        """Fit on a results frame.

        Parameters
        ----------
        frame : polars.DataFrame
            Results (at least ``metric``, ``value`` and ``benchmark`` or ``model``;
            ideally ``hardware``, ``unit``, ``direction`` and the other identity
            columns).  Repeated runs of a series are combined (median in log space).
        hardware, models : polars.DataFrame, optional
            The store's catalogues (``store.hardware()``, ``store.models()``):
            hardware type, device, memory, accelerator count … become features.

        Returns
        -------
        PerformanceModel
            ``self``.

        Raises
        ------
        PredictionError
            If no row has a positive value to learn from.
        """
        missing = [c for c in ("metric", "value") if c not in frame.columns]
        if missing:
            raise PredictionError(f"cannot fit: the frame has no {' or '.join(missing)} column")
        if self.measured_only and "provenance" in frame.columns:
            frame = frame.filter(pl.col("provenance").is_null() | (pl.col("provenance") == "measured"))
        frame = _fill_units(frame)
        self._hardware, self._models = hardware, models
        prepared = prepare(frame, hardware, models)
        all_cells = cells(prepared)
        if all_cells.is_empty():
            raise PredictionError("cannot fit: no result with a positive, finite value (after keeping measured results)")
        self._units = (
            prepared.filter(pl.col("metric").is_not_null())
            .group_by("benchmark", "model", "metric", "unit", "direction")
            .len()
            .sort("len", descending=True)
        )
        self.n_train = int(all_cells["n"].sum())
        self._groups = {}
        for i, (name,) in enumerate(all_cells.select("group").unique(maintain_order=True).iter_rows()):
            c = all_cells.filter(pl.col("group") == name)
            self._groups[name] = self._fit_group(name, c, self.random_state + 101 * i)
        self.training_hash = _training_hash(all_cells, self._settings())
        self.created_at = dt.datetime.now(dt.UTC)
        return self

    def _fit_group(self, name: str, c: pl.DataFrame, seed: int) -> _Group:
        n = c.height
        method = self.conformal
        if method == "auto":
            method = "cv+" if n <= self.cv_max_cells else "split"
        if n < 2:
            method = "none"
        rng = np.random.default_rng(seed)
        if method == "split":
            perm = rng.permutation(n)
            m = max(1, min(n // 5, 20_000))
            cal = np.zeros(n, dtype=bool)
            cal[perm[:m]] = True
            core = self._core(seed).fit(c.filter(pl.Series(~cal)))
            calc = c.filter(pl.Series(cal))
            mu, var, _, _ = core.predict(calc)
            r = scores(calc["z"].to_numpy(), mu, np.sqrt(var))
            return _Group(name, core, "split", scores=r, n_cells=n)
        core = self._core(seed).fit(c)
        if method == "none":
            return _Group(name, core, "none", n_cells=n)
        k = self.folds or (10 if n <= 2000 else 5)
        k = max(2, min(k, n))
        fold = rng.permutation(np.arange(n) % k)
        folds, fold_scores = [], []
        for j in range(k):
            held = fold == j
            cj = self._core(seed + j + 1).fit(c.filter(pl.Series(~held)))
            hc = c.filter(pl.Series(held))
            mu, var, _, _ = cj.predict(hc)
            folds.append(cj)
            fold_scores.append(scores(hc["z"].to_numpy(), mu, np.sqrt(var)))
        return _Group(name, core, "cv+", folds=folds, fold_scores=fold_scores, n_cells=n)

    # ---- prediction ----
    def _check_fitted(self) -> None:
        if not self._groups:
            raise PredictionError("the model is not fitted yet; call fit(results) first")

    def predict(self, frame: pl.DataFrame, *, coverage: float | None = None) -> pl.DataFrame:
        """Predict the configurations in ``frame``.

        Parameters
        ----------
        frame : polars.DataFrame
            One row per configuration: ``metric`` plus any of ``benchmark``,
            ``model``, ``hardware``, ``batch_size``, ``seq_len``, ``precision``,
            ``params``; ``unit`` and ``direction`` default to what the training
            data used for that metric.
        coverage : float, optional
            Interval coverage (default: the model's, 0.9).

        Returns
        -------
        polars.DataFrame
            ``frame`` with ``value`` = ``prediction``, ``lower``, ``upper``,
            ``coverage``, ``provenance = "predicted"``, ``basis`` (``measured``:
            the configuration itself was in the training data; ``neighbours``:
            ratios to similar measured configurations; ``features``: the additive
            model alone) and ``n_neighbours``.  A measured value the input
            carried is kept as ``measured_value``.

        Raises
        ------
        PredictionError
            For a metric the model has no training data for.
        """
        self._check_fitted()
        level = self.coverage if coverage is None else coverage
        if not 0 < level < 1:
            raise ValueError(f"coverage must be between 0 and 1, got {level}")
        if "metric" not in frame.columns:
            raise PredictionError("the frame to predict needs a 'metric' column (throughput, latency …)")
        out = frame.drop("provenance", strict=False)
        if "value" in out.columns:
            out = out.rename({"value": "measured_value"})
        if "measured_value" in out.columns and out["measured_value"].null_count() == out.height:
            out = out.drop("measured_value")
        filled = self._fill_from_training(out)
        prepared = prepare(filled, self._hardware, self._models).with_row_index("_row")
        unknown = prepared.filter(~pl.col("group").is_in(list(self._groups)))
        if unknown.height:
            pairs = sorted({f"{m} ({u})" for m, u in unknown.select("metric", "unit").iter_rows()}, key=str)
            raise PredictionError(
                f"no training results for metric(s) {', '.join(pairs)}; fit the model on results that include them"
            )
        t = prepared.height
        pred = np.full(t, np.nan)
        lo = np.full(t, np.nan)
        hi = np.full(t, np.nan)
        basis = np.zeros(t, dtype=np.int64)
        n_nb = np.zeros(t, dtype=np.int64)
        alpha = 1.0 - level
        for name, g in self._groups.items():
            part = prepared.filter(pl.col("group") == name)
            if part.is_empty():
                continue
            idx = part["_row"].to_numpy()
            mu, var, b, k = g.core.predict(part)
            lower, upper = self._interval(g, part, mu, var, alpha)
            sign = part["sign"].to_numpy()
            pred[idx] = np.exp(sign * mu)
            # a lower-is-better metric is -log(value): its interval flips
            lo[idx] = np.where(sign > 0, np.exp(lower), np.exp(-upper))
            hi[idx] = np.where(sign > 0, np.exp(upper), np.exp(-lower))
            basis[idx], n_nb[idx] = b, k
        keys = [
            series_key(*row)
            for row in filled.select(
                "benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric"
            ).iter_rows()
        ]
        return filled.with_columns(
            series_key=pl.Series(keys, dtype=pl.Utf8),
            value=pl.Series(pred),
            prediction=pl.Series(pred),
            lower=pl.Series(lo),
            upper=pl.Series(hi),
            coverage=pl.Series(np.where(np.isnan(lo), np.nan, level)).fill_nan(None),
            provenance=pl.lit("predicted"),
            basis=pl.Series(_BASIS[basis]),
            n_neighbours=pl.Series(n_nb),
        ).with_columns(pl.col("lower", "upper").fill_nan(None))

    def _interval(
        self, g: _Group, part: pl.DataFrame, mu: np.ndarray, var: np.ndarray, alpha: float
    ) -> tuple[np.ndarray, np.ndarray]:
        if g.method == "none":
            return np.full(len(mu), np.nan), np.full(len(mu), np.nan)
        if g.method == "split":
            return split_interval(mu, np.sqrt(var), g.scores, alpha)
        mus = np.empty((len(g.folds), len(mu)))
        sds = np.empty((len(g.folds), len(mu)))
        for j, core in enumerate(g.folds):
            m, v, _, _ = core.predict(part)
            mus[j], sds[j] = m, np.sqrt(v)
        lower, upper = cv_plus_interval(mus, sds, g.fold_scores, alpha)
        # CV+ intervals need not contain the full model's point; widening keeps the guarantee.
        return np.minimum(lower, mu), np.maximum(upper, mu)

    def _fill_from_training(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Fill missing ``unit``/``direction`` with what training used for that metric."""
        f = frame
        for c, t in (("benchmark", pl.Utf8), ("model", pl.Utf8), ("unit", pl.Utf8), ("direction", pl.Utf8)):
            if c not in f.columns:
                f = f.with_columns(pl.lit(None, t).alias(c))
        units = self._units
        assert units is not None
        if f["unit"].null_count() or f["direction"].null_count():
            for keys in (("benchmark", "model", "metric"), ("model", "metric"), ("benchmark", "metric"), ("metric",)):
                best = units.group_by(keys).agg(pl.col("unit").first().alias("_u"), pl.col("direction").first().alias("_d"))
                f = f.join(best, on=list(keys), how="left", nulls_equal=True).with_columns(
                    unit=pl.coalesce("unit", "_u"), direction=pl.coalesce("direction", "_d")
                ).drop("_u", "_d")
        return _fill_units(f)

    # ---- description ----
    @property
    def info(self) -> dict[str, Any]:
        """Model name, version, training-input hash and fit summary (stored with predictions)."""
        self._check_fitted()
        return {
            "model_name": MODEL_NAME,
            "model_version": MODEL_VERSION,
            "training_hash": self.training_hash,
            "created_at": self.created_at,
            "n_train": self.n_train,
            "groups": {k: {"cells": g.n_cells, "intervals": g.method} for k, g in self._groups.items()},
            "settings": self._settings(),
        }

    def __repr__(self) -> str:
        if not self._groups:
            return "PerformanceModel(not fitted)"
        groups = ", ".join(f"{k}: {g.n_cells} cells, {g.method}" for k, g in self._groups.items())
        return f"PerformanceModel({self.n_train} results; {groups})"


def _fill_units(frame: pl.DataFrame) -> pl.DataFrame:
    """Default ``direction`` from the unit when it is missing (rates: higher, else lower)."""
    from benchlab.units import UnknownUnitError, default_direction, parse_unit

    f = frame
    for c in ("unit", "direction"):
        if c not in f.columns:
            f = f.with_columns(pl.lit(None, pl.Utf8).alias(c))
    if f["direction"].null_count() == 0:
        return f
    units = f["unit"].unique().to_list()
    guess = {}
    for u in units:
        try:
            guess[u] = default_direction(parse_unit(u))
        except UnknownUnitError:
            guess[u] = None
    table = pl.DataFrame({"unit": units, "_dir": [guess[u] for u in units]}, schema={"unit": pl.Utf8, "_dir": pl.Utf8})
    return f.join(table, on="unit", how="left", nulls_equal=True).with_columns(
        direction=pl.coalesce("direction", "_dir")
    ).drop("_dir")


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def configurations(columns: Sequence[str]) -> list[str]:
    """The configuration columns present in ``columns`` (for stored predictions)."""
    return [c for c in _CONFIG_COLUMNS if c in columns]

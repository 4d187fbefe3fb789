"""PerformanceModel: the features-only prior's variance for a system it never saw (leave-systems-out)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from benchlab.predict import PerformanceModel
from benchlab.predict._model import _Core


def results(n_hw: int = 40, n_model: int = 8, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Throughput = system speed × model cost with 2 % noise; a system's speed is only partly told by its
    catalogue (its accelerator count), the rest is its own (and a few systems are far off)."""
    rng = np.random.default_rng(seed)
    count = rng.choice([1, 2, 4, 8], n_hw)
    own = rng.normal(0, 0.3, n_hw)
    own[:3] += np.array([2.5, -2.5, 2.0])  # heavy tail: odd systems the features cannot place
    cost = rng.normal(0, 1.0, n_model)
    rows = [
        (f"hw{h}", f"m{m}", float(count[h] * np.exp(own[h] - cost[m] + rng.normal(0, 0.02))))
        for h in range(n_hw)
        for m in range(n_model)
        if rng.random() < 0.8
    ]
    f = pl.DataFrame(rows, schema=["hardware", "model", "value"], orient="row").with_columns(
        benchmark=pl.lit("infer"), metric=pl.lit("throughput"), unit=pl.lit("items/s"), direction=pl.lit("higher")
    )
    hw = pl.DataFrame(
        {
            "name": [f"hw{h}" for h in range(n_hw)],
            "type": ["cuda"] * n_hw,
            "device_name": [f"dev{h}" for h in range(n_hw)],  # every device its own: no same-device prior
            "metadata": [json.dumps({"accelerator_count": int(c)}) for c in count],
        }
    )
    return f, hw


def brute_force(core: _Core, rows: np.ndarray) -> float:
    """Mean squared error of the prior over every system held out in turn, refitting each time."""
    sh = core.shared
    hw = sh.hw_codes[rows]
    err = []
    for h in np.unique(hw):
        out = hw == h
        coef, mean = sh.ridge(rows[~out], core.ridge_alpha)
        err.append((sh.X[rows[out]] @ coef + mean - sh.z[rows[out]]) ** 2)
    return float(np.mean(np.concatenate(err)))


def test_leave_systems_out_closed_form_is_exact() -> None:
    f, hw = results()
    core = PerformanceModel(conformal="none").fit(f, hardware=hw)._groups["metric:throughput"].core
    rows = np.nonzero(np.random.default_rng(1).random(len(core.shared.z)) < 0.9)[0]
    assert core._leave_systems_out(rows) == pytest.approx(brute_force(core, rows), rel=1e-8)


def test_leave_systems_out_without_the_gram_matrix_uses_folds_over_systems() -> None:
    f, hw = results()
    core = PerformanceModel(conformal="none").fit(f, hardware=hw)._groups["metric:throughput"].core
    rows = np.arange(len(core.shared.z))
    exact = core._leave_systems_out(rows)
    core.shared.K = None  # as above _DUAL_MAX cells: five ridge fits by conjugate gradients
    folds = core._leave_systems_out(rows)
    assert folds is not None and exact is not None
    assert 0.5 * exact < folds < 2.0 * exact


def test_unseen_system_variance_is_the_leave_systems_out_error() -> None:
    # The prior's variance for a system it never saw is measured on every system held out in turn,
    # not on the handful of systems (5 %) of the random hold-out: with a heavy tail of odd systems
    # the handful says little.
    f, hw = results()
    core = PerformanceModel(conformal="none").fit(f, hardware=hw)._groups["metric:throughput"].core
    expected = max(brute_force(core, np.arange(len(core.shared.z))), core.v0_known)
    assert core.v0_hw == pytest.approx(expected, rel=1e-8)
    # a new system's prior variance (no neighbour can place it) is that error
    new = np.array([-1]), np.array([0])
    assert core._v0(*new)[0] >= core.v0_hw

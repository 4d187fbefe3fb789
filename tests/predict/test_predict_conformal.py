"""Conformal interval arithmetic (CV+ and split) and its coverage guarantee."""

from __future__ import annotations

import numpy as np

from benchlab.predict._conformal import cv_plus_interval, scores, split_interval


def test_split_interval_uses_the_conformal_quantile() -> None:
    r = np.arange(1, 20, dtype=float)  # 19 scores: the 90% rank is ceil(0.9 * 20) = 18
    lo, hi = split_interval(np.array([0.0, 1.0]), np.array([1.0, 2.0]), r, 0.1)
    assert np.allclose(hi, [18.0, 1.0 + 36.0])
    assert np.allclose(lo, [-18.0, 1.0 - 36.0])


def test_too_few_scores_give_infinite_intervals() -> None:
    lo, hi = split_interval(np.zeros(3), np.ones(3), np.ones(5), 0.1)
    assert np.isinf(lo).all() and np.isinf(hi).all()
    lo, hi = cv_plus_interval(np.zeros((2, 3)), np.ones((2, 3)), [np.ones(2), np.ones(2)], 0.1)
    assert np.isinf(lo).all() and np.isinf(hi).all()


def test_cv_plus_equals_split_when_folds_agree() -> None:
    rng = np.random.default_rng(0)
    r = [np.abs(rng.normal(size=30)) for _ in range(4)]
    mu, sd = rng.normal(size=5), np.exp(rng.normal(size=5))
    lo, hi = cv_plus_interval(np.tile(mu, (4, 1)), np.tile(sd, (4, 1)), r, 0.1)
    slo, shi = split_interval(mu, sd, np.concatenate(r), 0.1)
    assert np.allclose(hi, shi)
    # CV+'s lower end uses the floor(alpha (n + 1))-th smallest of mu - R sd
    n = 120
    k = int(np.floor(0.1 * (n + 1)))
    assert np.allclose(lo, mu - np.sort(np.concatenate(r))[::-1][k - 1] * sd)


def test_split_conformal_coverage_is_guaranteed_on_exchangeable_data() -> None:
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(300):
        y = rng.standard_t(3, size=41)
        r = scores(y[:40], np.zeros(40), np.ones(40))
        lo, hi = split_interval(np.zeros(1), np.ones(1), r, 0.1)
        hits.append(lo[0] <= y[40] <= hi[0])
    assert 0.85 <= np.mean(hits) <= 0.97

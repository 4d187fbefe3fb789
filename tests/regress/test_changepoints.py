"""Behavioural tests of benchlab.regress.changepoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchlab.regress import changepoints
from benchlab.regress._changepoints import (
    MIN_POINTS,
    _block_length,
    _block_long_run_variance,
    _Moments,
    segment_levels,
)
from benchlab.regress._cp_metrics import clean_predictions, covering, f1_score, load_tcpd, true_positives

TCPD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tcpd"


def _step(n: int = 200, at: int = 120, size: float = 6.0, scale: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    x[at:] += size
    return 50.0 * scale + scale * x


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1.0, 1e4, 1e9])
@pytest.mark.parametrize("model", ["trend", "linear", "mean"])
def test_clear_step_found_at_right_index(scale: float, model: str) -> None:
    cps = changepoints(_step(scale=scale), model=model)
    assert len(cps) == 1
    assert abs(cps[0] - 120) <= 1


def test_step_found_in_heavy_tailed_noise() -> None:
    rng = np.random.default_rng(3)
    x = 10.0 + 0.2 * rng.standard_t(3, 400)
    x[250:] *= 1.2  # 20 % regression
    cps = changepoints(x)
    assert len(cps) == 1 and abs(cps[0] - 250) <= 1


def test_two_steps() -> None:
    x = _step(n=300, at=100, size=5.0, seed=4)
    x[200:] -= 8.0
    cps = changepoints(x)
    assert len(cps) == 2
    assert abs(cps[0] - 100) <= 1 and abs(cps[1] - 200) <= 1


@pytest.mark.parametrize("spike", [20.0, 1e3, -50.0])
def test_lone_spike_is_not_a_change(spike: float) -> None:
    rng = np.random.default_rng(5)
    x = 100.0 + rng.standard_normal(150)
    x[70] += spike
    assert changepoints(x) == []


@pytest.mark.parametrize("n", [50, 500, 5000])
@pytest.mark.parametrize("dist", ["normal", "t3"])
def test_pure_noise_gives_nothing(n: int, dist: str) -> None:
    rng = np.random.default_rng(n)
    noise = rng.standard_normal(n) if dist == "normal" else rng.standard_t(3, n)
    assert changepoints(7.0 + 0.01 * noise) == []


def test_pure_noise_short_series_rarely_alarms() -> None:
    # at n = 10 a few percent of pure-noise series get one false change point
    rng = np.random.default_rng(15)
    alarms = sum(bool(changepoints(rng.standard_normal(10))) for _ in range(300))
    assert alarms / 300 <= 0.08


def test_slow_drift_is_not_a_staircase() -> None:
    rng = np.random.default_rng(8)
    x = np.linspace(0.0, 20.0, 1000) + rng.standard_normal(1000)
    assert changepoints(x) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_autocorrelated_noise_gives_nothing(seed: int) -> None:
    # AR(1) noise with rho = 0.5: its long-run variance is 4x the innovation
    # variance, which a white-noise threshold would ignore
    rng = np.random.default_rng(100 + seed)
    z = rng.standard_normal(2000)
    e = np.zeros_like(z)
    for i in range(1, z.size):
        e[i] = 0.5 * e[i - 1] + z[i]
    assert changepoints(e) == []
    assert changepoints(e, model="mean") == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smooth_bend_is_one_curved_segment_not_a_staircase(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(-1.0, 1.0, 300)
    x = 100.0 + 20.0 * t**2 + rng.standard_normal(300)
    assert changepoints(x) == []
    # with straight segments only, the same curve needs several pieces
    assert len(changepoints(x, model="linear")) >= 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_on_a_curved_series_found_alone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.linspace(-1.0, 1.0, 400)
    x = 100.0 + 20.0 * t**2 + rng.standard_normal(400)
    x[250:] += 5.0
    assert changepoints(x) == [250]


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_change_of_slope_found(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(300.0)
    x = 0.02 * t - 0.08 * np.maximum(t - 180, 0) + rng.standard_normal(300)
    cps = changepoints(x)
    assert len(cps) == 1 and abs(cps[0] - 180) <= 15


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_short_nearly_noise_free_kinks_found(seed: int) -> None:
    # 21 yearly points, piecewise linear with kinks after 7 and 14 and
    # almost no noise: blocks of n**(1/3) = 3 points would make the kinks
    # look like noise (this kind of series used to give nothing)
    rng = np.random.default_rng(seed)
    t = np.arange(21.0)
    x = 40.0 - 2.0 * t + 20.0 * np.maximum(t - 7, 0) - 30.0 * np.maximum(t - 14, 0) + 0.2 * rng.standard_normal(21)
    cps = changepoints(x)
    assert 1 <= len(cps) <= 3
    assert any(abs(c - 7.5) <= 1 for c in cps) and any(abs(c - 14.5) <= 1 for c in cps)


def test_block_length_keeps_twenty_blocks() -> None:
    lengths = [_block_length(n) for n in (10, 21, 39, 40, 60, 90, 100, 300, 1000, 10_000)]
    assert lengths == [1, 1, 1, 2, 3, 4, 5, 7, 10, 22]
    assert all(n / _block_length(n) >= 20 for n in range(20, 5000))


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_segment_fits_match_least_squares(degree: int) -> None:
    rng = np.random.default_rng(degree)
    y = np.cumsum(rng.standard_normal(500)) + 1e3
    mom = _Moments(y, 3)
    for a, b in [(0, 500), (0, 7), (123, 131), (250, 499), (490, 500)]:
        t = np.arange(a, b, dtype=np.float64)
        resid = y[a:b] - np.polyval(np.polyfit(t - t.mean(), y[a:b], degree - 1), t - t.mean())
        rss = float(np.dot(y[a:b], y[a:b]) - mom.explained(a, b, degree))
        assert rss == pytest.approx(float(resid @ resid), rel=1e-6, abs=1e-6)
    starts, stops = np.array([0, 40, 300]), np.array([30, 200, 480])
    assert np.allclose(
        mom.explained(starts, stops, degree), [mom.explained(a, b, degree) for a, b in zip(starts, stops, strict=True)]
    )


def test_long_run_variance_ignores_steps_and_spikes() -> None:
    rng = np.random.default_rng(1)
    y = rng.standard_normal(1000)
    y[500:] += 20.0
    y[100] += 50.0
    assert _block_long_run_variance(y, 10) == pytest.approx(1.0, rel=0.15)
    z = rng.standard_normal(5000)
    e = np.zeros_like(z)
    for i in range(1, z.size):
        e[i] = 0.5 * e[i - 1] + z[i]
    assert _block_long_run_variance(e, 17) == pytest.approx(1 / (1 - 0.5) ** 2, rel=0.2)


def test_nan_skipped_and_indices_in_original_positions() -> None:
    x = _step(n=200, at=120, seed=9)
    with_nan = np.insert(x, [10, 50, 50, 119, 180], np.nan)  # 5 NaNs, 3 before the step
    cps = changepoints(with_nan)
    assert len(cps) == 1
    assert abs(cps[0] - 123) <= 1
    assert np.isfinite(with_nan[cps[0]])
    as_list = [None if np.isnan(v) else float(v) for v in with_nan]
    assert changepoints(as_list) == cps


def test_list_ndarray_polars_identical() -> None:
    x = _step(seed=10)
    expected = changepoints(x)
    assert expected
    assert changepoints(list(x)) == expected
    assert changepoints(pl.Series("t", x)) == expected
    assert changepoints(x.astype(np.float32).astype(np.float64)) == changepoints(pl.Series(x.astype(np.float32)))
    with_null = pl.Series("t", [None, *x.tolist()])
    assert changepoints(with_null) == [c + 1 for c in expected]


def test_ten_points_work() -> None:
    rng = np.random.default_rng(11)
    x = np.r_[np.full(5, 10.0), np.full(5, 20.0)] + 0.1 * rng.standard_normal(10)
    assert changepoints(x) == [5]


def test_too_short_returns_empty() -> None:
    assert changepoints([1.0, 9.0, 1.0, 9.0, 1.0, 9.0, 1.0][: MIN_POINTS - 1]) == []
    assert changepoints([]) == []
    assert changepoints([np.nan] * 50 + [1.0, 2.0]) == []


def test_constant_returns_empty() -> None:
    assert changepoints(np.full(100, 3.25)) == []
    assert changepoints(np.full(100, 0.0)) == []


def test_noiseless_step() -> None:
    assert changepoints([1.0] * 20 + [2.0] * 20) == [20]


def test_deterministic() -> None:
    x = np.random.default_rng(12).standard_t(3, 2000)
    x[700:] += 2.0
    first = changepoints(x)
    assert all(changepoints(x.copy()) == first for _ in range(3))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 2)), np.float64(3.0), [[1.0, 2.0]], ["a", "b", "c"]],
)
def test_bad_input_raises(bad: object) -> None:
    with pytest.raises(ValueError):
        changepoints(bad)


@pytest.mark.parametrize("option", [{"penalty": -1.0}, {"min_size": 0}, {"model": "median"}, {"clip": 0.0}])
def test_bad_options_raise(option: dict) -> None:
    with pytest.raises(ValueError):
        changepoints(np.arange(20.0), **option)


def test_options_change_result() -> None:
    x = _step(n=200, at=120, size=1.0, seed=13)
    assert len(changepoints(x, penalty=1.0)) >= len(changepoints(x))
    assert changepoints(x, penalty=1e9) == []
    assert changepoints(x, max_changepoints=0) == []


def test_segment_levels() -> None:
    x = _step(seed=14)
    levels = segment_levels(x, changepoints(x))
    assert [seg["start"] for seg in levels] == [0, 120]
    assert abs(levels[1]["median"] - levels[0]["median"] - 6.0) < 0.5


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.just(float("nan")),
            st.integers(-5, 5).map(float),
        ),
        max_size=120,
    )
)
def test_output_sorted_unique_in_range(values: list[float]) -> None:
    cps = changepoints(values)
    assert cps == sorted(set(cps))
    assert all(isinstance(c, int) and 0 < c < len(values) for c in cps)


def _tcpd_scores() -> tuple[float, float]:
    if not TCPD.is_dir():
        pytest.skip(f"TCPD data folder not present (expected the shared data at {TCPD})")
    data = load_tcpd(TCPD)
    f1s, covers = [], []
    for values, labels in data.values():
        cps = clean_predictions(changepoints(values), len(values))
        f1s.append(f1_score(labels, cps, margin=5))
        covers.append(covering(labels, cps, len(values)))
    return float(np.mean(f1s)), float(np.mean(covers))


def test_tcpd_metric_reference_values() -> None:
    # the worked examples of TCPDBench's metrics.py (van den Burg & Williams 2020)
    assert true_positives({1, 10, 20, 23}, {3, 8, 20}) == {1, 10, 20}
    assert true_positives({1, 10, 20, 23}, {1, 3, 5, 8, 20}) == {1, 10, 20}
    assert true_positives(set(), {1, 2, 3}) == set()
    assert f1_score({1: [10, 20], 2: [11, 20], 3: [10], 4: [0, 5]}, [10, 20]) == 1.0
    assert f1_score({1: [], 2: [10], 3: [50]}, [10]) == pytest.approx(0.9090909090909091)
    assert f1_score({1: [], 2: [10], 3: [50]}, []) == pytest.approx(0.8)
    assert covering({1: [10, 20], 2: [10], 3: [0, 5]}, [10, 20], 45) == pytest.approx(0.7962962962962963)
    assert covering({1: [], 2: [10], 3: [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert covering({1: [], 2: [10], 3: [40]}, [], 45) == pytest.approx(0.8189300411522634)


def test_clean_predictions_like_tcpdbench() -> None:
    # TCPDBench drops 0 and n_obs - 1 (and anything outside) before scoring
    assert clean_predictions([0, 5, 5, 48, 49, 50, -1], 50) == [5, 48]


def test_tcpd_dev_f1() -> None:
    f1, _ = _tcpd_scores()
    assert f1 >= 0.80


def test_tcpd_dev_covering() -> None:
    _, cover = _tcpd_scores()
    assert cover >= 0.75

"""validate, calibrate and drift of simulated (or predicted) results."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from benchlab.predict import PredictionError, calibrate, drift, validate


def measured(n: int = 40, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "benchmark": "b",
            "model": [f"m{i}" for i in range(n)],
            "hardware": ["hw0" if i % 2 else "hw1" for i in range(n)],
            "metric": "latency",
            "unit": "ms",
            "value": np.exp(rng.normal(2, 1, n)),
            "provenance": "measured",
        }
    )


def test_validate_figures_and_rating() -> None:
    m = measured()
    sim = m.with_columns(value=pl.col("value") * 1.2, provenance=pl.lit("simulated"))
    t = validate(sim, m)
    row = t.row(0, named=True)
    assert row["n"] == 40
    assert row["mape"] == pytest.approx(0.2)
    assert row["bias"] == pytest.approx(0.2)
    assert row["spearman"] == pytest.approx(1.0)
    assert row["rating"] == "poor"  # 20 % bias is beyond the 15 % of "acceptable"
    assert row["estimate_provenance"] == "simulated"
    close = validate(m.with_columns(value=pl.col("value") * 1.03, provenance=pl.lit("simulated")), m)
    assert close["rating"][0] == "good"
    per_hw = validate(sim, m, by=["metric", "hardware"])
    assert per_hw.height == 2


def test_validate_accepts_predictions_and_ignores_unmeasured() -> None:
    m = measured()
    pred = m.select("benchmark", "model", "hardware", "metric", prediction=pl.col("value") * 0.9).with_columns(
        provenance=pl.lit("predicted")
    )
    extra = pred.head(3).with_columns(model=pl.lit("never-measured"))
    t = validate(pl.concat([pred, extra]), m)
    assert t["n"][0] == 40 and t["bias"][0] == pytest.approx(-0.1)
    with pytest.raises(PredictionError, match="no configuration"):
        validate(extra, m)


def test_calibration_is_judged_out_of_sample() -> None:
    rng = np.random.default_rng(3)
    m = measured(60)
    sim = m.with_columns(
        value=(2.0 * pl.col("value") ** 0.9) * np.exp(rng.normal(0, 0.02, 60)), provenance=pl.lit("simulated")
    )
    cal = calibrate(sim, m)
    t = cal.table
    assert t.height == 2 and t["use"].all()
    assert (t["mape_calibrated_cv"] < t["mape_raw"]).all()
    assert (t["mape_calibrated_cv"] < 0.05).all()
    fixed = cal.apply(sim)
    assert fixed["calibrated"].all() and "raw_value" in fixed.columns
    assert fixed["provenance"].unique().to_list() == ["simulated"]
    assert validate(fixed, m)["mape"][0] < 0.05
    # noise only: a "correction" would not help out of sample and is not used
    noisy = m.with_columns(value=pl.col("value") * np.exp(rng.normal(0, 0.3, 60)), provenance=pl.lit("simulated"))
    assert not calibrate(noisy, m).table["use"].all()


def test_drift_finds_when_the_error_changed() -> None:
    n = 60
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    times = [t0 + dt.timedelta(days=i) for i in range(n)]
    rng = np.random.default_rng(5)
    base = pl.DataFrame({"benchmark": "b", "model": "m", "hardware": "hw0", "metric": "latency", "unit": "ms",
                         "commit": [f"c{i}" for i in range(n)], "timestamp": times, "value": 10.0})  # fmt: skip
    err = np.where(np.arange(n) < 35, 1.0, 1.3) * np.exp(rng.normal(0, 0.01, n))
    sim = base.with_columns(value=pl.Series(10.0 * err), provenance=pl.lit("simulated"))
    out = drift(sim, base.with_columns(provenance=pl.lit("measured")))
    row = out.row(0, named=True)
    assert row["n"] == n and row["drifted"]
    assert abs((row["changes"][0] - times[35]).days) <= 2
    assert row["error_first"] == pytest.approx(0.0, abs=0.02)
    assert row["error_last"] == pytest.approx(0.3, abs=0.02)
    steady = drift(base.with_columns(value=pl.Series(10.0 * np.exp(rng.normal(0, 0.01, n)))), base)
    assert not steady["drifted"][0]

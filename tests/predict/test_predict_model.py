"""PerformanceModel: predictions, intervals, provenance, errors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchlab.predict import PerformanceModel, PredictionError, accuracy, cross_validate


def synthetic(
    n_hw: int = 12, n_model: int = 8, seed: int = 0, noise: float = 0.03
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Latency of models × hardware × batch sizes from a low-rank log model; plus a hardware catalogue."""
    rng = np.random.default_rng(seed)
    batches = [1, 4, 16]
    types = np.array(["cpu", "cuda"])[rng.integers(0, 2, n_hw)]
    speed = rng.normal(0, 0.7, n_hw) + np.where(types == "cuda", 1.0, 0.0)
    u, v = rng.normal(0, 0.25, n_hw), rng.normal(0, 0.25, n_model)
    cost = rng.normal(0, 1.0, n_model)
    rows = []
    for h in range(n_hw):
        for m in range(n_model):
            for b in batches:
                lat = np.exp(1 + cost[m] - speed[h] + 0.5 * np.log(b) + u[h] * v[m] + rng.normal(0, noise))
                rows.append((f"hw{h}", types[h], f"m{m}", b, float(lat)))
    f = pl.DataFrame(rows, schema=["hardware", "hardware_type", "model", "batch_size", "value"], orient="row")
    f = f.with_columns(
        benchmark=pl.lit("infer"), metric=pl.lit("latency"), unit=pl.lit("ms"), direction=pl.lit("lower"),
        provenance=pl.lit("measured"), precision=pl.lit("fp32"),
    )  # fmt: skip
    catalogue = pl.DataFrame({"name": [f"hw{h}" for h in range(n_hw)], "type": types,
                              "peak_tflops": np.exp(speed + 2).round(2)})  # fmt: skip
    return f, catalogue


def split(f: pl.DataFrame, frac: float = 0.2, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    mask = np.random.default_rng(seed).random(f.height) < frac
    return f.filter(pl.Series(~mask)), f.filter(pl.Series(mask))


def test_predict_columns_and_provenance() -> None:
    f, cat = synthetic()
    train, test = split(f)
    model = PerformanceModel().fit(train, hardware=cat)
    out = model.predict(test.drop("value", "provenance"))
    assert out.height == test.height
    for c in ("prediction", "lower", "upper", "coverage", "provenance", "basis", "value", "series_key"):
        assert c in out.columns
    assert out["provenance"].unique().to_list() == ["predicted"]
    assert (out["value"] == out["prediction"]).all()
    assert (out["lower"] <= out["prediction"]).all() and (out["prediction"] <= out["upper"]).all()
    assert set(out["basis"].unique()) <= {"measured", "neighbours", "features"}
    assert (out["coverage"] == 0.9).all()


def test_accuracy_and_coverage_on_low_rank_data() -> None:
    f, cat = synthetic(n_hw=16, n_model=10)
    train, test = split(f)
    out = PerformanceModel().fit(train, hardware=cat).predict(test.drop("value"))
    acc = accuracy(
        test["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    assert acc["mape"] < 0.10
    assert acc["within_10pct"] > 0.75
    assert 0.75 <= acc["coverage"] <= 1.0


def test_measured_value_is_kept_separately() -> None:
    f, _ = synthetic()
    train, test = split(f)
    out = PerformanceModel().fit(train).predict(test)
    assert "measured_value" in out.columns
    assert out["measured_value"].to_list() == test["value"].to_list()
    assert out["provenance"].unique().to_list() == ["predicted"]


def test_unseen_hardware_uses_features_and_wider_intervals() -> None:
    f, cat = synthetic(n_hw=14)
    train = f.filter(pl.col("hardware") != "hw3")
    new = f.filter(pl.col("hardware") == "hw3").drop("value")
    known = f.filter((pl.col("hardware") == "hw4") & (pl.col("batch_size") == 4)).drop("value")
    train = train.filter(~((pl.col("hardware") == "hw4") & (pl.col("batch_size") == 4)))
    model = PerformanceModel().fit(train, hardware=cat)
    a, b = model.predict(new), model.predict(known)
    assert a["basis"].unique().to_list() == ["features"]
    assert (b["basis"] == "neighbours").all()
    width = lambda p: np.median(p["upper"].to_numpy() / p["lower"].to_numpy())  # noqa: E731
    assert width(a) > width(b)


def test_new_batch_size_and_precision() -> None:
    f, cat = synthetic(n_hw=12, n_model=8)  # batch sizes 1, 4, 16; latency ∝ batch^0.5
    model = PerformanceModel().fit(f, hardware=cat)
    truth = f.filter(pl.col("batch_size") == 16).with_columns(
        batch_size=pl.lit(64, pl.Int64), value=pl.col("value") * 2.0
    )
    out = model.predict(truth.drop("value"))
    assert out["basis"].unique().to_list() == ["features"]
    acc = accuracy(
        truth["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    assert acc["mape"] < 0.25  # extrapolated along the learned log-linear batch scaling
    assert acc["spearman"] > 0.95
    assert acc["coverage"] > 0.8 and acc["median_width_ratio"] < 10
    fp16 = model.predict(f.filter(pl.col("batch_size") == 4).with_columns(precision=pl.lit("fp16")).drop("value"))
    assert fp16["prediction"].is_finite().all() and (fp16["lower"] < fp16["upper"]).all()


def test_coverage_level_changes_width() -> None:
    f, _ = synthetic()
    train, test = split(f)
    model = PerformanceModel().fit(train)
    narrow = model.predict(test.drop("value"), coverage=0.5)
    wide = model.predict(test.drop("value"), coverage=0.95)
    assert (narrow["coverage"] == 0.5).all()
    assert (wide["upper"] / wide["lower"] >= narrow["upper"] / narrow["lower"] - 1e-12).all()
    assert (wide["upper"] / wide["lower"]).median() > (narrow["upper"] / narrow["lower"]).median()


def test_higher_is_better_metric_and_unit_defaults() -> None:
    f, _ = synthetic()
    thr = f.with_columns(value=1000.0 * pl.col("batch_size") / pl.col("value"), metric=pl.lit("throughput"),
                         unit=pl.lit("items/s"), direction=pl.lit("higher"))  # fmt: skip
    train, test = split(thr)
    model = PerformanceModel().fit(train)
    # unit and direction come from the training data when not given
    out = model.predict(test.select("hardware", "model", "batch_size", "benchmark", "precision", "metric"))
    assert out["unit"].unique().to_list() == ["items/s"]
    assert out["direction"].unique().to_list() == ["higher"]
    acc = accuracy(test["value"].to_numpy(), out["prediction"].to_numpy())
    assert acc["mape"] < 0.1


def test_only_measured_results_train_the_model() -> None:
    f, _ = synthetic()
    train, test = split(f)
    poisoned = pl.concat([train, test.with_columns(value=pl.col("value") * 1000, provenance=pl.lit("predicted")),
                          test.with_columns(value=pl.col("value") * 1000, provenance=pl.lit("simulated"))])  # fmt: skip
    a = PerformanceModel().fit(train).predict(test.drop("value"))
    b = PerformanceModel().fit(poisoned).predict(test.drop("value"))
    assert np.allclose(a["prediction"].to_numpy(), b["prediction"].to_numpy())


def test_deterministic_and_training_hash() -> None:
    f, _ = synthetic()
    train, test = split(f)
    m1, m2 = PerformanceModel().fit(train), PerformanceModel().fit(train)
    assert m1.info["training_hash"] == m2.info["training_hash"]
    assert np.array_equal(m1.predict(test)["upper"].to_numpy(), m2.predict(test)["upper"].to_numpy())
    m3 = PerformanceModel().fit(train.with_columns(value=pl.col("value") * 1.01))
    assert m3.info["training_hash"] != m1.info["training_hash"]
    assert m1.info["model_version"] and m1.info["model_name"] == "benchlab.predict.PerformanceModel"


def test_split_conformal_path() -> None:
    f, _ = synthetic(n_hw=16, n_model=10)
    train, test = split(f)
    model = PerformanceModel(cv_max_cells=50).fit(train)
    assert model.info["groups"]["metric:latency"]["intervals"] == "split"
    out = model.predict(test.drop("value"))
    acc = accuracy(
        test["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    assert acc["coverage"] >= 0.7


def test_cross_validate_reports_oof_figures() -> None:
    f, _ = synthetic(n_hw=10, n_model=6)
    rows, summary = cross_validate(f, k=4)
    assert rows.height == f.height
    assert rows["prediction"].null_count() == 0
    assert {"mape", "within_10pct", "coverage", "spearman"} <= set(summary)
    assert summary["spearman"] > 0.9


def test_errors_are_prediction_errors() -> None:
    f, _ = synthetic()
    with pytest.raises(PredictionError, match="not fitted"):
        PerformanceModel().predict(f)
    with pytest.raises(PredictionError, match="value"):
        PerformanceModel().fit(f.drop("value"))
    with pytest.raises(PredictionError, match="positive"):
        PerformanceModel().fit(f.with_columns(value=pl.lit(0.0)))
    model = PerformanceModel().fit(f)
    with pytest.raises(PredictionError, match="memory"):
        model.predict(f.head(2).with_columns(metric=pl.lit("memory"), unit=pl.lit("MB")))
    with pytest.raises(ValueError, match="coverage"):
        PerformanceModel(coverage=1.5)


def test_robust_pooling_resists_one_outlying_estimate() -> None:
    from benchlab.predict._model import _Core

    core = _Core(shared=None)  # type: ignore[arg-type]  # pooling needs no fitted state
    # column 0: prior, 1: direct measurement (none), then neighbours; k = 5 pools the
    # five most precise: four agreeing neighbours and one far off
    V = np.array([[1.0, np.inf, 0.1, 0.1, 0.1, 0.1, 0.1]])
    E = np.array([[2.0, 0.0, 2.0, 2.02, 1.98, 2.01, 4.0]])
    mu, var, basis, n_nb = core._combine(E, V)
    assert n_nb[0] == 5 and basis[0] == 1
    plain = float(np.mean([2.0, 2.02, 1.98, 2.01, 4.0]))  # inverse-variance mean: 2.40
    assert abs(mu[0] - 2.0) < 0.5 * abs(plain - 2.0)
    assert var[0] > 0.1 / 5  # the disagreement still widens sigma^2
    # agreeing estimates: the robust weights change (almost) nothing
    mu2, var2, *_ = core._combine(np.array([[2.0, 0.0, 2.0, 2.01, 1.99, 2.0, 2.0]]), V)
    assert abs(mu2[0] - 2.0) < 1e-3 and var2[0] < var[0]

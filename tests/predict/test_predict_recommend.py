"""recommend: measured where possible, predicted (with intervals) otherwise; constraints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import benchlab
from benchlab.ingest import BatchBuilder
from benchlab.predict import PredictionError, recommend


def results(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    hws = {
        "gpu-a": ("cuda", 3.0),
        "gpu-b": ("cuda", 2.5),
        "gpu-c": ("cuda", 2.0),
        "cpu-a": ("cpu", 0.5),
        "cpu-b": ("cpu", 0.2),
    }
    models = {"bert": 1.0, "resnet": 0.3, "gpt": 2.5, "vit": 0.8}
    rows = []
    for h, (t, s) in hws.items():
        for m, c in models.items():
            for b in (1, 8):
                lat = np.exp(1 + c - s + 0.4 * np.log(b) + rng.normal(0, 0.02))
                rows.append((h, t, m, b, "latency", "ms", "lower", lat))
                rows.append((h, t, m, b, "throughput", "items/s", "higher", 1000 * b / lat))
                rows.append((h, t, m, b, "memory", "MB", "lower", 100 * np.exp(c) * (1 + 0.1 * np.log(b))))
    f = pl.DataFrame(
        rows,
        schema=["hardware", "hardware_type", "model", "batch_size", "metric", "unit", "direction", "value"],
        orient="row",
    )
    return f.with_columns(benchmark=pl.lit("infer"), provenance=pl.lit("measured"))


def test_measured_and_predicted_figures_are_labelled() -> None:
    f = results()
    # gpt was never run on gpu-a at batch 8: that figure must be predicted
    f = f.filter(~((pl.col("hardware") == "gpu-a") & (pl.col("model") == "gpt") & (pl.col("batch_size") == 8)))
    out = recommend(f, model="gpt", batch_size=8, metric="throughput")
    assert out.height == 5
    by_hw = {r["hardware"]: r for r in out.iter_rows(named=True)}
    assert by_hw["gpu-a"]["provenance"] == "predicted"
    assert by_hw["gpu-a"]["lower"] <= by_hw["gpu-a"]["value"] <= by_hw["gpu-a"]["upper"]
    measured = f.filter((pl.col("hardware") == "gpu-b") & (pl.col("model") == "gpt") & (pl.col("batch_size") == 8)
                        & (pl.col("metric") == "throughput"))["value"][0]  # fmt: skip
    assert by_hw["gpu-b"]["provenance"] == "measured"
    assert by_hw["gpu-b"]["value"] == pytest.approx(measured)
    assert by_hw["gpu-b"]["lower"] is None
    # throughput: higher is better, ranked first
    assert out["rank"].to_list() == [1, 2, 3, 4, 5]
    assert out["value"].is_sorted(descending=True)
    assert out["hardware"][0] == "gpu-a"


def test_constraints_and_types() -> None:
    f = results()
    out = recommend(f, model="bert", batch_size=1, metric="throughput", max_latency=2.0, max_memory=1000)
    assert {"latency_value", "latency_provenance", "memory_value", "meets_constraints", "note"} <= set(out.columns)
    ok = out.filter(pl.col("meets_constraints"))
    assert (ok["latency_value"] <= 2.0).all()
    bad = out.filter(~pl.col("meets_constraints"))
    assert bad.height >= 1 and bad["rank"].null_count() == bad.height
    assert bad["note"].str.contains("latency").all()
    gpus = recommend(f, model="bert", batch_size=1, hardware_types=["cuda"])
    assert set(gpus["hardware_type"]) == {"cuda"}


def test_conservative_checks_the_pessimistic_bound() -> None:
    f = results().filter(~((pl.col("hardware") == "gpu-c") & (pl.col("model") == "vit")))
    loose = recommend(f, model="vit", batch_size=1, max_latency=1e9)
    row = loose.filter(pl.col("hardware") == "gpu-c").row(0, named=True)
    assert row["latency_provenance"] == "predicted"
    limit = (row["latency_value"] + row["latency_upper"]) / 2  # between the point and the upper bound
    lenient = recommend(f, model="vit", batch_size=1, max_latency=limit)
    strict = recommend(f, model="vit", batch_size=1, max_latency=limit, conservative=True)
    assert lenient.filter(pl.col("hardware") == "gpu-c")["meets_constraints"][0]
    assert not strict.filter(pl.col("hardware") == "gpu-c")["meets_constraints"][0]


def test_missing_constraint_metric_is_an_error() -> None:
    f = results().filter(pl.col("metric") != "memory")
    with pytest.raises(PredictionError, match="memory"):
        recommend(f, model="bert", max_memory=10)


def test_store_input(tmp_path: Path) -> None:
    f = results()
    b = BatchBuilder(tmp_path / "r.json", "test", digest="abc")
    run = b.add_run(key="r1")
    for i, r in enumerate(f.iter_rows(named=True)):
        b.add_result(run, location=f"row {i}", metric=r["metric"], value=r["value"], unit=r["unit"], benchmark=r["benchmark"],
                     model=r["model"], hardware=r["hardware"], hardware_type=r["hardware_type"], batch_size=r["batch_size"],
                     direction=r["direction"])  # fmt: skip
    store = benchlab.store.open(tmp_path / "s.duckdb")
    store.write(b.build())
    out = recommend(store, model="resnet", batch_size=8, metric="latency")
    assert out["provenance"].unique().to_list() == ["measured"]
    assert out["value"].is_sorted()  # latency: lower first

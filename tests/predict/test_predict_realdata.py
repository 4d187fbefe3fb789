"""The performance model on the real MLPerf and HELP data (skipped when the data is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

import benchlab.ingest
from benchlab.predict import PerformanceModel, accuracy

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_mlperf_held_out_rows() -> None:
    path = DATA / "mlperf" / "summary_results.json"
    if not path.exists():
        pytest.skip(f"MLPerf data not found at {path}")
    batch = benchlab.ingest.read(path)
    f = batch.results_frame().filter(pl.col("metric").is_in(["throughput", "latency"]))
    held = np.random.default_rng(0).random(f.height) < 0.1
    train, test = f.filter(pl.Series(~held)), f.filter(pl.Series(held))
    model = PerformanceModel().fit(train, hardware=batch.hardware, models=batch.models)
    out = model.predict(test)
    acc = accuracy(
        test["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    # loose bounds for one split; benchmarks/predict_mlperf.py measures the K-fold figures
    assert acc["median_ape"] < 0.05
    assert acc["within_10pct"] > 0.7
    assert 0.75 <= acc["coverage"] <= 1.0
    assert out["provenance"].unique().to_list() == ["predicted"]


def test_help_new_device_from_ten_measurements() -> None:
    lat_path = DATA / "help" / "help_nb201_latency_27configs.json"
    if not lat_path.exists():
        pytest.skip(f"HELP data not found at {lat_path}")
    lat = json.loads(lat_path.read_text())
    idx = json.loads((DATA / "help" / "help_nb201_str_arch2idx.json").read_text())
    archs = sorted(idx, key=idx.get)
    cols = np.sort(np.random.default_rng(0).choice(len(archs), 400, replace=False))
    devices = sorted(lat)
    f = pl.DataFrame(
        {
            "hardware": np.repeat(devices, len(cols)),
            "model": [archs[i] for i in cols] * len(devices),
            "value": np.concatenate([np.asarray(lat[d])[cols] for d in devices]),
        }
    ).with_columns(metric=pl.lit("latency"), unit=pl.lit("ms"), benchmark=pl.lit("nas-bench-201"))
    for target in ("titan_rtx_256", "gold_6226"):
        own = f.filter(pl.col("hardware") == target).with_row_index("i")
        chosen = np.random.default_rng(1).choice(own.height, 10, replace=False)
        train = pl.concat([f.filter(pl.col("hardware") != target), own.filter(pl.col("i").is_in(chosen)).drop("i")])
        rest = own.filter(~pl.col("i").is_in(chosen))
        pred = PerformanceModel(conformal="none").fit(train).predict(rest.drop("i", "value"))
        assert spearmanr(pred["prediction"].to_numpy(), rest["value"].to_numpy())[0] > 0.9

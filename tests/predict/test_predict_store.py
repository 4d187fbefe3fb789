"""Stored predictions: migration 003, save/load round trip, provenance."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import benchlab
from benchlab.errors import QueryError
from benchlab.store._predictions import load_predictions, save_predictions

INFO = {
    "model_name": "benchlab.predict.PerformanceModel",
    "model_version": "1.0",
    "training_hash": "ab" * 32,
    "n_train": 10,
}


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": ["bert", "x'); DROP TABLE predictions; --"],
            "hardware": ["cuda:0", "cpu"],
            "batch_size": [8, None],
            "metric": ["throughput", "latency"],
            "unit": ["items/s", "ms"],
            "direction": ["higher", "lower"],
            "prediction": [120.0, 3.5],
            "lower": [100.0, 3.0],
            "upper": [150.0, float("inf")],
            "coverage": [0.9, 0.9],
            "provenance": ["predicted", "predicted"],
            "basis": ["neighbours", "features"],
        }
    )


def test_migration_creates_the_table(tmp_path: Path) -> None:
    store = benchlab.store.open(tmp_path / "s.duckdb")
    assert store.schema_version >= 3
    tables = store.sql("SELECT table_name FROM information_schema.tables")["table_name"].to_list()
    assert "predictions" in tables


def test_round_trip_keeps_provenance_and_model(tmp_path: Path) -> None:
    store = benchlab.store.open(tmp_path / "s.duckdb")
    ids = save_predictions(store, frame(), INFO)
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    again = save_predictions(store, frame().head(1), INFO)
    assert again[0] > ids[1]
    out = load_predictions(store)
    assert out.height == 3
    assert out["provenance"].unique().to_list() == ["predicted"]
    assert out["training_hash"].unique().to_list() == [INFO["training_hash"]]
    assert out["model_version"][0] == "1.0"
    assert out["created_at"].null_count() == 0
    # user strings are data, never SQL
    odd = load_predictions(store, model="x'); DROP TABLE predictions; --")
    assert odd.height == 1 and odd["upper"][0] == float("inf")
    assert load_predictions(store, hardware=["cuda:0"], metric="throughput")["prediction"].to_list() == [120.0, 120.0]
    assert load_predictions(store, batch_size=None).height == 1
    assert (out["value"] == out["prediction"]).all()


def test_refuses_measurements_and_missing_model_info(tmp_path: Path) -> None:
    store = benchlab.store.open(tmp_path / "s.duckdb")
    with pytest.raises(QueryError, match="not predictions"):
        save_predictions(store, frame().with_columns(provenance=pl.lit("measured")), INFO)
    with pytest.raises(QueryError, match="training_hash"):
        save_predictions(store, frame(), {"model_name": "m", "model_version": "1"})
    with pytest.raises(QueryError, match="cannot filter"):
        load_predictions(store, value=3)
    assert load_predictions(store).height == 0

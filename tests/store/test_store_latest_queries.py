"""``latest``, ``matrix`` and ``compare`` against the same answers computed in Polars.

The store answers these with two-phase SQL (``benchlab.store._query``); here
the expected answers come from ``store.results()`` and plain frame operations,
on data with runs that have no start time, start-time ties and a series
measured twice in one run.
"""

import json
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import benchlab

GRID = [
    (model, hw, batch, metric)
    for model in ("bert", "t5", None)
    for hw in ("cpu", "cuda:0")
    for batch in (1, 4)
    for metric in ("latency", "throughput")
]


@pytest.fixture
def store(tmp_path):
    rng = random.Random(7)
    s = benchlab.open(tmp_path / "s.duckdb")
    for f in range(3):
        lines = []
        for run in range(4):
            start = rng.choice([None, "2025-01-02T00:00:00Z", f"2025-01-0{rng.randint(1, 5)}T00:00:00Z"])
            for model, hw, batch, metric in rng.sample(GRID, 15):
                rec = {
                    "benchmark": "infer", "model": model, "hardware": hw, "batch_size": batch, "metric": metric,
                    "value": round(rng.random(), 6), "unit": "ms", "commit": f"c{run % 2}", "run": f"{f}-{run}",
                    "started_at": start,
                }  # fmt: skip
                lines.append(json.dumps({k: v for k, v in rec.items() if v is not None}))
        path = tmp_path / f"r{f}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        assert s.ingest(path).ok
    return s


def _latest_runs(store, **filters) -> pl.DataFrame:
    """series_key -> run_id of its latest value, from the full results frame."""
    df = store.results(**filters)
    order = df.select("series_key", "run_id", has_start=pl.col("timestamp").is_not_null(), t=pl.col("timestamp")).sort(
        ["has_start", "t", "run_id"], descending=True, nulls_last=True
    )
    return order.group_by("series_key", maintain_order=True).first().select("series_key", "run_id").sort("series_key")


@pytest.mark.parametrize("filters", [{}, {"metric": "latency"}, {"model": "bert"}, {"model": None}, {"commit": "c1"}])
def test_latest_is_the_most_recent_run_of_each_series(store, filters):
    got = store.latest(**filters)
    assert got["series_key"].is_unique().all()  # one row even when a run measured a series twice
    assert got.select("series_key", "run_id").equals(_latest_runs(store, **filters))
    assert got.schema == store.results().schema


def test_matrix_aggregates_the_latest_values(store):
    latest = store.latest(metric="latency")
    expected = (
        latest.group_by("model", "hardware")
        .agg(pl.col("value").median())
        .pivot(on="hardware", index="model", values="value", sort_columns=True)
        .sort("model")
    )
    assert store.matrix("latency").equals(expected)
    assert store.matrix("no such metric").is_empty()


def test_a_series_measured_twice_in_its_latest_run_gives_one_row(tmp_path):
    s = benchlab.open(tmp_path / "d.duckdb")
    path = tmp_path / "d.jsonl"
    rows = [
        {"benchmark": "b", "metric": "latency", "value": v, "unit": "ms", "run": run, "started_at": start}
        for v, run, start in ((1.0, "old", "2025-01-01T00:00:00Z"), (2.0, "new", "2025-02-01T00:00:00Z"),
                              (3.0, "new", "2025-02-01T00:00:00Z"))
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert s.ingest(path).ok
    latest = s.latest()
    assert latest.height == 1 and latest["value"].item() in (2.0, 3.0)
    assert s.matrix("latency", rows="benchmark", columns="metric")["latency"].item() in (2.0, 3.0)


def test_compare_medians_each_side(store):
    got = store.compare("c0", "c1", metric="latency")
    df = store.results(metric="latency")
    ident = ["benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric"]
    expected = (
        df.group_by(ident)
        .agg(
            baseline=pl.col("value").filter(pl.col("commit") == "c0").median(),
            contender=pl.col("value").filter(pl.col("commit") == "c1").median(),
            n_baseline=(pl.col("commit") == "c0").sum().cast(pl.Int64),
            n_contender=(pl.col("commit") == "c1").sum().cast(pl.Int64),
        )
        .sort(ident, nulls_last=True)
    )
    # DuckDB and Polars average the middle pair of an even count in different orders.
    assert_frame_equal(got.select(expected.columns), expected, check_exact=False, rel_tol=1e-12)

"""A deterministic synthetic native results table for the store benchmarks.

The table looks like what a CI farm benchmarking ML models on many platforms
produces: ``n_series`` series (benchmark × model × hardware × batch size ×
precision × metric) measured at each of ``n_commits`` commits, one run per
(commit, hardware) with its own machine and start time.  Units vary per
series (``us``/``ms``/``s`` latencies, ``items/s``/``samples/s``/``tokens/s``
throughputs, ``MB``/``MiB`` memory) so that unit normalization has work, and
precisions come in several spellings (``fp16``, ``float16``, ``FP16`` …).

Everything is generated column-wise with NumPy and Polars (a Python loop over
10 million rows would dominate the benchmark set-up), from a fixed seed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

MODELS = [
    f"{family}-{size}"
    for family in ("bert", "gpt2", "llama", "t5", "vit", "resnet", "whisper", "clip", "mistral", "qwen")
    for size in ("tiny", "small", "base", "large", "xl")
]
FAMILIES = {"bert": "embedding", "gpt2": "text-generation", "llama": "text-generation",
            "t5": "text-generation", "vit": "vision", "resnet": "vision", "whisper": "audio",
            "clip": "multimodal", "mistral": "text-generation", "qwen": "text-generation"}  # fmt: skip
HARDWARE = ["cpu", "cuda:0", "rocm:0", "mps", "openvino", "qnn", "webnn", "webgpu"]
BATCH_SIZES = [1, 4, 16, 64]
PRECISIONS = ["fp32", "fp16", "bf16", "int8", "int4"]
# How some platforms spell precisions (normalization maps them back).
SPELLING = {"openvino": {p: p.upper() for p in PRECISIONS},
            "mps": {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}}  # fmt: skip
# metric -> candidate (unit, scale of the value in that unit)
METRICS = {
    "latency": [("us", 1e3), ("ms", 1.0), ("s", 1e-3)],
    "throughput": [("items/s", 1.0), ("samples/s", 1.0), ("tokens/s", 1.0)],
    "memory": [("MB", 1.0), ("MiB", 1 / 1.048576)],
}
T0 = np.datetime64("2025-01-01T00:00:00", "us")


def series_table(n_series: int, seed: int = 0) -> pl.DataFrame:
    """The first ``n_series`` series of the full grid, with unit and base level."""
    rng = np.random.default_rng(seed)
    grid = pl.DataFrame({"model": MODELS}).join(pl.DataFrame({"hardware": HARDWARE}), how="cross")
    grid = grid.join(pl.DataFrame({"batch_size": BATCH_SIZES}), how="cross")
    grid = grid.join(pl.DataFrame({"precision": PRECISIONS}), how="cross")
    grid = grid.join(pl.DataFrame({"metric": list(METRICS)}), how="cross")
    if n_series > grid.height:
        raise ValueError(f"at most {grid.height} series, asked for {n_series}")
    # A seeded sample of the grid, so every model and platform appears.
    pick = np.sort(rng.choice(grid.height, size=n_series, replace=False))
    grid = grid[pick]
    n = grid.height
    metric = grid.get_column("metric").to_numpy()
    choice = rng.integers(0, 3, n)
    units, scales = [], []
    for m, c in zip(metric, choice, strict=True):
        opts = METRICS[m]
        unit, scale = opts[c % len(opts)]
        units.append(unit)
        scales.append(scale)
    base = rng.lognormal(mean=2.0, sigma=1.0, size=n)  # canonical-ish level
    return grid.with_columns(
        benchmark=pl.lit("inference/") + pl.col("model"),
        model_family=pl.col("model").str.split("-").list.first().replace_strict(FAMILIES),
        unit=pl.Series(units),
        level=pl.Series(base * np.asarray(scales)),
        series_index=pl.int_range(n, dtype=pl.Int64),
    )


def results_table(n_series: int = 10_000, n_commits: int = 1_000, seed: int = 0) -> pl.DataFrame:
    """``n_series * n_commits`` native result rows (Parquet-ready column types).

    Columns: benchmark, model, model_family, hardware, batch_size, precision,
    metric, value, unit, n_samples, stddev, commit, branch, machine, started_at
    (``Datetime(us, UTC)``), in that order.
    """
    rng = np.random.default_rng(seed + 1)
    series = series_table(n_series, seed)
    commits = pl.DataFrame(
        {
            "commit_index": np.arange(n_commits, dtype=np.int64),
            "commit": [hashlib.sha1(f"commit {i}".encode()).hexdigest() for i in range(n_commits)],
        }
    )
    hw_index = {h: i for i, h in enumerate(HARDWARE)}
    df = commits.join(series, how="cross")  # commit-major: one file is a history
    n = df.height
    # A few step changes per series so history looks like history.
    steps = np.where(rng.random(n) < 0.001, rng.normal(0.0, 0.1, n), 0.0)
    noise = rng.normal(0.0, 0.02, n)
    value = df.get_column("level").to_numpy() * np.exp(noise + steps)
    hw = df.get_column("hardware").replace_strict(hw_index, return_dtype=pl.Int64).to_numpy()
    ci = df.get_column("commit_index").to_numpy()
    started = T0 + (ci * 3_600 + hw * 60).astype("timedelta64[s]")
    return df.select(
        "benchmark",
        "model",
        "model_family",
        "hardware",
        "batch_size",
        pl.coalesce(
            *(
                pl.when(pl.col("hardware") == hw).then(pl.col("precision").replace(alias))
                for hw, alias in SPELLING.items()
            ),
            pl.col("precision"),
        ).alias("precision"),  # fmt: skip
        "metric",
        pl.Series("value", value),
        "unit",
        pl.lit(20, pl.Int64).alias("n_samples"),
        (pl.Series("stddev", value) * 0.02).alias("stddev"),
        "commit",
        pl.lit("main").alias("branch"),
        (pl.lit("runner-") + pl.col("hardware").str.replace(":0", "")).alias("machine"),
        pl.Series("started_at", started).dt.replace_time_zone("UTC"),
    )


def write_parquet(path: Path, n_series: int = 10_000, n_commits: int = 1_000, seed: int = 0) -> int:
    """Write the table to ``path`` as Parquet; returns the row count."""
    df = results_table(n_series, n_commits, seed)
    df.write_parquet(path, row_group_size=1 << 20)
    return df.height


def write_jsonl(path: Path, n_series: int, n_commits: int, seed: int = 0) -> int:
    """Write the table as native JSON Lines (one flat result per line)."""
    df = results_table(n_series, n_commits, seed).with_columns(pl.col("started_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    df.write_ndjson(path)
    return df.height


def write_json_document(path: Path, n_series: int, n_commits: int, seed: int = 0) -> int:
    """Write the table as a native JSON document (runs with nested results)."""
    df = results_table(n_series, n_commits, seed).with_columns(pl.col("started_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    run_cols = ["commit", "branch", "machine", "started_at"]
    result_cols = ["benchmark", "model", "hardware", "batch_size", "precision", "metric", "value",
                   "unit", "n_samples", "stddev"]  # fmt: skip
    runs = df.group_by(run_cols, maintain_order=True).agg(pl.struct(result_cols).alias("results"))
    models = df.select(pl.col("model").alias("name"), pl.col("model_family").alias("family")).unique(
        maintain_order=True
    )
    doc = {"benchlab": 1, "models": models.to_dicts(), "runs": runs.to_dicts()}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return df.height

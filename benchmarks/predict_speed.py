"""Speed of benchlab's performance model: fit + predict on 100 000 results.

A synthetic but realistically structured results frame: 100 systems (with a
hardware catalogue: type, memory, peak TFLOPS) × 50 models (with a model
catalogue: family, size) × 7 batch sizes × 3 precisions, latency in ms from a
low-rank log model (system speed × model cost, batch scaling that depends on
the system, precision speed-ups that depend on the hardware type) with 5 %
noise.  100 000 cells are measured; the model is fitted on them and predicts
5 000 configurations that were not (new model/hardware/batch/precision
combinations).  Intervals use split conformal (the default above 20 000 cells
per metric).

Run:  python benchmarks/predict_speed.py [--rows 100000] [--predict 5000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import polars as pl

from benchlab.predict import PerformanceModel, accuracy


def synthetic(rows: int, predict: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(measured results, held-out configurations with true values, hardware catalogue, model catalogue)."""
    rng = np.random.default_rng(seed)
    n_hw, n_model = 100, 50
    batches = np.array([1, 2, 4, 8, 16, 32, 64])
    precisions = np.array(["fp32", "fp16", "int8"])
    types = rng.choice(["cpu", "cuda", "rocm", "mps"], n_hw, p=[0.4, 0.4, 0.1, 0.1])
    speed = rng.normal(0, 1.0, n_hw) + np.where(types == "cpu", -1.5, 0.5)
    hw_f = rng.normal(0, 0.3, (n_hw, 2))  # low-rank interaction factors
    md_f = rng.normal(0, 0.3, (n_model, 2))
    cost = rng.normal(0, 1.2, n_model)
    batch_exp = np.clip(0.6 + 0.3 * rng.normal(size=n_hw) - 0.3 * (types != "cpu"), 0.1, 1.0)
    prec_gain = {"fp32": 0.0, "fp16": 0.5, "int8": 0.8}
    h, m, b, p = np.meshgrid(np.arange(n_hw), np.arange(n_model), np.arange(len(batches)), np.arange(3), indexing="ij")
    h, m, b, p = h.ravel(), m.ravel(), b.ravel(), p.ravel()
    gain = np.array([prec_gain[x] for x in precisions])[p] * np.where(types[h] == "cpu", 0.4, 1.0)
    log_lat = (
        2.0 + cost[m] - speed[h] + batch_exp[h] * np.log(batches[b]) - gain + (hw_f[h] * md_f[m]).sum(axis=1)
        + rng.normal(0, 0.05, len(h))
    )  # fmt: skip
    grid = pl.DataFrame(
        {
            "benchmark": "inference",
            "model": [f"model-{i:02d}" for i in m],
            "hardware": [f"hw-{i:03d}" for i in h],
            "hardware_type": types[h],
            "batch_size": batches[b],
            "precision": precisions[p],
            "metric": "latency",
            "unit": "ms",
            "direction": "lower",
            "value": np.exp(log_lat),
            "provenance": "measured",
        }
    )
    order = rng.permutation(grid.height)
    measured = grid[order[:rows]]
    held = grid[order[rows : rows + predict]]
    hardware = pl.DataFrame(
        {
            "name": [f"hw-{i:03d}" for i in range(n_hw)],
            "type": types,
            "memory_gb": np.round(np.exp(rng.normal(3, 1, n_hw)), 1),
            "peak_tflops": np.round(np.exp(speed + rng.normal(0, 0.3, n_hw) + 3), 1),
        }
    )
    models = pl.DataFrame(
        {
            "name": [f"model-{i:02d}" for i in range(n_model)],
            "family": rng.choice(["vision", "text-generation", "embedding", "audio"], n_model),
            "params_m": np.round(np.exp(cost + 5 + rng.normal(0, 0.3, n_model)), 1),
        }
    )
    return measured, held, hardware, models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--predict", type=int, default=5_000)
    args = ap.parse_args()
    measured, held, hardware, models = synthetic(args.rows, args.predict)
    print(f"cores: {os.cpu_count()}  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"synthetic results: {measured.height:,} measured rows "
          f"({measured['hardware'].n_unique()} systems, {measured['model'].n_unique()} models); "
          f"predicting {held.height:,} unmeasured configurations")  # fmt: skip
    t0 = time.perf_counter()
    model = PerformanceModel().fit(measured, hardware=hardware, models=models)
    t1 = time.perf_counter()
    out = model.predict(held.drop("value", "provenance"))
    t2 = time.perf_counter()
    acc = accuracy(
        held["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    print(f"fit     {t1 - t0:6.2f} s   ({model})")
    print(f"predict {t2 - t1:6.2f} s   ({held.height:,} configurations with 90 % intervals)")
    print(f"total   {t2 - t0:6.2f} s")
    print(f"held-out accuracy: MAPE {100 * acc['mape']:.1f} %, within ±10 % {100 * acc['within_10pct']:.1f} %, "
          f"90 % interval coverage {100 * acc['coverage']:.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()

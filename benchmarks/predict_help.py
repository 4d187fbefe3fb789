"""Latency prediction on a new device from 10 measurements (HELP / NAS-Bench-201 protocol).

Data: ``shared/data/help`` — 27 device configurations × 15 625 NAS-Bench-201
architectures, fully observed (HW-NAS-Bench / HELP).  Each device configuration
is one hardware (``1080ti_32`` …), each architecture one model (its
NAS-Bench-201 string), metric ``latency`` in ms.

1. Leave one device out: the other 26 devices are fully known, 10 architectures
   are measured on the new device, and benchlab's ``PerformanceModel`` predicts
   the remaining 15 615; Spearman rank correlation per device, averaged over the
   27 devices.  Two choices of the 10: a random sample (seed 0), and HELP's own
   10 reference architectures (its "hardware embedding" set).  HELP's published
   meta-learned result: 0.932 (average over its meta-test devices).
2. Active learning replay: starting from no measurement on the new device,
   reveal one measurement at a time, chosen by ``suggest_next`` or at random, and
   track the Spearman correlation of the device's whole latency table (measured
   values where known, predictions elsewhere).  Architectures are subsampled
   (``--replay-archs``) for speed; averaged over HELP's six meta-test devices and
   ``--replay-seeds`` subsamples.

Run:  python benchmarks/predict_help.py [--devices all|meta-test] [--skip-lodo] [--skip-replay]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from benchlab.predict import PerformanceModel, suggest_next

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "help"
HELP_REFERENCE = [11982, 431, 55, 9, 14451, 8636, 9881, 13479, 6196, 1462]  # HELP's hardware-embedding archs
META_TEST = ["titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"]


def load() -> tuple[list[str], list[str], np.ndarray]:
    """(devices, architecture strings, latency matrix devices × architectures)."""
    lat = json.loads((DATA / "help_nb201_latency_27configs.json").read_text())
    idx = json.loads((DATA / "help_nb201_str_arch2idx.json").read_text())
    archs = [""] * len(idx)
    for s, i in idx.items():
        archs[i] = s
    devices = sorted(lat)
    return devices, archs, np.array([lat[d] for d in devices], dtype=float)


def frame(devices: list[str], archs: list[str], L: np.ndarray, cols: np.ndarray) -> pl.DataFrame:
    n = len(cols)
    return pl.DataFrame(
        {
            "hardware": np.repeat(devices, n),
            "model": [archs[i] for i in cols] * len(devices),
            "arch": np.tile(cols, len(devices)),
            "value": L[:, cols].ravel(),
        }
    ).with_columns(
        benchmark=pl.lit("nas-bench-201"), metric=pl.lit("latency"), unit=pl.lit("ms"), direction=pl.lit("lower")
    )


def lodo(devices: list[str], archs: list[str], L: np.ndarray, targets: list[str], picks: dict[str, np.ndarray]) -> None:
    everything = frame(devices, archs, L, np.arange(L.shape[1]))
    for name, chosen in picks.items():
        t0 = time.perf_counter()
        scores = {}
        for d in targets:
            own = everything.filter(pl.col("hardware") == d)
            train = pl.concat([everything.filter(pl.col("hardware") != d), own.filter(pl.col("arch").is_in(chosen))])
            rest = own.filter(~pl.col("arch").is_in(chosen))
            model = PerformanceModel(conformal="none").fit(train.drop("arch"))
            pred = model.predict(rest.drop("arch", "value"))
            scores[d] = spearmanr(pred["prediction"].to_numpy(), rest["value"].to_numpy())[0]
            print(f"    {d:<15} Spearman {scores[d]:.4f}", flush=True)
        mean = np.mean(list(scores.values()))
        meta = (
            np.mean([scores[d] for d in META_TEST if d in scores])
            if any(d in scores for d in META_TEST)
            else float("nan")
        )
        print(f"  10 measured = {name}: mean Spearman over {len(scores)} devices {mean:.4f}"
              f" (HELP meta-test devices: {meta:.4f}); {time.perf_counter() - t0:.0f} s\n")  # fmt: skip


def replay(devices: list[str], archs: list[str], L: np.ndarray, n_archs: int, steps: int, seeds: int) -> None:
    curves: dict[str, list[list[float]]] = {"suggest_next": [], "random": []}
    t0 = time.perf_counter()
    for seed in range(seeds):
        cols = np.sort(np.random.default_rng(100 + seed).choice(L.shape[1], n_archs, replace=False))
        rows = frame(devices, archs, L, cols)
        for d in META_TEST:
            other = rows.filter(pl.col("hardware") != d)
            target = rows.filter(pl.col("hardware") == d)
            truth = target.sort("arch")["value"].to_numpy()
            for strategy in curves:
                rng = np.random.default_rng(seed)
                measured: list[int] = []
                curve = []
                for step in range(steps + 1):
                    known = target.filter(pl.col("arch").is_in(measured))
                    model = PerformanceModel(conformal="none").fit(pl.concat([other, known]).drop("arch"))
                    cand = target.filter(~pl.col("arch").is_in(measured))
                    if step:
                        pred = model.predict(cand.drop("value")).select("arch", "prediction")
                        table = pl.concat([pred, known.select("arch", prediction="value")]).sort("arch")
                        curve.append(spearmanr(table["prediction"].to_numpy(), truth)[0])
                    if step == steps:
                        break
                    if strategy == "random":
                        measured.append(int(rng.choice(cand["arch"].to_numpy())))
                    else:
                        pick = suggest_next(model, cand.drop("value"), k=1, cost="uniform")
                        measured.append(int(pick["arch"][0]))
                curves[strategy].append(curve)
    mean = {k: np.mean(v, axis=0) for k, v in curves.items()}
    print(f"  measurements   {'suggest_next':>12}   {'random':>8}   (mean Spearman of the device's table; "
          f"{len(META_TEST)} devices × {seeds} subsamples of {n_archs} architectures)")  # fmt: skip
    for i in range(steps):
        print(f"  {i + 1:>12}   {mean['suggest_next'][i]:12.4f}   {mean['random'][i]:8.4f}")
    for level in (0.92, 0.93, 0.94, 0.95):
        first = {k: next((i + 1 for i, v in enumerate(m) if v >= level), None) for k, m in mean.items()}
        show = {k: (str(v) if v else f">{steps}") for k, v in first.items()}
        print(
            f"  Spearman ≥ {level:.2f} reached after: suggest_next {show['suggest_next']}, random {show['random']} measurements"
        )
    print(f"  ({time.perf_counter() - t0:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", choices=["all", "meta-test"], default="all")
    ap.add_argument("--skip-lodo", action="store_true")
    ap.add_argument("--skip-replay", action="store_true")
    ap.add_argument("--replay-archs", type=int, default=300)
    ap.add_argument("--replay-steps", type=int, default=15)
    ap.add_argument("--replay-seeds", type=int, default=3)
    args = ap.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA}: HELP data not found")
    devices, archs, L = load()
    print(f"HELP NAS-Bench-201 latencies: {len(devices)} devices × {L.shape[1]} architectures; "
          f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    if not args.skip_lodo:
        targets = devices if args.devices == "all" else META_TEST
        random10 = np.random.default_rng(0).choice(L.shape[1], 10, replace=False)
        print("1. leave one device out, 10 architectures measured on the new device (target: mean Spearman ≥ 0.94)")
        lodo(
            devices,
            archs,
            L,
            targets,
            {"random sample (seed 0)": random10, "HELP's 10 reference architectures": np.array(HELP_REFERENCE)},
        )
    if not args.skip_replay:
        print("2. active learning replay: suggest_next vs random, one measurement at a time")
        replay(devices, archs, L, args.replay_archs, args.replay_steps, args.replay_seeds)


if __name__ == "__main__":
    main()

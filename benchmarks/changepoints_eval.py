"""Evaluate :func:`benchlab.regress.changepoints` with its default options.

Prints

1. per-series F1 (margin 5) and segmentation covering on the TCPD dev split,
   scored against all annotators as in van den Burg & Williams (2020), and the
   means;
2. false change points per 10 000 points on pure noise (Gaussian and Student-t
   with 3 degrees of freedom, scales 1e-3, 1 and 1e4, lengths 100, 1 000 and
   10 000; fixed seeds);
3. the median time for one 10 000-point series and the time for a whole store
   of 10 000 random series of 1 000 points (single process).

Run from the repository root::

    python benchmarks/changepoints_eval.py [--tcpd PATH] [--store-series N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlab.regress._changepoints import changepoints
from benchlab.regress._cp_metrics import covering, f1_score, load_tcpd

DEFAULT_TCPD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tcpd"


def eval_tcpd(directory: Path) -> tuple[float, float]:
    """Print per-series scores on TCPD and return the mean F1 and covering."""
    data = load_tcpd(directory)
    f1s, covers = [], []
    print(f"TCPD ({directory}), default options, F1 margin 5")
    print(f"{'series':22s} {'n':>5s} {'F1':>6s} {'cover':>6s}  change points")
    for name, (values, labels) in data.items():
        cps = changepoints(values)
        f1 = f1_score(labels, cps, margin=5)
        cover = covering(labels, cps, len(values))
        f1s.append(f1)
        covers.append(cover)
        print(f"{name:22s} {len(values):5d} {f1:6.3f} {cover:6.3f}  {cps}")
    mean_f1, mean_cover = float(np.mean(f1s)), float(np.mean(covers))
    print(f"{'MEAN':22s} {'':5s} {mean_f1:6.3f} {mean_cover:6.3f}  ({len(f1s)} series)")
    return mean_f1, mean_cover


def eval_false_alarms() -> float:
    """Print and return false change points per 10 000 points on pure noise."""
    print("\nFalse alarms on pure noise (default options)")
    total_cps = total_pts = 0
    plan = [(100, 100), (1000, 20), (10000, 3)]
    for dist in ("gaussian", "student-t3"):
        for scale in (1e-3, 1.0, 1e4):
            for n, reps in plan:
                rng = np.random.default_rng([n, reps, int(scale * 1000), len(dist)])
                cps = 0
                for _ in range(reps):
                    noise = rng.standard_normal(n) if dist == "gaussian" else rng.standard_t(3, n)
                    cps += len(changepoints(100.0 * scale + scale * noise))
                total_cps += cps
                total_pts += n * reps
                print(f"  {dist:10s} scale={scale:<7g} n={n:<6d} x{reps:<4d} false cps={cps}")
    rate = total_cps / total_pts * 1e4
    print(f"  total {total_cps} false change points in {total_pts} points = {rate:.3f} per 10k points")
    return rate


def eval_speed(store_series: int) -> tuple[float, float]:
    """Print and return ms per 10 000-point series and seconds for the store."""
    rng = np.random.default_rng(7)
    series = rng.standard_normal(10_000)
    series[4000:] += 1.0
    changepoints(series)  # warm-up
    times = []
    for _ in range(9):
        t0 = time.perf_counter()
        changepoints(series)
        times.append(time.perf_counter() - t0)
    ms = float(np.median(times) * 1e3)
    print(f"\nSpeed: one 10,000-point series (one step): median {ms:.1f} ms over 9 runs")

    store = rng.standard_normal((store_series, 1000))
    # a realistic store: some series have a step, some a spike, some a drift
    store[::3, 600:] += 3.0
    store[1::3, 500] += 25.0
    store[2::3] += np.linspace(0.0, 2.0, 1000)
    t0 = time.perf_counter()
    for row in store:
        changepoints(row)
    seconds = time.perf_counter() - t0
    print(f"Speed: store of {store_series} series x 1,000 points, single process: {seconds:.1f} s")
    return ms, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tcpd", type=Path, default=DEFAULT_TCPD)
    parser.add_argument("--store-series", type=int, default=10_000)
    args = parser.parse_args()
    if args.tcpd.is_dir():
        f1, cover = eval_tcpd(args.tcpd)
    else:
        print(f"TCPD folder {args.tcpd} not found; skipping accuracy")
        f1 = cover = float("nan")
    rate = eval_false_alarms()
    ms, seconds = eval_speed(args.store_series)
    print("\nSummary")
    print(f"  TCPD mean F1     {f1:.3f}   (target >= 0.80)")
    print(f"  TCPD mean cover  {cover:.3f}   (target >= 0.75)")
    print(f"  false alarms     {rate:.3f} per 10k points   (target <= 1)")
    print(f"  10k-point series {ms:.1f} ms   (target <= 20)")
    print(f"  10k x 1k store   {seconds:.1f} s   (target <= 20)")


if __name__ == "__main__":
    main()

"""Evaluate :func:`benchlab.regress.changepoints` with its default options.

Prints

1. per-series F1 (margin 5) and segmentation covering on the TCPD dev split,
   scored against all annotators as in van den Burg & Williams (2020) (with
   TCPDBench's clean-up of the predicted locations), and the means;
2. false change points per 10 000 points on pure noise (Gaussian and Student-t
   with 3 degrees of freedom, scales 1e-3, 1 and 1e4, lengths 100, 1 000 and
   10 000; fixed seeds);
3. the share of short pure-noise series (10, 20 and 50 points, white and AR(1)
   noise with lag-one correlation 0.5) that get a false change point, where
   the noise level is hardest to tell from the signal;
4. the median time for one 10 000-point series and the time for a whole store
   of 10 000 random series of 1 000 points (single process).

With ``--sensitivity`` it also prints the TCPD means when the block length of
the long-run variance is scaled (x0.8, x1.25) and when its minimum number of
blocks is 15 or 25 instead of 20, the constants a reader may suspect of being
tuned to these 16 series.

Run from the repository root::

    python benchmarks/changepoints_eval.py [--tcpd PATH] [--store-series N] [--sensitivity]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlab.regress import _changepoints
from benchlab.regress._changepoints import changepoints
from benchlab.regress._cp_metrics import clean_predictions, covering, f1_score, load_tcpd

DEFAULT_TCPD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tcpd"


def eval_tcpd(directory: Path, verbose: bool = True) -> tuple[float, float]:
    """Print per-series scores on TCPD and return the mean F1 and covering."""
    data = load_tcpd(directory)
    f1s, covers = [], []
    if verbose:
        print(f"TCPD ({directory}), default options, F1 margin 5")
        print(f"{'series':22s} {'n':>5s} {'F1':>6s} {'cover':>6s}  change points")
    for name, (values, labels) in data.items():
        cps = clean_predictions(changepoints(values), len(values))
        f1 = f1_score(labels, cps, margin=5)
        cover = covering(labels, cps, len(values))
        f1s.append(f1)
        covers.append(cover)
        if verbose:
            print(f"{name:22s} {len(values):5d} {f1:6.3f} {cover:6.3f}  {cps}")
    mean_f1, mean_cover = float(np.mean(f1s)), float(np.mean(covers))
    if verbose:
        print(f"{'MEAN':22s} {'':5s} {mean_f1:6.3f} {mean_cover:6.3f}  ({len(f1s)} series)")
    return mean_f1, mean_cover


@contextmanager
def _block_rule(rule: Callable[[int], int]) -> Iterator[None]:
    """Temporarily replace the block-length rule of the long-run variance."""
    saved = _changepoints._block_length
    _changepoints._block_length = rule
    try:
        yield
    finally:
        _changepoints._block_length = saved


def eval_sensitivity(directory: Path) -> None:
    """Print the TCPD means with the block-length constants changed."""
    print("\nSensitivity of the TCPD means to the long-run-variance block length")
    variants = {
        "default: round(n**(1/3)), >= 20 blocks": _changepoints._block_length,
        "block length x0.8": lambda n: max(1, min(int(round(0.8 * n ** (1 / 3))), n // 20)),
        "block length x1.25": lambda n: max(1, min(int(round(1.25 * n ** (1 / 3))), n // 20)),
        ">= 15 blocks": lambda n: max(1, min(int(round(n ** (1 / 3))), n // 15)),
        ">= 25 blocks": lambda n: max(1, min(int(round(n ** (1 / 3))), n // 25)),
        "no minimum number of blocks": lambda n: max(1, int(round(n ** (1 / 3)))),
    }
    for label, rule in variants.items():
        with _block_rule(rule):
            f1, cover = eval_tcpd(directory, verbose=False)
        print(f"  {label:40s} F1 {f1:.3f}  cover {cover:.3f}")


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """Stationary AR(1) noise with unit variance."""
    z = rng.standard_normal(n) * np.sqrt(1.0 - rho * rho)
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for i in range(1, n):
        e[i] = rho * e[i - 1] + z[i]
    return e


def eval_short_series(reps: int = 400) -> None:
    """Print the share of short pure-noise series that get a false change point."""
    print("\nShort pure-noise series with a false change point (default options)")
    for n in (10, 20, 50):
        shares = []
        for rho in (0.0, 0.5):
            rng = np.random.default_rng([n, int(10 * rho)])
            alarms = sum(bool(changepoints(_ar1(rng, n, rho))) for _ in range(reps))
            shares.append(alarms / reps)
        print(f"  n={n:<3d} white noise {shares[0]:6.1%}   AR(1) rho=0.5 {shares[1]:6.1%}   ({reps} series each)")


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
    parser.add_argument("--sensitivity", action="store_true", help="also vary the block-length constants")
    args = parser.parse_args()
    if args.tcpd.is_dir():
        f1, cover = eval_tcpd(args.tcpd)
        if args.sensitivity:
            eval_sensitivity(args.tcpd)
    else:
        print(f"TCPD folder {args.tcpd} not found; skipping accuracy")
        f1 = cover = float("nan")
    rate = eval_false_alarms()
    eval_short_series()
    ms, seconds = eval_speed(args.store_series)
    print("\nSummary")
    print(f"  TCPD mean F1     {f1:.3f}   (target >= 0.80)")
    print(f"  TCPD mean cover  {cover:.3f}   (target >= 0.75)")
    print(f"  false alarms     {rate:.3f} per 10k points   (target <= 1)")
    print(f"  10k-point series {ms:.1f} ms   (target <= 20)")
    print(f"  10k x 1k store   {seconds:.1f} s   (target <= 20)")


if __name__ == "__main__":
    main()

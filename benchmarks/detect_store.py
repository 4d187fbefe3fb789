"""Time regression detection over a whole synthetic store and check what it finds.

Builds a deterministic results frame of 10 000 series x 1 000 points (one run
per commit measuring every series, as a nightly job would), with

* a level shift injected in 10 % of the series (size 8-50 %, either way, at a
  random position between 50 and 950),
* lone spikes (x1.5-x4) on 0.5 % of all points,
* noise of 1-3 % of the level, varying by series,

then times :func:`benchlab.regress.detect` on it and prints recall (injected
steps found within 3 points of their position, in the right direction) and the
false changes (anything else reported).

Usage::

    python benchmarks/detect_store.py [--series 10000] [--points 1000] [--workers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time

import numpy as np
import polars as pl

from benchlab.regress import detect


def build(n_series: int, n_points: int, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synthetic results frame and the table of injected steps."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(1.0, 1000.0, n_series)
    noise = rng.uniform(0.01, 0.03, n_series)
    higher = rng.random(n_series) < 0.3  # throughput-like series
    x = 1.0 + rng.standard_normal((n_series, n_points)) * noise[:, None]
    stepped = np.flatnonzero(rng.random(n_series) < 0.10)
    where = rng.integers(50, n_points - 50, stepped.size)
    size = rng.uniform(0.08, 0.50, stepped.size) * np.where(rng.random(stepped.size) < 0.5, 1.0, -1.0)
    factor = np.where(size > 0, 1.0 + size, 1.0 / (1.0 - size))  # symmetric in the log
    for s, w, f in zip(stepped, where, factor, strict=True):
        x[s, w:] *= f
    spikes = rng.random((n_series, n_points)) < 0.005
    x[spikes] *= rng.uniform(1.5, 4.0, int(spikes.sum()))
    values = (x * level[:, None]).ravel()
    del x
    keys = [f"{i:016x}" for i in range(n_series)]
    t0 = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    times = pl.datetime_range(t0, t0 + dt.timedelta(hours=n_points - 1), "1h", eager=True, time_zone="UTC")
    commits = pl.Series([f"{i:07x}" for i in range(n_points)])
    # Gather from small lookup columns: no 10-million-element Python or NumPy string arrays.
    point = pl.Series(np.tile(np.arange(n_points, dtype=np.uint32), n_series))
    sid = pl.Series(np.repeat(np.arange(n_series, dtype=np.uint32), n_points))
    frame = pl.DataFrame(
        {
            "series_key": pl.Series(keys).gather(sid),
            "benchmark": pl.Series([f"bench_{i}" for i in range(n_series)]).gather(sid),
            "metric": pl.Series(np.where(higher, "throughput", "latency").tolist()).gather(sid),
            "direction": pl.Series(np.where(higher, "higher", "lower").tolist()).gather(sid),
            "unit": pl.Series(np.where(higher, "items/s", "ms").tolist()).gather(sid),
            "value": values,
            "run_id": (point.cast(pl.Int64) + 1),
            "timestamp": times.gather(point),
            "commit": commits.gather(point),
            "provenance": pl.Series(["measured"]).gather(pl.Series(np.zeros(n_series * n_points, dtype=np.uint32))),
        }
    )
    truth = pl.DataFrame(
        {
            "series_key": [keys[i] for i in stepped],
            "true_position": where.astype(np.int64),
            "true_kind": np.where((factor > 1) ^ higher[stepped], "regression", "improvement"),
            "true_change": factor - 1.0,
        }
    )
    return frame, truth


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pool)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=1_000)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU)")
    args = ap.parse_args()

    t = time.perf_counter()
    frame, truth = build(args.series, args.points)
    print(f"built {frame.height:,} rows ({args.series:,} series x {args.points:,} points) "
          f"in {time.perf_counter() - t:.1f} s; {truth.height} injected steps")  # fmt: skip
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    cpu0 = _cpu()
    t = time.perf_counter()
    changes = detect(frame, workers=args.workers)
    elapsed = time.perf_counter() - t
    cpu = _cpu() - cpu0
    print(f"detect(frame): {elapsed:.1f} s wall on {cpus} CPU(s) (workers={args.workers or 'auto'}), "
          f"{cpu:.1f} s CPU in this process and its workers; {changes.height} changes reported (target <= 20 s)")  # fmt: skip
    print(f"  load average before the run: {load:.1f} (wall time is only meaningful on an otherwise idle machine; "
          f"CPU / {cpus} = {cpu / cpus:.1f} s is what {cpus} idle cores would need)")  # fmt: skip

    found = changes.select("series_key", "position", "kind", "change")
    pairs = (
        found.join(truth, on="series_key")
        .filter(((pl.col("position") - pl.col("true_position")).abs() <= 3) & (pl.col("kind") == pl.col("true_kind")))
        .unique(["series_key"])
    )
    recall = pairs.height / truth.height if truth.height else float("nan")
    false = found.height - pairs.height
    by_size = (
        truth.with_columns(hit=pl.col("series_key").is_in(pairs["series_key"].implode()))
        .with_columns(
            size=pl.when(pl.col("true_change").abs() < 0.1)
            .then(pl.lit("a <10%"))
            .when(pl.col("true_change").abs() < 0.2)
            .then(pl.lit("b 10-20%"))
            .when(pl.col("true_change").abs() < 0.3)
            .then(pl.lit("c 20-30%"))
            .otherwise(pl.lit("d >=30%"))
        )
        .group_by("size")
        .agg(pl.len().alias("injected"), pl.col("hit").mean().alias("recall"))
        .sort("size")
    )
    print(
        f"recall: {pairs.height}/{truth.height} = {recall:.1%} of injected steps found (position within 3, right kind)"
    )
    print(f"false changes: {false} (in {args.series * args.points:,} points; "
          f"{false / (args.series * args.points) * 1e4:.2f} per 10 000 points)")  # fmt: skip
    print("recall by injected size:")
    for row in by_size.iter_rows(named=True):
        print(f"  {row['size'][2:]:>7}: {row['recall']:.1%} of {row['injected']}")
    print("severity of reported changes:", dict(changes.group_by("severity").len().sort("severity").iter_rows()))


if __name__ == "__main__":
    main()

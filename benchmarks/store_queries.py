"""Query helpers of the benchlab store against hand-written SQL, on 10M results.

Builds (once, in a temporary folder) a store holding the synthetic native
table of ``_synthetic.py`` -- by default 10 000 series × 1 000 commits, 10
million results -- or reuses the store named by ``$BENCHLAB_BENCH_STORE``
(built there if the file does not exist yet).  Then, for the typical
questions, prints the median time of

* the query helper (``store.history``, ``store.latest``, ``store.matrix``,
  ``store.compare``), which opens a short-lived read-only connection per call;
* the simplest correct SQL a person would write for the same answer, on a
  fresh ``duckdb.connect(path, read_only=True)`` each time, fetched with
  ``.pl()`` (the like-for-like reference; target: helper <= 1.5 × this and
  <= 100 ms);
* the same SQL on one connection kept open (warm caches), for honesty: the
  helpers cannot keep one open, because an open connection locks the file
  against writers in other processes.

Run from the repository root::

    python benchmarks/store_queries.py [--rows N] [--series N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _synthetic

import benchlab.store

TARGET_MS = 100.0
TARGET_RATIO = 1.5


def build_store(path: Path, n_series: int, n_commits: int) -> None:
    """Ingest the synthetic table into a new store at ``path``."""
    parquet = path.with_suffix(".parquet")
    _synthetic.write_parquet(parquet, n_series, n_commits)
    t = time.perf_counter()
    report = benchlab.store.open(path).ingest(parquet)
    if not report.ok:
        raise SystemExit(f"building the store failed: {report.summary()}")
    print(f"built {path} ({report.n_results:,} results) in {time.perf_counter() - t:.1f} s")
    parquet.unlink()


def medians_ms(fns: list[Callable[[], object]], repeat: int) -> tuple[list[float], list[object]]:
    """Median wall time in ms of each function, and its last result.

    The functions are called in turn, ``repeat`` rounds after one warm-up
    round (imports, OS file cache), so that load from other processes on a
    shared machine hits them alike.
    """
    outs = [fn() for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            outs[i] = fn()
            times[i].append((time.perf_counter() - t) * 1000)
    return [statistics.median(t) for t in times], outs


def hand(path: Path, query: str, params: list[Any], post: Callable[[pl.DataFrame], pl.DataFrame] | None = None):
    """Hand-written SQL on a fresh read-only connection, as the helpers do."""

    def run() -> pl.DataFrame:
        con = duckdb.connect(str(path), read_only=True)
        try:
            df = con.sql(query, params=params).pl()
        finally:
            con.close()
        return post(df) if post else df

    return run


def questions(store: benchlab.store.Store) -> list[tuple[str, Callable[[], pl.DataFrame], str, list[Any], Any]]:
    """(question, helper call, hand SQL, parameters, post-processing of the SQL result)."""
    one = store.sql(
        'SELECT series_key, model, hardware, metric, batch_size, "precision" FROM results '
        "WHERE metric = 'latency' LIMIT 1"
    ).row(0, named=True)
    commits = store.sql('SELECT DISTINCT "commit" FROM runs ORDER BY "commit"').get_column("commit")
    c1, c2 = commits[len(commits) // 2], commits[-1]
    ident = {k: one[k] for k in ("model", "hardware", "metric", "batch_size", "precision")}
    latest_of = "QUALIFY row_number() OVER (PARTITION BY r.series_key ORDER BY ru.started_at DESC, r.run_id DESC) = 1"
    group = 'r.series_key, r.benchmark, r.model, r.hardware, r.batch_size, r.seq_len, r."precision", r.params, r.metric'
    return [
        (
            "history of one series (series_key)",
            lambda: store.history(series_key=one["series_key"]),
            'SELECT ru.started_at, ru."commit", r.* FROM results r JOIN runs ru USING (run_id) '
            "WHERE r.series_key = ? ORDER BY ru.started_at, r.run_id",
            [one["series_key"]],
            None,
        ),
        (
            "history by model+hw+metric+batch+prec",
            lambda: store.history(**ident),
            'SELECT ru.started_at, ru."commit", r.* FROM results r JOIN runs ru USING (run_id) '
            'WHERE r.model = ? AND r.hardware = ? AND r.metric = ? AND r.batch_size = ? AND r."precision" = ? '
            "ORDER BY r.series_key, ru.started_at, r.run_id",
            list(ident.values()),
            None,
        ),
        (
            "latest of one model, all hardware",
            lambda: store.latest(model=one["model"], metric="latency"),
            'SELECT ru.started_at, ru."commit", r.* FROM results r JOIN runs ru USING (run_id) '
            f"WHERE r.model = ? AND r.metric = ? {latest_of} ORDER BY r.series_key",
            [one["model"], "latency"],
            None,
        ),
        (
            "matrix model x hardware (latency)",
            lambda: store.matrix("latency"),
            "PIVOT (SELECT r.model, r.hardware, r.value FROM results r JOIN runs ru USING (run_id) "
            # PIVOT takes no parameters in its source; the metric is a constant here.
            f"WHERE r.metric = 'latency' {latest_of}) ON hardware USING median(value) GROUP BY model ORDER BY model",
            [],
            None,
        ),
        (
            "compare two commits (latency)",
            lambda: store.compare(c1, c2, metric="latency"),
            f"SELECT {group}, any_value(r.unit) AS unit, "
            'median(r.value) FILTER (WHERE ru."commit" = ?) AS baseline, '
            'median(r.value) FILTER (WHERE ru."commit" = ?) AS contender '
            'FROM results r JOIN runs ru USING (run_id) WHERE ru."commit" IN (?, ?) AND r.metric = ? '
            f"GROUP BY {group} ORDER BY r.series_key",
            [c1, c2, c1, c2, "latency"],
            None,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="results in the store (when building it)")
    ap.add_argument("--series", type=int, default=10_000, help="series in the store (when building it)")
    ap.add_argument("--repeat", type=int, default=9, help="timed calls per figure (median kept)")
    args = ap.parse_args(argv)

    tmp = None
    env = os.environ.get("BENCHLAB_BENCH_STORE")
    if env:
        path = Path(env)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="benchlab-queries-"))
        path = tmp / "store.duckdb"
    try:
        if not path.exists():
            build_store(path, args.series, max(1, args.rows // args.series))
        store = benchlab.store.open(path)
        n = store.sql("SELECT count(*) AS n FROM results").item()
        print(f"store {path}: {n:,} results; median of {args.repeat} calls, ms")
        head = (
            f"{'question':40s}{'helper':>9s}{'hand SQL':>10s}{'ratio':>7s}{'hand, open con':>16s}{'ratio':>7s}  target"
        )
        print(head)
        print("-" * len(head))
        warm = duckdb.connect(str(path), read_only=True)
        failed = []
        for name, helper, sql, params, post in questions(store):
            (h_ms, s_ms, w_ms), (h_out, s_out, _) = medians_ms(
                [
                    helper,
                    hand(path, sql, params, post),
                    lambda sql=sql, params=params: warm.sql(sql, params=params).pl(),
                ],
                args.repeat,
            )
            # The two must answer the same question.
            assert isinstance(h_out, pl.DataFrame) and isinstance(s_out, pl.DataFrame)
            if h_out.height != s_out.height:
                raise SystemExit(f"{name}: helper gave {h_out.height} rows, SQL {s_out.height}")
            ok = h_ms <= TARGET_MS and h_ms <= TARGET_RATIO * s_ms
            if not ok:
                failed.append(name)
            print(
                f"{name:40s}{h_ms:9.1f}{s_ms:10.1f}{h_ms / s_ms:7.2f}{w_ms:16.1f}{h_ms / w_ms:7.2f}  "
                f"{'ok' if ok else 'MISSED'}"
            )
        warm.close()
        print(f"targets: median <= {TARGET_MS:g} ms and <= {TARGET_RATIO:g} x hand SQL on a fresh connection")
        if failed:
            print(f"missed: {', '.join(failed)}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

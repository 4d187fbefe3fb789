"""Ingest speed of the benchlab store against DuckDB's own bulk load.

Prints

1. the time of ``store.ingest(path)`` for a synthetic native Parquet file of
   ``--rows`` results (default 10 million: 10 000 series × 1 000 commits, one
   run per commit and platform, several units per dimension), next to the time
   DuckDB takes to ``COPY`` the same file into an equivalent plain table, both
   measured in this process, and the ratio (target: at most 2);
2. the throughput of native JSON (document) and JSON Lines ingest, read and
   write, in results per second (target: at least 100 000), for ``--json-rows``
   results (default 200 000).

Wall-clock times are the targets; CPU times of this process are printed too
because on a shared machine they are the steadier figure.  Each measurement
is repeated ``--repeat`` times and the best is kept; each ingest goes to a
fresh, empty store created before the clock starts (the COPY reference likewise
starts from an empty file, and its time includes creating the table and
closing the file).

Run from the repository root::

    python benchmarks/store_ingest.py [--rows N] [--json-rows N] [--repeat K] [--keep DIR] [--json-only]

``--json-only`` leaves out the Parquet part (and the generation of its file).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _synthetic

import benchlab.store
from benchlab.ingest import get_importer


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call."""
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def best_ingest(repeat: int, path: Path, work: Path, expect: int) -> tuple[float, float]:
    """Best wall and best CPU time of ``repeat`` ingests of ``path`` into fresh stores."""
    walls, cpus = [], []
    for i in range(repeat):
        store = fresh_store(work, i)
        w, c, _ = timed(lambda store=store: store_ingest(store, path, expect))
        walls.append(w)
        cpus.append(c)
    return min(walls), min(cpus)


def copy_reference(parquet: Path, work: Path, i: int) -> None:
    """DuckDB alone: COPY the file into a plain table of the same columns."""
    db = work / f"copy{i}.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE TABLE results_copy AS SELECT * FROM read_parquet(?) LIMIT 0", [str(parquet)])
        con.execute(f"COPY results_copy FROM '{parquet}' (FORMAT parquet)")
    finally:
        con.close()
    db.unlink()


def fresh_store(work: Path, i: int) -> benchlab.store.Store:
    """An empty store (created outside the timing: ingest is what is measured)."""
    db = work / f"store{i}.duckdb"
    db.unlink(missing_ok=True)
    return benchlab.store.open(db)


def store_ingest(store: benchlab.store.Store, path: Path, expect: int) -> None:
    report = store.ingest(path)
    if not report.ok or report.n_results != expect:
        raise SystemExit(f"ingest failed: {report.summary()}\n{report.to_frame()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="results in the Parquet file")
    ap.add_argument("--series", type=int, default=10_000, help="series in the Parquet file")
    ap.add_argument("--json-rows", type=int, default=200_000, help="results in the JSON files")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions (best kept)")
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the generated files in")
    ap.add_argument("--json-only", action="store_true", help="only the JSON part (no Parquet file, no COPY)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="benchlab-ingest-"))
    data = args.keep or work
    data.mkdir(parents=True, exist_ok=True)
    try:
        if not args.json_only:
            parquet_part(args, work, data)
        json_part(args, work, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def parquet_part(args: argparse.Namespace, work: Path, data: Path) -> None:
    """Part 1: a native Parquet file through store.ingest next to DuckDB's own COPY."""
    commits = max(1, args.rows // args.series)
    parquet = data / f"results-{args.series}x{commits}.parquet"
    if not parquet.exists():
        w, _, n = timed(lambda: _synthetic.write_parquet(parquet, args.series, commits))
        print(f"generated {n:,} results in {parquet.name} ({parquet.stat().st_size / 1e6:.0f} MB) in {w:.1f} s")
    n_rows = args.series * commits
    print(f"\nParquet ingest, {n_rows:,} results, best of {args.repeat}")
    # Interleave the two so that load from other processes hits both alike.
    ref_w, ref_c, ing_w, ing_c = [], [], [], []
    for i in range(args.repeat):
        w, c, _ = timed(lambda i=i: copy_reference(parquet, work, i))
        ref_w.append(w)
        ref_c.append(c)
        store = fresh_store(work, i)
        w, c, _ = timed(lambda store=store: store_ingest(store, parquet, n_rows))
        ing_w.append(w)
        ing_c.append(c)
        print(f"  round {i + 1}: COPY {ref_w[-1]:6.2f} s (cpu {ref_c[-1]:6.2f})   "
              f"store.ingest {ing_w[-1]:6.2f} s (cpu {ing_c[-1]:6.2f})")  # fmt: skip
    copy_w, copy_c, ingest_w, ingest_c = min(ref_w), min(ref_c), min(ing_w), min(ing_c)
    print(f"{'':24s}{'wall s':>9s}{'cpu s':>9s}")
    print(f"{'DuckDB COPY':24s}{copy_w:9.2f}{copy_c:9.2f}")
    print(f"{'store.ingest':24s}{ingest_w:9.2f}{ingest_c:9.2f}")
    print(f"{'ratio (target <= 2)':24s}{ingest_w / copy_w:9.2f}{ingest_c / copy_c:9.2f}")
    print(f"store.ingest throughput: {n_rows / ingest_w:,.0f} results/s")
    # Where the time goes (one more run, split at the importer/store boundary).
    store = fresh_store(work, args.repeat)
    w_read, c_read, batch = timed(lambda: get_importer("native-parquet").read(parquet))
    w_write, c_write, _ = timed(lambda batch=batch: store.write(batch))  # type: ignore[misc]
    print(f"  of which: read + validate {w_read:.2f} s (cpu {c_read:.2f}), "
          f"write {w_write:.2f} s (cpu {c_write:.2f})")  # fmt: skip


def json_part(args: argparse.Namespace, work: Path, data: Path) -> None:
    """Part 2: native JSON document and JSON Lines through store.ingest."""
    json_commits = max(1, args.json_rows // 200)
    n_json = 200 * json_commits
    doc = data / f"results-200x{json_commits}.json"
    lines = data / f"results-200x{json_commits}.jsonl"
    if not doc.exists():
        _synthetic.write_json_document(doc, 200, json_commits)
    if not lines.exists():
        _synthetic.write_jsonl(lines, 200, json_commits)
    print(f"\nJSON ingest (read + write), {n_json:,} results, best of {args.repeat}")
    print(f"{'format':24s}{'wall s':>9s}{'cpu s':>9s}{'results/s':>12s}  (target >= 100,000)")
    for label, path in (("native JSON document", doc), ("native JSON Lines", lines)):
        w, c = best_ingest(args.repeat, path, work, n_json)
        print(f"{label:24s}{w:9.2f}{c:9.2f}{n_json / w:12,.0f}")


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the demo store build (target: well under 10 s on 2 cores) and describe it.

Prints the time of each phase (spec, generation, write), the row counts, the
file size, and how long a full ``store.results()`` takes on the result.

Run from the repository root::

    python benchmarks/demo_build.py [--keep PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlab import demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the store here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "demo.duckdb"
        t0 = time.perf_counter()
        spec = demo.load_spec()
        t1 = time.perf_counter()
        batch = demo.generate(spec)
        t2 = time.perf_counter()
        store, _ = demo.ensure_demo(path, force=True)
        t3 = time.perf_counter()
        stats = store.stats()
        t4 = time.perf_counter()
        store.results()
        t5 = time.perf_counter()
        print(f"spec load            {t1 - t0:6.2f} s")
        print(f"generate (in memory) {t2 - t1:6.2f} s   {batch.results.height:,} results")
        print(f"full build + write   {t3 - t2:6.2f} s   (spec + generate + write, as `benchlab demo --force`)")
        print(f"store.results()      {t5 - t4:6.2f} s")
        print(
            f"store: {stats['results']:,} results, {stats['series']:,} series, {stats['runs']} runs, "
            f"{stats['models']} models, {stats['hardware']} hardware, {stats['size_bytes'] / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()

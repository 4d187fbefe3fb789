"""How long one explorer update takes: a filter change → new chart and table (target ≤ 200 ms).

Builds (or reuses) the demo store, opens a :class:`benchlab.widgets.SeriesExplorer`
and changes its dropdowns the way a user would — model, hardware, precision,
batch size, metric — timing each change from ``.value = …`` until the new chart
spec and table are in the widget.  Every update is a first-time view of its
selection (nothing is cached per selection); the metric's history is read from
the store once, when the explorer opens, and the first change of metric pays
for reading that metric.

    python benchmarks/widget_update.py [--store PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="store to use (default: the demo store)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the list of filter changes")
    args = parser.parse_args()

    import benchlab
    from benchlab.demo import demo_store
    from benchlab.widgets import SeriesExplorer

    store = benchlab.open(args.store) if args.store else demo_store()
    t0 = time.perf_counter()
    ex = SeriesExplorer(store)
    opened = time.perf_counter() - t0
    cat = ex.cache.catalogue()
    models = cat.group_by("model").len().sort("len", "model", descending=[True, False])["model"].head(8).to_list()
    hardware = sorted(cat["hardware"].drop_nulls().unique().to_list())
    precisions = sorted(cat["precision"].drop_nulls().unique().to_list())
    batches = sorted(cat["batch_size"].drop_nulls().unique().to_list())
    metrics = sorted(cat["metric"].unique().to_list())

    # (dropdown, value) in the order a user might click; invalid combinations are skipped by the cascade
    steps: list[tuple[str, object]] = []
    for m in models:
        steps.append(("model", m))
        steps.append(("hardware", hardware[len(steps) % len(hardware)]))
        steps.append(("precision", precisions[len(steps) % len(precisions)]))
        steps.append(("batch_size", batches[len(steps) % len(batches)]))
        steps.append(("batch_size", None))
    steps += [("metric", m) for m in metrics if m != ex.filters["metric"].value] + [("metric", "latency")]

    times: list[float] = []
    metric_switch: list[float] = []
    for _ in range(args.repeat):
        ex.cache.clear()  # each pass re-reads each metric once, on its first use
        ex.cache.catalogue()
        ex.cache.scope(ex.filters["metric"].value)
        for name, value in steps:
            dd = ex.filters[name]
            if value not in {v for _, v in dd.options} or dd.value == value:
                continue
            before = ex.jupyter_chart.spec
            t = time.perf_counter()
            dd.value = value
            dt_ms = (time.perf_counter() - t) * 1000
            assert ex.jupyter_chart.spec is not before or ex.frame.is_empty()
            (metric_switch if name == "metric" else times).append(dt_ms)

    rows = ex.frame.height
    print(f"store: {store.path} ({store.stats()['results']:,} results)")
    print(f"explorer opened in {opened * 1000:.0f} ms (reads the series catalogue and one metric's history)")
    print(f"filter changes: {len(times)}; last chart: {rows} rows, {ex.frame['series_key'].n_unique()} series")
    print(f"widget update (filter change -> new chart + table): median {statistics.median(times):.1f} ms, "
          f"p90 {statistics.quantiles(times, n=10)[-1]:.1f} ms, max {max(times):.1f} ms  (target <= 200 ms)")  # fmt: skip
    if metric_switch:
        print(
            f"metric switch (first read of that metric from the store): median {statistics.median(metric_switch):.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write the curated notebooks from the cell lists below (and their checked outputs).

The committed ``*.ipynb`` files are generated, so that they stay clean (no
outputs, no execution counts, kernelspec ``python3``, stable cell ids) and
reviewable here as plain Python:

    python notebooks/_build.py            # write the clean notebooks (stored outputs of
                                          #     unchanged marked cells are kept)
    python notebooks/_build.py --outputs  # … execute them and store the outputs of the
                                          #     cells marked  # NBVAL_CHECK_OUTPUT

``pytest --nbval-lax notebooks/`` re-runs every notebook and compares the
marked cells with the outputs stored here, so re-run ``--outputs`` after a
deliberate change to the demo data or to what those cells print.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
MARK = "# NBVAL_CHECK_OUTPUT"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

PARAMETERS = "STORE = None  # path to a store; None = the demo store (simulated data, built on first use)"

SETUP = """\
import os

import altair as alt
import polars as pl

import benchlab
from benchlab import charts
from benchlab.demo import demo_store

# "png" draws charts as images (static exports); the default needs the browser to load Vega
alt.renderers.enable(os.environ.get("BENCHLAB_RENDERER", "default"))
store = benchlab.open(STORE) if STORE else demo_store()
store"""

# A notebook is a title plus cells: ("md", text) or ("code", source); the
# parameters and setup cells are inserted after the title.
NOTEBOOKS: dict[str, tuple[str, list[tuple[str, str]]]] = {}

NOTEBOOKS["01_explore"] = (
    """\
# 1 · Explore a benchmark store

**The question:** what is in this store, how fast is each model on each piece of hardware,
how does it scale with batch size — and how do I read a single series over time?

Every number benchlab shows says where it came from (source file, commit) and whether it was
**measured**, **simulated** or **predicted**. In charts: filled circles on solid lines are measured,
hollow circles on dashed lines simulated, hollow diamonds on dotted lines predicted.

> The demo store is **simulated**: a deterministic generator (`benchlab.demo`) produced every value.
> Point `STORE` below at your own store to run this notebook on real measurements.""",
    [
        ("md", "## What is in the store?\n\nRuns, commits and how many values of each provenance."),
        (
            "code",
            f"""\
{MARK}
stats = store.stats()
runs = store.runs()
print(f"{{stats['results']:,}} values in {{stats['series']:,}} series from {{stats['runs']}} runs")
print("runs by provenance:", dict(sorted(stats["runs_by_provenance"].items())))
print(f"{{runs['commit'].n_unique()}} commits on branches {{sorted(runs['branch'].drop_nulls().unique())}}")
print(f"{{stats['models']}} models × {{stats['hardware']}} hardware platforms")""",
        ),
        (
            "md",
            """\
## Which hardware is fastest for which model?

One cell per model × hardware: the median latency of each series' latest run at batch size 1
(darker is better). The glyph in each cell's corner says what kind of number it is.""",
        ),
        (
            "code",
            """\
latest = store.latest()
batch1 = latest.filter(pl.col("metric") == "latency", pl.col("batch_size") == 1)
charts.heatmap(batch1, title="latency at batch size 1: model × hardware")""",
        ),
        (
            "md",
            """\
## Where can each model run at all?

Not every model runs everywhere: some do not fit in memory, some need operators a backend lacks.
Hover a cell for the error and the suggested fix.""",
        ),
        ("code", "charts.compatibility(store.compatibility())"),
        (
            "md",
            """\
## How does throughput scale with batch size?

Pick one hardware platform and precision; each line is a model (models whose throughput is counted
in the same unit, e.g. sequences/s). Throughput should rise with batch size and flatten once the
device is saturated.""",
        ),
        (
            "code",
            '''\
def pick(column: str, preferred: str) -> str:
    """`preferred` if the store has it, else its most common value (so other stores work too)."""
    values = latest[column].drop_nulls()
    return preferred if preferred in values.to_list() else values.mode().sort()[0]

HARDWARE, PRECISION = pick("hardware", "cuda-a100-40gb"), pick("precision", "fp16")
MODEL = pick("model", "bert-base-uncased")
throughput = latest.filter(pl.col("hardware") == HARDWARE, pl.col("precision") == PRECISION, pl.col("metric") == "throughput")
same_unit = throughput.filter(pl.col("unit") == throughput.filter(pl.col("model") == MODEL)["unit"][0])  # one axis, one unit
few = same_unit["model"].unique().sort().head(6)
charts.scaling(same_unit.filter(pl.col("model").is_in(few.implode())))''',
        ),
        (
            "md",
            """\
## One model over time

The history of one model on one platform, one line per batch size. Something happened here —
notebook 2 finds such changes systematically and tells you which commit did it.""",
        ),
        (
            "code",
            """\
history = store.history(metric="latency", model=MODEL, hardware=HARDWARE, precision=PRECISION)
charts.history(history)""",
        ),
        (
            "md",
            """\
## Every number is traceable

The rows behind a chart keep their source, commit and provenance.""",
        ),
        (
            "code",
            """\
store.latest(model=MODEL, hardware=HARDWARE, precision=PRECISION, batch_size=1).select(
    "metric", "value", "unit", "provenance", "commit", "source"
)""",
        ),
        (
            "md",
            """\
## Explore interactively

Pick a benchmark, model, hardware, metric, precision and batch size; brush the chart (drag across
it) to list the values of that time range. The explorer reads each metric's history once and
filters it in memory, so it stays responsive.""",
        ),
        (
            "code",
            """\
from benchlab.widgets import SeriesExplorer

SeriesExplorer(store, model=MODEL, hardware=HARDWARE, precision=PRECISION)""",
        ),
        ("md", "**Next:** [2 · Find and triage regressions](02_regressions.ipynb)."),
    ],
)

NOTEBOOKS["02_regressions"] = (
    """\
# 2 · Find and triage regressions

**The question:** did anything get slower (or faster)? Which commit did it, how sure are we,
and what did we decide about it?

benchlab looks for change points in every series (robust to lone spikes), compares the segments
before and after with a bootstrap interval and a Mann–Whitney test, and grades each change.
Decisions (*acknowledged*, *expected*, *false alarm*, *fixed*) are stored next to the results,
so a triaged change is not raised again.""",
    [
        ("md", "## Detect changes in latency on `main`"),
        (
            "code",
            """\
from benchlab import regress

changes = regress.detect_store(store, metric="latency", branch="main", include_triaged=True)
changes.group_by("kind", "severity").len().sort("kind", "len", descending=[False, True])""",
        ),
        (
            "md",
            """\
The worst ones first: how big, how sure (interval of the relative change and p-value), and the
last good → first bad commit.""",
        ),
        (
            "code",
            """\
changes.select(
    "kind", "severity", "model", "hardware", "batch_size", "precision",
    pl.col("change", "change_low", "change_high").mul(100).round(1).name.suffix(" %"),
    pl.col("p_value").round(6), pl.col("last_good_commit", "first_bad_commit").str.slice(0, 8),
).head(8)""",
        ),
        (
            "md",
            """\
## Did we find what was injected?

The demo store was generated with known changes (`data/injected_changes.csv`), so here we can
check the detector against the truth — something you cannot do on real data.""",
        ),
        (
            "code",
            f"""\
{MARK}
from benchlab.demo import injected_changes

if STORE is None:
    truth = injected_changes().filter(
        pl.col("metric") == "latency", pl.col("kind") != "outlier", pl.col("branch") == "main"
    )
    hit = truth.join(changes, left_on=["series_key", "commit"], right_on=["series_key", "first_bad_commit"], how="semi")
    print(f"{{hit.height}} of {{truth.height}} injected latency changes found at the right commit")
    print("injected changes hit:", ", ".join(sorted(hit["change_id"].unique())))
    extra = changes.join(truth, left_on=["series_key", "first_bad_commit"], right_on=["series_key", "commit"], how="anti")
    print(f"{{extra.height}} detection(s) that are not in the ground truth")""",
        ),
        (
            "md",
            """\
## Look at the worst regression

Its series over time, with every detected change marked at its first bad run.""",
        ),
        (
            "code",
            """\
worst = changes.filter(pl.col("kind") == "regression").row(0, named=True)
series = store.history(series_key=worst["series_key"])
charts.history(series, changes.filter(pl.col("series_key") == worst["series_key"]))""",
        ),
        (
            "md",
            """\
## Confirm it with an A/B comparison

Compare the last good and the first bad commit on that hardware, case by case, using the raw
samples of each run. Only the cases the change touched should come out *worse*; *uncertain* means
the interval of the ratio straddles the 10 % threshold (noisy platforms produce many of those).""",
        ),
        (
            "code",
            """\
good, bad = worst["last_good_commit"], worst["first_bad_commit"]
runs = store.results(samples=True, metric="latency", hardware=worst["hardware"], commit=[good, bad])
ab = regress.ab_compare(runs, good, bad)
charts.comparison(ab, labels=(good[:8], bad[:8]), max_rows=15, title=f"latency on {worst['hardware']}: {bad[:8]} vs {good[:8]}")""",
        ),
        (
            "md",
            """\
## Record a decision

Triage is stored in the store (append-only, with history). To keep the demo pristine we practise
on a scratch copy; on your own store you would triage in place.""",
        ),
        (
            "code",
            """\
import tempfile
from pathlib import Path

scratch = benchlab.open(store.backup(Path(tempfile.mkdtemp()) / "scratch.duckdb"))
regress.triage(
    scratch, worst, "acknowledged",
    note="reproduced locally, bisecting", link="https://github.com/benchlab/benchlab/issues/1",
)
regress.triage_status(scratch).select("change_id", "status", "note", "link", "kind", "first_bad_commit")""",
        ),
        ("md", "A triaged change is no longer reported as new:"),
        (
            "code",
            f"""\
{MARK}
before = changes.filter(pl.col("series_key") == worst["series_key"]).height
after = regress.detect_store(scratch, series_key=worst["series_key"]).height
print(f"untriaged changes in that series: {{after}} (was {{before}} before triage)")""",
        ),
        (
            "md",
            """\
## Browse and triage interactively

Select a change, look at its history, pick a status, add a note and a link, save. Decisions land
in the (scratch) store.""",
        ),
        (
            "code",
            """\
from benchlab.widgets import TriageBrowser

TriageBrowser(scratch, changes=changes)  # statuses are read from the store""",
        ),
        ("md", "**Next:** [3 · Predict untested configurations](03_prediction.ipynb)."),
    ],
)

NOTEBOOKS["03_prediction"] = (
    """\
# 3 · Predict untested configurations

**The question:** how fast would a model be on hardware we have not run it on, or at a batch size
nobody measured — and how sure can we be? And which benchmark should we run next?

`benchlab.predict.PerformanceModel` learns from the store's results (an additive model in log
space, refined by ratios to similar measured configurations) and gives every prediction a
calibrated interval. Every predicted number is labelled **predicted**.

> **Honesty note.** The model trains on *measured* results by default. The demo store holds only
> *simulated* ones, so below we let it learn from simulated values: the mechanics are real, but
> the numbers describe the demo's simulator, not any real machine.""",
    [
        (
            "md",
            """\
## Fit the model

On latency, with split-conformal intervals (one fit, a second or two; `conformal="cv+"` gives
slightly tighter intervals for ten times the work).""",
        ),
        (
            "code",
            """\
from benchlab.predict import PerformanceModel

latency = store.latest(metric="latency")
measured = latency.filter(pl.col("provenance") == "measured")
train = measured if measured.height else latency  # the demo has no measured values
model = PerformanceModel(measured_only=bool(measured.height), conformal="split")
model.fit(train, hardware=store.hardware(), models=store.models())""",
        ),
        (
            "md",
            """\
## Ask about configurations nobody ran

One model at batch sizes the store never tried (2, 8, 32), on every platform. `basis` says what a
prediction rests on: the configuration itself (`measured`), similar configurations
(`neighbours`) or the additive model alone (`features`).""",
        ),
        (
            "code",
            """\
def pick(column: str, preferred: str) -> str:
    values = latency[column].drop_nulls()
    return preferred if preferred in values.to_list() else values.mode().sort()[0]

MODEL, PRECISION = pick("model", "bert-base-uncased"), pick("precision", "fp16")
workload = latency.filter(pl.col("model") == MODEL).select("benchmark", "model", "seq_len", "params", "metric").head(1)
grid = workload.join(pl.DataFrame({"hardware": sorted(latency["hardware"].unique())}), how="cross").join(
    pl.DataFrame({"batch_size": [2, 8, 32]}), how="cross"
).with_columns(precision=pl.lit(PRECISION))
predicted = model.predict(grid)
predicted.select("model", "hardware", "batch_size", "precision", "prediction", "lower", "upper", "unit", "basis", "provenance").head(9)""",
        ),
        (
            "code",
            f"""\
{MARK}
print("provenance of every prediction:", predicted["provenance"].unique().to_list())
print("predictions without an interval:", predicted["lower"].null_count())
print("intervals that contain their prediction:", ((predicted["lower"] <= predicted["prediction"]) & (predicted["prediction"] <= predicted["upper"])).sum(), "of", predicted.height)""",
        ),
        (
            "md",
            """\
## Predictions next to the store's own values

Simulated values (hollow circles, dashed) at batch sizes 1, 4, 16, 64 and predicted ones (hollow
diamonds, dotted) at 2, 8, 32, for the same model on three platforms. How close the dotted lines
come to the dashed ones is the honest measure of the model — notebook 4 puts a number on it.""",
        ),
        (
            "code",
            """\
cols = ["model", "hardware", "batch_size", "precision", "metric", "unit", "value", "provenance"]
stored = latency.filter(pl.col("model") == MODEL, pl.col("precision") == PRECISION)
HARDWARE = stored.group_by("hardware").len().sort("len", "hardware", descending=[True, False])["hardware"].head(3)
known = stored.filter(pl.col("hardware").is_in(HARDWARE.implode()))
guess = predicted.filter(pl.col("hardware").is_in(HARDWARE.implode()))
charts.scaling(pl.concat([known.select(cols), guess.select(cols)]), title=f"{MODEL} latency: stored and predicted")""",
        ),
        (
            "md",
            """\
## What should we run next?

Measuring is expensive; `suggest_next` ranks candidate runs by how much they would teach the model
per second of benchmark time (and spreads the picks out).""",
        ),
        (
            "code",
            """\
from benchlab.predict import suggest_next

suggest_next(model, grid, k=5).select("rank", "model", "hardware", "batch_size", "precision", "information", "cost", "prediction", "provenance")""",
        ),
        (
            "md",
            "## What if …?\n\nChoose a model, hardware, batch size and precision; the answer is labelled PREDICTED and comes with its interval.",
        ),
        (
            "code",
            """\
from benchlab.widgets import WhatIf

WhatIf(store, metric="latency", model=model)""",
        ),
        ("md", "**Next:** [4 · Can we trust the predictions?](04_validation.ipynb)."),
    ],
)

NOTEBOOKS["04_validation"] = (
    """\
# 4 · Can we trust the predictions?

**The question:** how far off are predictions, and do their intervals cover the truth as often as
they claim?

The honest way to know is to predict values the model has not seen and compare. On the demo store
every value is **simulated**, so here the reference is simulated too: this checks the method
against the simulator, not against reality. The second half shows how to validate against
**measurements** — with real MLPerf Inference results when they are available next to this
repository.""",
    [
        (
            "md",
            """\
## Cross-validation on the store

Each value is predicted by a model fitted without it (5 folds). The reference values keep their
provenance, and the chart says what they are.""",
        ),
        (
            "code",
            """\
from benchlab.predict import PerformanceModel, cross_validate

sample = store.latest(metric="latency", precision=["fp16", "fp32"])
measured = sample.filter(pl.col("provenance") == "measured")
sample = measured if measured.height else sample
make = lambda: PerformanceModel(measured_only=bool(measured.height), conformal="split")  # noqa: E731
cv, summary = cross_validate(sample, k=5, make_model=make)
{k: round(v, 3) for k, v in summary.items()}""",
        ),
        (
            "code",
            f"""\
{MARK}
print(f"{{summary['n']:.0f}} values predicted while held out")
print("90 % intervals cover at least 85 % of them:", summary["coverage"] >= 0.85)
print("rank order kept (Spearman > 0.9):", summary["spearman"] > 0.9)""",
        ),
        (
            "code",
            """\
charts.predicted_vs_measured(cv, color="hardware", title="latency: predicted while held out vs the store's value")""",
        ),
        (
            "md",
            """\
Read it like this: points on the dashed diagonal are exact; the vertical bars are the 90 %
intervals, and the subtitle says how many references fall inside them (it should be about 90 %).

## Validating against measurements

On your own store the same cells do the real thing, because `PerformanceModel` trains on
**measured** results only by default and `cross_validate` compares with them. To check
predictions (or a simulator) against new measurements:

```python
store.ingest("results/new-run.json")                    # provenance: measured
from benchlab.predict import validate
validate(model.predict(configs), store.latest(provenance="measured"), by=["metric", "hardware"])
```

If the MLPerf Inference v4.1 results shipped beside this repository (`../shared/data/mlperf`) are
present, the next cells cross-validate on those real, **measured** submissions.""",
        ),
        (
            "code",
            """\
import tempfile
from pathlib import Path

MLPERF = Path("../../shared/data/mlperf")
real = None
if MLPERF.is_dir():
    real = benchlab.open(Path(tempfile.mkdtemp()) / "mlperf.duckdb")
    print(real.ingest(MLPERF).summary())
else:
    print(f"{MLPERF} is not here; skipping the measured example")""",
        ),
        (
            "code",
            """\
if real is not None:
    throughput = real.latest(metric="throughput")
    unit = throughput["unit"].mode().sort()[0]  # one unit per axis
    cv_real, summary_real = cross_validate(throughput.filter(pl.col("unit") == unit), k=5, make_model=lambda: PerformanceModel(conformal="split"))
    print({k: round(v, 3) for k, v in summary_real.items()})
    display(charts.predicted_vs_measured(cv_real, color="model", title=f"MLPerf throughput ({unit}): predicted while held out vs measured"))""",
        ),
        ("md", "**Next:** [5 · Write the report](05_report.ipynb)."),
    ],
)

NOTEBOOKS["05_report"] = (
    """\
# 5 · Write the weekly performance report

**The question:** what changed in the last two weeks, on which hardware, and what should the team
look at first? And how do I share that as one file that opens anywhere, offline?

A report is a short story: the regressions of the window (worst first, with their evidence), how
the hardware compares, and the state of every number's provenance.""",
    [
        ("md", "## The window"),
        (
            "code",
            f"""\
{MARK}
import datetime as dt

newest = store.runs()["started_at"].max()
since = newest - dt.timedelta(days=14)
print(f"window: {{since:%Y-%m-%d}} → {{newest:%Y-%m-%d}}")""",
        ),
        (
            "md",
            """\
## Regressions in the window

Detection needs the history before the window to know what "normal" was; we keep the changes whose
first bad run falls inside it.""",
        ),
        (
            "code",
            """\
from benchlab import regress

changes = regress.detect_store(store, metric="latency", branch="main")
recent = changes.filter(pl.col("first_bad_timestamp") >= since, pl.col("kind") == "regression")
recent.select(
    "severity", "model", "hardware", "batch_size", "precision",
    pl.col("change").mul(100).round(1).alias("change %"), pl.col("first_bad_commit").str.slice(0, 8),
)""",
        ),
        (
            "code",
            """\
if recent.height:
    top = recent.row(0, named=True)
    display(charts.history(store.history(series_key=top["series_key"]), recent, title=f"worst regression: {top['model']} on {top['hardware']}"))""",
        ),
        (
            "md",
            "## How the hardware compares\n\nLatency at batch size 16 in the latest runs (throughput is counted in different units per model family, latency is always ms).",
        ),
        (
            "code",
            """\
latest = store.latest(metric="latency", batch_size=16)
charts.heatmap(latest, title="latency at batch size 16")""",
        ),
        (
            "md",
            """\
## Share it

`build_report` writes all of this — summary, regressions with their charts, hardware comparison,
compatibility, predictions — into one HTML file that opens offline (no network, charts stay
interactive). The same from a shell: `benchlab report --since 14d -o report.html`.""",
        ),
        (
            "code",
            """\
import tempfile
from pathlib import Path

out = benchlab.report(store, since="14d", out=Path(tempfile.mkdtemp()) / "report.html")
print(f"wrote {out.name}: {out.stat().st_size / 1e6:.1f} MB")""",
        ),
    ],
)


def _cells(title: str, body: list[tuple[str, str]]) -> list[nbformat.NotebookNode]:
    cells = [
        new_markdown_cell(title),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
    ]
    for kind, src in body:
        cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    return cells


def build(name: str) -> nbformat.NotebookNode:
    """The clean notebook ``name`` (no outputs, stable cell ids)."""
    title, body = NOTEBOOKS[name]
    nb = new_notebook(cells=_cells(title, body))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name[:2]}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 300) -> nbformat.NotebookNode:
    """Run a copy of ``nb`` in the notebooks folder (where nbval runs it) and return it."""
    from nbclient import NotebookClient

    run = copy.deepcopy(nb)
    NotebookClient(
        run, timeout=timeout, kernel_name=KERNELSPEC["name"], resources={"metadata": {"path": str(HERE)}}
    ).execute()
    return run


def _run_count(nb: nbformat.NotebookNode, index: int) -> int:
    """The execution count cell ``index`` gets in a top-to-bottom run (1 for the first code cell)."""
    return sum(c.cell_type == "code" for c in nb.cells[: index + 1])


def keep_marked_outputs(clean: nbformat.NotebookNode, ran: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``clean`` with the outputs of its ``# NBVAL_CHECK_OUTPUT`` cells taken from ``ran`` (nothing else).

    nbval only compares cells that were run, so a checked cell also keeps its
    execution count -- the one a top-to-bottom run gives it, never a stale one.
    """
    out = copy.deepcopy(clean)
    for i, (cell, done) in enumerate(zip(out.cells, ran.cells, strict=True)):
        if cell.cell_type == "code" and cell.source.lstrip().startswith(MARK):
            n = _run_count(out, i)
            cell.execution_count = n
            cell.outputs = [o for o in done.outputs if o.get("output_type") in ("stream", "execute_result")]
            for o in cell.outputs:
                if o.output_type == "execute_result":
                    o.execution_count = n
    return out


def keep_stored_outputs(clean: nbformat.NotebookNode, stored: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``clean`` with the expected outputs already stored for marked cells whose source did not change."""
    known = {c.source: c.outputs for c in stored.cells if c.cell_type == "code" and c.source.lstrip().startswith(MARK)}
    out = copy.deepcopy(clean)
    for i, cell in enumerate(out.cells):
        if cell.cell_type == "code" and cell.source in known:
            n = _run_count(out, i)
            cell.execution_count = n
            cell.outputs = known[cell.source]
            for o in cell.outputs:
                if o.output_type == "execute_result":
                    o.execution_count = n
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", action="store_true", help="execute and keep the outputs of marked cells")
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    args = parser.parse_args(argv)
    for name in args.names or list(NOTEBOOKS):
        nb = build(name)
        path = HERE / f"{name}.ipynb"
        if args.outputs:
            t0 = time.perf_counter()
            nb = keep_marked_outputs(nb, execute(nb))
            print(f"{name}: executed in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        elif path.exists():
            nb = keep_stored_outputs(nb, nbformat.read(path, as_version=4))
        nbformat.validate(nb)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of benchlab's performance model on MLPerf Inference results (K-fold over rows).

Task: for a held-out (system, benchmark, scenario …) result, predict its value
from all the other results of the round.  The round table is read through
benchlab's own importer (``benchlab.ingest.read`` → ``Batch`` → results frame),
so the model is evaluated on exactly what the store would hold: hardware
``Submitter/Platform`` with its catalogue entry (accelerator, count, memory …),
model without accuracy suffix, and scenario / division / accuracy target /
used model as parameters.  Performance rows only (throughput and latency; the
few power and energy rows are left out).

Every row is predicted by a model fitted without it; the conformal calibration
(CV+) runs inside each training fold, so the interval coverage is out of sample
too.  The K-fold is repeated with several fold seeds (default 10 folds × seeds
0..4): a single seed's figure moves by more than a point of MAPE with which
rare rows happen to be held out together (two results of an accelerator that
appears nowhere else, say), so the targets are judged on the mean over seeds,
printed with its spread (standard deviation and range over seeds).  The
breakdowns pool the predictions of all seeds (every row predicted once per
seed).  The plain additive log model (system effect + workload effect, least
squares; an unseen system gets the mean effect of the systems with its
accelerator, an unseen workload that of its model's workloads) is evaluated on
the same folds for comparison.  Its training error (fitted on all rows and
scored on the same rows) is printed too: 8.7 % MAPE on all rows, close to the
8.8 % quoted for "a plain additive log model" (within ±10 %: 68 %, not the
quoted 73 %; no variant tried — closed division only, other workload
definitions, other error definitions — reproduces both figures).  Held out,
the same model's MAPE is several times larger: the quoted figure reads as
in-sample, not as a prediction of unmeasured results.

Run:  python benchmarks/predict_mlperf.py [summary_results.json] [--folds 10] [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

import benchlab.ingest
from benchlab.predict import accuracy, cross_validate

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mlperf" / "summary_results.json"


def seen_mask(frame: pl.DataFrame, folds: np.ndarray) -> np.ndarray:
    """Rows whose system and workload both appear in the other folds (same metric)."""
    ident = ["benchmark", "model", "batch_size", "seq_len", "precision", "params", "metric", "unit"]
    w = frame.select(pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("∅") for c in ident], separator="|")).to_series()
    h = frame["hardware"].fill_null("∅").to_numpy()
    w = w.to_numpy()
    out = np.zeros(frame.height, dtype=bool)
    for j in np.unique(folds):
        tr, te = folds != j, folds == j
        out[te] = np.isin(h[te], h[tr]) & np.isin(w[te], w[tr])
    return out


def _fit_additive(h: np.ndarray, w: np.ndarray, y: np.ndarray) -> tuple[float, dict, dict]:
    """Least-squares ``y = mean + a[h] + b[w]`` with the system effects centred (sum zero)."""
    hs, hi = np.unique(h, return_inverse=True)
    ws, wi = np.unique(w, return_inverse=True)
    X = np.zeros((len(y), len(hs) + len(ws)))
    X[np.arange(len(y)), hi] = 1.0
    X[np.arange(len(y)), len(hs) + wi] = 1.0
    mean = float(y.mean())
    coef = np.linalg.lstsq(X, y - mean, rcond=None)[0]  # minimum norm: identifiable up to a shift
    a, b = coef[: len(hs)], coef[len(hs) :]
    shift = a.mean()
    return mean, dict(zip(hs, a - shift, strict=True)), dict(zip(ws, b + shift, strict=True))


def _effect(level: str, table: dict, group_of: dict, fallback_of: dict | None = None) -> float:
    """A level's effect; an unseen level gets the mean effect of its group (else of its fallback group, else 0)."""
    if level in table:
        return table[level]
    for groups in (group_of, fallback_of or {}):
        g = groups.get(level)
        if g is not None:
            peers = [v for k, v in table.items() if groups.get(k) == g]
            if peers:
                return float(np.mean(peers))
    return 0.0


def additive_baseline(
    frame: pl.DataFrame, folds: np.ndarray | None, devices: dict[str, str] | None = None
) -> np.ndarray:
    """Predictions of the plain additive log model ``log value = mean + system effect + workload effect``.

    Least squares per metric; the workload is everything but the hardware
    (model, scenario, accuracy target, division, precision …).  With ``folds``
    every row is predicted by a fit on the other folds, and a level unseen
    there gets the mean effect of comparable levels: an unseen system that of
    the training systems with its accelerator (catalogue ``device_name``),
    else 0 (an average system); an unseen workload that of the training
    workloads of the same model and unit, else of the same unit.  With
    ``folds=None`` the model is fitted on all rows and predicts the same rows:
    its training error, not a prediction of anything unmeasured.
    """
    ident = ["benchmark", "model", "batch_size", "seq_len", "precision", "params", "metric", "unit"]
    f = frame.with_columns(
        _w=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("∅") for c in ident], separator="|"),
        _h=pl.col("hardware").fill_null("∅"),
        _mu=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("∅") for c in ("model", "metric", "unit")]),
        _u=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("∅") for c in ("metric", "unit")]),
    )
    h, w, metric = f["_h"].to_numpy(), f["_w"].to_numpy(), f["metric"].to_numpy()
    y = np.log(f["value"].to_numpy())
    dev_of = {k: v for k, v in (devices or {}).items() if v}
    model_of = dict(zip(w, f["_mu"].to_numpy(), strict=True))
    unit_of = dict(zip(w, f["_u"].to_numpy(), strict=True))
    fold = np.zeros(len(y), dtype=np.int64) if folds is None else folds
    pred = np.full(len(y), np.nan)
    for j in np.unique(fold):
        for m in np.unique(metric):
            te = (fold == j) & (metric == m)
            tr = ((fold != j) if folds is not None else np.ones(len(y), dtype=bool)) & (metric == m)
            if not te.any() or not tr.any():
                continue
            mean, a, b = _fit_additive(h[tr], w[tr], y[tr])
            ea = np.array([_effect(x, a, dev_of) for x in h[te]])
            eb = np.array([_effect(x, b, model_of, unit_of) for x in w[te]])
            pred[te] = np.exp(mean + ea + eb)
    return pred


def show(name: str, acc: dict[str, float]) -> None:
    cov = f"   90% interval coverage {100 * acc['coverage']:5.1f}%" if "coverage" in acc else ""
    print(f"  {name:<34} MAPE {100 * acc['mape']:5.2f}%   within ±10% {100 * acc['within_10pct']:5.1f}%   "
          f"median APE {100 * acc['median_ape']:5.2f}%{cov}   (n={int(acc['n'])})")  # fmt: skip


def pooled(y: np.ndarray, runs: list[dict[str, np.ndarray]], mask: np.ndarray | None = None) -> dict[str, float]:
    """Accuracy over the predictions of every seed (each row counted once per seed)."""
    m = np.ones(len(y), dtype=bool) if mask is None else mask
    cat = {k: np.concatenate([r[k][m] for r in runs]) for k in ("prediction", "lower", "upper")}
    return accuracy(np.tile(y[m], len(runs)), cat["prediction"], cat["lower"], cat["upper"])


def spread(name: str, values: list[float], scale: float = 100.0, unit: str = "%") -> str:
    v = scale * np.asarray(values)
    return f"{name} {v.mean():5.2f}{unit} ± {v.std(ddof=1) if len(v) > 1 else 0.0:4.2f} [{v.min():.2f}–{v.max():.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(DEFAULT), help="an MLPerf Inference summary_results.json")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="fold seeds (repeated K-fold)")
    args = ap.parse_args()
    path = Path(args.path)
    if not path.exists():
        raise SystemExit(f"{path}: not found (pass the path of an MLPerf summary_results.json)")
    batch = benchlab.ingest.read(path)
    frame = batch.results_frame().filter(pl.col("metric").is_in(["throughput", "latency"]) & (pl.col("value") > 0))
    print(f"{path}: {frame.height} performance results via importer {batch.format!r} "
          f"({frame['hardware'].n_unique()} systems, {frame['model'].n_unique()} models; "
          f"metrics {', '.join(sorted(frame['metric'].unique()))})")  # fmt: skip
    print(f"repeated K-fold over rows: K={args.folds} × fold seeds {', '.join(map(str, args.seeds))}; "
          f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    devices = dict(zip(batch.hardware["name"].to_list(), batch.hardware["device_name"].to_list(), strict=True))

    print("\nper fold seed")
    runs: list[dict[str, np.ndarray]] = []
    accs, base_accs = [], []
    rows = pl.DataFrame()
    t_all = time.perf_counter()
    for seed in args.seeds:
        t0 = time.perf_counter()
        rows, summary = cross_validate(frame, k=args.folds, hardware=batch.hardware, models=batch.models, seed=seed)
        elapsed = time.perf_counter() - t0
        folds = rows["fold"].to_numpy()
        base = additive_baseline(rows, folds, devices)
        y = rows["value"].to_numpy()
        runs.append({
            "prediction": rows["prediction"].to_numpy(), "lower": rows["lower"].to_numpy(),
            "upper": rows["upper"].to_numpy(), "basis": rows["basis"].to_numpy(), "ape": rows["ape"].to_numpy(),
            "seen": seen_mask(rows, folds), "base": base,
        })  # fmt: skip
        accs.append(summary)
        base_accs.append(accuracy(y, base))
        print(f"  seed {seed}: MAPE {100 * summary['mape']:5.2f}%   within ±10% {100 * summary['within_10pct']:5.1f}%   "
              f"median APE {100 * summary['median_ape']:5.2f}%   coverage {100 * summary['coverage']:5.1f}%   "
              f"(baseline MAPE {100 * base_accs[-1]['mape']:6.2f}%; {elapsed:.1f} s)")  # fmt: skip
    total = time.perf_counter() - t_all
    # cross_validate keeps the input row order, so the rows line up across seeds
    y = rows["value"].to_numpy()

    print(f"\nmean over {len(args.seeds)} fold seeds (± standard deviation [range])")
    print("  benchlab PerformanceModel   " + "   ".join([
        spread("MAPE", [a["mape"] for a in accs]),
        spread("within ±10%", [a["within_10pct"] for a in accs]),
        spread("coverage", [a["coverage"] for a in accs]),
    ]))  # fmt: skip
    print("  additive log model          " + spread("MAPE", [a["mape"] for a in base_accs]) + "   "
          + spread("within ±10%", [a["within_10pct"] for a in base_accs]))  # fmt: skip

    print("\nall seeds pooled: all rows")
    base_all = np.concatenate([r["base"] for r in runs])
    show("additive log model (baseline)", accuracy(np.tile(y, len(runs)), base_all))
    show("benchlab PerformanceModel", pooled(y, runs))
    seen = np.concatenate([r["seen"] for r in runs])
    y_all = np.tile(y, len(runs))
    pred_all = {k: np.concatenate([r[k] for r in runs]) for k in ("prediction", "lower", "upper", "basis", "ape")}
    print(f"\nrows the additive model can place (system and workload both in the training folds: "
          f"{seen.sum() / len(runs):.0f} per seed)")  # fmt: skip
    show("additive log model (baseline)", accuracy(y_all[seen], base_all[seen]))
    show("benchlab PerformanceModel",
         accuracy(y_all[seen], pred_all["prediction"][seen], pred_all["lower"][seen], pred_all["upper"][seen]))  # fmt: skip
    print("\nthe additive model's training error (fitted on all rows, predicting the same rows; "
          "no row held out)")  # fmt: skip
    show("additive log model, in-sample", accuracy(y, additive_baseline(rows, None)))

    def subset(title: str, mask: np.ndarray) -> None:
        m = np.tile(mask, len(runs))
        print(f"\n{title}")
        show("additive log model (baseline)", accuracy(y_all[m], base_all[m]))
        show("benchlab PerformanceModel",
             accuracy(y_all[m], pred_all["prediction"][m], pred_all["lower"][m], pred_all["upper"][m]))  # fmt: skip

    div = rows["params"].str.extract(r'"division":"(\w+)"').fill_null("?").to_numpy()
    for d in ("closed", "open"):
        if (div == d).any():
            subset(f"{d} division only ({(div == d).sum()} rows)", div == d)
    lat = rows["metric"].to_numpy() == "latency"
    if lat.any():
        subset(f"latency rows (SingleStream / MultiStream: {lat.sum()} rows)", lat)
    print("\nby what the prediction rests on (basis = Mondrian class; rows per seed)")
    for b in ("neighbours", "features", "measured"):
        m = pred_all["basis"] == b
        if m.any():
            show(f"basis = {b} ({m.sum() / len(runs):.1f})",
                 accuracy(y_all[m], pred_all["prediction"][m], pred_all["lower"][m], pred_all["upper"][m]))  # fmt: skip

    ape = np.column_stack([r["ape"] for r in runs])
    print("\nlargest errors (mean APE over seeds; share of the mean MAPE)")
    worst = np.argsort(ape.mean(axis=1))[::-1][:10]
    for i in worst:
        r = rows.row(int(i), named=True)
        print(f"  {100 * ape[i].mean():7.1f}% (max {100 * ape[i].max():7.1f}%, {100 * ape[i].mean() / len(y):4.2f} pts)  "
              f"{r['hardware']} · {r['model']} · {r['params']} · {r['metric']}")  # fmt: skip
    worst10 = np.sort(ape, axis=0)[::-1][:10].sum(axis=0) / len(y)
    print(f"share of the MAPE due to each seed's 10 worst rows: {spread('', list(worst10), unit='').strip()} points "
          f"of {100 * np.mean([a['mape'] for a in accs]):.2f}")  # fmt: skip
    width = np.median(pred_all["upper"] / pred_all["lower"])
    print(f"median 90% interval: ×{width:.3f} from lower to upper bound")
    n_fit = len(args.seeds) * args.folds
    print(f"time: {total:.1f} s for {len(args.seeds)} seeds × {args.folds} folds ({total / n_fit:.1f} s per fit "
          f"with CV+ intervals + predict)")  # fmt: skip
    print("\ntargets (on the mean over seeds): MAPE ≤ 7%, ≥ 80% within ±10%, 90% intervals cover 87–93%")


if __name__ == "__main__":
    main()

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
too.  The plain additive log model (system effect + workload effect, least
squares; an unseen system gets the mean effect of the systems with its
accelerator, an unseen workload that of its model's workloads) is evaluated on
the same folds for comparison.  Its training error (fitted on all rows and
scored on the same rows) is printed too: 8.7 % MAPE on all rows, close to the
8.8 % quoted for "a plain additive log model" (within ±10 %: 68 %, not the
quoted 73 %; no variant tried — closed division only, other workload
definitions, other error definitions — reproduces both figures).  Held out,
the same model's MAPE is several times larger: the quoted figure reads as
in-sample, not as a prediction of unmeasured results.

Run:  python benchmarks/predict_mlperf.py [summary_results.json] [--folds 10] [--seed 0]
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
from benchlab.predict._recommend import batch_results

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(DEFAULT), help="an MLPerf Inference summary_results.json")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = Path(args.path)
    if not path.exists():
        raise SystemExit(f"{path}: not found (pass the path of an MLPerf summary_results.json)")
    batch = benchlab.ingest.read(path)
    frame = batch_results(batch).filter(pl.col("metric").is_in(["throughput", "latency"]) & (pl.col("value") > 0))
    print(f"{path}: {frame.height} performance results via importer {batch.format!r} "
          f"({frame['hardware'].n_unique()} systems, {frame['model'].n_unique()} models; "
          f"metrics {', '.join(sorted(frame['metric'].unique()))})")  # fmt: skip
    print(f"K-fold over rows: K={args.folds}, seed {args.seed}; cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip

    t0 = time.perf_counter()
    rows, summary = cross_validate(frame, k=args.folds, hardware=batch.hardware, models=batch.models, seed=args.seed)
    elapsed = time.perf_counter() - t0
    folds = rows["fold"].to_numpy()
    devices = dict(zip(batch.hardware["name"].to_list(), batch.hardware["device_name"].to_list(), strict=True))
    base = additive_baseline(rows, folds, devices)
    in_sample = additive_baseline(rows, None)
    y = rows["value"].to_numpy()

    pred, lo, hi = rows["prediction"].to_numpy(), rows["lower"].to_numpy(), rows["upper"].to_numpy()
    print("\nall rows")
    show("additive log model (baseline)", accuracy(y, base))
    show("benchlab PerformanceModel", summary)
    seen = seen_mask(rows, folds)
    print(f"\nrows the additive model can place (system and workload both in the training folds: {seen.sum()})")
    show("additive log model (baseline)", accuracy(y[seen], base[seen]))
    show("benchlab PerformanceModel", accuracy(y[seen], pred[seen], lo[seen], hi[seen]))
    print("\nthe additive model's training error (fitted on all rows, predicting the same rows; "
          "no row held out)")  # fmt: skip
    show("additive log model, in-sample", accuracy(y, in_sample))
    div = rows["params"].str.extract(r'"division":"(\w+)"').fill_null("?").to_numpy()
    for d in ("closed", "open"):
        m = div == d
        if m.any():
            print(f"\n{d} division only")
            show("additive log model (baseline)", accuracy(y[m], base[m]))
            show("benchlab PerformanceModel", accuracy(y[m], rows["prediction"].to_numpy()[m],
                                                       rows["lower"].to_numpy()[m], rows["upper"].to_numpy()[m]))  # fmt: skip
    print("\nby what the prediction rests on (basis)")
    for b in ("neighbours", "features", "measured"):
        m = (rows["basis"] == b).to_numpy()
        if m.any():
            show(
                f"basis = {b}",
                accuracy(
                    y[m], rows["prediction"].to_numpy()[m], rows["lower"].to_numpy()[m], rows["upper"].to_numpy()[m]
                ),
            )
    ape = np.sort(rows["ape"].to_numpy())[::-1]
    print(
        f"\nshare of the MAPE due to the 10 worst rows: {100 * ape[:10].sum() / len(ape):.2f} points of {100 * ape.mean():.2f}"
    )
    width = np.median(rows["upper"].to_numpy() / rows["lower"].to_numpy())
    print(f"median 90% interval: ×{width:.3f} from lower to upper bound")
    print(f"time: {elapsed:.1f} s for {args.folds} folds (each a fit with CV+ intervals + predict)")
    print("\ntargets: MAPE ≤ 7%, ≥ 80% within ±10%, 90% intervals cover 87–93%")


if __name__ == "__main__":
    main()

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
squares) is evaluated on the same folds for comparison.

Run:  python benchmarks/predict_mlperf.py [summary_results.json] [--folds 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
import scipy.sparse.linalg as sla

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


def additive_baseline(frame: pl.DataFrame, folds: np.ndarray) -> np.ndarray:
    """K-fold predictions of ``log value = system effect + workload effect`` (per metric, least squares).

    The workload is everything but the hardware (model, scenario, accuracy
    target, division, precision …).  A level unseen in the training folds
    contributes nothing (its effect is the mean).
    """
    ident = ["benchmark", "model", "batch_size", "seq_len", "precision", "params", "metric", "unit"]
    f = frame.with_columns(
        _w=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("∅") for c in ident], separator="|"),
        _h=pl.col("hardware").fill_null("∅"),
        _y=pl.col("value").log(),
    )
    pred = np.full(f.height, np.nan)
    for j in np.unique(folds):
        tr, te = folds != j, folds == j
        for metric in f["metric"].unique().to_list():
            m = (f["metric"] == metric).to_numpy()
            a, b = tr & m, te & m
            if not a.any() or not b.any():
                continue
            hs = {h: i for i, h in enumerate(f["_h"].filter(pl.Series(a)).unique().to_list())}
            ws = {w: i for i, w in enumerate(f["_w"].filter(pl.Series(a)).unique().to_list())}

            def design(mask: np.ndarray, hs: dict = hs, ws: dict = ws) -> sp.csr_matrix:
                hi = np.array([hs.get(h, -1) for h in f["_h"].filter(pl.Series(mask)).to_list()])
                wi = np.array([ws.get(w, -1) for w in f["_w"].filter(pl.Series(mask)).to_list()])
                r = np.arange(len(hi))
                oh, ow = hi >= 0, wi >= 0
                return sp.hstack([
                    sp.csr_matrix((np.ones(oh.sum()), (r[oh], hi[oh])), shape=(len(hi), len(hs))),
                    sp.csr_matrix((np.ones(ow.sum()), (r[ow], wi[ow])), shape=(len(hi), len(ws))),
                ]).tocsr()  # fmt: skip

            y = f["_y"].to_numpy()[a]
            mu = y.mean()
            coef = sla.lsqr(design(a), y - mu, damp=1e-3, atol=1e-10, btol=1e-10)[0]
            pred[b] = np.exp(design(b) @ coef + mu)
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
    base = additive_baseline(rows, folds)
    y = rows["value"].to_numpy()

    pred, lo, hi = rows["prediction"].to_numpy(), rows["lower"].to_numpy(), rows["upper"].to_numpy()
    print("\nall rows")
    show("additive log model (baseline)", accuracy(y, base))
    show("benchlab PerformanceModel", summary)
    seen = seen_mask(rows, folds)
    print(f"\nrows the additive model can place (system and workload both in the training folds: {seen.sum()})")
    show("additive log model (baseline)", accuracy(y[seen], base[seen]))
    show("benchlab PerformanceModel", accuracy(y[seen], pred[seen], lo[seen], hi[seen]))
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

"""A small store full of hostile strings, shared by the report tests.

Imported by the test files of this folder (which put the folder on
``sys.path``); not a test module itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

import benchlab
from benchlab.ingest import BatchBuilder

#: A model name that would run script if pasted into HTML or closed the JSON <script>.
HOSTILE_MODEL = '</script><script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
#: A hardware name that breaks out of an attribute.
HOSTILE_HW = '"><svg onload="window.__xss=3">'
HOSTILE_MESSAGE = "<script>window.__xss=4</script> & </script><!--"
HOSTILE_NOTE = "<b onmouseover=window.__xss=5>note</b>"
BAD_LINK = "javascript:window.__xss=6"
GOOD_LINK = "https://ci.example.com/run/7?a=1&b=2"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
N_RUNS = 40
STEP_AT = 30  # the hostile model's latency on cpu-x jumps by 40 % from this run on


def commit(i: int) -> str:
    return f"{i:04d}" + "abcdef0123456789abcdef0123456789abcd"


def build_store(path: Path) -> benchlab.Store:
    """Measured history with one step regression, simulated and predicted runs, compatibility records."""
    rng = np.random.default_rng(7)
    b = BatchBuilder(path.with_suffix(".json"), "test-report", digest="report-test-1")
    b.add_model(HOSTILE_MODEL, family="embedding")
    b.add_hardware("cpu-x", type="cpu")
    b.add_hardware(HOSTILE_HW, type="cuda")
    for i in range(N_RUNS):
        meta = None
        if i == N_RUNS - 5:
            meta = {"message": HOSTILE_MESSAGE, "url": BAD_LINK}
        elif i == N_RUNS - 1:
            meta = {"message": "nightly", "url": GOOD_LINK}
        run = b.add_run(
            commit=commit(i), branch="main", machine="box<1>", started_at=START + dt.timedelta(days=i), metadata=meta
        )
        for model in ("bert-base", HOSTILE_MODEL):
            for hw, base in (("cpu-x", 10.0), (HOSTILE_HW, 2.0)):
                level = base * (1.4 if (model == HOSTILE_MODEL and hw == "cpu-x" and i >= STEP_AT) else 1.0)
                value = level * float(np.exp(rng.normal(0, 0.01)))
                b.add_result(
                    run,
                    location=f"run {i}",
                    benchmark="infer",
                    model=model,
                    hardware=hw,
                    batch_size=1,
                    precision="fp32",
                    metric="latency",
                    value=value,
                    unit="ms",
                )
                b.add_result(
                    run,
                    location=f"run {i}",
                    benchmark="infer",
                    model=model,
                    hardware=hw,
                    batch_size=1,
                    precision="fp32",
                    metric="throughput",
                    value=1000 / value,
                    unit="items/s",
                )
    sim = b.add_run(
        commit=commit(N_RUNS - 1),
        machine="simulator",
        started_at=START + dt.timedelta(days=N_RUNS - 1),
        provenance="simulated",
    )
    b.add_result(
        sim,
        location="sim",
        benchmark="infer",
        model="bert-base",
        hardware="qnn-sim",
        batch_size=1,
        precision="int8",
        metric="latency",
        value=3.0,
        unit="ms",
    )
    pred = b.add_run(
        commit=commit(N_RUNS - 1),
        machine="model",
        started_at=START + dt.timedelta(days=N_RUNS - 1),
        provenance="predicted",
    )
    for model in ("bert-base", HOSTILE_MODEL):
        b.add_result(
            pred,
            location="pred",
            benchmark="infer",
            model=model,
            hardware="cpu-x",
            batch_size=1,
            precision="fp32",
            metric="latency",
            value=11.0,
            unit="ms",
        )
    b.add_result(
        pred,
        location="pred",
        benchmark="infer",
        model="bert-base",
        hardware="npu-future",
        batch_size=1,
        precision="fp32",
        metric="latency",
        value=0.5,
        unit="ms",
    )
    last = N_RUNS - 1
    b.add_compatibility(
        last,
        model=HOSTILE_MODEL,
        hardware=HOSTILE_HW,
        level="unsupported",
        error_type="<i>OpError</i>",
        error_message=HOSTILE_MESSAGE,
        suggested_fix="use </script> less",
    )
    b.add_compatibility(last, model="bert-base", hardware="cpu-x", level="full")
    b.add_compatibility(last, model="bert-base", hardware=HOSTILE_HW, level="limited", error_message="fp16 only")
    store = benchlab.open(path)
    outcome = store.write(b.build())
    assert outcome.status == "added", outcome.message
    save_model_predictions(store)
    return store


#: Name of the prediction model in the stored predictions (hostile too: it is shown as their source).
HOSTILE_PREDICTOR = "<script>window.__xss=7</script>gbm"


def save_model_predictions(store: benchlab.Store) -> None:
    """Predictions as benchlab.predict stores them: one for a measured case, one for an untested one."""
    import polars as pl

    from benchlab.frame import series_key
    from benchlab.store._predictions import save_predictions

    rows = [
        ("bert-base", HOSTILE_HW, 1, 2.2, 1.9, 2.6),  # measured: about 2 ms
        ("bert-base", "tpu-next", 8, 0.9, 0.6, 1.3),  # never run anywhere
    ]
    frame = pl.DataFrame(
        {
            "series_key": [series_key("infer", m, hw, b, None, "fp32", None, "latency") for m, hw, b, *_ in rows],
            "benchmark": "infer",
            "model": [r[0] for r in rows],
            "hardware": [r[1] for r in rows],
            "batch_size": [r[2] for r in rows],
            "precision": "fp32",
            "metric": "latency",
            "unit": "ms",
            "prediction": [r[3] for r in rows],
            "lower": [r[4] for r in rows],
            "upper": [r[5] for r in rows],
            "coverage": 0.9,
        }
    )
    save_predictions(
        store, frame, {"model_name": HOSTILE_PREDICTOR, "model_version": "1.0", "training_hash": "abc123def"}
    )


def triage_first_change(store: benchlab.Store) -> str | None:
    """Triage the hostile model's regression with a hostile note; returns its change id."""
    from benchlab.regress import detect_store, triage

    found = detect_store(store, include_triaged=True)
    if found.is_empty():
        return None
    cid = found["change_id"][0]
    triage(store, cid, "acknowledged", note=HOSTILE_NOTE, link="https://issues.example.com/1")
    return cid

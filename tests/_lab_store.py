"""A small real store for the chart and widget tests (written through BatchBuilder).

Two models × two hardware × two batch sizes × two precisions, latency and
throughput, over 24 commits on ``main`` plus 2 on a feature branch.  cpu runs
are *measured*, cuda runs *simulated*, so every chart sees two provenances.
``resnet50`` on ``cuda-a100`` gets 30 % slower from commit 14 on (a step the
detector finds); every result carries raw samples so A/B comparisons have an
interval.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

from benchlab.ingest import BatchBuilder
from benchlab.store import Store
from benchlab.store import open as open_store

MODELS = ("bert-base", "resnet50")
HARDWARE = ("cpu", "cuda-a100")
BATCHES = (1, 8)
PRECISIONS = ("fp32", "fp16")
N_COMMITS = 24
STEP_AT = 14
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def commit(i: int) -> str:
    return f"{i:03d}" + "c0ffee" * 6


def make_store(path: Path) -> Store:
    rng = random.Random(7)
    store = open_store(path)
    b = BatchBuilder(str(path.with_suffix(".json")), "native-json", digest=f"lab-{path.name}")
    runs: list[tuple[int, str, str]] = []
    for i in range(N_COMMITS + 2):
        branch = "main" if i < N_COMMITS else "feature/x"
        for hw in HARDWARE:
            r = b.add_run(
                commit=commit(i),
                branch=branch,
                machine=f"{hw}-box",
                started_at=T0 + dt.timedelta(days=i, hours=1 if hw == "cuda-a100" else 0),
                provenance="measured" if hw == "cpu" else "simulated",
            )
            runs.append((r, hw, branch))
    for idx, (r, hw, _branch) in enumerate(runs):
        i = idx // len(HARDWARE)
        for m in MODELS:
            for bs in BATCHES:
                for p in PRECISIONS:
                    base = (12.0 if m == "bert-base" else 30.0) * (0.25 if hw != "cpu" else 1.0)
                    base *= bs**0.7 * (0.6 if p == "fp16" else 1.0)
                    if m == "resnet50" and hw == "cuda-a100" and i >= STEP_AT:
                        base *= 1.3
                    samples = [base * math.exp(rng.gauss(0, 0.01)) for _ in range(5)]
                    value = sorted(samples)[2]
                    common = dict(benchmark="inference", model=m, hardware=hw, batch_size=bs, precision=p)
                    b.add_result(
                        r, location=f"run {r}", metric="latency", value=value, unit="ms", samples=samples, **common
                    )
                    b.add_result(
                        r, location=f"run {r}", metric="throughput", value=1000 * bs / value, unit="items/s", **common
                    )
    for m in MODELS:
        for hw in HARDWARE:
            b.add_compatibility(0, model=m, hardware=hw, level="full" if hw == "cpu" else "limited",
                                error_type=None if hw == "cpu" else "MemoryError",
                                error_message=None if hw == "cpu" else "batch 64 does not fit")  # fmt: skip
    outcome = store.write(b.build())
    assert outcome.status == "added", outcome.message
    return store

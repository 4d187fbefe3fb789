"""A/B comparison: verdicts from samples or run values, direction, thresholds, pairing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchlab.errors import QueryError
from benchlab.frame import RESULTS_SCHEMA, series_key
from benchlab.regress import ab_compare


def rows(
    commit: str,
    name: str,
    samples: list[list[float]] | None = None,
    values: list[float] | None = None,
    *,
    metric: str = "latency",
    direction: str = "lower",
    hardware: str = "cpu",
) -> pl.DataFrame:
    """One row per run of one case at ``commit``, with samples or plain values."""
    if samples is not None:
        values = [float(np.median(s)) for s in samples]
    assert values is not None
    n = len(values)
    key = series_key(name, None, hardware, None, None, None, None, metric)
    return pl.DataFrame(
        {
            "run_id": list(range(n)),
            "provenance": ["measured"] * n,
            "commit": [commit] * n,
            "series_key": [key] * n,
            "benchmark": [name] * n,
            "hardware": [hardware] * n,
            "metric": [metric] * n,
            "unit": ["ms" if direction == "lower" else "items/s"] * n,
            "value": values,
            "direction": [direction] * n,
            "samples": samples if samples is not None else [None] * n,
        },
        schema={k: RESULTS_SCHEMA[k] for k in ("run_id", "provenance", "commit", "series_key", "benchmark",
                                                "hardware", "metric", "unit", "value", "direction", "samples")},
    )  # fmt: skip


def normal(level: float, n: int, seed: int, sd: float = 0.01) -> list[float]:
    return (level * (1 + sd * np.random.default_rng(seed).standard_normal(n))).tolist()


def frame() -> pl.DataFrame:
    parts = [
        rows("A", "slower", [normal(10, 40, 1)]), rows("B", "slower", [normal(13, 40, 2)]),
        rows("A", "faster", [normal(10, 40, 3)]), rows("B", "faster", [normal(7, 40, 4)]),
        rows("A", "same", [normal(10, 40, 5)]), rows("B", "same", [normal(10.05, 40, 6)]),
        rows("A", "thr_drop", [normal(500, 40, 7)], metric="throughput", direction="higher"),
        rows("B", "thr_drop", [normal(400, 40, 8)], metric="throughput", direction="higher"),
        # significant, but the interval straddles the 1.1x threshold
        rows("A", "border", [normal(10, 40, 9, sd=0.05)]), rows("B", "border", [normal(11, 40, 10, sd=0.05)]),
        rows("A", "single", values=[10.0]), rows("B", "single", values=[20.0]),
        rows("B", "new_case", [normal(10, 40, 11)]),
    ]  # fmt: skip
    return pl.concat(parts)


def test_verdicts_are_direction_aware_and_use_samples() -> None:
    out = ab_compare(frame(), baseline="A", contender="B")
    verdict = dict(out.select("benchmark", "verdict").iter_rows())
    assert verdict == {
        "slower": "worse", "faster": "better", "same": "unchanged", "thr_drop": "worse",
        "border": "uncertain", "single": "uncertain", "new_case": "uncertain",
    }  # fmt: skip
    slow = out.filter(pl.col("benchmark") == "slower").row(0, named=True)
    assert slow["basis"] == "samples" and slow["n_baseline"] == 40 and slow["n_contender"] == 40
    assert slow["ratio"] == pytest.approx(1.3, rel=0.02)
    assert slow["ratio_low"] < slow["ratio"] < slow["ratio_high"]
    assert slow["ratio_low"] >= 1.1 and slow["p_value"] < 1e-6
    assert slow["kind"] == "regression" and slow["severity"] == "major"  # 30 %: major (>= 20 %, < 50 %)
    assert slow["baseline_commit"] == "A" and slow["contender_commit"] == "B"
    thr = out.filter(pl.col("benchmark") == "thr_drop").row(0, named=True)
    assert thr["change"] == pytest.approx(-0.2, abs=0.01) and thr["severity"] == "major"
    border = out.filter(pl.col("benchmark") == "border").row(0, named=True)
    assert border["p_value"] < 0.01 and "straddles" in border["reason"]
    assert "not enough data" in out.filter(pl.col("benchmark") == "single")["reason"][0]
    assert out["verdict"][0] == "worse"  # worst first
    assert out.filter(pl.col("verdict") == "unchanged")["severity"].is_null().all()


def test_values_are_used_when_samples_are_missing_and_min_factor_matters() -> None:
    f = pl.concat([rows("A", "v", values=normal(10, 12, 1)), rows("B", "v", values=normal(10.8, 12, 2))])
    out = ab_compare(f, baseline="A", contender="B")
    row = out.row(0, named=True)
    assert row["basis"] == "values" and row["n_baseline"] == 12
    # +8 % with 1 % noise: significant, but the whole interval is below 1.1x
    assert row["p_value"] < 0.01 and row["ratio_high"] < 1.1
    assert row["verdict"] == "unchanged"
    loose = ab_compare(f, baseline="A", contender="B", min_factor=1.03)
    assert loose["verdict"][0] == "worse"
    strict = ab_compare(f, baseline="A", contender="B", min_factor=1.5)
    assert strict["verdict"][0] == "unchanged"


def test_two_frames_mapping_selectors_and_varying_identity() -> None:
    base = rows("A", "k", [normal(10, 30, 1)], hardware="cpu")
    cont = rows("A", "k", [normal(5, 30, 2)], hardware="cuda")
    out = ab_compare((base, cont), "cpu run", "cuda run")
    assert out.height == 2  # hardware is part of the series: different cases without selectors
    by_hw = ab_compare(pl.concat([base, cont]), baseline="cpu", contender="cuda", by="hardware")
    assert by_hw.height == 1 and by_hw["verdict"][0] == "better" and "hardware" not in by_hw.columns
    mapped = ab_compare(pl.concat([base, cont]), baseline={"hardware": "cpu"}, contender={"hardware": "cuda"})
    assert mapped.drop("change_id").equals(by_hw.drop("change_id"))


def test_deterministic_and_validates_options() -> None:
    f = frame()
    assert ab_compare(f, "A", "B", seed=1).equals(ab_compare(f, "A", "B", seed=1))
    with pytest.raises(QueryError, match="min_factor"):
        ab_compare(f, "A", "B", min_factor=0.9)
    with pytest.raises(QueryError, match="contender"):
        ab_compare(f, "A", None)
    with pytest.raises(QueryError, match="no such column"):
        ab_compare(f, {"nope": 1}, {"nope": 2})

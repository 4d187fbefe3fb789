"""github-action-benchmark importer: the safetensors data.js history and synthetic tools."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

import benchlab.ingest as ingest
from benchlab.errors import IngestError
from benchlab.ingest.github_action_benchmark import unit_metric

DATA_JS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "github_action_benchmark"
    / "dev"
    / "bench"
    / "data.js"
)


@pytest.fixture(scope="module")
def batch() -> ingest.Batch:
    if not DATA_JS.exists():
        pytest.skip("../shared/data/github_action_benchmark is not present beside the repo")
    return ingest.read(DATA_JS)


def test_history_counts_match_source(batch: ingest.Batch) -> None:
    assert ingest.detect(DATA_JS).name == "github-action-benchmark"
    assert batch.runs.height == 517 and batch.runs.get_column("commit").n_unique() == 512
    tp = batch.results.filter(pl.col("metric") == "throughput")
    assert tp.height == 4877 and tp.get_column("series_key").n_unique() == 16
    assert set(tp.get_column("unit").to_list()) == {"iter/s"} and set(tp.get_column("direction").to_list()) == {
        "higher"
    }
    counts = tp.group_by("benchmark").len().sort("len", descending=True)
    assert counts.get_column("len").to_list()[:6] == [517] * 6 and counts.get_column("len")[-1] == 3
    starts = batch.runs.get_column("started_at")
    assert starts[0] == dt.datetime(2022, 11, 1, 13, 53, 50, 383000, tzinfo=dt.UTC) and starts.is_sorted()


def test_pytest_tool_stddev_goes_with_the_time_metric(batch: ingest.Batch) -> None:
    first = batch.results.filter(
        pl.col("run_index") == 0, pl.col("benchmark") == "benches/test_flax.py::test_flax_flax_load"
    )
    tp = first.filter(pl.col("metric") == "throughput").row(0, named=True)
    tm = first.filter(pl.col("metric") == "time").row(0, named=True)
    assert tp["value"] == pytest.approx(1.1761837679361133) and tp["stddev"] is None
    assert tm["value"] == pytest.approx(850.2072782000141) and tm["unit"] == "ms"
    assert tm["stddev"] == pytest.approx(60.50114010900778)  # "stddev: 0.0605…" seconds
    assert tm["n_samples"] == 5
    assert 1000.0 / tm["value"] == pytest.approx(tp["value"], rel=1e-9)  # ops = 1 / mean
    meta = json.loads(batch.runs.get_column("metadata")[0])
    assert meta["commit_message"] == "Splitting up tests from benchmarks." and meta["benchmark_tool"] == "pytest"


def _js(entries: dict, prefix: str = "window.BENCHMARK_DATA = ", suffix: str = "") -> str:
    return prefix + json.dumps({"lastUpdate": 1, "repoUrl": "https://x/y", "entries": entries}) + suffix


def _entry(tool: str, *benches: dict, cid: str = "c1") -> dict:
    return {"commit": {"id": cid, "message": "m", "timestamp": "2024-01-01T00:00:00Z", "url": "u"},
            "date": 1704067200000, "tool": tool, "benches": list(benches)}  # fmt: skip


def test_other_tools_units_directions_and_semicolon(tmp_path: Path) -> None:
    entries = {
        "Go": [_entry("go", {"name": "BenchmarkFib", "value": 1234, "unit": "ns/op", "extra": "1000 times"},
                      {"name": "BenchmarkFib", "value": 64, "unit": "B/op"},
                      {"name": "BenchmarkFib", "value": 2, "unit": "allocs/op"})],
        "Custom": [_entry("customSmallerIsBetter", {"name": "bundle", "value": 321.5, "unit": "KB", "range": "stddev: 1.5"},
                          {"name": "score", "value": 7, "unit": "points"}),
                   _entry("customBiggerIsBetter", {"name": "fps", "value": 60, "unit": "fps"}, cid="c2")],
    }  # fmt: skip
    p = tmp_path / "data.js"
    p.write_text(_js(entries, suffix=";\n"))
    b = ingest.read(p)
    rows = {(r["benchmark"], r["metric"]): r for r in b.results.to_dicts()}
    assert (
        rows[("BenchmarkFib", "time")]["value"] == pytest.approx(0.001234)
        and rows[("BenchmarkFib", "time")]["direction"] == "lower"
    )
    assert rows[("BenchmarkFib", "alloc_bytes")]["unit"] == "MB" and rows[("BenchmarkFib", "allocs")]["unit"] == "count"
    bundle = rows[("bundle", "memory")]
    assert (
        bundle["direction"] == "lower"
        and bundle["stddev"] == pytest.approx(1.5e-3)
        and bundle["value"] == pytest.approx(0.3215)
    )
    score = rows[("score", "value")]
    assert score["unit"] == "count" and json.loads(score["params"]) == {"suite": "Custom", "unit": "points"}
    assert rows[("fps", "throughput")]["direction"] == "higher"
    assert b.runs.height == 3 and json.loads(b.runs.get_column("metadata")[0])["extra"] == {
        "BenchmarkFib": "1000 times"
    }


@pytest.mark.parametrize(
    ("text", "location", "reason"),
    [
        ("var x = {}", "line 1", "does not start with"),
        (
            _js({"S": [_entry("go", {"name": "a", "value": -1, "unit": "ns/op"})]}),
            "entries['S'][0].benches[0].value",
            "negative",
        ),
        (
            _js({"S": [_entry("go", {"name": "a", "value": "1", "unit": 5})]}),
            "entries['S'][0].benches[0].unit",
            "must be a string",
        ),
        (_js({"S": {"a": 1}}), "entries['S']", "must be a list"),
        (
            _js({"S": [_entry("go", {"name": "a", "value": 1, "unit": "ns", "range": "stddev: 1.2.3"})]}),
            "entries['S'][0].benches[0].range",
            "unreadable stddev",
        ),
        ('window.BENCHMARK_DATA = {"entries": [', "line 1 column 38", "malformed JSON"),
    ],
)
def test_bad_files_name_the_bench(tmp_path: Path, text: str, location: str, reason: str) -> None:
    p = tmp_path / "data.js"
    p.write_text(text)
    with pytest.raises(IngestError) as exc:
        ingest.read(p, format="github-action-benchmark")
    assert exc.value.path == str(p) and exc.value.location == location and reason in exc.value.reason


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("iter/sec", ("throughput", "iter/sec", {})),
        ("ns/iter", ("time", "ns", {})),
        ("ms", ("time", "ms", {})),
        ("ops/sec", ("throughput", "ops/sec", {})),
        ("widgets", ("value", "count", {"unit": "widgets"})),
    ],
)
def test_unit_metric(unit: str, expected: tuple) -> None:
    assert unit_metric(unit) == expected

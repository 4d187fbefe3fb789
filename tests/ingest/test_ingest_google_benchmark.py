"""Google Benchmark importer: repetitions and aggregates, units, counters, complexity rows."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import polars as pl
import pytest

import benchlab.ingest as ingest
from benchlab.errors import IngestError
from benchlab.ingest.google_benchmark import split_name

GB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "google_benchmark"
CXX = GB / "ZigRazor_CXXGraph" / "benchmark" / "results"
INPUTS = GB / "google_benchmark" / "tools" / "gbench" / "Inputs"
needs_data = pytest.mark.skipif(
    not GB.exists(), reason="../shared/data/google_benchmark is not present beside the repo"
)


@needs_data
@pytest.mark.parametrize(
    ("name", "cases"),
    [("base.json", 19), ("BenchmarkResults_0.4.0.json", 148), ("bellmanford.json", 19), ("test1_run1.json", 14)],
)
def test_cases_and_two_time_metrics(name: str, cases: int) -> None:
    path = next(GB.rglob(name))
    assert ingest.detect(path).name == "google-benchmark"
    b = ingest.read(path)
    assert b.results.height == 2 * cases  # real_time + cpu_time, aggregates are not extra cases
    assert set(b.results.get_column("metric").to_list()) == {"real_time", "cpu_time"}
    assert b.results.get_column("series_key").n_unique() == 2 * cases


@needs_data
def test_repetitions_fill_spread_and_samples() -> None:
    b = ingest.read(CXX / "base.json")
    raw = json.loads((CXX / "base.json").read_text())["benchmarks"]
    reps = [e["real_time"] for e in raw if e["run_name"] == "BM_EdgeCreation" and e["run_type"] == "iteration"]
    aggs = {
        e["aggregate_name"]: e["real_time"]
        for e in raw
        if e["run_name"] == "BM_EdgeCreation" and e["run_type"] == "aggregate"
    }
    row = b.results.filter(pl.col("benchmark") == "BM_EdgeCreation", pl.col("metric") == "real_time").row(0, named=True)
    assert len(reps) == 20 and row["n_samples"] == 20
    assert row["value"] == pytest.approx(aggs["mean"] * 1e-6)  # ns → ms
    assert row["median"] == pytest.approx(aggs["median"] * 1e-6) and row["stddev"] == pytest.approx(
        aggs["stddev"] * 1e-6
    )
    assert row["samples"] == pytest.approx([r * 1e-6 for r in reps])
    assert row["min"] == pytest.approx(min(reps) * 1e-6) and row["max"] == pytest.approx(max(reps) * 1e-6)
    run = b.runs.row(0, named=True)
    assert run["machine"] == "codespaces_8b3805" and run["started_at"].isoformat() == "2022-03-25T09:03:41+00:00"
    assert json.loads(run["environment"])["num_cpus"] == 4


@needs_data
def test_sizes_become_params_and_complexity_rows_are_skipped() -> None:
    b = ingest.read(CXX / "bellmanford.json")
    sizes = [json.loads(p)["arg1"] for p in b.results.filter(pl.col("metric") == "cpu_time").get_column("params")]
    assert sizes[0] == 1 and sizes[-1] == 262144 and len(sizes) == 19
    assert set(b.results.get_column("benchmark").to_list()) == {"BellmanFord_X"}
    assert len(b.skipped) == 2 and all("complexity fit" in s for s in b.skipped)


@needs_data
def test_old_style_fixtures_units_and_untyped_rows() -> None:
    b = ingest.read(INPUTS / "test1_run1.json")
    row = b.results.filter(pl.col("benchmark") == "BM_NotBadTimeUnit", pl.col("metric") == "real_time").row(
        0, named=True
    )
    assert row["orig_unit"] == "s" and row["value"] == pytest.approx(400.0)  # 0.4 s
    t3 = ingest.read(INPUTS / "test3_run0.json")
    two = t3.results.filter(pl.col("benchmark") == "BM_Two", pl.col("metric") == "real_time").row(0, named=True)
    assert two["n_samples"] == 2 and two["value"] == pytest.approx(statistics.fmean([9, 8]) * 1e-6)
    assert any("without 'aggregate_name'" in s for s in t3.skipped)


def _doc(*entries: dict, **ctx: object) -> dict:
    return {"context": {"date": "2024-01-02T03:04:05+00:00", "host_name": "h", "num_cpus": 8, "mhz_per_cpu": 3000,
                        "library_build_type": "release", "json_schema_version": 1, **ctx},
            "benchmarks": list(entries)}  # fmt: skip


def _entry(name: str, **over: object) -> dict:
    e = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1, "repetition_index": 0,
         "threads": 1, "iterations": 100, "real_time": 10.0, "cpu_time": 9.0, "time_unit": "us"}  # fmt: skip
    e.update(over)
    return e


def test_counters_become_rate_and_count_metrics(tmp_path: Path) -> None:
    p = tmp_path / "gb.json"
    p.write_text(json.dumps(_doc(_entry("BM_copy/4096", bytes_per_second=4.0e9, items_per_second=1.0e6, widgets=3))))
    b = ingest.read(p)
    rows = {r["metric"]: r for r in b.results.to_dicts()}
    assert rows["real_time"]["value"] == pytest.approx(0.01) and rows["real_time"]["orig_unit"] == "us"
    tp = b.results.filter(pl.col("metric") == "throughput")
    assert sorted(tp.get_column("unit").to_list()) == ["MB/s", "items/s"]  # bytes/s is a bandwidth
    assert tp.filter(pl.col("unit") == "MB/s").get_column("value").item() == pytest.approx(4000.0)
    assert set(tp.get_column("direction").to_list()) == {"higher"}
    assert rows["widgets"]["unit"] == "count" and rows["widgets"]["value"] == 3.0
    assert json.loads(rows["real_time"]["params"]) == {"arg1": 4096}


def test_errored_entries_are_skipped_and_aggregates_only(tmp_path: Path) -> None:
    p = tmp_path / "gb.json"
    p.write_text(json.dumps(_doc(
        _entry("BM_bad", error_occurred=True, error_message="boom"),
        _entry("BM_x_mean", run_name="BM_x", run_type="aggregate", aggregate_name="mean", repetitions=5, real_time=5.0),
        _entry("BM_x_stddev", run_name="BM_x", run_type="aggregate", aggregate_name="stddev", repetitions=5, real_time=0.5),
        _entry("BM_x_cv", run_name="BM_x", run_type="aggregate", aggregate_name="cv", repetitions=5, real_time=0.1),
    )))  # fmt: skip
    b = ingest.read(p)
    row = b.results.filter(pl.col("metric") == "real_time").row(0, named=True)
    assert (
        row["benchmark"] == "BM_x" and row["value"] == pytest.approx(0.005) and row["stddev"] == pytest.approx(0.0005)
    )
    assert row["n_samples"] == 5 and row["samples"] is None
    assert any("boom" in s for s in b.skipped) and any("'cv'" in s for s in b.skipped)


@pytest.mark.parametrize(
    ("doc", "location", "reason"),
    [
        (_doc(_entry("a", real_time=-1.0)), "benchmarks[0].real_time", "value is negative"),
        (
            _doc(_entry("a", repetitions=2), _entry("a", real_time=-1.0, repetition_index=1, repetitions=2)),
            "benchmarks[1].real_time",
            "not a finite non-negative",
        ),
        (_doc(_entry("a", time_unit="fortnights")), "benchmarks[0].time_unit", "unknown time unit"),
        (_doc(_entry("a"), json_schema_version=7), "context.json_schema_version", "unsupported schema version 7"),
        (_doc("nope"), "benchmarks[0]", "must be an object"),
        ({"context": {"num_cpus": 1}}, "benchmarks", "missing"),
    ],
)
def test_bad_files_name_the_entry(tmp_path: Path, doc: dict, location: str, reason: str) -> None:
    p = tmp_path / "gb.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(IngestError) as exc:
        ingest.read(p, format="google-benchmark")
    assert exc.value.path == str(p) and exc.value.location == location and reason in exc.value.reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BM_Sort/8", ("BM_Sort", {"arg1": 8})),
        ("BM_Sort/8/threads:2", ("BM_Sort", {"arg1": 8, "threads": 2})),
        ("BM_x/size:1.5", ("BM_x", {"size": 1.5})),
        ("BM_x/real_time", ("BM_x/real_time", None)),
        ("BM_plain", ("BM_plain", None)),
    ],
)
def test_split_name(name: str, expected: tuple) -> None:
    assert split_name(name) == expected

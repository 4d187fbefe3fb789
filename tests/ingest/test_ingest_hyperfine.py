"""hyperfine importer on hand-written exports (tests/ingest/fixtures/hyperfine_*.json)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import polars as pl
import pytest

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMPARE = FIXTURES / "hyperfine_compare.json"
SCAN = FIXTURES / "hyperfine_scan.json"


def test_compare_export_maps_times_and_cpu_time() -> None:
    assert ingest.detect(COMPARE).name == "hyperfine"
    b = ingest.read(COMPARE)
    raw = json.loads(COMPARE.read_text())["results"]
    assert b.results.height == 6 and b.runs.height == 1
    fd = b.results.filter(pl.col("benchmark") == "fd -e py", pl.col("metric") == "time").row(0, named=True)
    assert fd["value"] == pytest.approx(raw[0]["mean"] * 1e3) and fd["unit"] == "ms" and fd["orig_unit"] == "s"
    assert fd["samples"] == pytest.approx([t * 1e3 for t in raw[0]["times"]]) and fd["n_samples"] == 12
    assert fd["stddev"] == pytest.approx(statistics.stdev(raw[0]["times"]) * 1e3)
    assert fd["min"] == pytest.approx(min(raw[0]["times"]) * 1e3) and fd["median"] == pytest.approx(
        raw[0]["median"] * 1e3
    )
    cpu = b.results.filter(pl.col("metric").is_in(["user_time", "system_time"]))
    assert cpu.height == 4 and set(cpu.get_column("direction").to_list()) == {"lower"}
    run = b.runs.row(0, named=True)
    assert run["started_at"] is None and run["commit"] is None and run["provenance"] == "measured"


def test_parameter_scan_becomes_params_and_failures_are_noted() -> None:
    b = ingest.read(SCAN)
    t = b.results.filter(pl.col("metric") == "time").sort("value", descending=True)
    assert [json.loads(p)["threads"] for p in t.get_column("params")] == ["1", "2", "4", "8"]
    assert t.get_column("value").is_sorted(descending=True)  # more threads, faster build
    meta = json.loads(b.runs.get_column("metadata").item())
    assert meta["nonzero_exit_codes"] == {"make -j 8": 1}


@pytest.mark.parametrize(
    ("mutate", "location", "reason"),
    [
        (lambda d: d["results"][0].pop("mean"), "results[0].mean", "missing"),
        (lambda d: d["results"][0].update(mean=None), "results[0].mean", "must be a number"),
        (lambda d: d["results"][1].update(times=[0.1, -0.2]), "results[1].mean", "sample is negative"),
        (lambda d: d["results"][0].update(parameters=["x"]), "results[0].parameters", "must be an object"),
        (lambda d: d.update(results={}), "results", "not a list"),
        (lambda d: d["results"][0].update(command=7), "results[0].command", "missing or not a string"),
    ],
)
def test_bad_exports_name_the_record(tmp_path: Path, mutate, location: str, reason: str) -> None:
    doc = json.loads(COMPARE.read_text())
    mutate(doc)
    p = tmp_path / "hf.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(IngestError) as exc:
        ingest.read(p, format="hyperfine")
    assert exc.value.path == str(p) and exc.value.location == location and reason in exc.value.reason


def test_ingest_twice(tmp_path: Path) -> None:
    s = store.open(tmp_path / "s.duckdb")
    rep = s.ingest([FIXTURES])
    assert rep.count("added") == 2 and rep.n_results == 18 and rep.ok
    assert s.ingest([FIXTURES]).count("skipped") == 2
    assert s.results(metric="time", benchmark="make -j 4").height == 1

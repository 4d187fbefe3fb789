"""asv importers: v1 fixtures with their edge cases, BLAS raw v2 results, published graphs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError
from benchlab.ingest.asv import param_value

ASV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "asv"
V1 = ASV / "airspeed-velocity_asv" / "test" / "example_results"
BLAS = ASV / "OpenMathLib_BLAS-Benchmarks"
SKYLAKE = BLAS / "results" / "gha-aws-skylake"
GRAPHS = BLAS / "graphs" / "branch-tracker" / "machine-gha-aws-skylake" / "python-3.12"

pytestmark = pytest.mark.skipif(not ASV.exists(), reason="../shared/data/asv is not present beside the repo")


def test_v1_folder_one_source_per_file_bad_files_fail_alone(tmp_path: Path) -> None:
    sources, unknown = ingest.discover([V1])
    assert unknown == []
    assert len(sources) == 10 and {imp.name for _, imp in sources} == {"asv"}
    assert not any(p.name in ("benchmarks.json", "machine.json") for p, _ in sources)
    s = store.open(tmp_path / "s.duckdb")
    rep = s.ingest([V1])
    df = rep.to_frame()
    failed = {Path(r["path"]).name[:8]: r["message"] for r in df.filter(pl.col("status") == "failed").to_dicts()}
    assert set(failed) == {"aaaaaaaa", "bbbbbbbb", "cccccccc"}
    assert "aaaaaaaa-py2.7-Cython-numpy1.8.json: line 2 column 5: malformed JSON" in failed["aaaaaaaa"]
    assert "not an asv results file" in failed["bbbbbbbb"]
    assert "'not-cheetah'" in failed["cccccccc"] and "params.machine" in failed["cccccccc"]
    assert rep.count("added") == 7
    # Nothing of a failed file landed; the good files did.
    runs = s.runs()
    assert runs.height == 7 and "eaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeeaeae" not in runs.get_column("commit").to_list()
    again = s.ingest([V1])
    assert again.count("added") == 0 and again.count("skipped") == 7 and again.count("failed") == 3


def test_v1_nan_null_parameterised_and_track(tmp_path: Path) -> None:
    b = ingest.read(V1 / "cheetah" / "22b920c6-py2.7-Cython-numpy1.8.json")
    assert b.format == "asv"
    assert any("time_AAA_failure: null" in s for s in b.skipped)
    assert any("time_AAA_skip: NaN" in s for s in b.skipped)
    res = b.results
    par = res.filter(pl.col("benchmark") == "time_other.time_parameterized")
    assert [json.loads(p)["param1"] for p in par.get_column("params")] == [1, 2, 3]
    assert par.get_column("value").to_list() == [1000.0, 2000.0, 3000.0]  # seconds → ms
    track = res.filter(pl.col("benchmark") == "time_secondary.track_value").row(0, named=True)
    assert track["metric"] == "track" and track["unit"] == "count" and track["value"] == 42.0
    ci = res.filter(pl.col("benchmark") == "time_ci_big").row(0, named=True)
    assert ci["median"] == ci["value"] == 1000.0  # asv's result is the median of its samples
    run = b.runs.row(0, named=True)
    assert run["commit"] == "22b920c6d0d54112ccbc020eddba9ea7a2d204f3" and run["machine"] == "cheetah"
    assert run["started_at"].year == 2013
    hw = b.hardware.row(0, named=True)
    assert hw["name"] == "cheetah" and hw["type"] == "cpu" and hw["memory_gb"] == pytest.approx(8.2)


def test_v1_two_environments_of_one_commit_are_separate_series() -> None:
    a = ingest.read(V1 / "cheetah" / "fcf8c079-py2.7-Cython-numpy1.8.json").results
    b = ingest.read(V1 / "cheetah" / "fcf8c079-py2.7-Cython-numpy1.8-foo.json").results
    name = "time_quantity.time_quantity_array_conversion"
    ka = a.filter(pl.col("benchmark") == name).get_column("series_key").item()
    kb = b.filter(pl.col("benchmark") == name).get_column("series_key").item()
    assert ka != kb
    assert json.loads(b.get_column("params").item()) == {"env": "py2.7-Cython-numpy1.8-foo"}


def test_v2_raw_results_match_source_counts() -> None:
    files = sorted(SKYLAKE.glob("*-virtualenv-py3.12.json"))
    batches = [ingest.read(f) for f in files]
    res = pl.concat([b.results for b in batches])
    assert len(files) == 92 and sum(b.runs.height for b in batches) == 92
    assert res.height == 12522 and res.get_column("series_key").n_unique() == 362  # SOURCE.md
    assert len({b.runs.get_column("commit").item() for b in batches}) == 92
    row = res.filter(pl.col("benchmark") == "benchmarks.gbmv.time_gbmv").row(0, named=True)
    assert set(json.loads(row["params"])) >= {"env", "size", "variant"} and row["n_samples"] == 10
    assert row["hardware"] == "gha-aws-skylake" and row["median"] == row["value"]


def test_graphs_match_counts_and_raw_results() -> None:
    files = sorted(f for f in GRAPHS.glob("benchmarks.*.json"))
    batches = [ingest.read(f) for f in files]
    assert len(files) == 10 and all(b.format == "asv-graph" for b in batches)
    res = pl.concat([b.results for b in batches])
    assert res.height == 8280 and res.get_column("series_key").n_unique() == 222  # SOURCE.md
    index = json.loads((BLAS / "index.json").read_text())
    dot = next(b for b, f in zip(batches, files, strict=True) if "time_dot" in f.name)
    run = dot.runs.row(0, named=True)
    rev = json.loads(run["metadata"])["revision"]
    assert run["commit"] == index["revision_to_hash"][str(rev)] and run["branch"] == "tracker"
    assert run["machine"] == "gha-aws-skylake"
    # The published point equals the raw result of the same commit.
    last = dot.runs.row(-1, named=True)
    raw = ingest.read(next(SKYLAKE.glob(f"{last['commit'][:8]}-*.json"))).results
    g = dot.results.filter(pl.col("run_index") == dot.runs.height - 1).sort("params")
    r = raw.filter(pl.col("benchmark") == "benchmarks.dot.time_dot")
    assert sorted(g.get_column("value").to_list()) == pytest.approx(sorted(r.get_column("value").to_list()))
    gbmv = next(b for b, f in zip(batches, files, strict=True) if "gbmv" in f.name)
    assert json.loads(gbmv.results.get_column("params")[0]) == {"kl": 1, "python": "3.12", "size": 100, "variant": "s"}
    assert len(gbmv.skipped) == 48  # the null cells (8328 - 8280)


def test_site_folder_skips_aggregates_and_reads_results_too() -> None:
    sources, unknown = ingest.discover([BLAS])
    names = {p.name for p, _ in sources}
    assert unknown == [] and "summary.json" not in names and "index.json" not in names
    kinds = [imp.name for _, imp in sources]
    assert kinds.count("asv-graph") == 10 and kinds.count("asv") == 92
    assert not any("graphs/summary" in str(p) for p, _ in sources)
    with pytest.raises(IngestError, match="summary graph aggregates"):
        ingest.read(BLAS / "graphs" / "summary" / "benchmarks.dot.time_dot.json")


def test_whole_folder_read_is_atomic() -> None:
    with pytest.raises(IngestError) as exc:
        ingest.read(V1)
    assert "aaaaaaaa" in exc.value.path
    b = ingest.read(
        V1.parent.parent.parent
        / "airspeed-velocity_asv"
        / "test"
        / "example_results"
        / "cheetah"
        / "05d283b9-py2.7-Cython-numpy1.8.json"
    )
    assert b.n_results == 12


def _results_dir(tmp_path: Path, doc: dict) -> Path:
    d = tmp_path / "results" / "box"
    d.mkdir(parents=True)
    (tmp_path / "results" / "benchmarks.json").write_text(json.dumps({"version": 2}))
    (d / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    p = d / "abcdef12-virtualenv-py3.12.json"
    p.write_text(json.dumps(doc))
    return p


def _v2(**over: object) -> dict:
    doc = {
        "commit_hash": "abcdef1234", "env_name": "virtualenv-py3.12", "date": 1723093891000,
        "params": {"machine": "box", "python": "3.12"}, "python": "3.12", "requirements": {}, "env_vars": {},
        "result_columns": ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
                           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples"],
        "results": {"bench.time_x": [[1e-3, None], [["1", "2"]], "v", 0, 1.0, [1, 1], [1, 1], [1, 1], [1, 1], [1, 1],
                                     [3, 3], [[0.9e-3, 1e-3, 1.1e-3], None]],
                    "bench.mem_y": [[2048], [], "v", 0, 1.0]},
        "durations": {}, "version": 2,
    }  # fmt: skip
    doc.update(over)
    return doc


def test_v2_synthetic_mapping_without_definitions(tmp_path: Path) -> None:
    b = ingest.read(_results_dir(tmp_path, _v2()))
    rows = {r["metric"]: r for r in b.results.to_dicts()}
    assert rows["time"]["samples"] == pytest.approx([0.9, 1.0, 1.1]) and rows["time"]["n_samples"] == 3
    assert rows["memory"]["unit"] == "MB" and rows["memory"]["value"] == pytest.approx(0.002048)  # mem_ → bytes
    assert b.skipped == ["results.bench.time_x[1]: null (benchmark failed)"]


@pytest.mark.parametrize(
    ("over", "location", "reason"),
    [
        ({"version": 3}, "version", "unsupported asv results version 3"),
        ({"results": []}, "results", "must be an object"),
        ({"results": {"bench.time_x": [[1, 2, 3], [["1", "2"]]]}}, "results.bench.time_x", "3 results for 2 parameter"),
        ({"results": {"bench.time_x": [[-1.0], []]}}, "results.bench.time_x", "negative"),
        ({"result_columns": None}, "result_columns", "missing"),
        ({"date": "last tuesday"}, "date", "milliseconds since the epoch"),
    ],
)
def test_v2_bad_files_name_the_record(tmp_path: Path, over: dict, location: str, reason: str) -> None:
    p = _results_dir(tmp_path, _v2(**over))
    with pytest.raises(IngestError) as exc:
        ingest.read(p)
    assert exc.value.path == str(p) and exc.value.location == location and reason in exc.value.reason


def test_broken_benchmarks_json_is_noted_not_fatal(tmp_path: Path) -> None:
    p = _results_dir(tmp_path, _v2())
    (tmp_path / "results" / "benchmarks.json").write_text("{ nope")
    b = ingest.read(p)
    assert b.n_results == 2 and "benchmarks.json unreadable" in b.skipped[0]


def test_graph_with_unknown_revision_fails(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copy(BLAS / "index.json", tmp_path / "index.json")
    g = site / "graphs" / "machine-x"
    g.mkdir(parents=True)
    shutil.copy(tmp_path / "index.json", site / "index.json")
    p = g / "benchmarks.dot.time_dot.json"
    p.write_text(json.dumps([[999999, [1e-6] * 6]]))
    with pytest.raises(IngestError, match="revision 999999 is not in index.json") as exc:
        ingest.read(p)
    assert exc.value.location == "[0][0]"


@pytest.mark.parametrize(("raw", "value"), [("'d'", "d"), ("100", 100), ("1.5", 1.5), ("None", None),
                                            ("<class 'x.Y'>", "<class 'x.Y'>"), ("float('nan')", "float('nan')")])  # fmt: skip
def test_param_value(raw: str, value: object) -> None:
    assert param_value(raw) == value

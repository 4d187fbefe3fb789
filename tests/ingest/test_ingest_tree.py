"""The whole ../shared/data tree in one ``Store.ingest`` call, twice.

Slow by nature (about 140 sources, one transaction each), hence ``slow``.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import polars as pl
import pytest

import benchlab.store as store

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# results each of this module's importers must add from the tree
EXPECTED = {
    "asv": 12613,  # 7 v1 fixture files + 92 BLAS v2 files
    "asv-graph": 8280,
    "github-action-benchmark": 9754,  # 4877 iter/s + 4877 times
    "google-benchmark": 478,
    "mlperf-summary": 968,
    "mlperf-log": 10,
    "mlperf-system": 0,
    "pytest-benchmark": 4,
}
BAD = {
    "aaaaaaaa-py2.7-Cython-numpy1.8.json",
    "bbbbbbbb-py2.7-Cython-numpy1.8.json",
    "cccccccc-py2.7-Cython-numpy1.8.json",
}


@pytest.mark.slow
def test_whole_tree_ingests_once(tmp_path: Path) -> None:
    if not DATA.exists():
        pytest.skip("../shared/data is not present beside the repo")
    s = store.open(tmp_path / "tree.duckdb")
    first = s.ingest([DATA]).to_frame()
    failed = first.filter(pl.col("status") == "failed")
    assert {Path(p).name for p in failed.get_column("path")} == BAD, failed.to_dicts()
    unrec = first.filter(pl.col("status") == "unrecognised").get_column("path").to_list()
    assert unrec and all(Path(p).relative_to(DATA).parts[0] in ("tcpd", "help") for p in unrec)
    added = first.filter(pl.col("status") == "added")
    per_format = dict(added.group_by("format").agg(pl.col("n_results").sum()).iter_rows())
    for fmt, n in EXPECTED.items():
        assert per_format.get(fmt) == n, (fmt, per_format.get(fmt))
    assert s.results(format="asv-graph").get_column("provenance").unique().to_list() == ["measured"]

    second = s.ingest([DATA]).to_frame()
    assert second.filter(pl.col("status") == "added").height == 0
    assert second.filter(pl.col("status") == "skipped").height == added.height
    n = s.sql("SELECT count(*) AS n FROM results").item()
    assert n == added.get_column("n_results").sum()  # the second pass wrote nothing


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _gbench(value: float = 12.5) -> dict:
    return {"context": {"date": "2024-01-02T03:04:05+00:00", "host_name": "h", "num_cpus": 8, "mhz_per_cpu": 3000,
                        "library_build_type": "release"},
            "benchmarks": [{"name": "BM_a/8", "run_name": "BM_a/8", "run_type": "iteration", "repetitions": 1,
                            "threads": 1, "iterations": 10, "real_time": value, "cpu_time": 11.0, "time_unit": "ns"}]}  # fmt: skip


def test_mixed_folder_bad_sources_fail_alone(tmp_path: Path) -> None:
    src = tmp_path / "results"
    src.mkdir()
    (src / "good_gbench.json").write_text(json.dumps(_gbench()))
    (src / "good_hyperfine.json").write_text((FIXTURES / "hyperfine_compare.json").read_text())
    (src / "bad_gbench.json").write_text(json.dumps(_gbench(value=-5.0)))
    truncated = json.dumps({"machine_info": {"node": "n"}, "commit_info": {}, "benchmarks": [], "version": "4.0.0"})
    (src / "truncated_pytest.json").write_text(truncated[:40])
    (src / "data.js").write_text(
        'window.BENCHMARK_DATA = {"entries": {"S": [{"benches": [{"name": "x", "unit": "ns"}]}]}}'
    )
    (src / "notes.txt").write_text("not a result")
    s = store.open(tmp_path / "s.duckdb")
    rep = s.ingest([src])
    out = {Path(r["path"]).name: r for r in rep.to_frame().to_dicts()}
    assert out["good_gbench.json"]["status"] == "added" and out["good_hyperfine.json"]["status"] == "added"
    bad = out["bad_gbench.json"]
    assert bad["status"] == "failed" and "bad_gbench.json: benchmarks[0].real_time: value is negative" in bad["message"]
    assert out["data.js"]["status"] == "failed" and "entries['S'][0].benches[0].value" in out["data.js"]["message"]
    assert out["truncated_pytest.json"]["status"] in ("failed", "unrecognised")
    assert out["notes.txt"]["status"] == "unrecognised"
    # Only the good sources landed.
    assert s.sql("SELECT count(*) FROM sources").item() == 2
    assert s.sql("SELECT count(*) FROM results").item() == 2 + 6
    assert sorted(s.runs().get_column("format").to_list()) == ["google-benchmark", "hyperfine"]


def _mutations(doc: object, rng: random.Random, n: int) -> object:
    doc = copy.deepcopy(doc)
    junk = [None, -1, 1e308, float("nan"), "", "N/A", [], {}, {"a": [1, {"b": None}]}, True, "\u00e9\u4e2d"]
    for _ in range(n):
        node, path = doc, []
        while isinstance(node, dict | list) and node and rng.random() < 0.8:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            parent[key] = rng.choice(junk)
    return doc


def test_mutated_sources_write_or_fail_cleanly(tmp_path: Path) -> None:
    """End to end: whatever read() accepts, Store.write() stores without a non-benchlab error."""
    rng = random.Random(20240501)
    seeds = [("gb.json", _gbench()), ("hf.json", json.loads((FIXTURES / "hyperfine_scan.json").read_text()))]
    s = store.open(tmp_path / "s.duckdb")
    folder = tmp_path / "m"
    folder.mkdir()
    for i in range(40):
        name, seed = seeds[i % 2]
        (folder / f"{i:02d}_{name}").write_text(json.dumps(_mutations(seed, rng, rng.randint(1, 3))))
    rep = s.ingest([folder])
    statuses = set(rep.to_frame().get_column("status").to_list())
    assert statuses <= {"added", "failed", "unrecognised", "skipped"}
    assert rep.count("added") > 0 and rep.count("failed") > 0
    assert s.check().height == 0

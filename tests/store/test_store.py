"""The store: schema versions, query helpers, maintenance — on real DuckDB files."""

import json

import duckdb
import polars as pl
import pytest

import benchlab
from benchlab.errors import QueryError, SchemaVersionError
from benchlab.frame import RESULTS_SCHEMA
from benchlab.store import _schema


def _write(path, runs):
    path.write_text(json.dumps({"benchlab": 1, "runs": runs}))
    return path


def _case(hw, value, metric="latency", unit="ms", model="bert", batch=1, **kw):
    return {"benchmark": "infer", "model": model, "hardware": hw, "batch_size": batch, "metric": metric,
            "value": value, "unit": unit, **kw}  # fmt: skip


@pytest.fixture
def store(tmp_path):
    s = benchlab.open(tmp_path / "s.duckdb")
    runs = [
        {"commit": f"c{i}", "branch": "main", "started_at": f"2025-01-{i + 1:02d}T00:00:00Z",
         "results": [_case("cpu", 10 + i), _case("cuda", 2 + i / 10), _case("cpu", 100 - i, "throughput", "items/s"),
                     _case("cpu", 20 + i, model="t5")]}
        for i in range(5)
    ]  # fmt: skip
    runs.append({"commit": "f1", "branch": "feature", "started_at": "2025-01-10T00:00:00Z",
                 "results": [_case("cpu", 30), _case("cuda", 2.0)]})  # fmt: skip
    assert s.ingest(_write(tmp_path / "r.json", runs)).ok
    return s


def test_default_path_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHLAB_DB", str(tmp_path / "env.duckdb"))
    s = benchlab.open()
    assert s.path == tmp_path / "env.duckdb" and s.path.exists()
    assert s.schema_version == _schema.latest_version()


def test_older_store_is_migrated_in_place_keeping_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE benchlab_schema (version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        number, name, sql = _schema.migrations()[0]
        con.execute(sql)
        con.execute("INSERT INTO benchlab_schema (version, name) VALUES (?, ?)", [number, name])
        con.execute("INSERT INTO hardware (name, type) VALUES ('cpu', 'cpu')")
    s = benchlab.open(path)
    assert s.schema_version == _schema.latest_version()
    assert s.hardware()["name"].to_list() == ["cpu"]


def test_newer_store_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "new.duckdb"
    benchlab.open(path)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO benchlab_schema (version, name) VALUES (999, 'future')")
    with pytest.raises(SchemaVersionError, match="schema version 999.*upgrade benchlab"):
        benchlab.open(path)


def test_foreign_duckdb_file_is_not_taken_for_a_store(tmp_path):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE things (x INT)")
    with pytest.raises(SchemaVersionError, match="not a benchlab store"):
        benchlab.open(path)


def test_results_filters_take_values_lists_and_time_bounds(store):
    df = store.results(hardware="cpu", metric="latency", model="bert")
    assert df.schema == pl.Schema(RESULTS_SCHEMA)
    assert df["commit"].to_list() == ["c0", "c1", "c2", "c3", "c4", "f1"]
    assert store.results(model=["bert", "t5"], metric="latency", hardware="cpu").height == 11
    assert store.results(model=[]).height == 0
    assert store.results(since="2025-01-03", until="2025-01-05", hardware="cuda").height == 2
    # A value with quotes travels as a parameter, not as SQL text.
    assert store.results(model="bert' OR '1'='1").height == 0
    with pytest.raises(QueryError, match="cannot filter on 'colour'"):
        store.results(colour="red")


def test_latest_history_and_matrix(store):
    latest = store.latest(metric="latency", branch="main")
    assert dict(zip(latest["model"] + "/" + latest["hardware"], latest["value"], strict=True)) == {
        "bert/cpu": 14.0, "bert/cuda": 2.4, "t5/cpu": 24.0}  # fmt: skip
    hist = store.history(model="bert", hardware="cuda", metric="latency")
    assert hist["series_key"].n_unique() == 1 and hist["timestamp"].is_sorted()
    m = store.matrix("latency", branch="main")
    assert m.columns == ["model", "cpu", "cuda"]
    assert m.filter(pl.col("model") == "bert")["cpu"].item() == 14.0
    assert m.filter(pl.col("model") == "t5")["cuda"].item() is None


def test_compare_commits_and_branches_side_by_side(store):
    c = store.compare("c0", "c4", metric="latency", model="bert")
    row = c.filter(pl.col("hardware") == "cpu").row(0, named=True)
    assert (row["baseline"], row["contender"]) == (10.0, 14.0)
    assert row["ratio"] == pytest.approx(1.4) and row["change_pct"] == pytest.approx(40.0)
    b = store.compare("main", "feature", by="branch", metric="latency", model="bert")
    assert b.filter(pl.col("hardware") == "cpu").row(0, named=True)["baseline"] == 12.0  # median of 10..14
    hw = store.compare("cpu", "cuda", by="hardware", metric="latency", model="bert", branch="main")
    assert "hardware" not in hw.columns and hw["ratio"].item() == pytest.approx(2.2 / 12.0)


def test_check_finds_orphans_duplicates_and_impossible_values(store):
    assert store.check().is_empty()
    with duckdb.connect(str(store.path)) as con:
        con.execute("INSERT INTO results (run_id, series_key, benchmark, metric, unit, value, direction) "
                    "VALUES (9999, 'k', 'b', 'm', 'ms', 1, 'lower')")  # fmt: skip
        con.execute("INSERT INTO results SELECT * FROM results WHERE run_id = 1 LIMIT 1")
        con.execute("UPDATE results SET value = -1 WHERE run_id = 2 AND metric = 'throughput'")
    problems = store.check()
    kinds = set(problems["kind"])
    assert {"orphan", "duplicate", "impossible"} <= kinds


def test_backup_restore_round_trip_is_verified(store, tmp_path):
    before = store.results()
    dest = store.backup(tmp_path / "bk" / "copy.duckdb")
    assert dest.exists()
    with duckdb.connect(str(store.path)) as con:
        con.execute("DELETE FROM results")
    assert store.results().height == 0
    store.restore(dest)
    assert store.results().equals(before)


def test_optimize_keeps_every_row(store):
    before = store.results()
    sizes = store.optimize()
    assert sizes["after_bytes"] > 0 and store.results().equals(before)


def test_export_parquet_and_csv(store, tmp_path):
    n = store.export(tmp_path / "x.parquet", hardware="cpu")
    back = pl.read_parquet(tmp_path / "x.parquet")
    assert n == back.height == store.results(hardware="cpu").height
    assert store.export(tmp_path / "x.csv", format="csv") == store.stats()["results"]
    with pytest.raises(QueryError):
        store.export(tmp_path / "x.xlsx", format="xlsx")


def test_stats_counts(store):
    s = store.stats()
    assert (s["runs"], s["results"], s["models"], s["hardware"]) == (6, 22, 2, 2)
    assert s["runs_by_provenance"] == {"measured": 6}

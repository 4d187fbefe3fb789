"""The native formats and the validation every importer shares."""

import json

import polars as pl
import pytest

import benchlab
from benchlab.errors import IngestError
from benchlab.ingest import read


def _doc(results, **run):
    return {"benchlab": 1, "runs": [{"commit": "c1", "started_at": "2025-01-01T00:00:00Z", **run, "results": results}]}


GOOD = {"benchmark": "infer", "model": "bert", "hardware": "cuda:a100", "batch_size": 4, "precision": "FP16",
        "metric": "latency", "value": 1500, "unit": "us", "samples": [1400, 1500, 1600]}  # fmt: skip


@pytest.fixture
def store(tmp_path):
    return benchlab.open(tmp_path / "s.duckdb")


def test_json_document_lands_normalized_with_original_kept(tmp_path, store):
    p = tmp_path / "a.json"
    doc = _doc([GOOD])
    doc["hardware"] = [{"name": "cuda:a100", "type": "cuda", "memory_gb": 80, "peak_tflops": 312}]
    doc["models"] = [{"name": "bert", "family": "embedding", "params_m": 110}]
    p.write_text(json.dumps(doc))
    report = store.ingest(p)
    assert report.ok and report.n_results == 1
    row = store.results(samples=True).row(0, named=True)
    assert (row["value"], row["unit"], row["orig_value"], row["orig_unit"]) == (1.5, "ms", 1500.0, "us")
    assert row["samples"] == [1.4, 1.5, 1.6]
    assert row["n_samples"] == 3
    assert row["precision"] == "fp16" and row["hardware_type"] == "cuda" and row["model_family"] == "embedding"
    assert row["provenance"] == "measured" and row["direction"] == "lower"
    assert store.hardware().filter(pl.col("name") == "cuda:a100")["peak_tflops"].item() == 312


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        ({"value": "fast"}, "runs[0].results[1]", "must be a number"),
        ({"value": float("nan")}, "runs[0].results[1]", "finite"),
        ({"value": -3}, "runs[0].results[1]", "negative"),
        ({"unit": "furlongs"}, "runs[0].results[1]", "unknown unit"),
        ({"metric": None}, "runs[0].results[1]", "metric"),
        ({"batch_size": 0}, "runs[0].results[1]", "batch_size"),
        ({"value": True}, "runs[0].results[1]", "must be a number"),
    ],
)
def test_bad_record_rejects_the_whole_source_naming_file_record_and_reason(tmp_path, store, change, where, why):
    p = tmp_path / "bad.json"
    bad = {**GOOD, **change}
    p.write_text(json.dumps(_doc([GOOD, bad]), allow_nan=True))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_doc([GOOD], commit="c2")))
    report = store.ingest([p, good])
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert len(failed) == 1 and not report.ok
    msg = failed[0].message
    assert str(p) in msg and where in msg and why in msg
    # Nothing of the bad source landed; the good source went on.
    assert store.results()["commit"].to_list() == ["c2"]
    assert store.stats()["sources"] == 1


def test_missing_required_field_is_named(tmp_path):
    p = tmp_path / "m.json"
    rec = {k: v for k, v in GOOD.items() if k != "unit"}
    p.write_text(json.dumps(_doc([rec])))
    with pytest.raises(IngestError, match=r"runs\[0\]\.results\[0\]: missing required field 'unit'"):
        read(p)


def test_malformed_json_names_line_and_column(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text('{"benchlab": 1,\n "runs": [\n  {"results": [}\n]}')
    with pytest.raises(IngestError) as info:
        read(p, format="native-json")
    assert info.value.path == str(p) and info.value.location.startswith("line 3")


def test_unknown_format_version_is_refused(tmp_path):
    p = tmp_path / "v9.json"
    p.write_text(json.dumps({"benchlab": 9, "runs": []}))
    with pytest.raises(IngestError, match="unsupported format version 9"):
        read(p)


def test_same_content_twice_is_skipped_even_under_another_name(tmp_path, store):
    p = tmp_path / "a.json"
    p.write_text(json.dumps(_doc([GOOD])))
    assert store.ingest(p).count("added") == 1
    q = tmp_path / "copy.json"
    q.write_bytes(p.read_bytes())
    again = store.ingest([p, q])
    assert again.count("skipped") == 2 and again.n_results == 0
    assert store.stats()["results"] == 1


def test_jsonl_groups_rows_into_runs_and_reports_line_numbers(tmp_path, store):
    p = tmp_path / "r.jsonl"
    lines = [
        {"benchmark": "b", "metric": "time", "value": 1.0, "unit": "s", "commit": "c1", "run": "1"},
        {"benchmark": "b", "metric": "mem", "value": 10, "unit": "MiB", "commit": "c1", "run": "1"},
        {"benchmark": "b", "metric": "time", "value": 2.0, "unit": "s", "commit": "c2", "run": "2", "simulated": True},
    ]
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert store.ingest(p).ok
    runs = store.runs()
    assert runs.height == 2
    assert runs.sort("commit")["provenance"].to_list() == ["measured", "simulated"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(lines[0]) + "\n" + '{"benchmark": "b", "metric": "t", "value": 1, "unit": "s"\n')
    with pytest.raises(IngestError, match="line 2: malformed JSON"):
        read(bad)


def test_csv_validation_names_the_line(tmp_path, store):
    p = tmp_path / "r.csv"
    p.write_text("benchmark,metric,value,unit,batch_size\nb,latency,1.5,ms,1\nb,latency,-1,ms,2\n")
    report = store.ingest(p)
    assert not report.ok
    assert f"{p}: line 3: value is negative" in report.outcomes[0].message
    assert store.stats()["results"] == 0
    p.write_text("benchmark,metric,value,unit,batch_size\nb,latency,1.5,ms,1\nb,latency,2.5,s,2\n")
    assert store.ingest(p).ok
    assert sorted(store.results()["value"].to_list()) == [1.5, 2500.0]


def test_csv_unknown_column_and_unit_are_rejected(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text("benchmark,metric,value,unit,colour\nb,latency,1.5,ms,red\n")
    with pytest.raises(IngestError, match="unknown column"):
        read(p)
    p.write_text("benchmark,metric,value,unit\nb,latency,1.5,ms\nb,latency,1.5,parsec\n")
    with pytest.raises(IngestError, match="line 3: unknown unit 'parsec'"):
        read(p)


def test_parquet_round_trip_through_export(tmp_path, store):
    p = tmp_path / "r.parquet"
    pl.DataFrame(
        {"benchmark": ["b", "b"], "model": ["m", "m"], "hardware": ["cpu", "cpu"], "metric": ["throughput"] * 2,
         "value": [10.0, 12.0], "unit": ["items/s"] * 2, "commit": ["c1", "c2"],
         "started_at": ["2025-01-01T00:00:00", "2025-01-02T00:00:00"], "precision": ["INT8", "int8"]}
    ).write_parquet(p)  # fmt: skip
    assert store.ingest(p).ok
    df = store.history(metric="throughput")
    assert df["value"].to_list() == [10.0, 12.0]
    assert df["series_key"].n_unique() == 1  # INT8 and int8 are one series
    assert df["direction"].unique().to_list() == ["higher"]


def test_explicit_unrecognised_file_fails_but_folder_noise_is_ignored(tmp_path, store):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "README.md").write_text("# data")
    (tmp_path / "ok.json").write_text(json.dumps(_doc([GOOD])))
    report = store.ingest(tmp_path)
    assert report.ok and report.count("added") == 1 and report.count("unrecognised") == 1
    report = store.ingest(tmp_path / "notes.txt")
    assert not report.ok and "no importer recognises" in report.outcomes[0].message


def test_glob_that_matches_nothing_is_an_error(tmp_path, store):
    report = store.ingest(str(tmp_path / "*.nothing"))
    assert not report.ok and "matches no file" in report.outcomes[0].message

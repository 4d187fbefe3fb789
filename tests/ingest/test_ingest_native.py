"""The native formats and the validation every importer shares."""

import json
from pathlib import Path

import polars as pl
import pytest
from _fastpath import fast_path_agrees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import benchlab
from benchlab.errors import IngestError
from benchlab.ingest import read
from benchlab.ingest.native import NativeJSON, NativeJSONL


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


# -- the column-wise paths give exactly what the per-record paths give -----------------
# Three kinds of record: plain (the column-wise path must take them), odd but valid ("",
# "None", raw samples, a string for a flag: it may decline), and wrong (the exact path
# names the error; the column-wise path must decline).
_VALUES = st.one_of(st.floats(min_value=0, max_value=1e9), st.integers(min_value=0, max_value=10**9))
_BAD_VALUES = st.sampled_from([-1.0, float("nan"), "1.5", True, None, 1e400])
_KINDS = ("plain", "odd", "bad")


def _pick(kind: str, plain: list, odd: list = (), bad: list = ()) -> st.SearchStrategy:  # type: ignore[assignment]
    return st.sampled_from(plain + (list(odd) if kind != "plain" else []) + (list(bad) if kind == "bad" else []))


def _result(kind: str) -> st.SearchStrategy:
    number = st.one_of(_VALUES, _BAD_VALUES) if kind == "bad" else _VALUES
    params = st.dictionaries(
        st.sampled_from(["a", "b"]), st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=2
    )
    return st.fixed_dictionaries(
        {"metric": _pick(kind, ["latency", "throughput"], [], ["", None, 3]), "value": number,
         "unit": _pick(kind, ["ms", "us", "s", "items/s", "MiB", "tokens/s"], ["MS"], ["parsec", None, ""]),
         # A result without a benchmark is named by its model (and without either, is an error).
         "benchmark": _pick(kind, ["b1", "b2"], ["", None], [3])},
        optional={
            "model": _pick(kind, ["bert", "t5", None], [""], [7]),
            "hardware": _pick(kind, ["cpu", "cuda:0", "rocm", None], [""]),
            "hardware_type": _pick(kind, ["cuda", "CPU", "weird", None], [""]),
            "batch_size": _pick(kind, [1, 8, None], [2.0, "4"], [0, -1]),
            "seq_len": _pick(kind, [None, 128], [], [1.5]),
            "precision": _pick(kind, ["fp16", "FP16", "float16", "int8", None], ["", 16]),
            "params": st.one_of(st.none(), st.just({}), params,
                                *([st.just({"a": [1, 2]})] if kind != "plain" else []),
                                *([st.sampled_from([[1], "x"])] if kind == "bad" else [])),
            "direction": _pick(kind, ["lower", "higher", None], [], ["up", ""]),
            "n_samples": _pick(kind, [None, 5, 0], [], [-1, 2.5]),
            "stddev": st.one_of(st.none(), number),
            "p99": st.one_of(st.none(), number),
            **({"samples": st.lists(st.floats(min_value=0, max_value=10), max_size=3)} if kind != "plain" else {}),
            **({"colour": st.just("red")} if kind == "bad" else {}),
        },
    )  # fmt: skip


def _run_fields(kind: str) -> dict[str, st.SearchStrategy]:
    return {
        "commit": _pick(kind, ["c1", "c2", None], ["", "None"]),
        "branch": _pick(kind, ["main", None], [""]),
        "machine": _pick(kind, ["m1", "m2", None]),
        "started_at": _pick(kind, ["2025-01-01T00:00:00Z", "2025-01-02", None], [""], ["not a time"]),
        "ended_at": _pick(kind, [None, "2025-01-01T01:00:00Z"]),
        "simulated": _pick(kind, [True, False, None], ["yes", 1]),
        "provenance": _pick(kind, [None, "measured", "simulated"], ["", "predicted"], ["bogus"]),
    }


def _line(kind: str) -> st.SearchStrategy:
    extra = {**_run_fields(kind), "run": _pick(kind, ["1", "2", None], [""]),
             "model_family": _pick(kind, ["embedding", None], ["vision", ""])}  # fmt: skip
    if kind != "plain":
        extra["timestamp"] = st.sampled_from(["2025-01-03T00:00:00Z", None])
    return st.tuples(_result(kind), st.fixed_dictionaries({}, optional=extra)).map(lambda t: {**t[0], **t[1]})


def _lines() -> st.SearchStrategy:
    return st.one_of(
        st.lists(_line("plain"), min_size=1, max_size=8),
        st.lists(_line("plain"), min_size=1, max_size=8),
        st.lists(st.one_of(_line("plain"), _line("odd")), min_size=1, max_size=6),
        st.lists(st.one_of(_line("plain"), _line("bad")), min_size=1, max_size=4),
    )


_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@_SETTINGS
@given(lines=_lines(), ending=st.sampled_from(["\n", "\n", "", "\n\n", "\r\n"]))
def test_jsonl_fast_path_matches_exact_path(tmp_path_factory, lines, ending) -> None:
    p = tmp_path_factory.mktemp("jsonl") / "r.jsonl"
    p.write_text(ending.join(json.dumps(x) for x in lines) + ending, encoding="utf-8")
    fast_path_agrees(NativeJSONL(), p)


def _doc_runs(kind: str) -> st.SearchStrategy:
    fields = {**_run_fields(kind), "key": _pick(kind, ["r1", "r2", None])}
    results = st.lists(_result(kind), min_size=1 if kind == "plain" else 0, max_size=4)
    return st.tuples(st.fixed_dictionaries({}, optional=fields), results)


@_SETTINGS
@given(
    runs=st.one_of(st.lists(_doc_runs("plain"), min_size=1, max_size=4),
                   st.lists(st.one_of(_doc_runs("plain"), _doc_runs("odd"), _doc_runs("bad")), min_size=1,
                            max_size=3)),
    catalogue=st.fixed_dictionaries({}, optional={
        "hardware": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["cpu", "cuda:0", ""])},
                                                   optional={"type": st.sampled_from(["cuda", "x"]),
                                                             "memory_gb": st.sampled_from([16, 80.5, "16", -1])}),
                             max_size=2),
        "models": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["bert", "t5"])},
                                                 optional={"family": st.sampled_from(["embedding", None]),
                                                           "params_m": st.sampled_from([110, None])}), max_size=2),
        "generator": st.just("x"),
    }),
    extra=st.sampled_from([{}, {}, {}, {"environment": {"os": "linux"}}, {"metadata": {}}, {"compatibility": []},
                           {"integration_tests": [{"name": "t", "status": "passed"}]}]),
    version=st.sampled_from([1, 1, 1, 2, 1.0]),
)  # fmt: skip
def test_json_document_fast_path_matches_exact_path(tmp_path_factory, runs, catalogue, extra, version) -> None:
    doc = {"benchlab": version, **catalogue, "runs": [{**fields, **extra, "results": rs} for fields, rs in runs]}
    p = tmp_path_factory.mktemp("doc") / "d.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    fast_path_agrees(NativeJSON(), p)


def test_fast_paths_take_the_synthetic_benchmark_files(tmp_path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import _synthetic

    doc, lines = tmp_path / "r.json", tmp_path / "r.jsonl"
    _synthetic.write_json_document(doc, 40, 5)
    _synthetic.write_jsonl(lines, 40, 5)
    assert fast_path_agrees(NativeJSON(), doc) and fast_path_agrees(NativeJSONL(), lines)
    grid = tmp_path / "grid.jsonl"  # params, in several key orders
    grid.write_text("".join(json.dumps({"benchmark": "b", "params": {"n": i, "s": "x"} if i % 2 else {"s": "x", "n": i},
                                        "metric": "time", "value": i, "unit": "ms", "commit": "c"}) + "\n"
                            for i in range(10)))  # fmt: skip
    assert fast_path_agrees(NativeJSONL(), grid)


def test_csv_model_family_column_may_be_empty_and_type_stays_without_hardware(tmp_path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("benchmark,metric,value,unit,model_family,hardware,hardware_type\nb,t,1,s,,,cuda\nb,t,2,s,,cpu,\n")
    b = read(p)  # an all-empty model_family column once made the validator fail with an IndexError
    assert b.models.height == 0
    # As add_result: a type given without hardware is kept; with hardware and no type it is guessed.
    assert b.results.get_column("hardware_type").to_list() == ["cuda", "cpu"]


@pytest.mark.parametrize(
    ("name", "content", "where", "why"),
    [
        ("bad.jsonl", b'{"benchmark": "b", "metric": "t", "value": 1, "unit": "s"}\n\xff\n', "byte", "not UTF-8"),
        ("deep.jsonl", b"[" * 100000 + b"\n", "line 1", "malformed JSON"),
        ("hw.json", json.dumps({"benchlab": 1, "hardware": [{"name": "x", "colour": "red"}], "runs": []}).encode(),
         "hardware[0]", "colour"),
        ("list.json", json.dumps({"benchlab": 1, "runs": [{"results": 5}]}).encode(), "runs[0].results",
         "must be a list"),
    ],
)  # fmt: skip
def test_native_readers_only_raise_ingest_errors(tmp_path, name, content, where, why) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(IngestError) as exc:
        read(p, format="native-jsonl" if name.endswith(".jsonl") else "native-json")
    assert exc.value.location.startswith(where) and why in exc.value.reason

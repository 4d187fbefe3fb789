"""pytest-benchmark importer on the real storage files and on synthetic sessions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from _fastpath import assert_batches_equal, fast_path_agrees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError
from benchlab.ingest._arrowjson import arrow_document
from benchlab.ingest.pytest_benchmark import _OBJECTS, _SCHEMA, PytestBenchmark

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pytest_benchmark"
FILES = sorted(DATA.glob("tests/test_storage/*.json"))


@pytest.fixture(scope="module")
def batches() -> list[ingest.Batch]:
    if not FILES:
        pytest.skip("../shared/data/pytest_benchmark is not present beside the repo")
    return [ingest.read(f) for f in FILES]


def test_real_storage_files_form_one_series(batches: list[ingest.Batch]) -> None:
    assert len(batches) == 4 and all(b.format == "pytest-benchmark" for b in batches)
    res = pl.concat([b.results for b in batches])
    assert res.height == 4 and res.get_column("series_key").n_unique() == 1
    assert res.get_column("benchmark").unique().to_list() == ["tests/test_normal.py::test_xfast_parametrized[0]"]
    # SOURCE.md: means 2.622e-07, 2.541e-07, 2.457e-07, 2.612e-07 s; rounds 9987/11009/11126/9710
    assert [round(v * 1e-3, 10) for v in res.get_column("value")] == [2.622e-07, 2.541e-07, 2.457e-07, 2.612e-07]
    assert res.get_column("n_samples").to_list() == [9987, 11009, 11126, 9710]
    assert set(res.get_column("unit").to_list()) == {"ms"} and set(res.get_column("orig_unit").to_list()) == {"s"}
    assert res.get_column("stddev")[1] == 0.0  # integer 0 in the file
    assert set(res.get_column("hardware").to_list()) == {"minibox"}


def test_commit_comes_from_commit_info_not_the_file_name(batches: list[ingest.Batch]) -> None:
    runs = pl.concat([b.runs for b in batches])
    assert set(runs.get_column("commit").to_list()) == {"5b78858eb718649a31fb93d8dc96ca2cee41a4cd"}
    meta = [json.loads(m) for m in runs.get_column("metadata")]
    assert meta[0]["filename_commit"].startswith("b87b9aae") and "filename_commit" not in meta[2]
    assert [m["storage_number"] for m in meta] == [1, 2, 3, 30]


def test_naive_datetime_is_taken_as_utc_and_flagged(batches: list[ingest.Batch]) -> None:
    runs = pl.concat([b.runs for b in batches])
    starts = runs.get_column("started_at").to_list()
    assert starts[1] == dt.datetime(2015, 8, 15, 0, 1, 51, 557705, tzinfo=dt.UTC)
    assert starts == sorted(starts)
    assert "datetime_naive" in json.loads(runs.get_column("metadata")[1])
    assert "datetime_naive" not in json.loads(runs.get_column("metadata")[0])


def _session(**over: object) -> dict:
    doc = {
        "machine_info": {"node": "ci-runner-42", "processor": "x86_64", "machine": "x86_64", "python_version": "3.12.1",
                         "system": "Linux", "cpu": {"brand_raw": "AMD EPYC 7763 64-Core Processor", "count": 4,
                                                    "arch_string_raw": "x86_64", "flags": ["sse"] * 50}},
        "commit_info": {"id": "abc123", "dirty": False, "branch": "main", "project": "demo", "time": "2024-05-01T10:00:00+02:00"},
        "benchmarks": [
            {"group": None, "name": "test_sort[64]", "fullname": "tests/test_x.py::test_sort[64]", "params": {"n": 64},
             "param": "64", "extra_info": {"bytes": 512},
             "stats": {"min": 0.001, "max": 0.004, "mean": 0.002, "stddev": 0.0005, "rounds": 5, "median": 0.0019,
                       "iqr": 0.0002, "ops": 500.0, "total": 0.01, "data": [0.001, 0.002, 0.0019, 0.0021, 0.004],
                       "iterations": 1}},
            {"group": None, "name": "test_skipped", "fullname": "tests/test_x.py::test_skipped", "params": None, "stats": None},
        ],
        "datetime": "2024-05-01T08:00:00.123456+00:00",
        "version": "4.0.0",
    }  # fmt: skip
    doc.update(over)
    return doc


def test_modern_session_with_params_samples_and_cpu(tmp_path: Path) -> None:
    p = tmp_path / "out.json"
    p.write_text(json.dumps(_session()))
    assert ingest.detect(p).name == "pytest-benchmark"
    b = ingest.read(p)
    row = b.results.row(0, named=True)
    assert b.results.height == 1 and b.skipped == [
        "benchmarks[1] (tests/test_x.py::test_skipped): no stats (benchmark did not run)"
    ]
    assert row["benchmark"] == "tests/test_x.py::test_sort" and json.loads(row["params"]) == {"n": 64}
    assert row["hardware"] == "AMD EPYC 7763 64-Core Processor" and row["hardware_type"] == "cpu"
    assert row["samples"] == pytest.approx([1.0, 2.0, 1.9, 2.1, 4.0]) and row["n_samples"] == 5
    assert (
        row["value"] == pytest.approx(2.0) and row["median"] == pytest.approx(1.9) and row["max"] == pytest.approx(4.0)
    )
    run = b.runs.row(0, named=True)
    assert run["commit"] == "abc123" and run["branch"] == "main" and run["machine"] == "ci-runner-42"
    meta = json.loads(run["metadata"])
    assert meta["extra_info"] == {"tests/test_x.py::test_sort[64]": {"bytes": 512}}
    env = json.loads(run["environment"])
    assert env["cpu"]["count"] == 4 and "flags" not in env["cpu"]


@pytest.mark.parametrize(
    ("over", "location", "reason"),
    [
        ({"version": "9.0.0"}, "version", "unsupported pytest-benchmark version"),
        ({"benchmarks": {"a": 1}}, "benchmarks", "not a list"),
        ({"datetime": "yesterday"}, "datetime", "not a timestamp"),
    ],
)
def test_bad_sessions_name_the_problem(tmp_path: Path, over: dict, location: str, reason: str) -> None:
    p = tmp_path / "s.json"
    p.write_text(json.dumps(_session(**over)))
    with pytest.raises(IngestError) as exc:
        ingest.read(p, format="pytest-benchmark")
    assert exc.value.path == str(p) and exc.value.location == location and reason in exc.value.reason


def test_bad_benchmark_records(tmp_path: Path) -> None:
    doc = _session()
    doc["benchmarks"][0]["stats"]["mean"] = -1
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(IngestError, match="negative") as exc:
        ingest.read(p)
    assert exc.value.location == "benchmarks[0].stats.mean"
    doc["benchmarks"][0]["stats"]["mean"] = 0.002
    doc["benchmarks"][0]["stats"]["data"] = [0.001, "fast"]
    p.write_text(json.dumps(doc))
    with pytest.raises(IngestError, match="sample must be a number"):
        ingest.read(p)
    p.write_text(json.dumps(_session())[:-40])
    with pytest.raises(IngestError, match="malformed JSON"):
        ingest.read(p, format="pytest-benchmark")


def test_storage_folder_ingests_and_second_time_is_skipped(tmp_path: Path) -> None:
    if not FILES:
        pytest.skip("../shared/data/pytest_benchmark is not present beside the repo")
    s = store.open(tmp_path / "s.duckdb")
    rep = s.ingest([DATA / "tests" / "test_storage"])
    assert rep.count("added") == 4 and rep.n_results == 4
    assert s.ingest([DATA / "tests" / "test_storage"]).count("skipped") == 4
    hist = s.history(benchmark="tests/test_normal.py::test_xfast_parametrized[0]")
    assert hist.height == 4 and hist.get_column("timestamp").is_sorted()


# -- the Arrow fast path gives exactly what the per-record path gives ------------------

_text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters='"\\'), max_size=6)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.sampled_from(["a[1]", "x]", "{", "}", "[", "é", "a,b", ":", '"q"', "\n", "\ud800"]),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=8,
)
_good = st.one_of(st.floats(min_value=0, max_value=1e6), st.integers(min_value=0, max_value=10**6))
_bad = st.sampled_from([-1.0, float("nan"), float("inf"), 1e300 * 1e10, 2**64 * 10**300, "1.5", True, None])


def _bench(number: st.SearchStrategy, bad: bool) -> st.SearchStrategy:
    names = ["t.py::f[1]", "t.py::g", "t.py::h[a-b]", "t.py::k[", "x]"] + (["", None, 7] if bad else [])
    return st.fixed_dictionaries(
        {"fullname": st.sampled_from(names), "stats": st.one_of(
            st.fixed_dictionaries(
                {"mean": number},
                optional={"stddev": number, "min": number, "median": number, "max": number,
                          "rounds": st.integers(min_value=0, max_value=10**6) if not bad else st.one_of(
                              st.integers(min_value=-2), st.sampled_from([5.0, "5", 2**64])),
                          "data": st.one_of(st.none(), st.lists(number, max_size=4)), "q1": _value},
            ),
            st.none(),
            *([st.just([1])] if bad else []),
        )},
        optional={
            "name": st.sampled_from(["f[1]", "g", "", None]),
            "params": st.one_of(st.none(), st.dictionaries(st.sampled_from(["n", "m", "s"]), _value, max_size=3),
                                st.dictionaries(st.sampled_from(["n", "m", "params"]), _scalar, max_size=2),
                                *([st.sampled_from([[], "x"])] if bad else [])),
            "extra_info": st.one_of(st.just({}), st.dictionaries(st.sampled_from(["a", "b", "extra_info"]), _value,
                                                                 max_size=2)),
            "options": _value,
            "group": _value,
        },
    )  # fmt: skip


# Mostly valid sessions (the fast path must run), some with a bad value somewhere.
_benches = st.one_of(
    st.lists(_bench(_good, False), min_size=1, max_size=6),
    st.lists(_bench(_good, False), min_size=1, max_size=6),
    st.lists(_bench(st.one_of(_good, _bad), True), min_size=1, max_size=4),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    benches=_benches,
    machine=st.one_of(st.none(), st.just({"node": "n", "cpu": {"brand_raw": "AMD EPYC", "count": 4}}), _value),
    extra_top=st.dictionaries(st.sampled_from(["params", "machine_info", "other"]), _value, max_size=2),
    indent=st.sampled_from([None, 2]),
    ascii_only=st.booleans(),
)
def test_fast_path_matches_exact_path(
    tmp_path_factory: pytest.TempPathFactory, benches: list, machine: object, extra_top: dict, indent: int | None,
    ascii_only: bool,
) -> None:  # fmt: skip
    doc = {**extra_top, "machine_info": machine, "commit_info": {"id": "abc", "branch": "main"},
           "benchmarks": benches, "datetime": "2024-05-01T08:00:00+00:00", "version": "4.0.0"}  # fmt: skip
    p = tmp_path_factory.mktemp("fast") / "s.json"
    p.write_bytes(json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
    imp = PytestBenchmark()
    fast_path_agrees(imp, p)


def test_fast_path_takes_realistic_sessions(tmp_path: Path) -> None:
    doc = _session()
    doc["benchmarks"] = [dict(doc["benchmarks"][0], fullname=f"t.py::f[{i}]", params={"n": i, "s": "x y"})
                         for i in range(50)] + doc["benchmarks"]  # fmt: skip
    p = tmp_path / "s.json"
    for indent in (None, 4):
        p.write_text(json.dumps(doc, indent=indent))
        imp = PytestBenchmark()
        fast = imp._read_fast(p)
        assert fast is not None and fast.n_results == 51
        assert_batches_equal(fast, imp._read_exact(p))
    for f in FILES:  # the real storage files take it too
        fast = PytestBenchmark()._read_fast(f)
        assert fast is not None
        assert_batches_equal(fast, PytestBenchmark()._read_exact(f))


@pytest.mark.parametrize(
    "raw",
    [b"null", b"  null {}", b"[]", b'[{"benchmarks": []}]', b"\xef\xbb\xbf{}", b'{"a": "\\u0041"}', b"{} {}",
     b'{"a": 1} null', b"", b"   ", b'{"a": "\xff"}', b"1", b'"x"'],
)  # fmt: skip
def test_arrow_is_only_handed_plain_objects(tmp_path: Path, raw: bytes) -> None:
    # Arrow's JSON reader crashes the interpreter on a leading top-level null: such
    # documents (and anything else the fast path cannot read exactly) never reach it.
    p = tmp_path / "s.json"
    p.write_bytes(raw)
    doc = arrow_document(p, _SCHEMA, _OBJECTS)
    assert doc is None or doc.fields["benchmarks"].is_valid is False
    assert PytestBenchmark()._read_fast(p) is None


@pytest.mark.parametrize("stamp", [1e308, 2**63, -1e20, 10**30])
def test_a_timestamp_beyond_the_calendar_is_an_ingest_error(tmp_path: Path, stamp: float) -> None:
    # datetime.fromtimestamp raises OverflowError/OSError there, not ValueError.
    p = tmp_path / "s.json"
    p.write_text(json.dumps(_session(datetime=stamp)))
    with pytest.raises(IngestError, match="not a timestamp") as exc:
        ingest.read(p, format="pytest-benchmark")
    assert exc.value.location == "datetime"

"""Property tests over every third-party importer: any input gives a Batch or an IngestError.

Inputs are random bytes, random JSON, and real files (excerpts of
``../shared/data``, built in a temporary folder) with random parts replaced,
deleted or truncated.  ``sniff`` must never raise at all.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import benchlab.ingest as ingest
from benchlab.errors import IngestError
from benchlab.frame import canonical_params, series_key
from benchlab.ingest import BatchBuilder
from benchlab.ingest._batch import RESULT_SCHEMA
from benchlab.ingest._columns import ResultColumns, fast_canonical_params, fast_series_key

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINE = ("pytest-benchmark", "asv", "asv-graph", "asv-dir", "google-benchmark", "github-action-benchmark",
        "mlperf-summary", "mlperf-log", "mlperf-system", "hyperfine")  # fmt: skip
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "N/A", "99.9", "1e400"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _need_data() -> None:
    if not DATA.exists():
        pytest.skip("../shared/data is not present beside the repo")


def _check(imp_name: str, path: Path) -> None:
    """The property: ``read`` returns a valid Batch or raises IngestError naming the source."""
    imp = ingest.get_importer(imp_name)
    try:
        batch = imp.read(path)
    except IngestError as exc:
        assert exc.reason and exc.path  # names a file and says why
        return
    assert batch.results.schema == pl.Schema(RESULT_SCHEMA)
    if batch.results.height:
        assert batch.results.get_column("value").is_finite().all()
        assert (batch.results.get_column("value") >= 0).all()
        assert batch.results.get_column("run_index").max() < batch.runs.height


# -- seeds: small real documents, and where to put them --------------------------------
def _seed_pytest() -> Any:
    return json.loads(next((DATA / "pytest_benchmark").rglob("0002_*.json")).read_text())


def _seed_gbench() -> Any:
    return json.loads(next((DATA / "google_benchmark").rglob("bellmanford.json")).read_text())


def _seed_gbench_reps() -> Any:
    doc = json.loads(next((DATA / "google_benchmark").rglob("base.json")).read_text())
    doc["benchmarks"] = doc["benchmarks"][:23]  # 20 repetitions + mean/median/stddev
    return doc


def _seed_gab() -> Any:
    text = (DATA / "github_action_benchmark" / "dev" / "bench" / "data.js").read_text()
    doc = json.loads(text[text.index("{") :])
    doc["entries"]["Benchmark"] = doc["entries"]["Benchmark"][:3]
    return doc


def _seed_summary() -> Any:
    doc = json.loads((DATA / "mlperf" / "summary_results.json").read_text())
    return doc[:3] + [r for r in doc if r.get("Power_Result") is not None][:1]


def _seed_system() -> Any:
    return json.loads(next((DATA / "mlperf").rglob("systems/8xMI300X_2xEPYC-9374F.json")).read_text())


def _seed_asv_v1() -> Any:
    return json.loads(next((DATA / "asv").rglob("22b920c6-*.json")).read_text(), parse_constant=lambda c: float(c))


def _seed_asv_v2() -> Any:
    doc = json.loads(
        next((DATA / "asv" / "OpenMathLib_BLAS-Benchmarks" / "results").rglob("0e098f7e-*.json")).read_text()
    )
    doc["results"] = dict(list(doc["results"].items())[:3])
    return doc


def _seed_graph() -> Any:
    doc = json.loads(next((DATA / "asv").rglob("python-3.12/benchmarks.dot.time_dot.json")).read_text())
    return doc[:4]


def _seed_hyperfine() -> Any:
    return json.loads((FIXTURES / "hyperfine_scan.json").read_text())


def _place_plain(name: str) -> Callable[[Path, bytes], Path]:
    def place(root: Path, content: bytes) -> Path:
        p = root / name
        p.write_bytes(content)
        return p

    return place


def _place_asv(root: Path, content: bytes) -> Path:
    results = root / "results"
    (results / "m1").mkdir(parents=True)
    (results / "benchmarks.json").write_bytes(
        next((DATA / "asv" / "OpenMathLib_BLAS-Benchmarks" / "results").glob("benchmarks.json")).read_bytes()
    )
    # No "machine" key: the seeds' own machine names must not clash with the folder.
    (results / "m1" / "machine.json").write_text(json.dumps({"cpu": "x", "ram": "8G", "version": 1}))
    p = results / "m1" / "0e098f7e-virtualenv-py3.12.json"
    p.write_bytes(content)
    return p


def _place_graph(root: Path, content: bytes) -> Path:
    site = root / "site"
    gdir = site / "graphs" / "branch-tracker" / "machine-m1" / "python-3.12"
    gdir.mkdir(parents=True)
    (site / "index.json").write_bytes((DATA / "asv" / "OpenMathLib_BLAS-Benchmarks" / "index.json").read_bytes())
    p = gdir / "benchmarks.dot.time_dot.json"
    p.write_bytes(content)
    return p


def _place_system(root: Path, content: bytes) -> Path:
    d = root / "closed" / "Acme" / "systems"
    d.mkdir(parents=True)
    p = d / "box.json"
    p.write_bytes(content)
    return p


def _place_log(root: Path, content: bytes) -> Path:
    d = root / "closed" / "Acme" / "results" / "box" / "resnet50" / "Offline" / "performance" / "run_1"
    d.mkdir(parents=True)
    p = d / "mlperf_log_summary.txt"
    p.write_bytes(content)
    return p


def _js(doc: Any) -> bytes:
    return b"window.BENCHMARK_DATA = " + json.dumps(doc).encode()


# importer, seed, placement, serializer
CASES: list[tuple[str, Callable[[], Any], Callable[[Path, bytes], Path], Callable[[Any], bytes]]] = [
    ("pytest-benchmark", _seed_pytest, _place_plain("0001_abc_20200101_000000.json"), lambda d: json.dumps(d).encode()),
    ("google-benchmark", _seed_gbench, _place_plain("gb.json"), lambda d: json.dumps(d).encode()),
    ("google-benchmark", _seed_gbench_reps, _place_plain("gb.json"), lambda d: json.dumps(d).encode()),
    ("github-action-benchmark", _seed_gab, _place_plain("data.js"), _js),
    ("mlperf-summary", _seed_summary, _place_plain("summary_results.json"), lambda d: json.dumps(d).encode()),
    ("mlperf-system", _seed_system, _place_system, lambda d: json.dumps(d).encode()),
    ("asv", _seed_asv_v1, _place_asv, lambda d: json.dumps(d).encode()),
    ("asv", _seed_asv_v2, _place_asv, lambda d: json.dumps(d).encode()),
    ("asv-graph", _seed_graph, _place_graph, lambda d: json.dumps(d).encode()),
    ("hyperfine", _seed_hyperfine, _place_plain("hf.json"), lambda d: json.dumps(d).encode()),
]
IDS = [f"{c[0]}:{c[1].__name__}" for c in CASES]


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return data.draw(json_values)
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "scalar"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "scalar":
            parent[path[-1]] = data.draw(json_scalars)
        else:
            parent[path[-1]] = data.draw(json_values)
    return doc


@pytest.mark.parametrize(("imp_name", "seed", "place", "dump"), CASES, ids=IDS)
def test_seed_reads_cleanly(imp_name: str, seed: Callable[[], Any], place: Callable, dump: Callable) -> None:
    _need_data()
    with tempfile.TemporaryDirectory() as tmp:
        p = place(Path(tmp), dump(seed()))
        assert ingest.detect(p).name == imp_name
        batch = ingest.get_importer(imp_name).read(p)
        assert batch.n_results > 0 or (imp_name == "mlperf-system" and batch.hardware.height == 1)


@pytest.mark.parametrize(("imp_name", "seed", "place", "dump"), CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_mutated_real_documents(
    imp_name: str, seed: Callable, place: Callable, dump: Callable, data: st.DataObject
) -> None:
    _need_data()
    doc = _mutate(seed(), data)
    with tempfile.TemporaryDirectory() as tmp:
        _check(imp_name, place(Path(tmp), dump(doc)))


@pytest.mark.parametrize(("imp_name", "seed", "place", "dump"), CASES, ids=IDS)
@SETTINGS
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_truncated_and_corrupted_bytes(imp_name: str, seed: Callable, place: Callable, dump: Callable, cut: float,
                                       flips: list[tuple[float, int]]) -> None:  # fmt: skip
    _need_data()
    raw = bytearray(dump(seed()))
    for where, byte in flips:
        raw[min(int(where * len(raw)), len(raw) - 1)] = byte
    raw = bytes(raw[: max(1, int(cut * len(raw)))])
    with tempfile.TemporaryDirectory() as tmp:
        _check(imp_name, place(Path(tmp), raw))


@pytest.mark.parametrize(("imp_name", "seed", "place", "dump"), CASES, ids=IDS)
@SETTINGS
@given(doc=json_values)
def test_random_json(imp_name: str, seed: Callable, place: Callable, dump: Callable, doc: Any) -> None:
    _need_data()
    with tempfile.TemporaryDirectory() as tmp:
        _check(imp_name, place(Path(tmp), dump(doc)))


_LOG_LINES = [
    "Scenario : Offline", "Scenario : SingleStream", "Scenario : Server", "Mode     : PerformanceOnly",
    "Samples per second: 12.5", "90th percentile latency (ns) : 9964145991", "Result is : INVALID",
    "Min latency (ns)                : 265547", "50.00 percentile latency (ns)   : 276726",
    " * Early stopping 90th percentile estimate: 9966781359", " * Processed at least 64 queries (100).",
    "Additional Stats", "Test Parameters Used", "target_qps : 4.6", "Completed tokens per second: -3",
]  # fmt: skip


@SETTINGS
@given(lines=st.lists(st.one_of(st.sampled_from(_LOG_LINES), st.text(max_size=40)), max_size=25))
def test_mlperf_log_random_lines(lines: list[str]) -> None:
    body = "================================================\nMLPerf Results Summary\n" + "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        _check("mlperf-log", _place_log(Path(tmp), body.encode("utf-8", "surrogatepass")))


@SETTINGS
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".json", ".js", ".txt", ".csv", ""]))
def test_sniff_never_raises_and_read_only_raises_ingest_error(raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"f{suffix}"
        p.write_bytes(raw)
        for imp in ingest.importers():
            if imp.name not in MINE:
                continue
            assert imp.sniff(p) in (True, False)
            if not imp.folder:
                _check(imp.name, p)
        assert ingest.get_importer("asv-dir").sniff(Path(tmp)) is False


@SETTINGS
@given(bench=json_values, machine=json_values)
def test_asv_context_files_are_never_fatal_to_parsing(bench: Any, machine: Any) -> None:
    _need_data()
    with tempfile.TemporaryDirectory() as tmp:
        p = _place_asv(Path(tmp), json.dumps(_seed_asv_v2()).encode())
        (p.parent.parent / "benchmarks.json").write_text(json.dumps(bench))
        (p.parent / "machine.json").write_text(json.dumps(machine))
        _check("asv", p)


# -- the columnar fast path builds what BatchBuilder builds ---------------------------
_UNITS = ["ns", "us", "ms", "s", "iter/sec", "items/s", "bytes", "MiB", "count", "%"]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c/d"]),
            st.sampled_from([None, "cpu-1", "cuda:0", "gha"]),
            st.sampled_from([None, "INT8", "fp16", "float8"]),
            st.sampled_from([None, {"n": 1}, {"n": 2, "m": "x"}]),
            st.sampled_from(["time", "throughput"]),
            st.sampled_from(_UNITS),
            st.floats(0, 1e12, allow_nan=False),
            st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
            st.one_of(st.none(), st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=5)),
            st.sampled_from([None, 1, 8]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_columns_match_batch_builder(rows: list[tuple]) -> None:
    ref = BatchBuilder("/x", "t", digest="d")
    fast = BatchBuilder("/x", "t", digest="d")
    cols = ResultColumns(fast)
    r0 = ref.add_run(commit="c")
    r1 = cols.add_run(commit="c")
    for i, (bench, hw, prec, params, metric, unit, value, sd, samples, bs) in enumerate(rows):
        kw = dict(benchmark=bench, hardware=hw, precision=prec, params=params, batch_size=bs)
        ref.add_result(r0, location=f"r{i}", metric=metric, value=value, unit=unit, stddev=sd, samples=samples, **kw)
        case = cols.case(location=f"r{i}", **kw)
        cols.add(r1, case, metric, value, unit, f"r{i}", stats={"stddev": sd}, samples=samples)
    a, b = ref.build().results, cols.finish().results
    assert a.schema == b.schema
    assert a.equals(b), (a, b)


def test_columns_report_like_batch_builder() -> None:
    for value, reason in (
        (-1.0, "negative"),
        (math.nan, "finite"),
        ("x", "must be a number"),
        (True, "must be a number"),
    ):
        for make in ("ref", "fast"):
            b = BatchBuilder("/x", "t", digest="d")
            with pytest.raises(IngestError) as exc:
                if make == "ref":
                    b.add_result(b.add_run(), location="rec 1", metric="m", value=value, unit="ms", benchmark="b")
                else:
                    c = ResultColumns(b)
                    c.add(c.add_run(), c.case(benchmark="b", location="rec 1"), "m", value, "ms", "rec 1")
            assert exc.value.location == "rec 1" and reason in exc.value.reason
    b = BatchBuilder("/x", "t", digest="d")
    c = ResultColumns(b)
    with pytest.raises(IngestError, match="unknown unit 'parsecs'"):
        c.add(c.add_run(), c.case(benchmark="b", location="r"), "m", 1.0, "parsecs", "r")


@settings(max_examples=200, deadline=None)
@given(
    params=st.dictionaries(
        st.text(max_size=6),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=6),
            st.lists(st.integers(), max_size=2),
        ),
        max_size=5,
    )
)
def test_fast_canonical_params_is_canonical_params(params: dict) -> None:
    assert fast_canonical_params(params) == canonical_params(params)


@settings(max_examples=100, deadline=None)
@given(parts=st.tuples(st.text(max_size=5), st.none() | st.text(max_size=5), st.none() | st.text(max_size=5),
                       st.none() | st.integers(), st.none() | st.integers(), st.none() | st.text(max_size=3),
                       st.none() | st.text(max_size=8), st.text(min_size=1, max_size=5)))  # fmt: skip
def test_fast_series_key_is_series_key(parts: tuple) -> None:
    assert fast_series_key(*parts) == series_key(*parts)


_bulk_value = st.one_of(
    st.floats(0, 1e12, allow_nan=False),
    st.integers(0, 10**6),
    st.sampled_from([-1.0, math.nan, math.inf, "3", True, None, 10**400]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    params=st.lists(st.one_of(st.none(), st.dictionaries(st.sampled_from(["n", "m"]), st.integers(0, 3) | st.text(max_size=2),
                                                         max_size=2)), min_size=1, max_size=12),
    data=st.data(),
    unit=st.sampled_from(["ns", "s", "seconds", "iter/sec", "bytes", "parsecs"]),
    metric=st.sampled_from(["time", ""]),
    shared=st.sampled_from([{"benchmark": "b", "hardware": "cpu-1"}, {"benchmark": "", "hardware": None},
                            {"benchmark": "b", "batch_size": 0}, {"model": "m", "precision": "INT8"}]),
)  # fmt: skip
def test_bulk_columns_match_one_at_a_time(params: list, data: Any, unit: str, metric: str, shared: dict) -> None:
    n = len(params)
    values = data.draw(st.one_of(st.lists(st.floats(0, 1e9, allow_nan=False), min_size=n, max_size=n),
                                 st.lists(_bulk_value, min_size=n, max_size=n)))  # fmt: skip
    stats = data.draw(st.lists(st.one_of(st.none(), st.fixed_dictionaries({"median": _bulk_value})), min_size=n,
                               max_size=n))  # fmt: skip
    ns = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 50), st.sampled_from([-1, 2.0, "4"])), min_size=n,
                            max_size=n))  # fmt: skip
    locs = [f"r[{j}]" for j in range(n)]
    texts = [canonical_params(p) for p in params] if data.draw(st.booleans()) else None

    def one(bulk: bool) -> Any:
        b = BatchBuilder("/x", "t", digest="d")
        cols = ResultColumns(b)
        run = cols.add_run(commit="c")
        try:
            if bulk:
                ids = cols.cases(params, locations=locs, texts=texts, **shared)
                cols.add_many(run, ids, metric, values, unit, locs, stats=[copy.copy(s) for s in stats], n_samples=ns)
            else:
                for j in range(n):
                    case = cols.case(location=locs[j], params=params[j], **shared)
                    cols.add(run, case, metric, values[j], unit, locs[j], stats=copy.copy(stats[j]), n_samples=ns[j])
            return cols.finish().results
        except IngestError as exc:
            return (exc.location, exc.reason)

    a, b = one(False), one(True)
    if isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame) and a.schema == b.schema and a.equals(b, null_equal=True), (a, b)
    else:
        assert a == b

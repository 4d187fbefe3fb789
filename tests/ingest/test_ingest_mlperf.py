"""MLPerf Inference importers on the real round data and on broken copies of it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from _fastpath import assert_batches_equal, fast_path_agrees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError
from benchlab.ingest.mlperf import MLPerfSummary, accelerator_kind, capacity_gb, parse_precision, split_model

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mlperf"
SUMMARY = DATA / "summary_results.json"
LOGS = sorted(DATA.glob("closed/*/results/**/mlperf_log_summary.txt"))
SYSTEMS = sorted(DATA.glob("closed/*/systems/*.json"))

needs_data = pytest.mark.skipif(not SUMMARY.exists(), reason="../shared/data/mlperf is not present beside the repo")


@pytest.fixture(scope="module")
def summary() -> ingest.Batch:
    if not SUMMARY.exists():
        pytest.skip("../shared/data/mlperf is not present beside the repo")
    return ingest.read(SUMMARY)


def _params(df: pl.DataFrame) -> list[dict]:
    return [json.loads(p) for p in df.get_column("params").to_list()]


# -- summary_results.json ---------------------------------------------------------
@needs_data
def test_summary_is_detected_and_every_record_becomes_a_result(summary: ingest.Batch) -> None:
    assert ingest.detect(SUMMARY).name == "mlperf-summary"
    res = summary.results
    perf = res.filter(pl.col("metric").is_in(["throughput", "latency"]))
    assert perf.height == 937  # SOURCE.md: 937 rows
    assert res.filter(pl.col("metric").is_in(["power", "energy"])).height == 31  # 31 rows with power
    units = Counter(perf.get_column("unit").to_list())
    assert units == {"samples/s": 347, "tokens/s": 329, "queries/s": 227, "ms": 34}
    scen = Counter(p["scenario"] for p in _params(perf))
    assert scen == {"Offline": 516, "Server": 387, "SingleStream": 22, "MultiStream": 12}
    assert set(perf.get_column("direction").to_list()) == {"higher", "lower"}
    assert perf.filter(pl.col("unit") == "ms").get_column("direction").unique().to_list() == ["lower"]


@needs_data
def test_summary_accuracy_target_is_a_parameter_not_a_model(summary: ingest.Batch) -> None:
    perf = summary.results.filter(pl.col("metric").is_in(["throughput", "latency"]))
    llama = perf.filter(pl.col("model") == "llama2-70b")
    assert Counter(p.get("accuracy_target") for p in _params(llama)) == {"99.9": 83, "99": 82}
    models = set(perf.get_column("model").to_list())
    assert not any(m.endswith(("-99", "-99.9")) for m in models)
    assert "resnet50" in models and "resnet" not in models
    assert len(models) == 9  # 14 benchmark names collapse to 9 models


@needs_data
def test_summary_precision_labels_are_normalized(summary: ingest.Batch) -> None:
    prec = Counter(summary.results.filter(pl.col("metric") != "power").get_column("precision").to_list())
    assert set(prec) <= {"int8", "fp16", "fp8", "fp32", "int4", "bf16"}
    # int8 416 + INT8 28 ; fp8 77 + float8 21 (plus their power/energy rows)
    perf = summary.results.filter(pl.col("metric").is_in(["throughput", "latency"]))
    c = Counter(perf.get_column("precision").to_list())
    assert c["int8"] == 444 and c["fp8"] == 98


@needs_data
def test_summary_hardware_catalogue_carries_system_specs(summary: ingest.Batch) -> None:
    hw = {r["name"]: r for r in summary.hardware.to_dicts()}
    # Platform names are not unique across submitters: the name is qualified.
    emr = [n for n in hw if n.endswith("/1-node-2S-EMR-PyTorch")]
    assert len(emr) == 5
    amd = hw["AMD/8xMI300X_2xEPYC-9374F"]
    meta = json.loads(amd["metadata"])
    assert amd["type"] == "rocm" and amd["vendor"] == "AMD" and amd["memory_gb"] == 192.0
    assert meta["accelerator_count"] == 8 and meta["host_processor"] == "2xAMD EPYC 9374F"
    assert meta["host_cores_total"] == 64
    assert meta["system"]["accelerator_interconnect"] == "XGMI"  # joined from closed/AMD/systems/*.json
    assert round(meta["host_memory_gb"]) == 1649  # 1.5 TiB
    cpu = hw["Intel/1-node-2S-EMR-PyTorch"]
    assert cpu["type"] == "cpu" and cpu["vendor"] == "Intel" and cpu["memory_gb"] == 1024.0
    types = Counter(r["type"] for r in hw.values())
    assert types["cuda"] > 50 and types["cpu"] >= 10 and types["tpu"] >= 1 and types["rocm"] >= 2
    h100 = next(r for n, r in hw.items() if n.startswith("NVIDIA/DGX-H100_H100-SXM-80GBx8"))
    assert h100["memory_gb"] == 80.0 and json.loads(h100["metadata"])["memory_gb_source"] == "accelerator name"
    cpu_rows = summary.results.filter(pl.col("hardware_type") == "cpu", pl.col("metric") != "power")
    assert cpu_rows.height == 110  # SOURCE.md: 110 CPU-only rows


@needs_data
def test_summary_runs_are_submitted_systems_with_record_metadata(summary: ingest.Batch) -> None:
    assert summary.runs.height == 98
    meta = [json.loads(m) for m in summary.runs.get_column("metadata").to_list()]
    assert sum(len(m["records"]) + len(m.get("records_elsewhere", {})) for m in meta) == 937
    assert all("records_elsewhere" not in m for m in meta)  # every Location is below its system's folder
    # Records are keyed by their path below the system's results folder (the run's "location").
    loc = "closed/AMD/results/1xMI300X_2xEPYC-9374F/llama2-70b-99/Offline"
    run = next(m for m in meta if m["location"] == "closed/AMD/results/1xMI300X_2xEPYC-9374F")
    rec = run["records"]["llama2-70b-99/Offline"]
    assert f"{run['location']}/llama2-70b-99/Offline" == loc
    # Per-system fields are stored once on the run; a record holds what is its own.
    assert run["id"] == "v4.1-0001" and run["weight_data_types"] == "fp8" and run["system"]
    assert rec == {"accuracy": {"ROUGE1": 44.5321, "ROUGE2": 22.1191, "ROUGEL": 28.7225, "TOKENS_PER_SAMPLE": 293.7}}
    records = [(m, r) for m in meta for r in m["records"].values()]
    differing = [(m, r) for m, r in records if "weight_data_types" in r]
    assert differing and all(r["weight_data_types"] != m.get("weight_data_types") for m, r in differing)
    # Model and scenario as written, where the Location's folders do not say them (resnet vs resnet50/).
    resnet = [r for m, r in records if r.get("model") == "resnet"]
    assert resnet and all(r["scenario"] in ("Offline", "Server", "SingleStream", "MultiStream") for r in resnet)
    assert set(summary.results.get_column("run_index").unique().to_list()) == set(range(98))


@needs_data
def test_summary_latency_scenarios_fill_their_percentile(summary: ingest.Batch) -> None:
    lat = summary.results.filter(pl.col("metric") == "latency")
    ss = lat.filter(pl.col("params").str.contains('"SingleStream"'))
    ms = lat.filter(pl.col("params").str.contains('"MultiStream"'))
    assert (ss.get_column("p90") == ss.get_column("value")).all()
    assert (ms.get_column("p99") == ms.get_column("value")).all()
    unt = ms.filter(pl.col("hardware") == "UntetherAI/h13_u1_slim", pl.col("model") == "resnet50")
    assert unt.get_column("value").to_list() == [0.285447]


# -- mlperf_log_summary.txt --------------------------------------------------------
@needs_data
def test_logs_match_the_summary_headline() -> None:
    assert len(LOGS) == 6
    by_hw = {}
    for f in LOGS:
        assert ingest.detect(f).name == "mlperf-log"
        b = ingest.read(f)
        by_hw[b.results.get_column("hardware")[0]] = b
    h200 = by_hw["NVIDIA/H200-SXM-141GBx1_TRT"].results
    tok = h200.filter(pl.col("unit") == "tokens/s").get_column("value").item()
    assert tok == 2405.86  # = Performance_Result of the summary row
    lat = h200.filter(pl.col("metric") == "latency").row(0, named=True)
    assert lat["value"] == pytest.approx(3951.216492) and lat["p99"] == pytest.approx(8401.601862)
    orin = by_hw["NVIDIA/Orin_TRT"].results.row(0, named=True)
    assert orin["metric"] == "latency" and orin["value"] == pytest.approx(9966.781359)  # early-stopping p90
    assert orin["p90"] == pytest.approx(9964.145991) and orin["n_samples"] == 100
    assert json.loads(orin["params"]) == {"division": "closed", "scenario": "SingleStream"}
    unt = by_hw["UntetherAI/h13_u1_slim"].results.row(0, named=True)
    assert unt["value"] == pytest.approx(0.285447) and json.loads(unt["params"])["scenario"] == "MultiStream"
    amd = by_hw["AMD/8xMI300X_2xEPYC-9374F"]
    assert sorted(amd.results.get_column("unit").to_list()) == ["samples/s", "tokens/s"]
    assert json.loads(amd.results.get_column("params")[0])["accuracy_target"] == "99"
    assert amd.skipped and "Offline" in amd.skipped[0]
    assert "offline_latency_ns" in json.loads(amd.runs.get_column("metadata")[0])
    assert by_hw["Google/tpu_v6_x4_flax"].results.filter(pl.col("metric") == "throughput")["unit"].item() == "queries/s"
    # The joined system description gives the hardware type.
    assert by_hw["Intel/1-node-2S-EMR-PyTorch"].results.get_column("hardware_type").item() == "cpu"
    assert by_hw["Google/tpu_v6_x4_flax"].hardware.get_column("type").item() == "tpu"


@needs_data
def test_system_files_become_hardware_only_sources() -> None:
    assert len(SYSTEMS) == 6
    kinds = {}
    for f in SYSTEMS:
        assert ingest.detect(f).name == "mlperf-system"
        b = ingest.read(f)
        assert b.n_results == 0 and b.hardware.height == 1
        kinds[b.hardware.get_column("name").item()] = b.hardware.row(0, named=True)
    assert {k: v["type"] for k, v in kinds.items()} == {
        "AMD/8xMI300X_2xEPYC-9374F": "rocm",
        "Google/tpu_v6_x4_flax": "tpu",
        "Intel/1-node-2S-EMR-PyTorch": "cpu",
        "NVIDIA/H200-SXM-141GBx1_TRT": "cuda",
        "NVIDIA/Orin_TRT": "cuda",
        "UntetherAI/h13_u1_slim": "npu",
    }
    assert kinds["NVIDIA/H200-SXM-141GBx1_TRT"]["memory_gb"] == 141.0
    assert kinds["UntetherAI/h13_u1_slim"]["memory_gb"] is None  # "disabled" is not a capacity


@needs_data
def test_mlperf_folder_ingests_into_a_store_once(tmp_path: Path) -> None:
    s = store.open(tmp_path / "s.duckdb")
    rep = s.ingest([DATA])
    assert rep.ok, rep.to_frame().filter(pl.col("status") == "failed")
    assert rep.count("added") == 13 and rep.count("failed") == 0
    assert rep.n_results == 968 + 10
    again = s.ingest([DATA])
    assert again.count("added") == 0 and again.count("skipped") == 13
    hw = s.hardware().filter(pl.col("name") == "NVIDIA/Orin_TRT")
    assert hw.get_column("type").item() == "cuda"
    df = s.results(model="llama2-70b", metric="throughput")
    assert df.height > 0 and set(df.get_column("provenance").to_list()) == {"measured"}


# -- helpers ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("llama2-70b-99.9", ("llama2-70b", "99.9")),
        ("llama2-70b-99", ("llama2-70b", "99")),
        ("dlrm-v2-99.9", ("dlrm-v2", "99.9")),
        ("3d-unet-99", ("3d-unet", "99")),
        ("resnet", ("resnet50", None)),
        ("mixtral-8x7b", ("mixtral-8x7b", None)),
        ("stable-diffusion-xl", ("stable-diffusion-xl", None)),
    ],
)
def test_split_model(raw: str, expected: tuple[str, str | None]) -> None:
    assert split_model(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("int8", "int8"),
        ("INT8", "int8"),
        ("fp8", "fp8"),
        ("float8", "fp8"),
        ("FP16", "fp16"),
        ("bf16", "bf16"),
        ("{'weights': 'int8', 'activations': 'fp16'}", "int8"),
        ('{"weights": "FP8", "activations": "FP8"}', "fp8"),
        ("weights: int4, activations: fp16", "int4"),
        ("int8, fp16", "mixed"),
        ("fp16, FP16", "fp16"),
        ({"weight": "float16"}, "fp16"),
        ("", None),
        (None, None),
    ],
)
def test_parse_precision(raw: object, expected: str | None) -> None:
    assert parse_precision(raw) == expected


@pytest.mark.parametrize(
    ("acc", "proc", "expected"),
    [
        ("NVIDIA H100-SXM-80GB", None, ("cuda", "NVIDIA")),
        ("Tesla T4", None, ("cuda", "NVIDIA")),
        ("AMD Instinct MI300X-NPS1-SPX-192GB-750W", None, ("rocm", "AMD")),
        ("TPU v6", None, ("tpu", "Google")),
        ("Qualcomm Cloud AI 100 Ultra", None, ("qnn", "Qualcomm")),
        ("UntetherAI speedAI240 Slim", None, ("npu", "UntetherAI")),
        ("Intel Gaudi 2", None, ("npu", "Intel")),
        ("", "INTEL(R) XEON(R) PLATINUM 8592+", ("cpu", "Intel")),
        ("", "AMD EPYC 9654", ("cpu", "AMD")),
        ("Mystery Box 9000", None, ("other", "Mystery")),
    ],
)
def test_accelerator_kind(acc: str, proc: str | None, expected: tuple[str, str]) -> None:
    assert accelerator_kind(acc, proc) == expected


def test_capacity_parsing() -> None:
    assert capacity_gb("192 GB") == 192.0
    assert capacity_gb("1024GB") == 1024.0
    assert capacity_gb("2 TB") == 2000.0
    assert capacity_gb("NVIDIA Jetson AGX Orin 64G") == 64.0
    assert capacity_gb("Shared with host") is None and capacity_gb("N/A") is None


# -- bad input --------------------------------------------------------------------
def _summary_copy(tmp_path: Path, records: list[object]) -> Path:
    p = tmp_path / "summary_results.json"
    p.write_text(json.dumps(records))
    return p


def _record(**over: object) -> dict:
    rec = {
        "ID": "v9-0001", "Submitter": "Acme", "Category": "closed", "Platform": "box1", "System": "Acme Box",
        "Model": "bert-99", "UsedModel": "bert-99", "Scenario": "Offline", "Accelerator": "NVIDIA L4", "a#": 2.0,
        "Nodes": 1, "Processor": "AMD EPYC 9654", "Location": "closed/Acme/results/box1/bert-99/Offline",
        "weight_data_types": "int8", "Performance_Result": 1234.5, "Performance_Units": "Samples/s",
        "version": "v9",
    }  # fmt: skip
    rec.update(over)
    return rec


def test_summary_bad_records_are_named(tmp_path: Path) -> None:
    cases = [
        ([_record(), "oops"], "record 1", "must be an object"),
        ([_record(Performance_Result=-3)], "record 0 (ID v9-0001).Performance_Result", "negative"),
        ([_record(Performance_Result="fast")], "record 0 (ID v9-0001).Performance_Result", "must be a number"),
        ([_record(Performance_Units="Furlongs/fortnight")], "record 0 (ID v9-0001).Performance_Result", "unknown unit"),
        ([_record(Platform=None, Location=None)], "record 0 (ID v9-0001)", "Platform"),
        ([_record(Scenario=None)], "record 0 (ID v9-0001)", "Scenario"),
    ]
    for records, location, reason in cases:
        p = _summary_copy(tmp_path, records)
        with pytest.raises(IngestError) as exc:
            ingest.read(p)
        assert exc.value.path == str(p)
        assert exc.value.location == location, exc.value
        assert reason in exc.value.reason


def test_summary_truncated_and_wrong_top_level(tmp_path: Path) -> None:
    p = tmp_path / "summary_results.json"
    p.write_text(json.dumps([_record(), _record(ID="v9-0002")])[:300])
    with pytest.raises(IngestError, match="malformed JSON") as exc:
        ingest.read(p, format="mlperf-summary")
    assert exc.value.location.startswith("line 1 column")
    p.write_text(json.dumps({"records": []}))
    with pytest.raises(IngestError, match="JSON array"):
        ingest.read(p, format="mlperf-summary")
    p.write_text("[]")
    with pytest.raises(IngestError, match="no results found"):
        ingest.read(p, format="mlperf-summary")


def test_summary_synthetic_record_mapping(tmp_path: Path) -> None:
    p = _summary_copy(
        tmp_path,
        [
            _record(),
            _record(
                ID="v9-0002",
                Model="bert-99.9",
                UsedModel="mobilebert-x-bert-99",
                Category="open",
                Location="open/Acme/results/box1/bert-99.9/Server",
                Scenario="Server",
                Performance_Units="Queries/s",
                weight_data_types="{'weights': 'INT8'}",
                Power_Result=300.0,
                Power_Units="Watts",
            ),  # fmt: skip
        ],
    )
    b = ingest.read(p)
    rows = {r["params"]: r for r in b.results.to_dicts()}
    assert len(b.results) == 3 and b.runs.height == 2  # closed and open are separate submissions
    server = [r for r in b.results.to_dicts() if "Server" in r["params"]]
    assert {r["metric"] for r in server} == {"throughput", "power"}
    par = json.loads(server[0]["params"])
    assert par == {
        "accuracy_target": "99.9",
        "division": "open",
        "scenario": "Server",
        "used_model": "mobilebert-x-bert-99",
    }
    assert all(
        r["precision"] == "int8" and r["hardware"] == "Acme/box1" and r["hardware_type"] == "cuda"
        for r in rows.values()
    )
    hw = b.hardware.row(0, named=True)
    assert hw["memory_gb"] is None and json.loads(hw["metadata"])["accelerator_count"] == 2


def test_log_bad_number_names_line(tmp_path: Path) -> None:
    p = tmp_path / "mlperf_log_summary.txt"
    p.write_text(
        "================================================\nMLPerf Results Summary\n"
        "================================================\nSUT name : x\nScenario : Offline\n"
        "Mode     : PerformanceOnly\nSamples per second: lots\nResult is : VALID\n"
    )
    with pytest.raises(IngestError) as exc:
        ingest.read(p)
    assert exc.value.location == "line 7" and "must be a number" in exc.value.reason
    p.write_text(p.read_text().replace("lots", "12.5").replace("VALID", "INVALID"))
    b = ingest.read(p)
    assert b.results.get_column("value").to_list() == [12.5]
    assert json.loads(b.results.get_column("params")[0]) == {"result_validity": "INVALID", "scenario": "Offline"}


def test_log_reads_precision_from_measurements(tmp_path: Path) -> None:
    if not LOGS:
        pytest.skip("../shared/data/mlperf is not present beside the repo")
    src = next(f for f in LOGS if "Orin_TRT" in str(f))
    root = tmp_path / "closed" / "NVIDIA"
    dest = root / "results" / "Orin_TRT" / "stable-diffusion-xl" / "SingleStream" / "performance" / "run_1"
    dest.mkdir(parents=True)
    shutil.copy(src, dest / src.name)
    meas = root / "measurements" / "Orin_TRT" / "stable-diffusion-xl" / "SingleStream"
    meas.mkdir(parents=True)
    (meas / "Orin_TRT_TRT.json").write_text(json.dumps({"weight_data_types": "INT8"}))
    b = ingest.read(dest / src.name)
    assert b.results.get_column("precision").item() == "int8"
    assert b.results.get_column("hardware_type").item() is None  # no system description here


# -- the column-wise path gives exactly what the per-record path gives ------------------
_CATS = ["closed", "open", "Closed", " closed ", "", None, "N/A", 5]
_SUBS = ["Acme", "Beta", " Acme", "", None, "n/a"]
_PLATS = ["box1", "box2", "box1 ", "", None]
_MODELS = ["bert-99", "llama2-70b-99.9", "resnet", "gptj-99", "", None, 7]
_SCENS = ["Offline", "Server", "SingleStream", "MultiStream", "single stream", "", None]
_ACC_TEXT = ["F1: 90.87", "ROUGE1: 44.5  TOKENS_PER_SAMPLE: 293.7", "acc: 1.2.3", "A: 1 A: 2", "no numbers", "",
             None, "x: 1e999", "k: 0.00001  b: -0", "é: 3", "GEN_LEN: 4016878  ROUGE1: 42.99", "a :5.  b:.5",
             "Z:1e5 y z : +2E-3"]  # fmt: skip
_ACC = st.one_of(st.sampled_from(_ACC_TEXT), st.text(st.sampled_from("AZaz_ :.+-eE019"), max_size=24))
_SCALAR = [0, 1, True, False, None, "1", "", 2.5]
_ODD_SCALAR = [1.0, -0.0, 0.0, float("nan"), [1]]
_TEXT = ["x", "y", "", None, "N/A", " x "]
_NUMBERISH = st.sampled_from([None, 1, 2, 8.0, "8", " 4 ", "N/A", "0", 0, True, -1, 2.5, "1e400", "x", 1e400])
_VALUE = st.one_of(
    st.floats(min_value=0, max_value=1e6),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([0, -0.0, 1e-7, 2**70, 1e300]),
)
_BAD_VALUE = st.sampled_from([-1.0, float("nan"), float("inf"), "1.5", True, None])
_UNITS = st.sampled_from(["Samples/s", "Queries/s", "Tokens/s", "Latency (ms)"])
_BAD_UNITS = st.sampled_from(["Furlongs/fortnight", "", None, "Watts", 3, "ms"])


def _summary_record(bad: bool) -> st.SearchStrategy:
    def build(d: dict) -> dict:
        rec = dict(d)
        for k in [k for k, v in rec.items() if v is _DROP]:
            del rec[k]
        cat, sub, plat, model, scen = (rec.get(k) for k in ("Category", "Submitter", "Platform", "Model", "Scenario"))
        if rec.get("Location") == "standard":
            rec["Location"] = f"{cat}/{sub}/results/{plat}/{model}/{scen}"
        return rec

    drop = st.just(_DROP)
    plain = {"Category": st.sampled_from(_CATS[:2]), "Submitter": st.sampled_from(_SUBS[:2]),
             "Platform": st.sampled_from(_PLATS[:2]), "Model": st.sampled_from(_MODELS[:4]),
             "Scenario": st.sampled_from(_SCENS[:4])}  # fmt: skip
    odd = {"Category": st.sampled_from(_CATS), "Submitter": st.sampled_from(_SUBS),
           "Platform": st.sampled_from(_PLATS), "Model": st.sampled_from(_MODELS),
           "Scenario": st.sampled_from(_SCENS)}  # fmt: skip
    odd_values = [3, 12.5, {"a": 1}] if bad else []  # not text where text is expected
    text = st.sampled_from(_TEXT + odd_values)
    scalar = st.sampled_from(_SCALAR + (_ODD_SCALAR if bad else []))
    fields = {
        **(odd if bad else plain),
        "ID": st.sampled_from(["v1-0001", "v1-0002", None, "", *odd_values]),
        "UsedModel": st.sampled_from(["bert-99", "mobilebert", "llama2-7b", "", None]),
        "Location": st.sampled_from(["standard", "standard", None, "", "a/b", "x/y/results/z/w/v", "closed/Acme/z"]),
        "System": text,
        "Availability": text,
        "Suite": st.sampled_from(["datacenter", "edge", "", None]),
        "Details": text,
        "Code": text,
        "Notes": st.sampled_from(["", "H100 TGP 700W", None]),
        "Accuracy": st.one_of(_ACC, st.sampled_from(odd_values)) if bad else _ACC,
        "weight_data_types": st.sampled_from(
            ["int8", "fp8", "INT8", "{'weights': 'int8'}", "int8, fp16", "", None]
            + ([{"weights": "fp16"}] if bad else [])
        ),  # fmt: skip
        "Performance_Result": st.one_of(_VALUE, _BAD_VALUE) if bad else _VALUE,
        "Performance_Units": st.one_of(_UNITS, _BAD_UNITS) if bad else _UNITS,
        "inferred": scalar,
        "compliance": scalar,
        "errors": scalar,
        "has_power": scalar,
        "version": st.sampled_from(["v4.1", "", None, 4.1]),
        "Software": text,
        "operating_system": text,
        "Accelerator": st.sampled_from(
            ["NVIDIA H100-SXM-80GB", "AMD Instinct MI300X-192GB-750W", "", "N/A", "0", None, "Mystery 9 1e999GB"]
        ),  # fmt: skip
        "Processor": st.sampled_from(["AMD EPYC 9654", "INTEL(R) XEON(R)", "", None]),
        "a#": _NUMBERISH,
        "Nodes": _NUMBERISH,
        "host_processors_per_node": _NUMBERISH,
        "host_processor_core_count": _NUMBERISH,
    }
    optional = {
        "Power_Result": st.one_of(_VALUE, _BAD_VALUE) if bad else _VALUE,
        "Power_Units": st.sampled_from(["Watts", "millijoules", "Joules", "W"] + (["Volts", "", None] if bad else [])),
        "ColorKey": st.sampled_from(["x", 1, None, {"a": [1]}]),
    }
    return st.fixed_dictionaries(
        {k: (st.one_of(v, drop) if k in ("Notes", "ID", "Accuracy", "System", "version") else v)
         for k, v in fields.items()},
        optional=optional,
    ).map(build)  # fmt: skip


_DROP = object()
_summaries = st.one_of(
    st.lists(_summary_record(False), min_size=1, max_size=10),
    st.lists(_summary_record(False), min_size=1, max_size=10),
    st.lists(_summary_record(True), min_size=1, max_size=6),
)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(records=_summaries, indent=st.sampled_from([None, 2]), ascii_only=st.booleans(), system_file=st.booleans())
def test_fast_path_matches_exact_path(
    tmp_path_factory: pytest.TempPathFactory, records: list, indent: int | None, ascii_only: bool, system_file: bool
) -> None:
    root = tmp_path_factory.mktemp("summary")
    if system_file:  # a system description beside the summary, for one of the platforms
        (root / "closed" / "Acme" / "systems").mkdir(parents=True)
        (root / "closed" / "Acme" / "systems" / "box1.json").write_text(json.dumps(
            {"system_name": "Acme Box One", "accelerator_model_name": "NVIDIA L4", "accelerators_per_node": 2,
             "host_memory_capacity": "512 GB", "accelerator_memory_capacity": "24 GB", "host_processor_core_count": 32}
        ))  # fmt: skip
    p = root / "summary_results.json"
    p.write_bytes(json.dumps(records, indent=indent, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
    imp = MLPerfSummary()
    fast_path_agrees(imp, p)


def test_fast_path_takes_realistic_tables(tmp_path: Path) -> None:
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from ingest_formats import gen_mlperf

    p = gen_mlperf(tmp_path, 400, random.Random(1))
    imp = MLPerfSummary()
    fast = imp._read_fast(p)
    assert fast is not None and fast.n_results > 400
    assert_batches_equal(fast, imp._read_exact(p))
    if SUMMARY.exists():  # the real round table takes it too, system descriptions included
        fast = imp._read_fast(SUMMARY)
        assert fast is not None
        assert_batches_equal(fast, imp._read_exact(SUMMARY))

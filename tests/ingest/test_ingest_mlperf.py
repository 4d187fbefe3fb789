"""MLPerf Inference importers on the real round data and on broken copies of it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError
from benchlab.ingest.mlperf import accelerator_kind, capacity_gb, parse_precision, split_model

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
    assert sum(len(m["records"]) for m in meta) == 937
    loc = "closed/AMD/results/1xMI300X_2xEPYC-9374F/llama2-70b-99/Offline"
    rec = next(m for m in meta if loc in m["records"])["records"][loc]
    assert rec["id"] == "v4.1-0001" and rec["weight_data_types"] == "fp8"
    assert rec["accuracy"]["TOKENS_PER_SAMPLE"] == 293.7
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

"""The legacy ipfs_accelerate files, read in place from ../shared/data."""

from pathlib import Path

import pytest

import benchlab
from benchlab.ingest import read

LEGACY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "legacy_ipfs_accelerate"
pytestmark = pytest.mark.skipif(not LEGACY.exists(), reason="../shared/data not present: legacy files unavailable")


def test_family_runner_file_maps_every_completed_cell():
    batch = read(LEGACY / "real_embedding_benchmark_results.json")
    assert batch.format == "legacy-family-json"
    res = batch.results
    # 81 cells x (latency, throughput) + 9 model-load times, as SOURCE.md counts.
    assert res.height == 171
    lat = res.filter(res["metric"] == "latency")
    assert lat.height == 81 and lat["samples"].list.len().sum() == 1620
    assert set(lat["unit"]) == {"ms"} and lat["value"].min() > 10  # seconds became ms
    assert set(res["batch_size"].drop_nulls()) == {1, 4, 8} and set(res["seq_len"].drop_nulls()) == {32, 128, 512}


def test_failed_configurations_become_failed_tests_not_numbers():
    batch = read(LEGACY / "real_audio_benchmark_results.json")
    whisper = batch.results.filter(batch.results["model"] == "openai/whisper-tiny")
    assert set(whisper["metric"]) <= {"load_time"}
    tests = batch.integration_tests
    assert tests.filter(tests["model"] == "openai/whisper-tiny")["status"].to_list() == ["failed"]
    assert any("input_features" in s for s in batch.skipped)


def test_batch_driver_repr_payloads_are_parsed_safely():
    batch = read(LEGACY / "batch_benchmarks_cpu_20250306_174843.json")
    lat = batch.results.filter(batch.results["metric"] == "latency").sort("model")
    assert dict(zip(lat["model"], lat["value"].round(1), strict=True)) == {
        "bert-base-uncased": 164.5,
        "google/t5-efficient-tiny": 293.9,
        "google/vit-base-patch16-224": 487.3,
        "prajjwal1/bert-tiny": 21.8,
    }
    assert sorted(batch.integration_tests["model"]) == ["facebook/deit-tiny-patch16-224", "google/t5-small"]


def test_zeroed_legacy_database_invents_no_measurement(tmp_path):
    store = benchlab.open(tmp_path / "s.duckdb")
    report = store.ingest(LEGACY / "test_benchmark_db_A.duckdb")
    assert report.ok and report.count("added") == 1 and report.n_results == 0
    assert "placeholder" in report.outcomes[0].message
    assert store.stats()["results"] == 0
    assert store.ingest(LEGACY / "test_benchmark_db_A.duckdb").count("skipped") == 1


def test_whole_legacy_folder_ingests_once(tmp_path):
    store = benchlab.open(tmp_path / "s.duckdb")
    first = store.ingest(LEGACY)
    assert first.ok and first.count("added") == 5 and first.n_results == 242
    assert store.check().is_empty()
    second = store.ingest(LEGACY)
    assert second.count("skipped") == 5 and store.stats()["results"] == 242

import polars as pl

from benchlab.frame import (
    RESULTS_SCHEMA,
    canonical_params,
    empty_results,
    normalize_hardware_type,
    normalize_precision,
    series_key,
)


def test_series_key_is_stable_across_versions():
    # A changed key would orphan every stored triage decision: pin it.
    key = series_key("infer", "bert", "a100", 1, None, "fp16", None, "latency")
    assert key == series_key("infer", "bert", "a100", 1, None, "fp16", None, "latency")
    assert len(key) == 16 and int(key, 16) >= 0
    assert key == "9b951297ddd0afa1"
    assert series_key("infer", "bert", "a100", 1, None, "fp16", None, "latency") != series_key(
        "infer", "bert", "a100", 2, None, "fp16", None, "latency"
    )


def test_none_and_empty_string_are_different_series_fields():
    assert series_key("b", None, None, None, None, None, None, "m") != series_key(
        "b", "", None, None, None, None, None, "m"
    )


def test_params_are_canonical_regardless_of_key_order():
    assert canonical_params({"b": 1, "a": 2}) == canonical_params('{"a": 2, "b": 1}') == '{"a":2,"b":1}'
    assert canonical_params({}) is None and canonical_params(None) is None


def test_precision_and_hardware_labels_normalize():
    assert normalize_precision("INT8") == "int8"
    assert normalize_precision("float16") == "fp16"
    assert normalize_precision("bfloat16") == "bf16"
    assert normalize_precision("FP8") == normalize_precision("float8") == "fp8"
    assert normalize_precision("weird-q") == "weird_q"
    assert normalize_hardware_type("NVIDIA") == "cuda"
    assert normalize_hardware_type("WebGPU") == "webgpu"
    assert normalize_hardware_type("abacus") == "other"


def test_empty_results_has_the_documented_schema():
    df = empty_results()
    assert df.schema == pl.Schema(RESULTS_SCHEMA)
    assert list(df.columns)[:3] == ["run_id", "provenance", "source"]

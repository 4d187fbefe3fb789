"""The results frame: the one Polars schema every query helper returns.

Every analysis module (regressions, prediction, charts, reports) takes and
returns frames with these columns, so a frame from ``store.results()`` can be
handed to any of them.  One row is one value of one metric of one benchmark
case in one run.

Column reference (also in ``docs/results-frame.md``):

==============  ================  ==================================================
column          dtype             meaning
==============  ================  ==================================================
run_id          Int64             the run the value belongs to (``runs`` table)
provenance      Utf8              ``measured``, ``simulated`` or ``predicted``
source          Utf8              path of the file (or folder) it was imported from
format          Utf8              importer that read it (``native-json``, ``asv`` …)
commit          Utf8              VCS revision the run measured, if known
branch          Utf8              branch, if known
machine         Utf8              machine / host name, if known
timestamp       Datetime(us,UTC)  when the run started
series_key      Utf8              stable 16-hex-digit id of the series (see below)
benchmark       Utf8              benchmark / test case name
model           Utf8              ML model name, if any
model_family    Utf8              embedding, text-generation, vision, audio, …
hardware        Utf8              hardware platform name as recorded
hardware_type   Utf8              cpu, cuda, rocm, mps, openvino, qnn, webnn, webgpu …
batch_size      Int64             batch size, if any
seq_len         Int64             sequence length (or image side / audio seconds)
precision       Utf8              fp32, fp16, bf16, fp8, int8, int4 … (normalized)
params          Utf8              other parameters as canonical JSON (sorted keys)
metric          Utf8              latency, throughput, memory, time, …
unit            Utf8              canonical unit (``ms``, ``MB``, ``items/s`` …)
value           Float64           the value in ``unit``
direction       Utf8              ``lower`` or ``higher`` is better
n_samples       Int64             number of raw measurements behind ``value``
stddev … max    Float64           spread: stddev, min, median, p90, p95, p99, max
orig_value      Float64           value as the source wrote it
orig_unit       Utf8              unit as the source wrote it
samples         List(Float64)     raw samples in ``unit`` (null unless requested)
==============  ================  ==================================================

A *series* is one (benchmark, model, hardware, batch_size, seq_len, precision,
params, metric) combination followed over runs.  ``series_key`` is a hash of
those fields computed with :func:`series_key` and stable across versions and
machines, so history, detection, triage and prediction all join on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import polars as pl

__all__ = [
    "RESULTS_SCHEMA",
    "SERIES_COLUMNS",
    "SPREAD_COLUMNS",
    "PROVENANCES",
    "empty_results",
    "series_key",
    "canonical_params",
    "normalize_precision",
    "normalize_hardware_type",
]

PROVENANCES = ("measured", "simulated", "predicted")
SERIES_COLUMNS = (
    "benchmark",
    "model",
    "hardware",
    "batch_size",
    "seq_len",
    "precision",
    "params",
    "metric",
)
SPREAD_COLUMNS = ("stddev", "min", "median", "p90", "p95", "p99", "max")

RESULTS_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.Int64(),
    "provenance": pl.Utf8(),
    "source": pl.Utf8(),
    "format": pl.Utf8(),
    "commit": pl.Utf8(),
    "branch": pl.Utf8(),
    "machine": pl.Utf8(),
    "timestamp": pl.Datetime("us", "UTC"),
    "series_key": pl.Utf8(),
    "benchmark": pl.Utf8(),
    "model": pl.Utf8(),
    "model_family": pl.Utf8(),
    "hardware": pl.Utf8(),
    "hardware_type": pl.Utf8(),
    "batch_size": pl.Int64(),
    "seq_len": pl.Int64(),
    "precision": pl.Utf8(),
    "params": pl.Utf8(),
    "metric": pl.Utf8(),
    "unit": pl.Utf8(),
    "value": pl.Float64(),
    "direction": pl.Utf8(),
    "n_samples": pl.Int64(),
    **{c: pl.Float64() for c in SPREAD_COLUMNS},
    "orig_value": pl.Float64(),
    "orig_unit": pl.Utf8(),
    "samples": pl.List(pl.Float64()),
}


def empty_results() -> pl.DataFrame:
    """An empty frame with the results schema."""
    return pl.DataFrame(schema=RESULTS_SCHEMA)


def canonical_params(params: Mapping[str, Any] | str | None) -> str | None:
    """Canonical JSON text of a parameter mapping (sorted keys, compact).

    ``None`` and empty mappings give ``None`` so that "no parameters" has one
    spelling.
    """
    if params is None:
        return None
    if isinstance(params, str):
        if not params.strip():
            return None
        params = json.loads(params)
        if not isinstance(params, Mapping):
            raise ValueError("params must be a JSON object")
    if not params:
        return None
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def series_key(
    benchmark: str | None,
    model: str | None,
    hardware: str | None,
    batch_size: int | None,
    seq_len: int | None,
    precision: str | None,
    params: str | None,
    metric: str,
) -> str:
    """Stable 16-hex-digit identity of a series.

    A BLAKE2b digest of the series fields, so the key is the same on every
    machine and in every version of benchlab, Polars and DuckDB.
    """
    parts = (benchmark, model, hardware, batch_size, seq_len, precision, params, metric)
    text = "\x1f".join("\x00" if p is None else str(p) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


_PRECISIONS = {
    "fp32": "fp32", "float32": "fp32", "float": "fp32", "f32": "fp32", "single": "fp32",
    "fp16": "fp16", "float16": "fp16", "half": "fp16", "f16": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp8": "fp8", "float8": "fp8", "f8": "fp8", "e4m3": "fp8", "fp8_e4m3": "fp8",
    "e5m2": "fp8", "fp8_e5m2": "fp8",
    "fp4": "fp4", "float4": "fp4", "nvfp4": "fp4",
    "int8": "int8", "i8": "int8", "uint8": "int8", "int8_dynamic": "int8",
    "int4": "int4", "i4": "int4", "uint4": "int4",
    "int16": "int16", "fp64": "fp64", "float64": "fp64", "double": "fp64",
    "mixed": "mixed", "amp": "mixed", "tf32": "tf32",
}  # fmt: skip


def normalize_precision(text: object) -> str | None:
    """Normalize a precision label (``INT8``, ``float16``, ``bfloat16`` …).

    Labels benchlab does not know are lower-cased and kept rather than dropped:
    a precision is a label, and an unusual one is still information.
    """
    if text is None:
        return None
    key = str(text).strip().lower().replace("-", "_").replace(" ", "_")
    if not key or key in {"none", "null", "n/a", "na"}:
        return None
    return _PRECISIONS.get(key, key)


HARDWARE_TYPES = (
    "cpu", "cuda", "rocm", "mps", "openvino", "qnn", "webnn", "webgpu",
    "tpu", "npu", "xpu", "gpu", "fpga", "other",
)  # fmt: skip
_HW_ALIASES = {"nvidia": "cuda", "gpu_cuda": "cuda", "amd": "rocm", "hip": "rocm",
               "apple": "mps", "metal": "mps", "x86": "cpu", "arm": "cpu"}  # fmt: skip


def normalize_hardware_type(text: object) -> str | None:
    """Normalize a hardware type label to one of :data:`HARDWARE_TYPES`."""
    if text is None:
        return None
    key = str(text).strip().lower()
    if not key:
        return None
    key = _HW_ALIASES.get(key, key)
    return key if key in HARDWARE_TYPES else "other"

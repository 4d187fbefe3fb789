"""benchlab's own formats: JSON document, JSON Lines, CSV and Parquet.

The flat formats (JSONL, CSV, Parquet) hold one result per row with these
columns (only ``metric``, ``value``, ``unit`` and ``benchmark`` or ``model`` are
required)::

    benchmark model model_family hardware hardware_type batch_size seq_len
    precision params metric value unit direction n_samples stddev min median
    p90 p95 p99 max samples run commit branch machine started_at (or timestamp)
    ended_at simulated provenance

Rows that share (run, commit, branch, machine, started_at, ended_at,
provenance) form one run.  The JSON document adds catalogue sections::

    {"benchlab": 1,
     "hardware": [{"name", "type", "device_name", "vendor", "memory_gb",
                   "peak_tflops", "bandwidth_gbs", "metadata"}],
     "models": [{"name", "family", "modality", "params_m", "metadata"}],
     "runs": [{"key", "commit", "branch", "machine", "started_at", "ended_at",
               "environment", "simulated", "metadata",
               "results": [{...result fields...}],
               "compatibility": [{"model", "hardware", "level", ...}],
               "integration_tests": [{"name", "status", ...}]}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from benchlab.errors import IngestError
from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._tabular import KNOWN, frame_to_batch

FORMAT_VERSION = 1
_RESULT_FIELDS = {
    "benchmark", "model", "hardware", "hardware_type", "batch_size", "seq_len", "precision",
    "params", "metric", "value", "unit", "direction", "n_samples", "stddev", "min", "median",
    "p90", "p95", "p99", "max", "samples",
}  # fmt: skip
_RUN_FIELDS = ("commit", "branch", "machine", "started_at", "ended_at", "environment", "metadata")


def _head(path: Path, n: int = 4096) -> str:
    with open(path, "rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")


def load_json(path: Path) -> Any:
    """Parse a JSON file, turning syntax errors into an :class:`IngestError`."""
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except json.JSONDecodeError as exc:
        raise IngestError(path, f"line {exc.lineno} column {exc.colno}", f"malformed JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"byte {exc.start}", "not UTF-8 text") from None


def _add_result(b: BatchBuilder, run: int, rec: Any, location: str, extra: dict[str, Any] | None = None) -> None:
    if not isinstance(rec, dict):
        raise b.error(location, f"a result must be an object, got {type(rec).__name__}")
    unknown = set(rec) - _RESULT_FIELDS - (set(extra) if extra else set())
    if unknown:
        raise b.error(location, f"unknown field(s) {sorted(unknown)}")
    if "value" not in rec:
        raise b.error(location, "missing required field 'value'")
    if "unit" not in rec:
        raise b.error(location, "missing required field 'unit'")
    fields = {k: v for k, v in rec.items() if k in _RESULT_FIELDS}
    b.add_result(run, location=location, **fields)


class NativeJSON:
    name = "native-json"
    description = "benchlab JSON document ({\"benchlab\": 1, \"runs\": [...]})"
    priority = 50
    folder = False

    def sniff(self, path: Path) -> bool:
        return path.suffix.lower() == ".json" and '"benchlab"' in _head(path, 256)

    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict) or "benchlab" not in doc:
            raise b.error(None, "not a benchlab document (no top-level 'benchlab' key)")
        if doc["benchlab"] != FORMAT_VERSION:
            raise b.error("benchlab", f"unsupported format version {doc['benchlab']!r} (this benchlab reads {FORMAT_VERSION})")
        for i, hw in enumerate(doc.get("hardware") or []):
            loc = f"hardware[{i}]"
            if not isinstance(hw, dict):
                raise b.error(loc, "must be an object")
            b.add_hardware(**hw, location=loc)
        for i, m in enumerate(doc.get("models") or []):
            loc = f"models[{i}]"
            if not isinstance(m, dict):
                raise b.error(loc, "must be an object")
            b.add_model(**m, location=loc)
        runs = doc.get("runs")
        if not isinstance(runs, list):
            raise b.error("runs", "missing or not a list")
        for i, run in enumerate(runs):
            loc = f"runs[{i}]"
            if not isinstance(run, dict):
                raise b.error(loc, "must be an object")
            try:
                r = b.add_run(
                    key=run.get("key"),
                    simulated=bool(run.get("simulated", False)),
                    provenance=run.get("provenance"),
                    location=loc,
                    **{k: run.get(k) for k in _RUN_FIELDS},
                )
            except TypeError as exc:
                raise b.error(loc, str(exc)) from None
            for j, rec in enumerate(run.get("results") or []):
                _add_result(b, r, rec, f"{loc}.results[{j}]")
            for j, c in enumerate(run.get("compatibility") or []):
                if not isinstance(c, dict):
                    raise b.error(f"{loc}.compatibility[{j}]", "must be an object")
                try:
                    b.add_compatibility(r, **c, location=f"{loc}.compatibility[{j}]")
                except TypeError as exc:
                    raise b.error(f"{loc}.compatibility[{j}]", str(exc)) from None
            for j, t in enumerate(run.get("integration_tests") or []):
                if not isinstance(t, dict):
                    raise b.error(f"{loc}.integration_tests[{j}]", "must be an object")
                try:
                    b.add_integration_test(r, **t, location=f"{loc}.integration_tests[{j}]")
                except TypeError as exc:
                    raise b.error(f"{loc}.integration_tests[{j}]", str(exc)) from None
        return b.build()


class NativeJSONL:
    name = "native-jsonl"
    description = "benchlab JSON Lines: one flat result object per line"
    priority = 40
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            return False
        first = _head(path).lstrip().split("\n", 1)[0]
        return '"metric"' in first and '"value"' in first

    def read(self, path: Path) -> Batch:
        b = BatchBuilder(path, self.name)
        runs: dict[tuple[Any, ...], int] = {}
        run_keys = ("run", "commit", "branch", "machine", "started_at", "timestamp", "ended_at", "simulated", "provenance")
        with open(path, encoding="utf-8", errors="strict") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                loc = f"line {lineno}"
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise b.error(loc, f"malformed JSON: {exc.msg}") from None
                if not isinstance(rec, dict):
                    raise b.error(loc, "each line must be a JSON object")
                ident = tuple(str(rec.get(k)) for k in run_keys)
                run = runs.get(ident)
                if run is None:
                    run = runs[ident] = b.add_run(
                        key=rec.get("run"),
                        commit=rec.get("commit"),
                        branch=rec.get("branch"),
                        machine=rec.get("machine"),
                        started_at=rec.get("started_at", rec.get("timestamp")),
                        ended_at=rec.get("ended_at"),
                        simulated=str(rec.get("simulated", False)).lower() in ("true", "1", "yes"),
                        provenance=rec.get("provenance"),
                        location=loc,
                    )
                if rec.get("model_family") and rec.get("model"):
                    b.add_model(rec["model"], family=rec["model_family"], location=loc)
                _add_result(b, run, rec, loc, extra=dict.fromkeys((*run_keys, "model_family")))
        return b.build()


class NativeCSV:
    name = "native-csv"
    description = "benchlab CSV: a header row, then one result per row"
    priority = 40
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        header = {c.strip().strip('"') for c in _head(path).split("\n", 1)[0].split(",")}
        return {"metric", "value", "unit"} <= header

    def read(self, path: Path) -> Batch:
        try:
            # Everything as text first, so a bad cell is reported, not coerced.
            df = pl.read_csv(path, infer_schema=False, null_values=[""])
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
            raise IngestError(path, None, f"unreadable CSV: {str(exc).splitlines()[0]}") from None
        # Line numbers: header is line 1, so row 0 is line 2.
        return frame_to_batch(str(path), self.name, df, lambda i: f"line {i + 2}")


class NativeParquet:
    name = "native-parquet"
    description = "benchlab Parquet: one result per row (same columns as CSV)"
    priority = 40
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".parquet":
            return False
        try:
            names = set(pl.read_parquet_schema(path))
        except Exception:  # noqa: BLE001 - any failure to read a schema means "not ours"
            return False
        return {"metric", "value", "unit"} <= names and names <= KNOWN

    def read(self, path: Path) -> Batch:
        try:
            df = pl.read_parquet(path)
        except (pl.exceptions.ComputeError, OSError) as exc:
            raise IngestError(path, None, f"unreadable Parquet: {str(exc).splitlines()[0]}") from None
        return frame_to_batch(str(path), self.name, df, lambda i: f"row {i}")


IMPORTERS = [NativeJSON(), NativeJSONL(), NativeCSV(), NativeParquet()]

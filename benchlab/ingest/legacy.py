"""The legacy ipfs_accelerate ``duckdb_api`` outputs: runner JSON and DuckDB stores.

Three shapes are read (see ``docs/formats.md``):

``legacy-family-json``
    the model-family runner's ``benchmark_results.json``:
    ``benchmarks[family][model][hardware].benchmark_results[config]`` with raw
    latencies in seconds; config keys such as ``batch_4_seq_128``,
    ``batch_1_img_224x224`` or ``batch_8_audio_30s`` give batch size and input size.
``legacy-batch-json``
    the batch driver's ``batch_benchmarks_<hw>_<stamp>.json``, whose payloads are
    Python ``repr`` strings (parsed with :func:`ast.literal_eval`, never ``eval``).
``legacy-duckdb``
    a ``BenchmarkDBAPI`` DuckDB file (minimal star schema), opened read-only.

The legacy converter wrote ``0.0`` for every metric it did not have.  A 0.0
latency, throughput or memory is therefore *missing*, not a measurement: it is
skipped and counted in the ingest report.  Failed configurations become failed
integration-test records, so the failure is kept without inventing numbers.
Hardware labels are kept as written; the embedding file is known to label CPU
runs as ``cuda``/``openvino`` (see the data's SOURCE.md), which the run metadata
flags as ``hardware_label_verified: false``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import duckdb

from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest.native import _head, load_json

_CONFIG = re.compile(r"^batch_(\d+)_(?:seq_(\d+)|img_(\d+)x(\d+)|audio_(\d+)s)$")
_PRECISION = "fp32"  # the runners never set one; torch's default dtype


def _positive(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and x > 0


class LegacyFamilyJSON:
    name = "legacy-family-json"
    description = "ipfs_accelerate model-family runner output (benchmark_results.json)"
    priority = 70
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = _head(path, 2048)
        return '"system_info"' in head and ('"hardware_info"' in head or '"benchmarks"' in head)

    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), dict):
            raise b.error("benchmarks", "missing or not an object")
        info = doc.get("system_info") or {}
        run = b.add_run(
            key=str(doc.get("timestamp")),
            machine=info.get("hostname"),
            started_at=info.get("timestamp") or doc.get("timestamp"),
            environment={
                k: info.get(k)
                for k in ("platform", "python_version", "cuda_version", "cpu_count_logical", "total_memory_gb")
                if k in info
            },
            metadata={"tool": "ipfs_accelerate model-family runner", "hardware_label_verified": False},
            location="system_info",
        )
        for family, models in doc["benchmarks"].items():
            if not isinstance(models, dict):
                raise b.error(f"benchmarks.{family}", "must be an object of models")
            for model, by_hw in models.items():
                if not isinstance(by_hw, dict):
                    raise b.error(f"benchmarks.{family}.{model}", "must be an object of hardware records")
                b.add_model(model, family=family, location=f"benchmarks.{family}.{model}")
                for hw, rec in by_hw.items():
                    self._record(b, run, f"benchmarks.{family}.{model}.{hw}", model, hw, rec)
        return b.build()

    def _record(self, b: BatchBuilder, run: int, loc: str, model: str, hw: str, rec: Any) -> None:
        if not isinstance(rec, dict):
            raise b.error(loc, "must be an object")
        if rec.get("status") != "completed":
            b.add_integration_test(run, name=f"benchmark {model}", model=model, hardware=hw, status="failed",
                                   error=str(rec.get("error") or rec.get("status")), location=loc)  # fmt: skip
            b.skipped.append(f"{loc}: status {rec.get('status')!r}")
            return
        load = rec.get("model_load_time")
        if _positive(load):
            b.add_result(run, location=f"{loc}.model_load_time", benchmark="model_load", model=model,
                         hardware=hw, metric="load_time", value=load, unit="s")  # fmt: skip
        configs = rec.get("benchmark_results")
        if not isinstance(configs, dict):
            raise b.error(f"{loc}.benchmark_results", "missing or not an object")
        failed = []
        for key, cell in configs.items():
            cloc = f"{loc}.benchmark_results.{key}"
            m = _CONFIG.match(key)
            if not m:
                raise b.error(cloc, f"unrecognised configuration key {key!r}")
            if not isinstance(cell, dict):
                raise b.error(cloc, "must be an object")
            if cell.get("status") != "completed":
                failed.append(f"{key}: {cell.get('error', cell.get('status'))}")
                b.skipped.append(f"{cloc}: {cell.get('error', cell.get('status'))}")
                continue
            batch, seq, w, h, audio = m.groups()
            params: dict[str, Any] = {}
            if w:
                params["image_size"] = f"{w}x{h}"
            if audio:
                params["audio_seconds"] = int(audio)
            common = dict(benchmark="inference", model=model, hardware=hw, batch_size=int(batch),
                          seq_len=int(seq) if seq else None, precision=_PRECISION, params=params or None)  # fmt: skip
            lat = cell.get("latencies")
            if lat is not None and not isinstance(lat, list):
                raise b.error(f"{cloc}.latencies", "must be a list")
            if _positive(cell.get("avg_latency")):
                b.add_result(run, location=f"{cloc}.avg_latency", metric="latency", value=cell["avg_latency"],
                             unit="s", samples=lat or None, **common)  # fmt: skip
            else:
                b.skipped.append(f"{cloc}.avg_latency: {cell.get('avg_latency')!r} is a placeholder, not a measurement")
            if _positive(cell.get("throughput")):
                b.add_result(run, location=f"{cloc}.throughput", metric="throughput", value=cell["throughput"],
                             unit="items/s", n_samples=cell.get("iterations"), **common)  # fmt: skip
            else:
                b.skipped.append(f"{cloc}.throughput: {cell.get('throughput')!r} is a placeholder, not a measurement")
        if failed:
            b.add_integration_test(run, name=f"benchmark {model}", model=model, hardware=hw, status="failed",
                                   error="; ".join(failed)[:2000], location=loc)  # fmt: skip


class LegacyBatchJSON:
    name = "legacy-batch-json"
    description = "ipfs_accelerate batch driver output (batch_benchmarks_<hw>_<stamp>.json)"
    priority = 70
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = _head(path, 1024)
        return '"batch_sizes"' in head and '"models"' in head and '"results"' in head

    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, dict):
            raise b.error("results", "missing or not an object")
        run = b.add_run(key=str(doc.get("timestamp")), started_at=doc.get("timestamp"),
                        metadata={"tool": "ipfs_accelerate batch driver"}, location="timestamp")  # fmt: skip
        for model, rec in results.items():
            loc = f"results.{model}"
            if not isinstance(rec, dict):
                raise b.error(loc, "must be an object")
            hw = rec.get("hardware") or doc.get("hardware")
            data = self._literal(b, f"{loc}.benchmark_data", rec.get("benchmark_data"))
            batches = (data or {}).get("batch_results") or {}
            ok = str(rec.get("success")) == "True" and batches
            if not ok:
                b.add_integration_test(run, name=f"benchmark {model}", model=model, hardware=hw, status="failed",
                                       error=str(rec.get("error") or "no batch results"), location=loc)  # fmt: skip
                b.skipped.append(f"{loc}: run failed ({rec.get('error') or 'no batch results'})")
                continue
            for size, cell in batches.items():
                cloc = f"{loc}.benchmark_data.batch_results.{size}"
                if not isinstance(cell, dict) or not cell.get("success"):
                    err = cell.get("error") if isinstance(cell, dict) else cell
                    b.add_integration_test(run, name=f"benchmark {model} batch {size}", model=model, hardware=hw,
                                           status="failed", error=str(err), location=cloc)  # fmt: skip
                    b.skipped.append(f"{cloc}: failed ({err})")
                    continue
                common = dict(benchmark="inference", model=model, hardware=hw,
                              batch_size=cell.get("batch_size", size), precision=_PRECISION)  # fmt: skip
                for field, metric, unit, extra in (
                    ("avg_latency_ms", "latency", "ms", {"samples": cell.get("latencies_ms") or None}),
                    ("throughput_items_per_second", "throughput", "items/s", {}),
                    ("memory_mb", "memory", "MiB", {}),
                ):
                    if _positive(cell.get(field)):
                        b.add_result(run, location=f"{cloc}.{field}", metric=metric, value=cell[field],
                                     unit=unit, **common, **extra)  # fmt: skip
                    else:
                        b.skipped.append(f"{cloc}.{field}: missing or 0.0 placeholder")
        return b.build()

    @staticmethod
    def _literal(b: BatchBuilder, loc: str, text: Any) -> dict[str, Any] | None:
        if text is None or isinstance(text, dict):
            return text
        try:
            value = ast.literal_eval(str(text))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise b.error(loc, "not a parseable Python literal") from None
        if not isinstance(value, dict):
            raise b.error(loc, "must be a mapping")
        return value


class LegacyDuckDB:
    name = "legacy-duckdb"
    description = "ipfs_accelerate BenchmarkDBAPI DuckDB database (migrated read-only)"
    priority = 70
    folder = False
    _TABLES = {"performance_results", "test_runs", "models", "hardware_platforms"}

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".duckdb", ".db"):
            return False
        with open(path, "rb") as fh:
            if fh.read(12)[8:12] != b"DUCK":
                return False
        return self._TABLES <= self._tables(path)

    @staticmethod
    def _tables(path: Path) -> set[str]:
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        except duckdb.Error:
            return set()

    def read(self, path: Path) -> Batch:
        b = BatchBuilder(path, self.name)
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
                if not self._TABLES <= tables:
                    raise b.error(None, f"not a legacy benchmark database (needs tables {sorted(self._TABLES)})")
                runs = con.execute(
                    "SELECT run_id, test_name, started_at, completed_at, git_commit, git_branch, metadata FROM test_runs"
                ).fetchall()
                perf = con.execute(
                    "SELECT p.result_id, p.run_id, m.model_name, m.model_family, h.hardware_type, h.device_name, "
                    "p.test_case, p.batch_size, p.precision, p.throughput_items_per_second, p.average_latency_ms, "
                    "p.memory_peak_mb, p.iterations FROM performance_results p "
                    "LEFT JOIN models m ON m.model_id = p.model_id "
                    "LEFT JOIN hardware_platforms h ON h.hardware_id = p.hardware_id ORDER BY p.result_id"
                ).fetchall()
                compat = (
                    con.execute(
                        "SELECT c.compatibility_id, c.run_id, m.model_name, h.hardware_type, c.is_compatible, "
                        "c.error_type, c.error_message, c.suggested_fix FROM hardware_compatibility c "
                        "LEFT JOIN models m ON m.model_id = c.model_id "
                        "LEFT JOIN hardware_platforms h ON h.hardware_id = c.hardware_id"
                    ).fetchall()
                    if "hardware_compatibility" in tables
                    else []
                )
        except duckdb.Error as exc:
            raise b.error(None, f"cannot read the legacy database: {str(exc).splitlines()[0]}") from None
        run_index: dict[Any, int] = {}

        def run_for(run_id: Any) -> int:
            if run_id not in run_index:
                row = next((r for r in runs if r[0] == run_id), None)
                if row is None:
                    run_index[run_id] = b.add_run(key=f"legacy-run-{run_id}", metadata={"legacy_run_id": run_id})
                else:
                    meta = _json_or_text(row[6])
                    run_index[run_id] = b.add_run(
                        key=f"legacy-run-{run_id}", commit=row[4], branch=row[5], started_at=row[2],
                        ended_at=row[3], metadata={"legacy_run_id": run_id, "test_name": row[1], "legacy": meta},
                    )  # fmt: skip
            return run_index[run_id]

        for rid, run_id, model, family, hw_type, _device, case, batch, prec, thr, lat, mem, iters in perf:
            loc = f"performance_results.result_id={rid}"
            values = (("latency", lat, "ms"), ("throughput", thr, "items/s"), ("memory", mem, "MiB"))
            real = [(m, v, u) for m, v, u in values if _positive(v)]
            if not real:
                b.skipped.append(f"{loc}: all metrics are 0.0/NULL placeholders, not measurements")
                continue
            if model in (None, "unknown_model"):
                b.skipped.append(f"{loc}: model is unknown")
                continue
            if family:
                b.add_model(model, family=family)
            for metric, value, unit in real:
                b.add_result(run_for(run_id), location=f"{loc}.{metric}", benchmark=case or "inference", model=model,
                             hardware=hw_type, hardware_type=hw_type, batch_size=batch, precision=prec,
                             metric=metric, value=value, unit=unit, n_samples=iters)  # fmt: skip
        for cid, run_id, model, hw, ok, etype, emsg, fix in compat:
            if model is None or hw is None:
                b.skipped.append(f"hardware_compatibility.compatibility_id={cid}: unknown model or hardware")
                continue
            b.add_compatibility(run_for(run_id) if run_id is not None else None, model=model, hardware=hw,
                                level="full" if ok else "unsupported", error_type=etype, error_message=emsg,
                                suggested_fix=fix, location=f"hardware_compatibility.compatibility_id={cid}")  # fmt: skip
        if not run_index:
            # Keep the source on record (so a re-import is a no-op) but invent nothing.
            b.add_run(key="legacy-database", metadata={"note": "no measurements: every row was a placeholder"})
        return b.build(allow_empty=True)


def _json_or_text(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return str(text)


IMPORTERS = [LegacyFamilyJSON(), LegacyBatchJSON(), LegacyDuckDB()]

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

JSON documents and JSON Lines are read by two paths that build the same
:class:`Batch`.  The column-wise one lets PyArrow parse the declared fields
(``_arrowjson``; a key the format does not know makes it decline) and hands the
results, as a table, to the vectorised validator CSV and Parquet use
(``_tabular.frame_to_batch``), after checking that the file holds nothing on
which that validator and the per-record path would differ: per-run
environments or metadata, compatibility or integration-test records, raw
samples, ``""`` where the per-record path reads "absent", runs that the
validator's grouping would merge, a model given two families, and so on (see
``_tabular_frame``).  Anything it is not sure of, and any error, goes to the
per-record path: the reference, and the one every error message comes from.
``tests/ingest/test_ingest_native.py`` checks that both agree on random files.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from benchlab.errors import IngestError
from benchlab.ingest._arrowjson import OBJECT, arrow_document, arrow_lines
from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import canonical_params_many
from benchlab.ingest._json import paused_gc, read_utf8
from benchlab.ingest._tabular import KNOWN, frame_to_batch

FORMAT_VERSION = 1
_RESULT_FIELDS = {
    "benchmark", "model", "hardware", "hardware_type", "batch_size", "seq_len", "precision",
    "params", "metric", "value", "unit", "direction", "n_samples", "stddev", "min", "median",
    "p90", "p95", "p99", "max", "samples",
}  # fmt: skip
_RUN_FIELDS = ("commit", "branch", "machine", "started_at", "ended_at", "environment", "metadata")


# What the column-wise paths declare (a JSON type per field: anything else declines).
_S, _F, _I = pa.string(), pa.float64(), pa.int64()
_RESULT_TYPES = {"benchmark": _S, "model": _S, "hardware": _S, "hardware_type": _S, "batch_size": _I, "seq_len": _I,
                 "precision": _S, "params": OBJECT, "metric": _S, "value": _F, "unit": _S, "direction": _S,
                 "n_samples": _I, "stddev": _F, "min": _F, "median": _F, "p90": _F, "p95": _F, "p99": _F, "max": _F,
                 "samples": pa.list_(_F)}  # fmt: skip
_LINE_RUN = ("run", "commit", "branch", "machine", "started_at", "timestamp", "ended_at", "simulated", "provenance")
_LINE_SCHEMA = pa.schema([*_RESULT_TYPES.items(), *((k, pa.bool_() if k == "simulated" else _S) for k in _LINE_RUN),
                          ("model_family", _S)])  # fmt: skip
_DOC_SCHEMA = pa.schema([
    ("benchlab", _I),
    ("hardware", pa.list_(pa.struct([("name", _S), ("type", _S), ("device_name", _S), ("vendor", _S),
                                     ("memory_gb", _F), ("peak_tflops", _F), ("bandwidth_gbs", _F),
                                     ("metadata", OBJECT)]))),
    ("models", pa.list_(pa.struct([("name", _S), ("family", _S), ("modality", _S), ("params_m", _F),
                                   ("metadata", OBJECT)]))),
    ("runs", pa.list_(pa.struct([("key", _S), ("commit", _S), ("branch", _S), ("machine", _S), ("started_at", _S),
                                 ("ended_at", _S), ("environment", OBJECT), ("simulated", pa.bool_()),
                                 ("provenance", _S), ("metadata", OBJECT),
                                 ("results", pa.list_(pa.struct(list(_RESULT_TYPES.items())))),
                                 ("compatibility", pa.list_(OBJECT)), ("integration_tests", pa.list_(OBJECT))]))),
])  # fmt: skip
_RUN_TEXT = ("run", "commit", "branch", "machine", "started_at", "ended_at")


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
    except RecursionError:
        raise IngestError(path, None, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise IngestError(path, None, f"malformed JSON: {exc}") from None


def _listed(b: BatchBuilder, obj: dict[str, Any], key: str, location: str) -> list[Any]:
    """``obj[key]`` as a list (absent or empty: none)."""
    value = obj.get(key) or []
    if not isinstance(value, list):
        raise b.error(location, f"must be a list, got {type(value).__name__}")
    return value


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


def _tabular_frame(results: pa.Table, params: list[str | None] | None) -> pl.DataFrame | None:
    """The flat table ``frame_to_batch`` validates, or ``None`` where it and the per-record path could differ.

    ``results`` holds the declared result fields (``params`` as found: ``None``
    if no row has any), and the run columns ``run``, ``commit``, ``branch``,
    ``machine``, ``started_at``, ``ended_at``, ``simulated``, ``provenance`` and
    ``model_family``, one row per result.  ``""`` is made absent where the
    per-record path makes it so.
    """
    if results.num_rows == 0:
        return None
    if pc.sum(results.column("samples").is_valid()).as_py():
        return None  # the validator does not keep raw samples
    df = pl.from_arrow(results.drop_columns(["params"]))
    assert isinstance(df, pl.DataFrame)
    empty = {c: pl.when(pl.col(c) != "").then(pl.col(c)) for c in ("model", "hardware", "commit", "branch", "machine")}
    df = df.with_columns(
        **empty,
        params=pl.Series(params if params is not None else [None] * df.height, dtype=pl.Utf8),
        # Provenance as add_run decides it: as given, else from the simulated flag.
        provenance=pl.when(pl.col("provenance") != "")
        .then(pl.col("provenance"))
        .when(pl.col("simulated").fill_null(False))
        .then(pl.lit("simulated"))
        .otherwise(pl.lit("measured")),
        model_family=pl.when((pl.col("model_family") != "") & (pl.col("model") != "")).then(pl.col("model_family")),
    )
    # The per-record path adds a model's family as often as it is given (the last one stays), the validator once.
    families = df.drop_nulls("model_family").group_by("model").agg(pl.col("model_family").n_unique())
    if families.height and families.get_column("model_family").max() > 1:  # type: ignore[operator]
        return None
    return df.drop("simulated", "samples")


def _to_batch(path: Path, name: str, df: pl.DataFrame, digest: str) -> Batch | None:
    try:
        return frame_to_batch(str(path), name, df, lambda i: f"row {i}", digest=digest)
    except IngestError:  # the per-record path names the record
        return None


def _params(parsed: Any, present: pa.Array) -> list[str | None] | None | bool:
    """Canonical ``params`` text per row from the objects found in the text; ``False`` if not sure."""
    n = pc.sum(present).as_py() or 0
    if n == 0:
        return None
    objects = parsed.objects({"params": n})
    if objects is None:
        return False
    out: list[str | None] = [None] * len(present)
    for i, text in zip(pc.indices_nonzero(present).to_pylist(), canonical_params_many(objects["params"]), strict=True):
        out[i] = text
    return out


class NativeJSON:
    name = "native-json"
    description = 'benchlab JSON document ({"benchlab": 1, "runs": [...]})'
    priority = 50
    folder = False

    def sniff(self, path: Path) -> bool:
        return path.suffix.lower() == ".json" and '"benchlab"' in _head(path, 256)

    @paused_gc
    def read(self, path: Path) -> Batch:
        fast = self._read_fast(path)
        return fast if fast is not None else self._read_exact(path)

    def _read_exact(self, path: Path) -> Batch:
        """The reference path: one record at a time, every error named."""
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict) or "benchlab" not in doc:
            raise b.error(None, "not a benchlab document (no top-level 'benchlab' key)")
        if doc["benchlab"] != FORMAT_VERSION:
            raise b.error(
                "benchlab", f"unsupported format version {doc['benchlab']!r} (this benchlab reads {FORMAT_VERSION})"
            )
        for section, add in (("hardware", b.add_hardware), ("models", b.add_model)):
            for i, entry in enumerate(_listed(b, doc, section, section)):
                loc = f"{section}[{i}]"
                if not isinstance(entry, dict):
                    raise b.error(loc, "must be an object")
                try:
                    add(**entry, location=loc)
                except TypeError as exc:  # an unknown field
                    raise b.error(loc, str(exc)) from None
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
            for j, rec in enumerate(_listed(b, run, "results", f"{loc}.results")):
                _add_result(b, r, rec, f"{loc}.results[{j}]")
            for j, c in enumerate(_listed(b, run, "compatibility", f"{loc}.compatibility")):
                if not isinstance(c, dict):
                    raise b.error(f"{loc}.compatibility[{j}]", "must be an object")
                try:
                    b.add_compatibility(r, **c, location=f"{loc}.compatibility[{j}]")
                except TypeError as exc:
                    raise b.error(f"{loc}.compatibility[{j}]", str(exc)) from None
            for j, t in enumerate(_listed(b, run, "integration_tests", f"{loc}.integration_tests")):
                if not isinstance(t, dict):
                    raise b.error(f"{loc}.integration_tests[{j}]", "must be an object")
                try:
                    b.add_integration_test(r, **t, location=f"{loc}.integration_tests[{j}]")
                except TypeError as exc:
                    raise b.error(f"{loc}.integration_tests[{j}]", str(exc)) from None
        return b.build()

    def _read_fast(self, path: Path) -> Batch | None:
        """The same Batch as :meth:`_read_exact`, column-wise; ``None`` if not sure (see the module docstring)."""
        parsed = arrow_document(path, _DOC_SCHEMA, ("params",), strict=True)
        if parsed is None:
            return None
        top = parsed.fields
        if top["benchlab"].as_py() != FORMAT_VERSION or not top["runs"].is_valid:
            return None
        runs: pa.StructArray = top["runs"].values
        if len(runs) == 0 or runs.null_count:
            return None
        for section in ("environment", "metadata"):  # free-form: the per-record path keeps them
            if runs.field(section).null_count < len(runs):
                return None
        for section in ("compatibility", "integration_tests"):
            if pc.max(pc.list_value_length(runs.field(section)).fill_null(0)).as_py():
                return None
        results_list = runs.field("results")
        lengths = pc.list_value_length(results_list).fill_null(0)
        if pc.min(lengths).as_py() == 0:
            return None  # a run without results is a run the validator would not see
        flat: pa.StructArray = results_list.flatten()
        if flat.null_count:
            return None
        b = BatchBuilder(path, self.name, digest=parsed.digest)
        try:
            for section, add in (("hardware", b.add_hardware), ("models", b.add_model)):
                entries = top[section]
                if not entries.is_valid:
                    continue
                entries = entries.values
                if entries.null_count or entries.field("metadata").null_count < len(entries):
                    return None
                for i, entry in enumerate(entries.to_pylist()):
                    add(**{k: v for k, v in entry.items() if k != "metadata"}, location=f"{section}[{i}]")
        except IngestError:
            return None
        params = _params(parsed, flat.field("params").is_valid())
        if params is False:
            return None
        run_of = pc.list_parent_indices(results_list)
        columns = {name: flat.field(name) for name in _RESULT_TYPES}
        for name in ("key", "commit", "branch", "machine", "started_at", "ended_at", "simulated", "provenance"):
            columns["run" if name == "key" else name] = pc.take(runs.field(name), run_of)
        columns["model_family"] = pa.nulls(len(flat), _S)
        df = _tabular_frame(pa.table(columns), params)  # type: ignore[arg-type]
        if df is None:
            return None
        # One run per entry of "runs": the validator groups rows by these, so they must tell every run apart.
        if df.select(pl.struct(*_RUN_TEXT, "provenance").n_unique()).item() != len(runs):
            return None
        batch = _to_batch(path, self.name, df, parsed.digest)
        if batch is None:
            return None
        catalogue = b.build(allow_empty=True)
        return dataclasses.replace(batch, hardware=catalogue.hardware, models=catalogue.models)


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

    @paused_gc
    def read(self, path: Path) -> Batch:
        fast = self._read_fast(path)
        return fast if fast is not None else self._read_exact(path)

    def _read_fast(self, path: Path) -> Batch | None:
        """The same Batch as :meth:`_read_exact`, column-wise; ``None`` if not sure (see the module docstring)."""
        parsed = arrow_lines(path, _LINE_SCHEMA, ("params",))
        if parsed is None:
            return None
        table = parsed.table
        idents = pl.from_arrow(table.select(list(_LINE_RUN)))
        assert isinstance(idents, pl.DataFrame)
        texts = [c for c in _LINE_RUN if c != "simulated"]
        odd = idents.select(
            # The per-record path tells runs apart by str() of each field: "None" is also str(None).
            none=pl.any_horizontal((pl.col(c) == "None").any() for c in texts),
            # started_at, else timestamp: unless one of them is never given, which one a row used is not known.
            both=pl.col("started_at").is_not_null().any() & pl.col("timestamp").is_not_null().any(),
        ).row(0)
        if any(odd):
            return None
        columns = dict(zip(table.column_names, table.columns, strict=True))
        if columns["timestamp"].null_count < len(table):
            if b'"started_at"' in path.read_bytes():
                return None  # given as null somewhere: add_run then takes None there, not the timestamp
            columns["started_at"] = columns["timestamp"]
        del columns["timestamp"]
        params = _params(parsed, table.column("params").is_valid())
        if params is False:
            return None
        df = _tabular_frame(pa.table(columns), params)  # type: ignore[arg-type]
        if df is None:
            return None
        # Rows form runs by their run fields; the validator's grouping must be the per-record path's.
        if df.select(pl.struct(*_RUN_TEXT, "provenance").n_unique()).item() != idents.n_unique():
            return None
        return _to_batch(path, self.name, df, parsed.digest)

    def _read_exact(self, path: Path) -> Batch:
        """The reference path: one record at a time, every error named."""
        b = BatchBuilder(path, self.name)
        runs: dict[tuple[Any, ...], int] = {}
        run_keys = (
            "run",
            "commit",
            "branch",
            "machine",
            "started_at",
            "timestamp",
            "ended_at",
            "simulated",
            "provenance",
        )
        text = read_utf8(path)
        # Lines as a text file gives them (universal newlines: \n, \r\n or \r).
        for lineno, line in enumerate(io.StringIO(text, newline=None), 1):
            if not line.strip():
                continue
            loc = f"line {lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise b.error(loc, f"malformed JSON: {exc.msg}") from None
            except (RecursionError, ValueError) as exc:  # too deep, or an integer beyond Python's digit limit
                raise b.error(loc, f"malformed JSON: {exc}") from None
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

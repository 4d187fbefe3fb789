"""What an importer hands to the store: a validated, normalized :class:`Batch`.

Importers never touch the database.  They parse a source and describe it
through a :class:`BatchBuilder`; ``build()`` validates everything at once and
either returns a :class:`Batch` (written later by the store in one transaction)
or raises :class:`~benchlab.errors.IngestError` naming the file, the record and
the reason.  The same checks therefore apply to every format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from benchlab.errors import IngestError
from benchlab.frame import (
    PROVENANCES,
    RESULTS_SCHEMA,
    SPREAD_COLUMNS,
    canonical_params,
    normalize_hardware_type,
    normalize_precision,
    series_key,
)
from benchlab.units import UnknownUnitError, default_direction, parse_unit

__all__ = ["Batch", "BatchBuilder", "file_digest", "parse_timestamp", "COMPAT_LEVELS"]

COMPAT_LEVELS = ("full", "limited", "experimental", "unsupported")
TEST_STATUSES = ("passed", "failed", "skipped", "error")

RUN_SCHEMA = {
    "run_index": pl.Int64(),
    "run_key": pl.Utf8(),
    "commit": pl.Utf8(),
    "branch": pl.Utf8(),
    "machine": pl.Utf8(),
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "environment": pl.Utf8(),
    "provenance": pl.Utf8(),
    "metadata": pl.Utf8(),
}
RESULT_SCHEMA = {
    "run_index": pl.Int64(),
    "series_key": pl.Utf8(),
    "benchmark": pl.Utf8(),
    "model": pl.Utf8(),
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
HARDWARE_SCHEMA = {
    "name": pl.Utf8(),
    "type": pl.Utf8(),
    "device_name": pl.Utf8(),
    "vendor": pl.Utf8(),
    "memory_gb": pl.Float64(),
    "peak_tflops": pl.Float64(),
    "bandwidth_gbs": pl.Float64(),
    "metadata": pl.Utf8(),
}
MODEL_SCHEMA = {
    "name": pl.Utf8(),
    "family": pl.Utf8(),
    "modality": pl.Utf8(),
    "params_m": pl.Float64(),
    "metadata": pl.Utf8(),
}
COMPAT_SCHEMA = {
    "run_index": pl.Int64(),
    "model": pl.Utf8(),
    "hardware": pl.Utf8(),
    "level": pl.Utf8(),
    "error_type": pl.Utf8(),
    "error_message": pl.Utf8(),
    "suggested_fix": pl.Utf8(),
    "metadata": pl.Utf8(),
}
TEST_SCHEMA = {
    "run_index": pl.Int64(),
    "name": pl.Utf8(),
    "model": pl.Utf8(),
    "hardware": pl.Utf8(),
    "status": pl.Utf8(),
    "duration_s": pl.Float64(),
    "error": pl.Utf8(),
    "metadata": pl.Utf8(),
}


@dataclass
class Batch:
    """Everything one source contributes, ready for one transaction.

    Attributes
    ----------
    path, format, digest : str
        Where it came from, which importer read it, and the content digest that
        makes a second import of the same content a no-op.
    runs, results, hardware, models, compatibility, integration_tests : polars.DataFrame
        Tables keyed by ``run_index`` (position in ``runs``); the store swaps in
        real ids when it writes.
    skipped : list of str
        Records the importer deliberately did not import (e.g. failed runs that
        carry no measurement), each with the reason, for the ingest report.
    """

    path: str
    format: str
    digest: str
    runs: pl.DataFrame
    results: pl.DataFrame
    hardware: pl.DataFrame
    models: pl.DataFrame
    compatibility: pl.DataFrame
    integration_tests: pl.DataFrame
    skipped: list[str] = field(default_factory=list)

    @property
    def n_results(self) -> int:
        return self.results.height

    def results_frame(self) -> pl.DataFrame:
        """The batch as a results frame, as the store would return it after writing it.

        ``run_id`` is null (nothing is stored yet); ``source`` and ``format`` name
        this batch, so a fresh file can be analysed next to stored results
        (``benchlab gate --results``, predictions from a file) without importing it.
        """
        runs = self.runs.select("run_index", "commit", "branch", "machine", "provenance", timestamp="started_at")
        families = self.models.select(model="name", model_family="family")
        f = self.results.join(runs, on="run_index", how="left").join(families, on="model", how="left")
        f = f.with_columns(
            run_id=pl.lit(None, dtype=pl.Int64),
            source=pl.lit(self.path, dtype=pl.Utf8),
            format=pl.lit(self.format, dtype=pl.Utf8),
        )
        return f.select(list(RESULTS_SCHEMA)).cast(RESULTS_SCHEMA)  # type: ignore[arg-type]


def file_digest(path: str | Path, *, extra: Iterable[str | Path] = ()) -> str:
    """SHA-256 of a file's bytes (or of a folder's files, in sorted order)."""
    h = hashlib.sha256()
    paths = [Path(path), *map(Path, extra)]
    for p in paths:
        files = sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
        for f in files:
            # A file's identity is its bytes; inside a folder the layout counts too.
            if p.is_dir():
                h.update(str(f.relative_to(p)).encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def parse_timestamp(value: object) -> dt.datetime | None:
    """Parse a timestamp into an aware UTC datetime.

    Accepts ISO 8601 text (naive text is taken as UTC), ``YYYYMMDD_HHMMSS``,
    epoch seconds or milliseconds, and datetimes.  Raises ``ValueError``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    elif isinstance(value, int | float):
        try:
            if not math.isfinite(value):
                raise ValueError
            seconds = value / 1000.0 if value > 1e11 else float(value)
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):  # not finite, or beyond what datetime (or the OS) holds
            raise ValueError(f"not a timestamp: {value!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                d = dt.datetime.strptime(text, "%Y%m%d_%H%M%S")
            except ValueError:
                raise ValueError(f"not a timestamp: {value!r}") from None
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.astimezone(dt.UTC)


def guess_hardware_type(name: str) -> str | None:
    """The hardware type a platform name starts with (``cuda:0`` -> ``cuda``), if any."""
    guess = normalize_hardware_type(name.split(":")[0].split("-")[0].split("_")[0])
    return None if guess == "other" else guess


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def _number(value: object, what: str) -> float:
    # bool is an int subclass; a True latency is a bug in the source, not 1.0.
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, int | float):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            raise ValueError(f"{what} must be a number, got {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"{what} is {value!r}; a measurement must be finite")
    if x < 0:
        raise ValueError(f"{what} is negative ({value!r})")
    return x


def _opt_number(value: object, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _opt_int(value: object, what: str) -> int | None:
    if value is None or value == "":
        return None
    x = _number(value, what)
    if x != int(x):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(x)


class BatchBuilder:
    """Collects one source's runs and results, then validates them all at once.

    Parameters
    ----------
    path : str or Path
        The source (file or folder); named in every error.
    format : str
        Name of the importer.
    digest : str, optional
        Content digest; computed from the file(s) when omitted.
    """

    def __init__(self, path: str | Path, format: str, digest: str | None = None) -> None:
        self.path = str(path)
        self.format = format
        self._digest = digest
        self._runs: list[dict[str, Any]] = []
        self._results: dict[str, list[Any]] = {k: [] for k in RESULT_SCHEMA}
        self._locations: list[str] = []
        self._hardware: dict[str, dict[str, Any]] = {}
        self._models: dict[str, dict[str, Any]] = {}
        self._compat: list[dict[str, Any]] = []
        self._tests: list[dict[str, Any]] = []
        self._keys: dict[tuple[Any, ...], str] = {}
        self.skipped: list[str] = []

    # -- errors -----------------------------------------------------------
    def error(self, location: str | None, reason: str) -> IngestError:
        """An :class:`IngestError` for this source (raise it)."""
        return IngestError(self.path, location, reason)

    # -- runs -------------------------------------------------------------
    def add_run(
        self,
        *,
        key: str | None = None,
        commit: str | None = None,
        branch: str | None = None,
        machine: str | None = None,
        started_at: object = None,
        ended_at: object = None,
        environment: Mapping[str, Any] | None = None,
        simulated: bool = False,
        provenance: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> int:
        """Add a run; returns its index for :meth:`add_result`."""
        prov = provenance or ("simulated" if simulated else "measured")
        if prov not in PROVENANCES:
            raise self.error(location, f"provenance must be one of {PROVENANCES}, got {prov!r}")
        try:
            start, end = parse_timestamp(started_at), parse_timestamp(ended_at)
        except ValueError as exc:
            raise self.error(location, str(exc)) from None
        self._runs.append(
            {
                "run_index": len(self._runs),
                "run_key": None if key is None else str(key),
                "commit": None if commit in (None, "") else str(commit),
                "branch": None if branch in (None, "") else str(branch),
                "machine": None if machine in (None, "") else str(machine),
                "started_at": start,
                "ended_at": end,
                "environment": _json_text(environment) if environment else None,
                "provenance": prov,
                "metadata": _json_text(metadata) if metadata else None,
            }
        )
        return len(self._runs) - 1

    # -- results ----------------------------------------------------------
    def add_result(
        self,
        run: int,
        *,
        location: str,
        metric: str,
        value: object,
        unit: str | None,
        benchmark: str | None = None,
        model: str | None = None,
        hardware: str | None = None,
        hardware_type: str | None = None,
        batch_size: object = None,
        seq_len: object = None,
        precision: object = None,
        params: Mapping[str, Any] | str | None = None,
        direction: str | None = None,
        n_samples: object = None,
        stddev: object = None,
        min: object = None,  # shadows the builtin: the statistic's name
        median: object = None,
        p90: object = None,
        p95: object = None,
        p99: object = None,
        max: object = None,  # shadows the builtin
        samples: Sequence[object] | None = None,
    ) -> None:
        """Add one value of one metric of one case to run ``run``.

        ``location`` says where the record is in the source (``"line 7"``,
        ``"benchmarks[3]"``) and appears in any error about it.  Values are given
        in ``unit``; they are validated and converted to the canonical unit here.

        Raises
        ------
        IngestError
            If the value is missing, non-numeric, negative, NaN or infinite, the
            unit is unknown, or a required field is missing.
        """
        if not 0 <= run < len(self._runs):
            raise self.error(location, f"result refers to unknown run {run}")
        if not metric or not isinstance(metric, str):
            raise self.error(location, "missing required field 'metric'")
        name = benchmark if benchmark not in (None, "") else model
        if name in (None, ""):
            raise self.error(location, "missing required field 'benchmark' (or 'model')")
        try:
            u = parse_unit(unit)
            v = _number(value, "value")
            conv = u.convert
            stats = [
                _opt_number(s, k)
                for k, s in zip(SPREAD_COLUMNS, (stddev, min, median, p90, p95, p99, max), strict=True)
            ]
            raw = None if samples is None else [conv(_number(s, "sample")) for s in samples]
            b = _opt_int(batch_size, "batch_size")
            s_len = _opt_int(seq_len, "seq_len")
            n = _opt_int(n_samples, "n_samples")
            p = canonical_params(params)
        except UnknownUnitError as exc:
            raise self.error(location, f"{exc}; see benchlab.units for the accepted units") from None
        except (ValueError, TypeError) as exc:
            raise self.error(location, str(exc)) from None
        if b is not None and b <= 0:
            raise self.error(location, f"batch_size must be positive, got {b}")
        if direction is None:
            direction = default_direction(u)
        elif direction not in ("lower", "higher"):
            raise self.error(location, f"direction must be 'lower' or 'higher', got {direction!r}")
        if n is None and raw is not None:
            n = len(raw)
        prec = normalize_precision(precision)
        hw = None if hardware in (None, "") else str(hardware)
        hw_type = normalize_hardware_type(hardware_type)
        if hw is not None and hw_type is None:
            hw_type = guess_hardware_type(hw)
        mdl = None if model in (None, "") else str(model)
        key_parts = (str(name), mdl, hw, b, s_len, prec, p, metric)
        key = self._keys.get(key_parts)
        if key is None:
            key = self._keys[key_parts] = series_key(*key_parts)
        row = self._results
        row["run_index"].append(run)
        row["series_key"].append(key)
        row["benchmark"].append(str(name))
        row["model"].append(mdl)
        row["hardware"].append(hw)
        row["hardware_type"].append(hw_type)
        row["batch_size"].append(b)
        row["seq_len"].append(s_len)
        row["precision"].append(prec)
        row["params"].append(p)
        row["metric"].append(metric)
        row["unit"].append(u.canonical)
        row["value"].append(conv(v))
        row["direction"].append(direction)
        row["n_samples"].append(n)
        for k, s in zip(SPREAD_COLUMNS, stats, strict=True):
            row[k].append(None if s is None else conv(s))
        row["orig_value"].append(v)
        row["orig_unit"].append(None if unit is None else str(unit))
        row["samples"].append(raw)
        self._locations.append(location)

    # -- catalogue tables -----------------------------------------------------
    def add_hardware(
        self,
        name: str,
        *,
        type: str | None = None,  # shadows the builtin: the schema's word
        device_name: str | None = None,
        vendor: str | None = None,
        memory_gb: object = None,
        peak_tflops: object = None,
        bandwidth_gbs: object = None,
        metadata: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> None:
        """Describe a hardware platform (merged with what the store knows)."""
        if not name:
            raise self.error(location, "hardware entry without a name")
        try:
            entry = {
                "name": str(name),
                "type": normalize_hardware_type(type) or guess_hardware_type(str(name)),
                "device_name": device_name,
                "vendor": vendor,
                "memory_gb": _opt_number(memory_gb, "memory_gb"),
                "peak_tflops": _opt_number(peak_tflops, "peak_tflops"),
                "bandwidth_gbs": _opt_number(bandwidth_gbs, "bandwidth_gbs"),
                "metadata": _json_text(metadata) if metadata else None,
            }
        except ValueError as exc:
            raise self.error(location, str(exc)) from None
        self._hardware[entry["name"]] = entry

    def add_model(
        self,
        name: str,
        *,
        family: str | None = None,
        modality: str | None = None,
        params_m: object = None,
        metadata: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> None:
        """Describe a model: family, modality, parameter count in millions."""
        if not name:
            raise self.error(location, "model entry without a name")
        try:
            p = _opt_number(params_m, "params_m")
        except ValueError as exc:
            raise self.error(location, str(exc)) from None
        self._models[str(name)] = {
            "name": str(name),
            "family": family,
            "modality": modality,
            "params_m": p,
            "metadata": _json_text(metadata) if metadata else None,
        }

    def add_compatibility(
        self,
        run: int | None,
        *,
        model: str,
        hardware: str,
        level: str,
        error_type: str | None = None,
        error_message: str | None = None,
        suggested_fix: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> None:
        """Record how well ``model`` runs on ``hardware`` (full … unsupported)."""
        if level not in COMPAT_LEVELS:
            raise self.error(location, f"compatibility level must be one of {COMPAT_LEVELS}, got {level!r}")
        if not model or not hardware:
            raise self.error(location, "compatibility entry needs 'model' and 'hardware'")
        self._compat.append(
            {
                "run_index": run,
                "model": str(model),
                "hardware": str(hardware),
                "level": level,
                "error_type": error_type,
                "error_message": None if error_message is None else str(error_message),
                "suggested_fix": suggested_fix,
                "metadata": _json_text(metadata) if metadata else None,
            }
        )

    def add_integration_test(
        self,
        run: int | None,
        *,
        name: str,
        status: str,
        model: str | None = None,
        hardware: str | None = None,
        duration_s: object = None,
        error: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> None:
        """Record one integration test outcome."""
        if status not in TEST_STATUSES:
            raise self.error(location, f"test status must be one of {TEST_STATUSES}, got {status!r}")
        if not name:
            raise self.error(location, "integration test without a name")
        try:
            d = _opt_number(duration_s, "duration_s")
        except ValueError as exc:
            raise self.error(location, str(exc)) from None
        self._tests.append(
            {
                "run_index": run,
                "name": str(name),
                "model": model,
                "hardware": hardware,
                "status": status,
                "duration_s": d,
                "error": None if error is None else str(error),
                "metadata": _json_text(metadata) if metadata else None,
            }
        )

    # -- build ------------------------------------------------------------
    def build(self, *, allow_empty: bool = False) -> Batch:
        """Validate and return the :class:`Batch`.

        Parameters
        ----------
        allow_empty : bool
            Accept a source that turned out to hold no measurement at all (every
            record skipped for a stated reason).  It is still recorded as
            imported, so that importing it again is a no-op.

        Raises
        ------
        IngestError
            If the source holds no results, compatibility or test records at all
            and ``allow_empty`` is false.
        """
        results = pl.DataFrame(self._results, schema=RESULT_SCHEMA)
        empty = results.height == 0 and not self._compat and not self._tests
        if not allow_empty and (not self._runs or empty):
            extra = f" ({len(self.skipped)} records skipped: {self.skipped[0]})" if self.skipped else ""
            raise self.error(None, f"no results found{extra}")
        return Batch(
            path=self.path,
            format=self.format,
            digest=self._digest or file_digest(self.path),
            runs=pl.DataFrame(self._runs, schema=RUN_SCHEMA),
            results=results,
            hardware=pl.DataFrame(list(self._hardware.values()), schema=HARDWARE_SCHEMA),
            models=pl.DataFrame(list(self._models.values()), schema=MODEL_SCHEMA),
            compatibility=pl.DataFrame(self._compat, schema=COMPAT_SCHEMA),
            integration_tests=pl.DataFrame(self._tests, schema=TEST_SCHEMA),
            skipped=list(self.skipped),
        )

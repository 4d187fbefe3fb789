"""Google Benchmark JSON (``--benchmark_format=json`` / ``--benchmark_out``).

One file is one run (``context``: host, date, CPUs, caches, build type).  Entries
are grouped into *cases* by ``run_name`` (``name`` in old files without it):

* ``real_time`` and ``cpu_time`` are two metrics of the case, in the entry's
  ``time_unit`` (``ns`` when the entry has none, Google Benchmark's default);
* with ``--benchmark_repetitions`` the ``iteration`` rows are the samples; the
  ``mean``/``median``/``stddev`` aggregate rows give ``value``/``median``/
  ``stddev`` (computed from the samples when the aggregates were not written);
  ``min``/``max`` come from the samples; ``cv`` is dropped (it is stddev/mean);
* counters: ``items_per_second``/``bytes_per_second`` become ``throughput``
  metrics in ``items/s`` and ``bytes/s`` (stored as ``MB/s``); other user counters become metrics
  named after the counter in ``count`` (their unit and direction are not in the
  file);
* ``BigO``/``RMS`` rows (complexity fits over the other cases), aggregate rows
  without an ``aggregate_name`` and errored entries are skipped with a reason.

Benchmark names ``Family/8/size:64`` become ``benchmark="Family"`` with
``params={"arg1": 8, "size": 64}`` when every part after the family is a number
or ``key:value``; other names are kept whole.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any

from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import clean_text, compact, count, finite, head_text, load_json, paused_gc, text
from benchlab.units import UnknownUnitError, parse_unit

__all__ = ["IMPORTERS", "GoogleBenchmark", "split_name"]

SCHEMA_VERSIONS = (1,)
_KNOWN = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "big_o", "cpu_coefficient", "real_coefficient", "rms", "label", "error_occurred",
    "error_message", "skipped", "skip_message",
}  # fmt: skip
_RATES = {"items_per_second": ("throughput", "items/s"), "bytes_per_second": ("throughput", "bytes/s")}
_STATS = ("mean", "median", "stddev")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_CONTEXT_KEYS = ("executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches", "load_avg",
                 "library_version", "library_build_type", "host_name")  # fmt: skip


def _arg(v: str) -> Any:
    if _NUMBER.match(v):
        x = float(v)
        return int(x) if x.is_integer() and "." not in v and "e" not in v.lower() else x
    return v


def split_name(name: str) -> tuple[str, dict[str, Any] | None]:
    """``"BM_Sort/8/threads:2"`` → ``("BM_Sort", {"arg1": 8, "threads": 2})``.

    A name with any other kind of part (``BM_x/real_time``) is kept whole.
    """
    parts = name.split("/")
    if len(parts) < 2 or not parts[0]:
        return name, None
    params: dict[str, Any] = {}
    for i, part in enumerate(parts[1:], 1):
        if _NUMBER.match(part):
            params[f"arg{i}"] = _arg(part)
        elif ":" in part and part.split(":", 1)[0] and part.split(":", 1)[1]:
            k, v = part.split(":", 1)
            if k in params:
                return name, None
            params[k] = _arg(v)
        else:
            return name, None
    return parts[0], params


class GoogleBenchmark:
    """A Google Benchmark JSON output file."""

    name = "google-benchmark"
    description = "Google Benchmark JSON (--benchmark_format=json: context + benchmarks[])"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 4096)
        return '"context"' in h and any(k in h for k in ('"num_cpus"', '"mhz_per_cpu"', '"library_build_type"'))

    @paused_gc
    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict):
            raise b.error(None, f"a Google Benchmark file is a JSON object, got {type(doc).__name__}")
        ctx = doc.get("context")
        if not isinstance(ctx, dict):
            raise b.error("context", "missing or not an object")
        entries = doc.get("benchmarks")
        if not isinstance(entries, list):
            raise b.error("benchmarks", "missing or not a list")
        version = ctx.get("json_schema_version")
        if version is not None and (type(version) is not int or version not in SCHEMA_VERSIONS):
            raise b.error("context.json_schema_version", f"unsupported schema version {version!r} (benchlab reads 1)")
        host = clean_text(ctx.get("host_name"))
        cols = ResultColumns(b)
        env = compact({k: ctx[k] for k in _CONTEXT_KEYS if k in ctx and not isinstance(ctx[k], dict)})
        date = ctx.get("date")
        run = cols.add_run(
            key=text(date),
            machine=host,
            started_at=date if isinstance(date, str) else None,
            environment=env or None,
            metadata=compact({"tool": "Google Benchmark", "json_schema_version": version}),
            location="context.date",
        )
        if host:
            b.add_hardware(host, type="cpu", metadata=compact({"num_cpus": ctx.get("num_cpus"),
                           "mhz_per_cpu": ctx.get("mhz_per_cpu")}), location="context")  # fmt: skip
        # run name -> [iteration rows, {aggregate name: row}]; insertion order = file order
        cases: dict[str, list[Any]] = {}
        for i, e in enumerate(entries):
            loc = f"benchmarks[{i}]"
            if not isinstance(e, dict):
                raise b.error(loc, f"must be an object, got {type(e).__name__}")
            name = text(e.get("name"))
            if name is None:
                raise b.error(f"{loc}.name", "missing or not a string")
            if e.get("error_occurred") is True or e.get("skipped") in ("error", "user", True):
                why = text(e.get("error_message")) or text(e.get("skip_message")) or "skipped"
                b.skipped.append(f"{loc} ({name}): {why}")
                continue
            key = text(e.get("run_name")) or name
            run_type = e.get("run_type")
            agg = text(e.get("aggregate_name"))
            if run_type == "aggregate":
                if agg in ("BigO", "RMS"):
                    b.skipped.append(f"{loc} ({name}): complexity fit {agg}, derived from the other cases")
                    continue
                if agg is None:
                    b.skipped.append(f"{loc} ({name}): aggregate without 'aggregate_name' (which statistic is unknown)")
                    continue
                if agg not in _STATS:
                    b.skipped.append(f"{loc} ({name}): aggregate {agg!r} (derivable from the samples)")
                    continue
                if text(e.get("run_name")) is None and name.endswith(f"_{agg}"):
                    key = name[: -len(agg) - 1]
                c = cases.get(key)
                if c is None:
                    c = cases[key] = [[], {}]
                c[1][agg] = (i, e)
            else:
                c = cases.get(key)
                if c is None:
                    c = cases[key] = [[], {}]
                c[0].append((i, e))
        units: dict[Any, float] = {}
        for key, (its, aggs) in cases.items():
            if len(its) == 1 and not aggs:
                self._single(b, cols, run, host, key, its[0], units)
            else:
                self._case(b, cols, run, host, key, its, aggs)
        return cols.finish()

    def _single(self, b: BatchBuilder, cols: ResultColumns, run: int, host: str | None, key: str,
                item: tuple[int, dict[str, Any]], units: dict[Any, float]) -> None:  # fmt: skip
        """The common case: one row, no repetitions — its values are the results."""
        i, e = item
        loc = f"benchmarks[{i}]"
        case = self._case_id(cols, host, key, e, loc)
        unit = e.get("time_unit", "ns")
        try:
            known = unit in units
        except TypeError:
            known = False
        if not known:
            self._factor(b, i, unit)
            units[unit] = 1.0
        for metric in ("real_time", "cpu_time"):
            if metric in e:
                cols.add(run, case, metric, e[metric], unit, f"{loc}.{metric}")
        for metric in [k for k in e if k not in _KNOWN]:  # file order: deterministic output
            m_name, m_unit = _RATES.get(metric, (metric, "count"))
            cols.add(run, case, m_name, e[metric], m_unit, f"{loc}.{metric}")

    @staticmethod
    def _case_id(cols: ResultColumns, host: str | None, key: str, first: dict[str, Any], loc: str) -> int:
        bench, params = split_name(key)
        threads = count(first.get("threads"))
        if threads and threads > 1 and not (params and "threads" in params):
            params = {**(params or {}), "threads": threads}
        return cols.case(benchmark=bench, hardware=host, hardware_type="cpu" if host else None, params=params,
                         location=loc)  # fmt: skip

    def _case(self, b: BatchBuilder, cols: ResultColumns, run: int, host: str | None, key: str,
              iterations: list[tuple[int, dict[str, Any]]], aggregates: dict[str, tuple[int, dict[str, Any]]]) -> None:  # fmt: skip
        """Repetitions and/or aggregates: samples and spread from the rows."""
        first_i, first = iterations[0] if iterations else next(iter(aggregates.values()))
        loc = f"benchmarks[{first_i}]"
        case = self._case_id(cols, host, key, first, loc)
        unit = first.get("time_unit", "ns")
        base = self._factor(b, first_i, unit)
        metrics: list[str] = ["real_time", "cpu_time"]
        for _, e in (*iterations, *aggregates.values()):
            for k in e:
                if k not in _KNOWN and k not in metrics:
                    metrics.append(k)
        for metric in metrics:
            is_time = metric in ("real_time", "cpu_time")
            samples: list[float] = []
            for i, e in iterations:
                if metric not in e:
                    continue
                v = e[metric]
                x = finite(v)
                if x is None:
                    raise b.error(f"benchmarks[{i}].{metric}", _bad(v))
                if is_time:
                    x *= self._rescale(b, i, e, base)
                samples.append(x)
            aggs: dict[str, Any] = {}
            for agg, (i, e) in aggregates.items():
                if metric in e:
                    x = finite(e[metric])
                    if x is None:
                        raise b.error(f"benchmarks[{i}].{metric}", _bad(e[metric]))
                    aggs[agg] = x * self._rescale(b, i, e, base) if is_time else x
            if not samples and not aggs:
                continue
            value = aggs.get("mean")
            if value is None:
                value = math.fsum(samples) / len(samples) if samples else aggs.get("median")
            if value is None:
                b.skipped.append(f"{loc} ({key}).{metric}: only a stddev aggregate, no value")
                continue
            stats: dict[str, Any] = {"stddev": aggs.get("stddev"), "median": aggs.get("median")}
            if len(samples) > 1:
                if stats["stddev"] is None:
                    stats["stddev"] = statistics.stdev(samples)
                if stats["median"] is None:
                    stats["median"] = statistics.median(samples)
            if len(samples) > 1:
                stats["min"], stats["max"] = min(samples), max(samples)
            reps = count(first.get("repetitions"))
            if is_time:
                m_name, m_unit = metric, unit
            elif metric in _RATES:
                m_name, m_unit = _RATES[metric]
            else:
                m_name, m_unit = metric, "count"
            cols.add(
                run,
                case,
                m_name,
                value,
                str(m_unit),
                f"{loc}.{metric}",
                stats=stats,
                samples=samples if len(samples) > 1 else None,
                n_samples=None if len(samples) > 1 else (reps if aggs and reps else None),
            )

    @staticmethod
    def _rescale(b: BatchBuilder, i: int, e: dict[str, Any], base: float) -> float:
        """Factor from entry ``i``'s time unit to its case's first unit (they usually agree)."""
        return GoogleBenchmark._factor(b, i, e.get("time_unit", "ns")) / base

    @staticmethod
    def _factor(b: BatchBuilder, i: int, unit: object) -> float:
        try:
            u = parse_unit(str(unit))
        except UnknownUnitError:
            u = None
        if u is None or u.dimension != "time":
            raise b.error(f"benchmarks[{i}].time_unit", f"unknown time unit {unit!r}")
        return u.factor


def _bad(v: object) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v!r} is not a finite non-negative number"
    return f"must be a number, got {v!r}"


IMPORTERS = [GoogleBenchmark()]

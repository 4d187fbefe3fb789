"""pytest-benchmark JSON: ``--benchmark-json`` output and ``.benchmarks`` storage files.

One file is one pytest session, hence one run: ``commit_info`` gives the
commit, branch and dirty flag, ``machine_info`` the host and CPU, ``datetime``
the start.  Each benchmark becomes one ``time`` result in seconds per iteration:
``value`` is the mean, with stddev, min, median, max, ``n_samples`` = rounds and
the raw per-round timings (``stats.data``) as samples when the file has them.

Decisions (also in ``docs/formats.md``):

* the commit is ``commit_info.id``; the commit hash in a storage file name
  (``NNNN_<commit>_<date>.json``) is recorded in the run metadata only, since the
  two can disagree and the file content is what the session wrote;
* a timezone-naive ``datetime`` is taken as UTC (pytest-benchmark writes UTC) and
  flagged in the run metadata;
* the series' hardware is the CPU model (``machine_info.cpu.brand_raw``), falling
  back to the host name: CI runners get a fresh host name every run, the CPU model
  stays;
* a parameterised test is ``benchmark`` = its ``fullname`` without the ``[…]``
  id plus ``params``; without ``params`` the full name is kept.

Two paths build the same :class:`Batch`.  ``_read_fast`` lets PyArrow parse only
the fields above (see ``_arrowjson``), checks them column-wise with Polars and
builds the results with ``bulk_results``: two to three times faster on a large
session.  It declines anything unusual, and ``_read_exact`` then reads the file
record by record; that path is the reference, and the one every error message
comes from.  ``tests/ingest/test_ingest_pytest_benchmark.py`` checks that both
agree on random sessions.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from benchlab.errors import IngestError
from benchlab.ingest._arrowjson import OBJECT, arrow_document
from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import ResultColumns, bulk_results, canonical_params_many
from benchlab.ingest._json import clean_text, compact, count, head_text, load_json, paused_gc, text

__all__ = ["IMPORTERS", "PytestBenchmark"]

SUPPORTED_MAJOR = (2, 3, 4, 5)
_STORAGE_NAME = re.compile(r"^(\d{4})_([0-9a-fA-F]{4,40}|unversioned)_(\d{8}_\d{6})(_uncommitted-changes)?$")
_ENV_KEYS = ("python_implementation", "python_implementation_version", "python_version", "python_compiler",
             "system", "release", "machine", "processor")  # fmt: skip
_CPU_KEYS = ("brand_raw", "arch", "bits", "count", "vendor_id_raw", "hz_advertised_friendly", "l2_cache_size",
             "l3_cache_size")  # fmt: skip
# What the fast path declares; everything else in the file is skipped by Arrow's parser.
_NUM = pa.float64()
_STATS = pa.struct([(k, _NUM) for k in ("mean", "stddev", "min", "median", "max")]
                   + [("rounds", pa.int64()), ("data", pa.list_(_NUM))])  # fmt: skip
_BENCH = pa.struct([("fullname", pa.string()), ("name", pa.string()), ("params", OBJECT), ("extra_info", OBJECT),
                    ("stats", _STATS)])  # fmt: skip
_SCHEMA = pa.schema([("benchmarks", pa.list_(_BENCH)), ("machine_info", OBJECT), ("commit_info", OBJECT),
                     ("version", pa.string()), ("datetime", pa.string())])  # fmt: skip
_OBJECTS = ("machine_info", "commit_info", "params", "extra_info")  # free-form: parsed from the text by Python


class PytestBenchmark:
    """A pytest-benchmark JSON file (one session)."""

    name = "pytest-benchmark"
    description = "pytest-benchmark JSON (--benchmark-json / .benchmarks/<machine>/NNNN_*.json)"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 4096)
        if '"machine_info"' in h and ('"commit_info"' in h or '"benchmarks"' in h):
            return True
        return '"benchmarks"' in h and '"stats"' in h and ('"fullname"' in h or '"options"' in h)

    @paused_gc
    def read(self, path: Path) -> Batch:
        fast = self._read_fast(path)
        return fast if fast is not None else self._read_exact(path)

    def _session(
        self, path: Path, doc: dict[str, Any], digest: str | None = None
    ) -> tuple[BatchBuilder, ResultColumns, int, str | None, dict]:
        """The run, hardware and metadata of a session (everything but the benchmarks)."""
        b = BatchBuilder(path, self.name, digest=digest)
        version = doc.get("version")
        major = _major(version)
        if version is not None and major not in SUPPORTED_MAJOR:
            raise b.error("version", f"unsupported pytest-benchmark version {version!r} (benchlab reads 2.x–5.x)")
        machine_info = doc.get("machine_info") if isinstance(doc.get("machine_info"), dict) else {}
        commit_info = doc.get("commit_info") if isinstance(doc.get("commit_info"), dict) else {}
        cpu = machine_info.get("cpu") if isinstance(machine_info.get("cpu"), dict) else {}
        node = clean_text(machine_info.get("node"))
        brand = clean_text(cpu.get("brand_raw"))
        hardware = brand or node or (path.parent.name if _STORAGE_NAME.match(path.stem) else None)
        meta: dict[str, Any] = {"tool": "pytest-benchmark", "pytest_benchmark_version": text(version)}
        stamp = doc.get("datetime")
        if isinstance(stamp, str) and re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+$", stamp.strip()):
            meta["datetime_naive"] = "no timezone in the file; taken as UTC"
        commit = clean_text(commit_info.get("id"))
        m = _STORAGE_NAME.match(path.stem)
        if m:
            meta["storage_number"] = int(m.group(1))
            if m.group(2) != "unversioned" and (commit is None or not commit.startswith(m.group(2))):
                meta["filename_commit"] = m.group(2)
                meta["filename_commit_note"] = "differs from commit_info.id, which is used"
        meta.update(
            compact(
                {
                    "dirty": commit_info.get("dirty") if isinstance(commit_info.get("dirty"), bool) else None,
                    "project": clean_text(commit_info.get("project")),
                    "commit_time": clean_text(commit_info.get("time")),
                }
            )
        )
        env = compact({k: clean_text(machine_info.get(k)) for k in _ENV_KEYS})
        if cpu:
            env["cpu"] = compact({k: cpu.get(k) for k in _CPU_KEYS if isinstance(cpu.get(k), str | int | float)})
        cols = ResultColumns(b)
        if hardware:
            b.add_hardware(
                hardware,
                type="cpu",
                device_name=brand or clean_text(machine_info.get("processor")),
                metadata=compact(
                    {
                        "arch": clean_text(cpu.get("arch_string_raw")) or clean_text(machine_info.get("machine")),
                        "cores": cpu.get("count") if count(cpu.get("count")) is not None else None,
                    }
                ),  # fmt: skip
                location="machine_info",
            )
        run = cols.add_run(
            key=text(stamp),
            commit=commit,
            branch=clean_text(commit_info.get("branch")),
            machine=node,
            started_at=stamp if isinstance(stamp, str | int | float) and not isinstance(stamp, bool) else None,
            environment=env or None,
            metadata=compact(meta),
            location="datetime",
        )
        return b, cols, run, hardware, meta

    def _read_exact(self, path: Path) -> Batch:
        """The reference path: one record at a time, every error named."""
        doc = load_json(path)
        if not isinstance(doc, dict):
            b = BatchBuilder(path, self.name)
            raise b.error(None, f"a pytest-benchmark file is a JSON object, got {type(doc).__name__}")
        benches = doc.get("benchmarks")
        if not isinstance(benches, list):
            raise BatchBuilder(path, self.name).error("benchmarks", "missing or not a list")
        b, cols, run, hardware, meta = self._session(path, doc)
        extra: dict[str, Any] = {}
        for i, bench in enumerate(benches):
            loc = f"benchmarks[{i}]"
            if not isinstance(bench, dict):
                raise b.error(loc, f"must be an object, got {type(bench).__name__}")
            name = text(bench.get("fullname")) or text(bench.get("name"))
            if name is None:
                raise b.error(loc, "missing 'fullname' and 'name'")
            params = bench.get("params")
            if params is not None and not isinstance(params, dict):
                raise b.error(f"{loc}.params", f"must be an object, got {type(params).__name__}")
            if params and name.endswith("]") and "[" in name:
                name = name[: name.index("[")]
            stats = bench.get("stats")
            if stats is None:
                b.skipped.append(f"{loc} ({name}): no stats (benchmark did not run)")
                continue
            if not isinstance(stats, dict):
                raise b.error(f"{loc}.stats", f"must be an object, got {type(stats).__name__}")
            if "mean" not in stats:
                raise b.error(f"{loc}.stats", "missing 'mean'")
            data = stats.get("data")
            if data is not None and not isinstance(data, list):
                raise b.error(f"{loc}.stats.data", "must be a list of timings")
            info = bench.get("extra_info")
            if isinstance(info, dict) and info:
                extra[str(bench.get("fullname") or name)] = info
            case = cols.case(benchmark=name, hardware=hardware, hardware_type="cpu" if hardware else None,
                             params=params or None, location=loc)  # fmt: skip
            cols.add(
                run,
                case,
                "time",
                stats["mean"],
                "s",
                f"{loc}.stats.mean",
                stats={
                    "stddev": stats.get("stddev"),
                    "min": stats.get("min"),
                    "median": stats.get("median"),
                    "max": stats.get("max"),
                },  # fmt: skip
                samples=data,
                n_samples=stats.get("rounds") if data is None else None,
            )
        if extra:
            cols.run_metadata[run] = {**compact(meta), "extra_info": extra}
        return cols.finish()

    def _read_fast(self, path: Path) -> Batch | None:
        """The same Batch as :meth:`_read_exact`, column-wise from Arrow; ``None`` if not sure.

        Declines (and the exact path then decides, errors included) whenever
        anything is unusual: see ``_arrowjson`` for the parse, and every
        ``return None`` below for the records.
        """
        parsed = arrow_document(path, _SCHEMA, _OBJECTS)
        if parsed is None:
            return None
        top = parsed.fields
        benches = top["benchmarks"]
        if not benches.is_valid:
            return None
        arr: pa.StructArray = benches.values
        n = len(arr)
        if n == 0 or arr.null_count:
            return None
        stats = arr.field("stats")
        has_params, has_extra = arr.field("params").is_valid(), arr.field("extra_info").is_valid()
        # Free-form objects come from the text, parsed by Python (see _arrowjson).
        wanted = {"machine_info": int(top["machine_info"].is_valid), "commit_info": int(top["commit_info"].is_valid),
                  "params": pc.sum(has_params).as_py() or 0,
                  "extra_info": pc.sum(has_extra).as_py() or 0}  # fmt: skip
        objects = parsed.objects(wanted)
        if objects is None:
            return None
        head: dict[str, Any] = {"version": top["version"].as_py(), "datetime": top["datetime"].as_py()}
        head.update({k: objects[k][0] for k in ("machine_info", "commit_info") if objects[k]})
        try:
            b, _, run, hardware, meta = self._session(path, head, parsed.digest)
        except IngestError:
            return None
        df = pl.DataFrame(
            {
                "fullname": pl.Series(arr.field("fullname")),
                "name": pl.Series(arr.field("name")),
                "has_params": pl.Series(has_params),
                "has_extra": pl.Series(has_extra),
                "has_stats": pl.Series(stats.is_valid()),
                **{k: pl.Series(stats.field(k)) for k in ("mean", "stddev", "min", "median", "max", "rounds")},
                "data": pl.Series(stats.field("data")),
            }
        )
        # Names: text(fullname) or text(name); none at all is an error for the exact path.
        df = df.with_columns(
            name=pl.when(pl.col("fullname").str.len_bytes() > 0)
            .then(pl.col("fullname"))
            .when(pl.col("name").str.len_bytes() > 0)
            .then(pl.col("name"))
        )
        if df.get_column("name").null_count():
            return None
        params_text: list[str | None] = [None] * n
        nonempty = [False] * n
        rows = df.get_column("has_params").arg_true().to_list()
        for i, t in zip(rows, canonical_params_many(objects["params"]), strict=True):
            params_text[i] = t
            nonempty[i] = t is not None
        name = pl.col("name")
        df = df.with_columns(
            params=pl.Series(params_text, dtype=pl.Utf8),
            benchmark=pl.when(
                pl.Series(nonempty, dtype=pl.Boolean) & name.str.ends_with("]") & name.str.contains("[", literal=True)
            )
            .then(name.str.split("[").list.first())
            .otherwise(name),
        )
        missing = df.filter(~pl.col("has_stats"))
        for i, bench in zip(
            df.get_column("has_stats").not_().arg_true().to_list(),
            missing.get_column("benchmark").to_list(),
            strict=True,
        ):
            b.skipped.append(f"benchmarks[{i}] ({bench}): no stats (benchmark did not run)")
        extra = self._extra_info(objects["extra_info"], df)
        kept = df.filter(pl.col("has_stats"))
        if kept.height == 0:
            return None
        if not self._valid_numbers(kept):
            return None
        has_data = kept.get_column("data").is_not_null()
        cases = kept.select(
            "benchmark",
            model=pl.lit(None, pl.Utf8),
            hardware=pl.lit(hardware, pl.Utf8),
            hardware_type=pl.lit("cpu" if hardware else None, pl.Utf8),
            batch_size=pl.lit(None, pl.Int64),
            seq_len=pl.lit(None, pl.Int64),
            precision=pl.lit(None, pl.Utf8),
            params="params",
        )
        results = bulk_results(
            cases,
            run_index=run,
            metric="time",
            unit="s",
            value=kept.get_column("mean"),
            stats={k: kept.get_column(k) for k in ("stddev", "min", "median", "max")},
            n_samples=pl.select(
                pl.when(has_data).then(kept.get_column("data").list.len()).otherwise(kept.get_column("rounds"))
            ).to_series(),
            samples=kept.get_column("data"),
        )
        batch = b.build(allow_empty=True)
        if extra:
            texts = json.dumps({**compact(meta), "extra_info": extra}, sort_keys=True, default=str)
            batch = dataclasses.replace(batch, runs=batch.runs.with_columns(metadata=pl.lit(texts, pl.Utf8)))
        return dataclasses.replace(batch, results=results)

    @staticmethod
    def _valid_numbers(kept: pl.DataFrame) -> bool:
        """Whether every number the exact path would check passes (else it must name the culprit)."""

        def ok(c: str) -> pl.Expr:
            return pl.col(c).is_null() | (pl.col(c).is_finite() & (pl.col(c) >= 0))

        data = kept.get_column("data")
        flat = data.explode().drop_nulls() if data.null_count() < len(data) else pl.Series([], dtype=pl.Float64)
        # A null inside a sample list is a non-number; explode() turns an empty list into a null too.
        inner_nulls = int(data.list.eval(pl.element().is_null().sum()).explode().fill_null(0).sum() or 0)
        row = kept.select(
            mean=pl.col("mean").is_not_null().all() & ok("mean").all(),
            spread=pl.all_horizontal(ok(c).all() for c in ("stddev", "min", "median", "max")),
            rounds=(pl.col("data").is_not_null() | pl.col("rounds").is_null() | (pl.col("rounds") >= 0)).all(),
        ).row(0)
        return all(row) and inner_nulls == 0 and bool((flat.is_finite() & (flat >= 0)).all())

    @staticmethod
    def _extra_info(objs: list[dict], df: pl.DataFrame) -> dict[str, Any]:
        """``extra_info`` of the benchmarks with stats, keyed as the exact path keys them."""
        extra: dict[str, Any] = {}
        if not any(objs):
            return extra
        rows = df.get_column("has_extra").arg_true().to_list()
        has_stats = df.get_column("has_stats").to_list()
        fullname = df.get_column("fullname").to_list()
        bench = df.get_column("benchmark").to_list()
        for i, info in zip(rows, objs, strict=True):
            if info and has_stats[i]:
                extra[str(fullname[i] or bench[i])] = info
        return extra


def _major(version: object) -> int | None:
    if not isinstance(version, str):
        return None
    m = re.match(r"^\s*(\d+)\.", version)
    return int(m.group(1)) if m else None


IMPORTERS = [PytestBenchmark()]

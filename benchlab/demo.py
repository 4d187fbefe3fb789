"""The deterministic demo store: simulated ML-inference benchmark history.

Notebooks, docs and tests need a realistic store without shipping megabytes of
measurements.  This module turns the small hand-written catalogue in the
repository's ``data/`` folder (models, hardware, commits, compatibility rules,
injected changes; see ``data/README.md``) into ~270k results and writes them to
a DuckDB store in a few seconds.

Every run it writes has ``provenance="simulated"`` and says so in its metadata,
so a demo number can never be mistaken for a measurement.

How the numbers are made (hand-written because no library simulates benchmark
suites; each step is a line or two of numpy):

* **Roofline latency** per (model, hardware, batch size, precision)::

      latency = max(flops / (peak[precision] * eff(batch)),
                    bytes / (bandwidth * memory_efficiency)) + overhead

  with ``eff(b) = compute_efficiency * b / (b + half_batch)`` so throughput
  rises with batch size and then saturates, and ``bytes`` = weights (params x
  bytes per precision) + activations (or the KV cache of decoders) x batch.
  A stable per-(model, hardware) "kernel quality" factor keeps the roofline
  from being perfectly regular.
* **Throughput** is measured separately (``batch * 1000 / latency`` times a
  per-hardware pipelining factor), so it can regress on its own (data loading,
  host copies) while latency-driven changes move both.
* **Memory** = runtime overhead + weights + activations x batch; cases that do
  not fit the device are dropped and the pair's compatibility becomes
  ``limited`` (or ``unsupported`` when nothing fits).
* **Noise** is multiplicative log-normal: a per-run machine factor, a per-result
  jitter and per-sample noise, heteroscedastic by hardware (browsers noisiest),
  plus rare slow samples (heavy tail).  Values are the median of the samples;
  samples and spread statistics are stored too.
* **Changes** from ``data/injected_changes.csv`` multiply a series from the
  commit where they start (on that commit and its descendants); ``outlier``
  rows multiply one run only.  :func:`injected_changes` returns the ground truth
  per series (with ``series_key``), including the throughput shift that a
  latency change implies.

Determinism: one numpy ``Generator`` per hardware platform seeded from
``suite.json``, fixed ordering everywhere, and samples rounded to six
significant digits so that last-bit differences between CPU math libraries
cannot leak into the store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from benchlab.errors import BenchlabError, IngestError
from benchlab.frame import SPREAD_COLUMNS, series_key
from benchlab.ingest._batch import RESULT_SCHEMA, Batch, BatchBuilder
from benchlab.store import Store
from benchlab.store import open as open_store
from benchlab.units import parse_unit

__all__ = [
    "GENERATOR_VERSION",
    "FORMAT",
    "DemoSpec",
    "demo_path",
    "spec_dir",
    "load_spec",
    "generate",
    "injected_changes",
    "build_demo",
    "ensure_demo",
    "demo_store",
]

#: Bump whenever the generator's output changes; stores built by another version are rebuilt.
GENERATOR_VERSION = 1
#: ``format`` of the demo source in the store (what ``benchlab demo`` looks for).
FORMAT = "benchlab-demo"
SOURCE = f"benchlab-demo/v{GENERATOR_VERSION} (simulated from data/)"

_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0}
_PEAK_COLUMN = {"fp32": "tflops_fp32", "fp16": "tflops_fp16", "bf16": "tflops_bf16", "int8": "tops_int8"}
_INT8_EFFICIENCY = 0.7  # dynamic quantization never reaches the int8 peak (de/quantize, scales)
_KINDS = ("regression", "improvement", "outlier")
_METRICS = ("latency", "throughput", "memory")
_LEVELS = ("full", "limited", "experimental", "unsupported")
_SIG_DIGITS = 6


# -- locations -------------------------------------------------------------------
def demo_path() -> Path:
    """Where the demo store lives by default.

    ``$BENCHLAB_DEMO_DB`` if set, else ``demo.duckdb`` in the per-user benchlab
    folder, next to the per-user store of :func:`benchlab.store.default_path`
    (``$XDG_DATA_HOME/benchlab`` or ``~/.local/share/benchlab``).
    """
    env = os.environ.get("BENCHLAB_DEMO_DB")
    if env:
        return Path(env).expanduser()
    # Not default_path().parent: $BENCHLAB_DB may point into a project folder,
    # and the demo belongs to the user, not to that project.
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "benchlab" / "demo.duckdb"


def spec_dir() -> Path:
    """The folder holding the demo specification (``data/``).

    A copy packaged inside benchlab (``benchlab/_demo_data``, for wheels) wins;
    otherwise the repository's ``data/`` folder beside the package.
    """
    packaged = Path(__file__).resolve().parent / "_demo_data"
    if (packaged / "suite.json").is_file():
        return packaged
    repo = Path(__file__).resolve().parents[1] / "data"
    if (repo / "suite.json").is_file():
        return repo
    raise BenchlabError(
        f"the demo specification is missing (looked in {packaged} and {repo}); "
        "reinstall benchlab or run from a source checkout"
    )


# -- the specification -------------------------------------------------------------
@dataclass(frozen=True)
class DemoSpec:
    """The parsed contents of ``data/`` (see ``data/README.md``).

    Attributes
    ----------
    directory : Path
        Where it was read from.
    suite : dict
        ``suite.json``: seed, batch sizes and generator knobs.
    models, hardware, commits, compatibility, changes : polars.DataFrame
        The CSV files, validated; ``commits`` gains ``index`` (position in the
        file) and ``changes``/``compatibility`` have full commit hashes.
    digest : str
        SHA-256 over the generator version and every spec file (line endings
        normalized); the demo store records it to know when to rebuild.
    """

    directory: Path
    suite: dict[str, Any]
    models: pl.DataFrame
    hardware: pl.DataFrame
    commits: pl.DataFrame
    compatibility: pl.DataFrame
    changes: pl.DataFrame
    digest: str


_FILES = ("suite.json", "models.csv", "hardware.csv", "commits.csv", "compatibility.csv", "injected_changes.csv")
_REQUIRED = {
    "models.csv": ("name", "family", "modality", "task", "params_m", "gflops_per_item", "act_mb_per_item",
                   "seq_len", "layers", "throughput_unit"),
    "hardware.csv": ("name", "type", "device_name", "vendor", "machine", "memory_gb", "bandwidth_gbs",
                     *_PEAK_COLUMN.values(), "compute_efficiency", "memory_efficiency", "half_batch",
                     "overhead_ms", "runtime_mb", "noise", "n_samples", "pipelining", "max_batch",
                     "run_offset_min", "runtime", "os"),
    "commits.csv": ("sha", "parent", "branch", "date", "author", "message"),
    "compatibility.csv": ("model", "hardware", "level", "error_type", "error_message", "suggested_fix",
                          "precisions", "max_batch", "since"),
    "injected_changes.csv": ("change_id", "kind", "metric", "model", "hardware", "batch_size", "precision",
                             "commit", "size", "note"),
}  # fmt: skip
_SUITE_KEYS = ("seed", "batch_sizes", "memory_samples", "memory_noise", "oom_headroom", "branch_hardware",
               "tail_probability", "experimental_slowdown", "experimental_noise", "affinity_spread",
               "integration_test_models")  # fmt: skip


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_csv(path, infer_schema=False, null_values=[""])
    except (OSError, pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise IngestError(path, None, f"unreadable demo spec: {str(exc).splitlines()[0]}") from None
    missing = [c for c in _REQUIRED[path.name] if c not in df.columns]
    if missing:
        raise IngestError(path, "header", f"missing column(s) {missing}")
    return df


def _numbers(df: pl.DataFrame, path: Path, cols: tuple[str, ...], *, optional: bool = False) -> pl.DataFrame:
    for c in cols:
        num = pl.col(c).cast(pl.Float64, strict=False)
        bad = df.with_row_index("__i").filter(
            (pl.col(c).is_not_null() & num.is_null()) | (num < 0) | (pl.col(c).is_null() & (not optional))
        )
        if bad.height:
            row = bad.row(0, named=True)
            raise IngestError(path, f"line {row['__i'] + 2}", f"{c} must be a non-negative number, got {row[c]!r}")
        df = df.with_columns(num.alias(c))
    return df


def load_spec(directory: str | os.PathLike[str] | None = None) -> DemoSpec:
    """Read and validate the demo specification.

    Parameters
    ----------
    directory : path-like, optional
        A folder laid out like ``data/``; defaults to :func:`spec_dir`.

    Raises
    ------
    IngestError
        Naming the file, line and reason of the first problem found.
    """
    d = Path(directory) if directory is not None else spec_dir()
    h = hashlib.sha256(f"benchlab-demo generator {GENERATOR_VERSION}\n".encode())
    for name in _FILES:
        p = d / name
        if not p.is_file():
            raise IngestError(p, None, "demo spec file is missing")
        h.update(name.encode() + b"\0" + p.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    try:
        suite = json.loads((d / "suite.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(d / "suite.json", f"line {exc.lineno}", f"malformed JSON: {exc.msg}") from None
    missing = [k for k in _SUITE_KEYS if k not in suite]
    if missing:
        raise IngestError(d / "suite.json", None, f"missing key(s) {missing}")

    p = d / "models.csv"
    models = _numbers(_read_csv(p), p, ("params_m", "gflops_per_item", "act_mb_per_item", "seq_len", "layers"))
    models = models.with_columns(pl.col("seq_len", "layers").cast(pl.Int64))
    _unique(models, "name", p)

    p = d / "hardware.csv"
    hardware = _read_csv(p)
    hardware = _numbers(hardware, p, tuple(_PEAK_COLUMN.values()), optional=True)
    hardware = _numbers(hardware, p, ("memory_gb", "bandwidth_gbs", "compute_efficiency", "memory_efficiency",
                                      "half_batch", "overhead_ms", "runtime_mb", "noise", "n_samples",
                                      "pipelining", "max_batch", "run_offset_min"))  # fmt: skip
    hardware = hardware.with_columns(pl.col("n_samples", "max_batch").cast(pl.Int64))
    _unique(hardware, "name", p)
    no_precision = hardware.filter(pl.all_horizontal(pl.col(list(_PEAK_COLUMN.values())).is_null()))
    if no_precision.height:
        raise IngestError(p, None, f"hardware {no_precision['name'][0]!r} has no peak for any precision")

    p = d / "commits.csv"
    commits = _read_csv(p).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    _unique(commits, "sha", p)
    seen: set[str] = set()
    for i, (sha, parent, branch, date) in enumerate(commits.select("sha", "parent", "branch", "date").iter_rows()):
        if parent is not None and parent not in seen:
            raise IngestError(p, f"line {i + 2}", f"parent {parent!r} of {sha} is not an earlier commit")
        if branch is None:
            raise IngestError(p, f"line {i + 2}", "branch is missing")
        try:
            dt.datetime.fromisoformat(str(date).replace("Z", "+00:00"))
        except ValueError:
            raise IngestError(p, f"line {i + 2}", f"date {date!r} is not ISO 8601") from None
        seen.add(sha)
    commits = commits.with_columns(
        pl.col("date").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", time_unit="us")
    )
    if "main" not in commits["branch"].to_list():
        raise IngestError(p, None, "no commit on branch 'main'")

    p = d / "compatibility.csv"
    compat = _numbers(_read_csv(p), p, ("max_batch",), optional=True).with_columns(pl.col("max_batch").cast(pl.Int64))
    _check_refs(compat, p, models, hardware)
    bad = compat.with_row_index("__i").filter(~pl.col("level").is_in(_LEVELS))
    if bad.height:
        raise IngestError(p, f"line {bad['__i'][0] + 2}", f"level must be one of {_LEVELS}, got {bad['level'][0]!r}")
    compat = compat.with_columns(since=_resolve(compat, "since", p, commits))
    if compat.select(pl.struct("model", "hardware").is_duplicated().any()).item():
        raise IngestError(p, None, "a (model, hardware) pair is listed twice")

    p = d / "injected_changes.csv"
    changes = _numbers(_read_csv(p), p, ())
    _unique(changes, "change_id", p)
    _check_refs(changes, p, models, hardware)
    changes = changes.with_columns(
        size=pl.col("size").cast(pl.Float64, strict=False), commit=_resolve(changes, "commit", p, commits)
    )
    for i, row in enumerate(changes.iter_rows(named=True)):
        loc = f"line {i + 2}"
        if row["kind"] not in _KINDS:
            raise IngestError(p, loc, f"kind must be one of {_KINDS}, got {row['kind']!r}")
        if row["metric"] not in _METRICS:
            raise IngestError(p, loc, f"metric must be one of {_METRICS}, got {row['metric']!r}")
        s = row["size"]
        if s is None or not math.isfinite(s) or s <= -0.95 or s == 0:
            raise IngestError(p, loc, f"size must be a non-zero relative change above -0.95, got {row['size']!r}")
        worse = s > 0 if row["metric"] != "throughput" else s < 0
        if row["kind"] != "outlier" and worse != (row["kind"] == "regression"):
            raise IngestError(p, loc, f"a {row['kind']} of {row['metric']} cannot have size {s:+g}")
        if row["commit"] is None:
            raise IngestError(p, loc, "commit is missing")
    return DemoSpec(d, suite, models, hardware, commits, compat, changes, h.hexdigest())


def _unique(df: pl.DataFrame, col: str, path: Path) -> None:
    dup = df.filter(pl.col(col).is_duplicated())
    if dup.height:
        raise IngestError(path, None, f"{col} {dup[col][0]!r} appears more than once")


def _check_refs(df: pl.DataFrame, path: Path, models: pl.DataFrame, hardware: pl.DataFrame) -> None:
    for col, known in (("model", models["name"]), ("hardware", hardware["name"])):
        bad = df.with_row_index("__i").filter(~pl.col(col).is_in(known.implode()))
        if bad.height:
            raise IngestError(path, f"line {bad['__i'][0] + 2}", f"unknown {col} {bad[col][0]!r}")


def _resolve(df: pl.DataFrame, col: str, path: Path, commits: pl.DataFrame) -> pl.Series:
    """Expand abbreviated commit hashes (unique prefixes of at least 7 digits)."""
    shas = commits["sha"].to_list()
    out: list[str | None] = []
    for i, text in enumerate(df[col].to_list()):
        if text is None:
            out.append(None)
            continue
        hits = [s for s in shas if s.startswith(text)] if len(text) >= 7 else []
        if len(hits) != 1:
            why = "matches no commit" if not hits else "is ambiguous"
            raise IngestError(path, f"line {i + 2}", f"{col} {text!r} {why} in commits.csv (give 7+ hex digits)")
        out.append(hits[0])
    return pl.Series(col, out, dtype=pl.Utf8)


# -- planning: which cases exist and what their noiseless values are ---------------------
@dataclass
class _Plan:
    cases: pl.DataFrame  # one row per (hardware, model, precision, batch): identity, base values, knobs
    compat: pl.DataFrame  # one row per (model, hardware): level, error details, metadata
    runs: pl.DataFrame  # one row per run: hardware, commit, started_at …
    ancestors: dict[str, frozenset[str]]  # commit -> itself and every ancestor
    changes: pl.DataFrame  # expanded to one row per affected case and metric


def _affinity(model: str, hardware: str, spread: float) -> float:
    # Kernel quality differs per (model, hardware); a hash keeps it stable when the spec grows.
    u = int(hashlib.blake2b(f"{model}|{hardware}".encode(), digest_size=4).hexdigest(), 16) / 2**32
    return math.exp(spread * (2 * u - 1))


def _plan(spec: DemoSpec) -> _Plan:
    suite = spec.suite
    batch_sizes = [int(b) for b in suite["batch_sizes"]]
    rules = {(r["model"], r["hardware"]): r for r in spec.compatibility.iter_rows(named=True)}
    case_rows: list[dict[str, Any]] = []
    compat_rows: list[dict[str, Any]] = []
    for hw in spec.hardware.iter_rows(named=True):
        hw_precisions = [p for p, c in _PEAK_COLUMN.items() if hw[c] is not None]
        for m in spec.models.iter_rows(named=True):
            rule = rules.get((m["name"], hw["name"]))
            level = rule["level"] if rule else "full"
            precisions = list(hw_precisions)
            if rule and rule["precisions"]:
                wanted = [p.strip() for p in rule["precisions"].split(";")]
                precisions = [p for p in precisions if p in wanted]
            max_batch = min(hw["max_batch"], rule["max_batch"] or hw["max_batch"]) if rule else hw["max_batch"]
            affinity = _affinity(m["name"], hw["name"], float(suite["affinity_spread"]))
            oom: list[str] = []
            n_cases = 0
            for prec in precisions if level != "unsupported" else []:
                for b in (b for b in batch_sizes if b <= max_batch):
                    base = _roofline(m, hw, prec, b, affinity)
                    if level == "experimental":
                        base["latency"] *= float(suite["experimental_slowdown"])
                    if base["memory"] > float(suite["oom_headroom"]) * hw["memory_gb"] * 1000:
                        oom.append(f"{prec} batch {b}")
                        continue
                    n_cases += 1
                    case_rows.append(
                        {
                            "hardware": hw["name"], "hardware_type": hw["type"], "model": m["name"],
                            "benchmark": m["task"], "seq_len": m["seq_len"], "precision": prec, "batch_size": b,
                            "throughput_unit": m["throughput_unit"], "level": level,
                            "since": rule["since"] if rule else None,
                            "base_latency": base["latency"],
                            "base_throughput": b * 1000.0 / base["latency"] * hw["pipelining"],
                            "base_memory": base["memory"],
                        }
                    )  # fmt: skip
            entry = {
                "model": m["name"], "hardware": hw["name"], "level": level,
                "error_type": rule["error_type"] if rule else None,
                "error_message": rule["error_message"] if rule else None,
                "suggested_fix": rule["suggested_fix"] if rule else None,
                "origin": "spec" if rule else "default",
                "precisions": precisions if level != "unsupported" else [],
                "max_batch": max_batch if level != "unsupported" else None,
                "since": rule["since"] if rule else None,
                "out_of_memory": [],
            }  # fmt: skip
            if oom:
                mem = f"{hw['memory_gb']:g} GB"
                if n_cases == 0:
                    entry |= {"level": "unsupported", "precisions": [], "max_batch": None}
                elif entry["level"] == "full":
                    entry["level"] = "limited"
                if entry["error_type"] is None:
                    entry |= {
                        "error_type": "OutOfMemoryError",
                        "error_message": f"{', '.join(oom)} need more than the {mem} of {hw['device_name']}",
                        "suggested_fix": "Use a smaller batch size or a lower precision",
                        "origin": "memory",
                    }
                entry["out_of_memory"] = oom
            compat_rows.append(entry)
    cases = (
        pl.DataFrame(case_rows, infer_schema_length=None)
        .with_row_index("case")
        .with_columns(pl.col("case").cast(pl.Int64))
    )
    cases = cases.with_columns(
        **{
            f"key_{metric}": pl.Series(
                [
                    series_key(
                        r["benchmark"],
                        r["model"],
                        r["hardware"],
                        r["batch_size"],
                        r["seq_len"],
                        r["precision"],
                        None,
                        metric,
                    )  # fmt: skip
                    for r in cases.iter_rows(named=True)
                ],
                dtype=pl.Utf8,
            )
            for metric in _METRICS
        }
    )
    runs, ancestors = _runs(spec)
    changes = _expand_changes(spec, cases, ancestors)
    return _Plan(cases, pl.DataFrame(compat_rows, infer_schema_length=None), runs, ancestors, changes)


def _roofline(m: Mapping[str, Any], hw: Mapping[str, Any], prec: str, batch: int, affinity: float) -> dict[str, float]:
    """Noiseless latency (ms per batch) and peak memory (MB) of one case."""
    bpp = _BYTES[prec]
    peak = hw[_PEAK_COLUMN[prec]] * 1e12 * (_INT8_EFFICIENCY if prec == "int8" else 1.0)
    eff = hw["compute_efficiency"] * batch / (batch + hw["half_batch"])
    flops = m["gflops_per_item"] * 1e9 * batch
    weights = m["params_m"] * 1e6 * bpp
    activations = m["act_mb_per_item"] * 1e6 * (bpp / 4.0) * batch
    t_compute = flops / (peak * eff)
    t_memory = (weights + activations) / (hw["bandwidth_gbs"] * 1e9 * hw["memory_efficiency"])
    overhead = hw["overhead_ms"] * m["layers"] / 12.0
    latency = max(t_compute, t_memory) * 1e3 * affinity + overhead
    memory = hw["runtime_mb"] + (weights + activations) / 1e6
    return {"latency": latency, "memory": memory}


def _runs(spec: DemoSpec) -> tuple[pl.DataFrame, dict[str, frozenset[str]]]:
    ancestors: dict[str, frozenset[str]] = {}
    for sha, parent in spec.commits.select("sha", "parent").iter_rows():
        ancestors[sha] = frozenset({sha}) | (ancestors[parent] if parent else frozenset())
    branch_hw = set(spec.suite["branch_hardware"])
    rows: list[dict[str, Any]] = []
    for h, hw in enumerate(spec.hardware.iter_rows(named=True)):
        for c in spec.commits.iter_rows(named=True):
            if c["branch"] != "main" and hw["name"] not in branch_hw:
                continue
            rows.append(
                {
                    "hw_index": h, "hardware": hw["name"], "commit": c["sha"], "commit_index": c["index"],
                    "branch": c["branch"], "machine": hw["machine"],
                    "started_at": c["date"] + dt.timedelta(minutes=float(hw["run_offset_min"])),
                }
            )  # fmt: skip
    runs = pl.DataFrame(rows, infer_schema_length=None).sort("started_at", "hw_index").with_row_index("run_index")
    return runs.with_columns(pl.col("run_index").cast(pl.Int64)), ancestors


def _expand_changes(spec: DemoSpec, cases: pl.DataFrame, ancestors: dict[str, frozenset[str]]) -> pl.DataFrame:
    commits = {r["sha"]: r for r in spec.commits.iter_rows(named=True)}
    rows: list[dict[str, Any]] = []
    path = spec.directory / "injected_changes.csv"
    for i, ch in enumerate(spec.changes.iter_rows(named=True)):
        preds = [pl.col("model") == ch["model"], pl.col("hardware") == ch["hardware"]]
        if ch["batch_size"] not in (None, "*"):
            if not str(ch["batch_size"]).isdigit():
                raise IngestError(
                    path, f"line {i + 2}", f"batch_size must be a whole number or '*', got {ch['batch_size']!r}"
                )
            preds.append(pl.col("batch_size") == int(ch["batch_size"]))
        if ch["precision"] not in (None, "*"):
            preds.append(pl.col("precision") == ch["precision"])
        sel = cases.filter(*preds)
        if sel.height == 0:
            raise IngestError(path, f"line {i + 2}", f"change {ch['change_id']} matches no benchmark case")
        since = sel.filter(pl.col("since").is_not_null())
        if since.height and since["since"][0] not in ancestors[ch["commit"]]:
            raise IngestError(path, f"line {i + 2}", f"change {ch['change_id']} starts before the series exists")
        effects = [(ch["metric"], ch["size"], False)]
        if ch["metric"] == "latency" and ch["kind"] != "outlier":
            # Throughput follows latency (batch / latency): the truth must say so.
            effects.append(("throughput", 1.0 / (1.0 + ch["size"]) - 1.0, True))
        for metric, size, derived in effects:
            for case in sel.iter_rows(named=True):
                rows.append(
                    {
                        "change_id": ch["change_id"], "kind": ch["kind"], "metric": metric, "size": size,
                        "derived": derived, "commit": ch["commit"], "branch": commits[ch["commit"]]["branch"],
                        "commit_index": commits[ch["commit"]]["index"], "commit_date": commits[ch["commit"]]["date"],
                        "series_key": case[f"key_{metric}"], "benchmark": case["benchmark"], "model": case["model"],
                        "hardware": case["hardware"], "batch_size": case["batch_size"], "seq_len": case["seq_len"],
                        "precision": case["precision"], "case": case["case"], "note": ch["note"],
                    }
                )  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def injected_changes(spec: DemoSpec | None = None) -> pl.DataFrame:
    """Ground truth of the demo: every injected change and lone spike, per series.

    Parameters
    ----------
    spec : DemoSpec, optional
        Defaults to :func:`load_spec`.

    Returns
    -------
    polars.DataFrame
        One row per (change, affected series): ``change_id``, ``kind``
        (``regression``, ``improvement`` or ``outlier`` — a one-run spike that is
        *not* a change), ``metric``, ``size`` (relative: new / old - 1),
        ``derived`` (``True`` for the throughput shift implied by a latency
        change), ``commit``, ``branch``, ``commit_index``, ``commit_date``,
        ``series_key`` and the series identity columns, and ``note``.
    """
    spec = spec or load_spec()
    return _plan(spec).changes.drop("case")


# -- generation --------------------------------------------------------------------
def _round_sig(x: np.ndarray, digits: int = _SIG_DIGITS) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.power(10.0, digits - 1 - np.floor(np.log10(np.abs(x))))
    return np.where(x > 0, np.round(x * scale) / scale, x)


def _stats(samples: np.ndarray) -> dict[str, np.ndarray]:
    q = np.percentile(samples, [50, 90, 95, 99], axis=-1)
    out = {
        "stddev": samples.std(axis=-1, ddof=1),
        "min": samples.min(axis=-1),
        "median": q[0],
        "p90": q[1],
        "p95": q[2],
        "p99": q[3],
        "max": samples.max(axis=-1),
    }
    return {k: _round_sig(v) for k, v in out.items()}


def _block(plan: _Plan, spec: DemoSpec, h: int, hw: Mapping[str, Any]) -> list[pl.DataFrame]:
    """All results of one hardware platform, as results-schema frames (one per metric)."""
    suite = spec.suite
    cases = plan.cases.filter(pl.col("hardware") == hw["name"])
    runs = plan.runs.filter(pl.col("hardware") == hw["name"])
    if cases.height == 0:
        return []
    n_r, n_c, n_s = runs.height, cases.height, int(hw["n_samples"])
    rng = np.random.default_rng([int(suite["seed"]), h])
    commits = runs["commit"].to_list()

    # Which (run, case) cells exist: experimental pairs only from their `since` commit.
    valid = np.ones((n_r, n_c), dtype=bool)
    for c, since in enumerate(cases["since"].to_list()):
        if since is not None:
            valid[:, c] = [since in plan.ancestors[sha] for sha in commits]

    # Injected changes: steps from their commit on (descendants), spikes on that commit only.
    # Steps of latency carry over into throughput; spikes (one bad run) stay in their own metric.
    factor = {m: np.ones((n_r, n_c)) for m in _METRICS}
    spike = {m: np.ones((n_r, n_c)) for m in _METRICS}
    col_of = {case: i for i, case in enumerate(cases["case"].to_list())}
    # Derived rows (throughput implied by latency) are truth only: throughput is made from latency below.
    mine = plan.changes.filter((pl.col("hardware") == hw["name"]) & ~pl.col("derived"))
    for ch in mine.iter_rows(named=True):
        if ch["kind"] == "outlier":
            rows = np.array([sha == ch["commit"] for sha in commits])
            spike[ch["metric"]][rows, col_of[ch["case"]]] *= 1.0 + ch["size"]
        else:
            rows = np.array([ch["commit"] in plan.ancestors[sha] for sha in commits])
            factor[ch["metric"]][rows, col_of[ch["case"]]] *= 1.0 + ch["size"]

    experimental = (cases["level"] == "experimental").to_numpy()
    sigma = hw["noise"] * np.where(experimental, float(suite["experimental_noise"]), 1.0)
    tail_p = float(suite["tail_probability"])
    machine = rng.normal(0.0, 0.3 * hw["noise"], (n_r, 1))  # shared by every case of a run

    def timed(base: np.ndarray, f: np.ndarray, sign: float) -> np.ndarray:
        jitter = rng.normal(0.0, 0.5, (n_r, n_c)) * sigma
        eps = rng.normal(0.0, 1.0, (n_r, n_c, n_s)) * sigma[None, :, None]
        slow = np.where(rng.random((n_r, n_c, n_s)) < tail_p, 1.0 + rng.exponential(0.3, (n_r, n_c, n_s)), 1.0)
        level = base[None, :] * f * np.exp(sign * machine + jitter)
        return _round_sig(level[..., None] * np.exp(eps) * slow**sign)

    lat = timed(cases["base_latency"].to_numpy(), factor["latency"] * spike["latency"], 1.0)
    tput = timed(
        cases["base_throughput"].to_numpy(), factor["throughput"] / factor["latency"] * spike["throughput"], -1.0
    )
    n_m = int(suite["memory_samples"])
    mem_noise = rng.normal(0.0, float(suite["memory_noise"]), (n_r, n_c, n_m))
    mem = _round_sig(
        (cases["base_memory"].to_numpy()[None, :] * factor["memory"] * spike["memory"])[..., None] * np.exp(mem_noise)
    )

    r_idx, c_idx = np.nonzero(valid)
    ident = cases.select("benchmark", "model", "hardware", "hardware_type", "batch_size", "seq_len", "precision")[c_idx]
    run_index = runs["run_index"].to_numpy()[r_idx]
    frames = []
    for metric, samples, unit, direction in (
        ("latency", lat, None, "lower"),
        ("throughput", tput, "unit", "higher"),
        ("memory", mem, None, "lower"),
    ):
        s = samples[r_idx, c_idx]
        stats = _stats(s)
        units = (
            cases["throughput_unit"].gather(c_idx)
            if unit
            else pl.Series(["ms" if metric == "latency" else "MB"] * len(c_idx), dtype=pl.Utf8)
        )
        frames.append(
            ident.with_columns(
                pl.Series("run_index", run_index, dtype=pl.Int64),
                cases[f"key_{metric}"].gather(c_idx).alias("series_key"),
                pl.lit(None, pl.Utf8).alias("params"),
                pl.lit(metric).alias("metric"),
                units.alias("unit"),
                pl.Series("value", stats["median"]),
                pl.lit(direction).alias("direction"),
                pl.lit(s.shape[-1], pl.Int64).alias("n_samples"),
                *(pl.Series(k, stats[k]) for k in SPREAD_COLUMNS),
                pl.Series("orig_value", stats["median"]),
                units.alias("orig_unit"),
                pl.Series("samples", s).cast(pl.List(pl.Float64)),
            ).select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()])
        )
    return frames


def generate(spec: DemoSpec | None = None) -> Batch:
    """Generate the whole demo as one :class:`~benchlab.ingest.Batch` (no store involved).

    Runs, catalogue, compatibility and integration tests go through a
    :class:`~benchlab.ingest.BatchBuilder` (and its checks); the ~270k results
    are built column-wise with numpy, because the builder's per-record path
    would take most of the time budget (~80 µs a record with samples, ~30 s in
    all, against ~1 s here), and checked here for the same invariants (finite,
    non-negative, known run, canonical unit).
    """
    spec = spec or load_spec()
    plan = _plan(spec)
    b = BatchBuilder(SOURCE, FORMAT, digest=spec.digest)
    hw_rows = list(spec.hardware.iter_rows(named=True))
    for hw in hw_rows:
        peaks = {p: hw[c] for p, c in _PEAK_COLUMN.items() if hw[c] is not None}
        b.add_hardware(
            hw["name"], type=hw["type"], device_name=hw["device_name"], vendor=hw["vendor"],
            memory_gb=hw["memory_gb"], peak_tflops=hw["tflops_fp32"] or max(peaks.values()),
            bandwidth_gbs=hw["bandwidth_gbs"],
            metadata={"simulated": True, "peak_tflops_by_precision": peaks, "precisions": list(peaks),
                      "runtime": hw["runtime"], "os": hw["os"], "machine": hw["machine"]},
        )  # fmt: skip
    for m in spec.models.iter_rows(named=True):
        b.add_model(
            m["name"], family=m["family"], modality=m["modality"], params_m=m["params_m"],
            metadata={"simulated": True, "task": m["task"], "gflops_per_item": m["gflops_per_item"],
                      "seq_len": m["seq_len"], "throughput_unit": m["throughput_unit"], "hf_id": m.get("source")},
        )  # fmt: skip

    commits = {r["sha"]: r for r in spec.commits.iter_rows(named=True)}
    hw_by_name = {hw["name"]: hw for hw in hw_rows}
    # A run lasts as long as its timed loops would (warm-up + samples per case), capped at a night.
    busy = plan.cases.group_by("hardware").agg(pl.col("base_latency").sum())
    busy_ms = dict(busy.iter_rows())
    meta_common = {"generator": "benchlab.demo", "generator_version": GENERATOR_VERSION,
                   "seed": spec.suite["seed"], "simulated": True, "statistic": "median",
                   "note": "simulated demo data, not a measurement"}  # fmt: skip
    for run in plan.runs.iter_rows(named=True):
        hw = hw_by_name[run["hardware"]]
        c = commits[run["commit"]]
        seconds = min(12 * 3600.0, 60.0 + busy_ms.get(hw["name"], 0.0) * (hw["n_samples"] + 5) * 2 / 1000)
        idx = b.add_run(
            key=f"demo:{run['commit'][:10]}:{hw['name']}", commit=run["commit"], branch=run["branch"],
            machine=run["machine"], started_at=run["started_at"],
            ended_at=run["started_at"] + dt.timedelta(seconds=round(seconds)),
            environment={"device": hw["device_name"], "runtime": hw["runtime"], "os": hw["os"]},
            provenance="simulated",
            metadata=meta_common | {"commit_message": c["message"], "author": c["author"]},
        )  # fmt: skip
        assert idx == run["run_index"]

    # Compatibility (and integration tests) belong to the newest main run of each platform.
    last_main = dict(
        plan.runs.filter(pl.col("branch") == "main").group_by("hardware").agg(pl.col("run_index").max()).iter_rows()
    )
    for entry in plan.compat.iter_rows(named=True):
        meta = {k: entry[k] for k in ("origin", "precisions", "max_batch", "since") if entry[k] not in (None, [])}
        if entry["out_of_memory"]:
            meta["out_of_memory"] = entry["out_of_memory"]
        b.add_compatibility(
            last_main[entry["hardware"]], model=entry["model"], hardware=entry["hardware"], level=entry["level"],
            error_type=entry["error_type"], error_message=entry["error_message"],
            suggested_fix=entry["suggested_fix"], metadata=meta or None,
        )  # fmt: skip
    _integration_tests(b, spec, plan, last_main)

    frames = [f for h, hw in enumerate(hw_rows) for f in _block(plan, spec, h, hw)]
    results = pl.concat(frames, how="vertical")
    _check(results, plan.runs.height)
    return dataclasses.replace(b.build(), results=results)


def _integration_tests(b: BatchBuilder, spec: DemoSpec, plan: _Plan, last_main: dict[str, int]) -> None:
    levels = {(r["model"], r["hardware"]): r for r in plan.compat.iter_rows(named=True)}
    models = {m["name"]: m for m in spec.models.iter_rows(named=True)}
    b1 = plan.cases.filter(pl.col("batch_size") == 1).group_by("model", "hardware").agg(pl.col("base_latency").min())
    latency = {(m, h): v for m, h, v in b1.iter_rows()}
    for hw in spec.hardware["name"].to_list():
        for name in spec.suite["integration_test_models"]:
            m = models[name]
            entry = levels[(name, hw)]
            test = f"tests/integration/test_{m['task']}.py::test_{m['task']}[{name}-{hw}]"
            load_s = m["params_m"] * 2 / 400.0  # reading fp16 weights at ~400 MB/s
            run_s = latency.get((name, hw), 0.0) * 25 / 1000
            status, error = "passed", None
            if entry["level"] == "unsupported":
                status, error = "skipped", f"{entry['error_type']}: {entry['error_message']}"
                load_s, run_s = 0.0, 0.0
            elif entry["level"] == "experimental":
                # Experimental support is what integration tests catch: outputs drift from the reference.
                diff = 0.01 + (zlib.crc32(test.encode()) % 800) / 10000
                status, error = (
                    "failed",
                    f"AssertionError: max abs diff {diff:.4f} vs the cpu fp32 reference exceeds 0.01",
                )
            b.add_integration_test(
                last_main[hw], name=test, status=status, model=name, hardware=hw,
                duration_s=round(0.05 + load_s + run_s, 3), error=error,
                metadata={"simulated": True, "level": entry["level"]},
            )  # fmt: skip


def _check(results: pl.DataFrame, n_runs: int) -> None:
    # The builder's invariants, column-wise: a bug here must not reach a store.
    num = ["value", *SPREAD_COLUMNS]
    bad = results.select(
        pl.any_horizontal([~pl.col(c).is_finite() | (pl.col(c) < 0) for c in num]).any().alias("num"),
        ((pl.col("run_index") < 0) | (pl.col("run_index") >= n_runs)).any().alias("run"),
        pl.col("series_key").is_null().any().alias("key"),
    ).row(0, named=True)
    bad["unit"] = any(parse_unit(u).canonical != u for u in results["unit"].unique())
    if any(bad.values()):
        raise BenchlabError(f"demo generator produced invalid results ({', '.join(k for k, v in bad.items() if v)})")


# -- the store ---------------------------------------------------------------------
def _state(path: Path, digest: str) -> str:
    """``current``, ``outdated`` (an older demo, or an empty store) or ``foreign``."""
    try:
        store = open_store(path)
        sources = store.sql("SELECT format, digest FROM sources ORDER BY source_id")
    except (BenchlabError, duckdb.Error):
        return "foreign"
    if sources.height == 0:
        return "outdated"
    if set(sources["format"].to_list()) != {FORMAT}:
        return "foreign"
    return "current" if sources["digest"].to_list() == [digest] else "outdated"


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def ensure_demo(path: str | os.PathLike[str] | None = None, *, force: bool = False) -> tuple[Store, bool]:
    """Open the demo store, (re)building it when needed.

    Returns
    -------
    store : Store
    built : bool
        ``True`` if the store was (re)generated by this call.

    See :func:`build_demo` for the parameters and rules.
    """
    target = Path(path).expanduser() if path is not None else demo_path()
    spec = load_spec()
    if target.exists() and not force:
        state = _state(target, spec.digest)
        if state == "current":
            return open_store(target), False
        if state == "foreign":
            raise BenchlabError(
                f"{target} is not a benchlab demo store (it holds other data or is not a benchlab store); "
                "pass force=True (`benchlab demo --force`) to overwrite it, or choose another path"
            )
    batch = generate(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and swap it in, so that an interrupted build never
    # leaves a half-written demo behind and readers see the old or the new file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.building")
    _remove(tmp)
    try:
        outcome = open_store(tmp).write(batch)
        if outcome.status != "added":
            raise BenchlabError(f"writing the demo store failed: {outcome.message}")
        if tmp.with_name(tmp.name + ".wal").exists():
            raise BenchlabError(f"the demo store {tmp} was not checkpointed; not replacing {target}")
        target.with_name(target.name + ".wal").unlink(missing_ok=True)  # a stale WAL would corrupt the new file
        os.replace(tmp, target)
    finally:
        _remove(tmp)
    return open_store(target), True


def build_demo(path: str | os.PathLike[str] | None = None, *, force: bool = False) -> Store:
    """Generate the demo results and write them to a DuckDB store.

    Parameters
    ----------
    path : path-like, optional
        The store file; defaults to :func:`demo_path`.
    force : bool
        Rebuild even when the file already holds the current demo, and overwrite
        a file that is not a demo store.

    Returns
    -------
    Store
        The demo store.  An up-to-date demo (same generator version and spec
        digest) is reused as is; an older demo is rebuilt.

    Raises
    ------
    BenchlabError
        If ``path`` holds something other than a demo store and ``force`` is off.
    """
    return ensure_demo(path, force=force)[0]


def demo_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The demo store for notebooks: built on first use, reopened afterwards.

    Equivalent to :func:`build_demo` without ``force``; rebuilt automatically
    when the generator version or the specification in ``data/`` changes.
    """
    return build_demo(path)

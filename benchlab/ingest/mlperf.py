"""MLPerf Inference results: the round summary table, LoadGen logs, system descriptions.

Three importers (see ``docs/formats.md`` for the full field mapping):

``mlperf-summary``
    ``summary_results.json`` of a round: a JSON array of flat records, one per
    (system × benchmark × scenario).  One *run* per submitted system (division,
    submitter, platform); every record becomes a throughput or latency result
    (plus power or energy when measured).
``mlperf-log``
    ``mlperf_log_summary.txt`` of one LoadGen performance run: headline metric,
    validity, latency percentiles and test parameters.  Submitter, platform,
    benchmark and scenario come from the submission path
    ``<division>/<Submitter>/results/<Platform>/<model>/<Scenario>/performance/run_N/``.
``mlperf-system``
    ``<division>/<Submitter>/systems/<Platform>.json``: a hardware description
    only (no measurement), written to the hardware catalogue.

Identity conventions shared by the three, so that their records meet:

* hardware name ``"<Submitter>/<Platform>"`` — platform names alone are not
  unique (five submitters call different servers ``1-node-2S-EMR-PyTorch``);
* benchmark ``"mlperf-inference"``; model is the benchmark's model without the
  accuracy suffix (``llama2-70b-99.9`` → ``llama2-70b``) and with MLPerf's
  ``resnet`` spelled ``resnet50`` (its results folders already do);
* params: ``scenario`` (``Offline``/``Server``/``SingleStream``/``MultiStream``),
  ``division`` (``closed``/``open``), ``accuracy_target`` (``"99"``/``"99.9"``)
  when the benchmark has one, ``used_model`` when an open submission ran a
  different model than the benchmark's reference.

The summary and the log importers read the matching system description next to
them when it exists, so the hardware catalogue gets host memory and interconnect
details; those files are part of the source's digest.

A round table's run metadata keeps each record's provenance without repeating
the system's: the fields a system's records share (``System``, ``Details``,
``ID``, ``weight_data_types`` …) once on the run, from its first record, and per
record (under ``records``, keyed by the ``Location`` below the system's results
folder) its accuracy, and any of those fields where its value differs.

Two paths build the same :class:`Batch` for ``mlperf-summary``.
``_read_fast`` lets DuckDB parse the array into columns of JSON text
(``_jsoncols``) and computes everything column-wise, calling this module's
helpers (``split_model``, ``parse_precision``, ``_HardwareInfo`` …) once per
distinct value or combination: a round of 200,000 records has a few hundred
distinct benchmark/scenario/precision combinations and tens of thousands of
systems.  It declines anything unusual, and ``_read_exact`` then reads the
file record by record; that path is the reference, and the one every error
message comes from.  ``tests/ingest/test_ingest_mlperf.py`` checks that both
agree on random tables.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import math
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from benchlab.errors import IngestError
from benchlab.frame import normalize_hardware_type, normalize_precision
from benchlab.ingest._batch import HARDWARE_SCHEMA, RUN_SCHEMA, Batch, BatchBuilder, file_digest
from benchlab.ingest._columns import ResultColumns, bulk_results, fast_canonical_params
from benchlab.ingest._json import _MISSING as _MISSING_TEXT
from benchlab.ingest._json import (
    capacity_gb,
    clean_text,
    compact,
    finite,
    head_text,
    load_json,
    parse_json_text,
    paused_gc,
    read_utf8,
    text,
)
from benchlab.ingest._jsoncols import (
    JsonColumns,
    by_value,
    distinct_rows,
    is_number,
    is_text,
    json_array_columns,
    json_float,
    json_object,
    json_str,
    text_of,
)
from benchlab.units import UnknownUnitError, parse_unit

__all__ = [
    "IMPORTERS",
    "MLPerfSummary",
    "MLPerfLog",
    "MLPerfSystem",
    "split_model",
    "parse_precision",
    "accelerator_kind",
]

BENCHMARK = "mlperf-inference"
SCENARIOS = {"offline": "Offline", "server": "Server", "singlestream": "SingleStream", "multistream": "MultiStream"}
DIVISIONS = ("closed", "open", "network")

# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
_MODEL_ALIASES = {"resnet": "resnet50"}
_ACCURACY_SUFFIX = re.compile(r"^(?P<model>.+?)-(?P<target>99(?:\.9)?)$")
# family, modality, task, nominal size in millions of parameters (None: not stated).
# Sizes are the models' published nominal sizes (ResNet-50 25.6M, BERT-large 340M,
# GPT-J 6B, Llama-2-70B, Mixtral-8x7B 46.7B, SDXL base 3.5B) — benchlab's table,
# marked as such in each model's metadata.
_MODELS: dict[str, tuple[str, str, str, float | None]] = {
    "resnet50": ("vision", "image", "image classification", 25.6),
    "retinanet": ("vision", "image", "object detection", None),
    "3d-unet": ("vision", "image", "medical image segmentation", None),
    "bert": ("embedding", "text", "question answering", 340.0),
    "gptj": ("text-generation", "text", "summarization", 6000.0),
    "llama2-70b": ("text-generation", "text", "question answering", 70000.0),
    "llama3.1-405b": ("text-generation", "text", "question answering", 405000.0),
    "mixtral-8x7b": ("text-generation", "text", "mixed tasks", 46700.0),
    "stable-diffusion-xl": ("text-to-image", "image", "image generation", 3500.0),
    "dlrm-v2": ("recommendation", "tabular", "recommendation", None),
    "rnnt": ("audio", "audio", "speech recognition", None),
    "rgat": ("graph", "graph", "node classification", None),
}


@functools.lru_cache(maxsize=4096)  # a pure function of few distinct names
def split_model(name: str) -> tuple[str, str | None]:
    """Benchmark model name → (model, accuracy target).

    >>> split_model("llama2-70b-99.9")
    ('llama2-70b', '99.9')
    >>> split_model("resnet")
    ('resnet50', None)
    """
    raw = name.strip()
    m = _ACCURACY_SUFFIX.match(raw)
    model, target = (m.group("model"), m.group("target")) if m else (raw, None)
    return _MODEL_ALIASES.get(model.lower(), model), target


@functools.lru_cache(maxsize=256)
def _case_params(bench: str, scenario: str, used: str | None, division: str | None) -> tuple[str, str, dict[str, Any]]:
    """Model, scenario and parameters of a result, from its ``Model``, ``Scenario`` and ``UsedModel``.

    The accuracy target (``-99`` / ``-99.9``) and the division are parameters, not
    part of the model; ``UsedModel`` is kept only when it names another model.
    """
    model, target = split_model(bench)
    scenario = _scenario(scenario)
    params: dict[str, Any] = {"scenario": scenario}
    if division:
        params["division"] = division
    if target:
        params["accuracy_target"] = target
    if used and split_model(used)[0] != model:
        params["used_model"] = used
    return model, scenario, params


def _scenario(value: str) -> str:
    return SCENARIOS.get(value.strip().lower().replace(" ", "").replace("_", ""), value.strip())


# ---------------------------------------------------------------------------
# precision
# ---------------------------------------------------------------------------
_PREC_KEYS = ("weights", "weight", "weight_data_types", "w", "dtype", "precision")


def parse_precision(value: object) -> str | None:
    """Normalize MLPerf's free-text ``weight_data_types``.

    ``"INT8"`` → ``int8``, ``"float8"`` → ``fp8``; a dict (or a dict-like string
    ``"{'weights': 'int8', 'activations': 'fp16'}"`` / ``"weights: int8, …"``)
    gives its weights entry; several different precisions give ``mixed``.
    """
    if type(value) is str:
        return _parse_precision_text(value)
    return _parse_precision(value)


@functools.lru_cache(maxsize=4096)  # a round spells its precisions a few dozen ways
def _parse_precision_text(value: str) -> str | None:
    return _parse_precision(value)


def _parse_precision(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):
        for k in _PREC_KEYS:
            if k in value:
                return parse_precision(value[k])
        labels = {parse_precision(v) for v in value.values()} - {None}
        return labels.pop() if len(labels) == 1 else ("mixed" if labels else None)
    if isinstance(value, list | tuple):
        labels = {parse_precision(v) for v in value} - {None}
        return labels.pop() if len(labels) == 1 else ("mixed" if labels else None)
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s:
        return None
    if s[0] in "{[":
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(s)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(parsed, dict | list | tuple):
                return parse_precision(parsed)
    pairs = [p for p in re.split(r"[,;]", s) if p.strip()]
    if pairs and all(re.match(r"^\s*[\w ]+\s*[:=]\s*\S", p) for p in pairs):
        return parse_precision(dict(tuple(x.strip() for x in re.split(r"[:=]", p, maxsplit=1)) for p in pairs))
    parts = [p for p in re.split(r"[,;/+&]|\s+and\s+", s) if p.strip()]
    if len(parts) > 1:
        return parse_precision(parts)
    return normalize_precision(s)


# ---------------------------------------------------------------------------
# hardware
# ---------------------------------------------------------------------------
# (pattern on the lower-cased accelerator name, hardware type, vendor); first match wins.
_ACCELERATORS: tuple[tuple[str, str, str | None], ...] = (
    (r"grace cpu", "cpu", "NVIDIA"),
    (r"nvidia|tesla|geforce|\brtx\b|jetson|quadro|\b[ahlbt]\d{1,3}\b|gh200|h200|h100|a100|l40", "cuda", "NVIDIA"),
    (r"instinct|\bmi\d{3}|radeon|\bamd\b", "rocm", "AMD"),
    (r"\btpu\b", "tpu", "Google"),
    (r"qualcomm|cloud ai ?100", "qnn", "Qualcomm"),
    (r"gaudi|habana", "npu", "Intel"),
    (r"data center gpu|\barc\b|intel.*(flex|max)", "xpu", "Intel"),
    (r"untether|speedai", "npu", "UntetherAI"),
    (r"furiosa|rngd|warboy", "npu", "FuriosaAI"),
    (r"rebellions|\batom\b", "npu", "Rebellions"),
    (r"hailo", "npu", "Hailo"),
    (r"neuchips", "npu", "NEUCHIPS"),
    (r"xilinx|alveo|versal|fpga|agilex|stratix", "fpga", None),
    (r"apple|\bm[1-4]\b", "mps", "Apple"),
)
_CPU_VENDORS = ((r"intel|xeon", "Intel"), (r"amd|epyc|ryzen", "AMD"), (r"grace", "NVIDIA"),
                (r"ampere|altra", "Ampere"), (r"graviton", "AWS"), (r"arm|cortex|neoverse", "Arm"))  # fmt: skip


def accelerator_kind(accelerator: str | None, processor: str | None = None) -> tuple[str, str | None]:
    """(hardware type, vendor) of a system from its accelerator name.

    No accelerator means a CPU-only system (vendor from the host processor).
    """
    acc = (accelerator or "").strip().lower()
    if not acc or acc in ("n/a", "none", "na"):
        proc = (processor or "").lower()
        vendor = next((v for pat, v in _CPU_VENDORS if re.search(pat, proc)), None)
        return "cpu", vendor
    for pat, kind, vendor in _ACCELERATORS:
        if re.search(pat, acc):
            return kind, vendor or (accelerator or "").split()[0]
    return "other", (accelerator or "").split()[0]


_WATTS = re.compile(r"(\d+(?:\.\d+)?)\s*W\b")


def _number(value: object) -> float | None:
    """A count or size from a JSON number or a numeric string (system files write both)."""
    n = finite(value)
    if n is not None:
        return n
    s = clean_text(value)
    if s is None:
        return None
    try:
        x = float(s)
    except ValueError:
        return None
    return x if 0 <= x < float("inf") else None


def _int_or_float(x: float | None) -> int | float | None:
    return None if x is None else int(x) if x.is_integer() else x


class _HardwareInfo:
    """Facts about one ``Submitter/Platform`` gathered from records and system files."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.facts: dict[str, Any] = {}
        self.system: dict[str, Any] = {}
        self.system_names: list[str] = []

    def record(self, rec: Mapping[str, Any]) -> None:
        f = self.facts
        sysname = text(rec.get("System"))
        if sysname and sysname not in self.system_names:
            self.system_names.append(sysname)
        for key, src in (("submitter", "Submitter"), ("accelerator", "Accelerator"), ("host_processor", "Processor"),
                         ("system_type", "Suite")):  # fmt: skip
            f.setdefault(key, clean_text(rec.get(src)))
        for key, src in (("accelerators_per_node", "a#"), ("nodes", "Nodes"),
                         ("host_processors_per_node", "host_processors_per_node"),
                         ("host_processor_core_count", "host_processor_core_count")):  # fmt: skip
            f.setdefault(key, _int_or_float(_number(rec.get(src))))

    def system_file(self, doc: Mapping[str, Any]) -> None:
        self.system = {k: v for k, v in doc.items() if isinstance(k, str) and _keep(v)}
        f = self.facts
        sysname = clean_text(doc.get("system_name"))
        if sysname and sysname not in self.system_names:
            self.system_names.insert(0, sysname)
        for key, src in (("submitter", "submitter"), ("accelerator", "accelerator_model_name"),
                         ("host_processor", "host_processor_model_name"), ("system_type", "system_type")):  # fmt: skip
            if f.get(key) is None:
                f[key] = clean_text(doc.get(src))
        for key, src in (("accelerators_per_node", "accelerators_per_node"), ("nodes", "number_of_nodes"),
                         ("host_processors_per_node", "host_processors_per_node"),
                         ("host_processor_core_count", "host_processor_core_count")):  # fmt: skip
            if f.get(key) is None:
                f[key] = _int_or_float(_number(doc.get(src)))

    def add_to(self, b: BatchBuilder, location: str) -> tuple[str, str | None]:
        """Write the hardware entry; returns (type, vendor)."""
        kind, vendor, device_name, mem, meta = self.entry()
        b.add_hardware(
            self.name,
            type=kind,
            device_name=device_name,
            vendor=vendor,
            memory_gb=mem,
            metadata=meta,
            location=location,
        )
        return kind, vendor

    def entry(self) -> tuple[str, str | None, str | None, float | None, dict[str, Any]]:
        """(type, vendor, device name, memory per device in GB, metadata) of the hardware entry."""
        f = self.facts
        acc = f.get("accelerator")
        if acc is not None and acc.lower() in ("n/a", "none", "0"):
            acc = None
        if f.get("accelerators_per_node") == 0:
            acc = None
        kind, vendor = accelerator_kind(acc, f.get("host_processor"))
        sys = self.system
        mem, mem_source = None, None
        if kind == "cpu":
            mem = capacity_gb(sys.get("host_memory_capacity"))
            mem_source = "systems json: host_memory_capacity" if mem is not None else None
        else:
            mem = capacity_gb(sys.get("accelerator_memory_capacity"))
            if mem is not None:
                mem_source = "systems json: accelerator_memory_capacity"
            elif acc:
                mem = capacity_gb(acc)
                mem_source = "accelerator name" if mem is not None else None
        per_node, nodes = f.get("accelerators_per_node"), f.get("nodes") or 1
        cores, sockets = f.get("host_processor_core_count"), f.get("host_processors_per_node")
        tdp = _WATTS.search(acc) if acc else None
        meta = compact(
            {
                "submitter": f.get("submitter"),
                "system_name": self.system_names[0] if self.system_names else None,
                "system_names": self.system_names if len(self.system_names) > 1 else None,
                "system_type": f.get("system_type"),
                "accelerator": acc,
                "accelerators_per_node": per_node if acc else 0,
                "nodes": nodes,
                "accelerator_count": (per_node * nodes) if acc and per_node is not None else (0 if not acc else None),
                "accelerator_memory_gb_total": mem * per_node * nodes if acc and mem and per_node else None,
                "accelerator_tdp_w": float(tdp.group(1)) if tdp else None,
                "host_processor": f.get("host_processor"),
                "host_processors_per_node": sockets,
                "host_processor_core_count": cores,
                "host_cores_total": cores * (sockets or 1) * nodes if cores is not None else None,
                "host_memory_gb": capacity_gb(sys.get("host_memory_capacity")),
                "memory_gb_source": mem_source,
                "system": sys or None,
            }
        )
        return kind, vendor, acc or f.get("host_processor"), mem, meta


def _keep(v: object) -> bool:
    """Whether a system-description field says something (not ``"N/A"``, ``""``, ``{}``)."""
    if isinstance(v, str):
        return clean_text(v) is not None
    if isinstance(v, list | dict):
        return bool(v)
    return v is not None


def _read_system_file(path: Path) -> dict[str, Any] | None:
    """A system description next to a result, or ``None`` if absent or unusable.

    A broken neighbour must not fail the result that merely looks it up, so a
    file that does not parse as a JSON object is ignored here (it fails on its
    own when imported as an ``mlperf-system`` source).
    """
    if not path.is_file():
        return None
    try:
        doc = parse_json_text(path, path.read_bytes())
    except (OSError, IngestError):
        return None
    return doc if isinstance(doc, dict) else None


def _system_file(
    root: Path, location: str | None, ident: tuple[str, str, str], folders: dict[tuple[str, str], Path | None]
) -> Path | None:
    """``<division>/<Submitter>/systems/<Platform>.json`` beside the summary, if present.

    The folder part comes from the record's ``Location`` (else the identity).
    ``folders`` remembers which ``systems`` folders exist (see :func:`_systems_folder`).
    """
    parts = location.split("/") if location else [ident[0], ident[1], "results", ident[2]]
    if len(parts) < 4 or any(p in ("", ".", "..") or "\\" in p for p in parts[:4]):
        return None
    folder = _systems_folder(root, parts[0], parts[1], folders)
    if folder is None:
        return None
    candidate = folder / f"{parts[3]}.json"
    return candidate if candidate.is_file() else None


def _systems_folder(
    root: Path, division: str, submitter: str, folders: dict[tuple[str, str], Path | None]
) -> Path | None:
    """``<division>/<submitter>/systems`` if it is a folder, asked once per pair.

    A round has a few hundred submitters and tens of thousands of systems, most
    without a description: a file cannot be in a folder that does not exist.
    """
    key = (division, submitter)
    if key not in folders:
        folder = root / division / submitter / "systems"
        folders[key] = folder if folder.is_dir() else None
    return folders[key]


def _add_model(b: BatchBuilder, model: str, location: str) -> None:
    info = _MODELS.get(model)
    if info is None:
        return
    family, modality, task, size = info
    meta: dict[str, Any] = {"task": task}
    if size is not None:
        meta["params_m_source"] = "nominal model size (benchlab's MLPerf model table)"
    b.add_model(model, family=family, modality=modality, params_m=size, metadata=meta, location=location)


def _accuracy(value: object) -> dict[str, Any] | None:
    """``"ROUGE1: 44.5  TOKENS_PER_SAMPLE: 293.7"`` → ``{"ROUGE1": 44.5, …}``."""
    s = text(value)
    if s is None:
        return None
    return dict(_accuracy_text(s))


@functools.lru_cache(maxsize=4096)
def _accuracy_text(s: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in re.findall(r"([A-Za-z_][\w ]*?)\s*:\s*([-+\d.eE]+)", s):
        try:
            out[k.strip()] = float(v)
        except ValueError:
            out[k.strip()] = v
    return out or {"text": s}


# ---------------------------------------------------------------------------
# summary_results.json
# ---------------------------------------------------------------------------
_PERF_UNITS = {
    "samples/s": ("throughput", "samples/s"),
    "tokens/s": ("throughput", "tokens/s"),
    "queries/s": ("throughput", "queries/s"),
    "latency (ms)": ("latency", "ms"),
}
_POWER_UNITS = {"watts": ("power", "W"), "watt": ("power", "W"), "w": ("power", "W"),
                "millijoules": ("energy", "mJ"), "joules": ("energy", "J"), "mj": ("energy", "mJ")}  # fmt: skip
# Fields of a record that are (almost always) the same for every record of a
# submitted system: stored once on the run, from the system's first record, and
# on a record only where its value differs (an empty value then as null).
_RUN_FIELDS = (("System", "system"), ("Availability", "availability"), ("Suite", "suite"), ("Details", "details"),
               ("Code", "code"), ("Notes", "notes"), ("ID", "id"), ("weight_data_types", "weight_data_types"),
               ("inferred", "inferred"), ("compliance", "compliance"), ("errors", "errors"),
               ("has_power", "has_power"))  # fmt: skip


@functools.lru_cache(maxsize=256)
def _perf_unit(raw: str) -> tuple[str, str]:
    """``Performance_Units`` → (metric, unit); other spellings ``"Name (unit)"`` are parsed."""
    key = raw.strip().lower()
    if key in _PERF_UNITS:
        return _PERF_UNITS[key]
    m = re.match(r"^\s*([A-Za-z][\w ]*?)\s*\((.+)\)\s*$", raw)
    if m:
        return m.group(1).strip().lower().replace(" ", "_"), m.group(2).strip()
    return ("throughput" if "/" in key else "value"), raw.strip()


class MLPerfSummary:
    """``summary_results.json``: the results table of an MLPerf Inference round."""

    name = "mlperf-summary"
    description = "MLPerf Inference round table (summary_results.json: array of flat records)"
    priority = 65
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 4096).lstrip()
        return h.startswith("[") and '"Submitter"' in h and '"Scenario"' in h and '"Platform"' in h

    @paused_gc
    def read(self, path: Path) -> Batch:
        fast = self._read_fast(path)
        return fast if fast is not None else self._read_exact(path)

    def _read_fast(self, path: Path) -> Batch | None:
        """The same Batch as :meth:`_read_exact`, column-wise from DuckDB; ``None`` if not sure.

        Declines (and the exact path then decides, errors included) whenever
        anything is unusual: see ``_jsoncols`` for the parse, and every
        ``_Decline`` in ``_SummaryColumns`` for the records.
        """
        got = json_array_columns(path, _FAST_FIELDS)
        if got is None:
            return None
        try:
            return _SummaryColumns(path, self.name, got).batch()
        except _Decline:
            return None

    def _read_exact(self, path: Path) -> Batch:
        """The reference path: one record at a time, every error named."""
        doc = load_json(path)
        if not isinstance(doc, list):
            raise IngestError(path, None, f"an MLPerf summary is a JSON array of records, got {type(doc).__name__}")
        root = path.parent
        # The digest covers the system files joined below; it is set once they are known.
        b = BatchBuilder(path, self.name, digest="pending")
        cols = ResultColumns(b)
        hardware: dict[str, _HardwareInfo] = {}
        system_files: list[Path] = []
        idents: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        runs: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}
        run_info: dict[tuple[str, str, str], _HardwareInfo] = {}  # the hardware entry of each run
        records: list[tuple[int, str, dict[str, Any], tuple[str, str, str]]] = []
        folders: dict[tuple[str, str], Path | None] = {}
        for i, rec in enumerate(doc):
            loc = f"record {i}"
            if not isinstance(rec, dict):
                raise b.error(loc, f"a record must be an object, got {type(rec).__name__}")
            rid = rec.get("ID")
            if type(rid) is str and rid:
                loc = f"record {i} (ID {rid})"
            cat, sub, plat = rec.get("Category"), rec.get("Submitter"), rec.get("Platform")
            plain = type(cat) is str and type(sub) is str and type(plat) is str and cat and sub and plat
            ident = idents.get((cat, sub, plat)) if plain else None  # type: ignore[arg-type]
            if ident is None:
                ident = self._identity(b, rec, loc)
                if plain:
                    idents[(cat, sub, plat)] = ident  # type: ignore[index]
            if ident not in runs:
                division, submitter, platform = ident
                hw_name = f"{submitter}/{platform}"
                info = hardware.get(hw_name)
                if info is None:
                    info = hardware[hw_name] = _HardwareInfo(hw_name)
                    sys_path = _system_file(root, text(rec.get("Location")), ident, folders)
                    if sys_path is not None and (sdoc := _read_system_file(sys_path)) is not None:
                        system_files.append(sys_path)
                        info.system_file(sdoc)
                version = clean_text(rec.get("version"))
                meta = compact({"mlperf_round": version, "division": division, "submitter": submitter,
                                "platform": platform})  # fmt: skip
                meta.update({dst: v for src, dst in _RUN_FIELDS if (v := rec.get(src)) is not None and v != ""})
                meta["location"] = f"{division}/{submitter}/results/{platform}"
                meta["records"] = {}
                env = compact({"software": clean_text(rec.get("Software")),
                               "operating_system": clean_text(rec.get("operating_system"))})  # fmt: skip
                run_key = "/".join(x for x in (version, division, submitter, platform) if x)
                r = cols.add_run(key=run_key, machine=platform, environment=env or None, location=loc)
                runs[ident] = (r, meta)
                cols.run_metadata[r] = meta
                run_info[ident] = info
            info = run_info[ident]
            if not info.facts or rec.get("System") not in info.system_names:
                info.record(rec)  # facts are first-seen; later records only add system names
            records.append((i, loc, rec, ident))
        # Hardware first: a result's hardware type comes from the system's accelerator.
        kinds = {name: info.add_to(b, f"hardware {name}")[0] for name, info in hardware.items()}
        cases: dict[tuple[Any, ...], tuple[int, str, str]] = {}
        models: set[str] = set()
        for i, loc, rec, ident in records:
            self._results(b, cols, runs, kinds, cases, models, i, loc, rec, ident)
        batch = cols.finish()
        return dataclasses.replace(batch, digest=file_digest(path, extra=sorted(set(system_files))))

    @staticmethod
    def _identity(b: BatchBuilder, rec: Mapping[str, Any], loc: str) -> tuple[str, str, str]:
        location = text(rec.get("Location"))
        parts = location.split("/") if location else []
        division = clean_text(rec.get("Category")) or (parts[0] if parts else None)
        submitter = clean_text(rec.get("Submitter")) or (parts[1] if len(parts) > 1 else None)
        platform = clean_text(rec.get("Platform")) or (parts[3] if len(parts) > 3 else None)
        if not submitter:
            raise b.error(loc, "missing 'Submitter'")
        if not platform:
            raise b.error(loc, "missing 'Platform'")
        return (division or "").lower(), submitter, platform

    @staticmethod
    def _results(
        b: BatchBuilder,
        cols: ResultColumns,
        runs: Mapping[tuple[str, str, str], tuple[int, dict[str, Any]]],
        kinds: Mapping[str, str],
        cases: dict[tuple[Any, ...], tuple[int, str, str]],
        models: set[str],
        i: int,
        loc: str,
        rec: Mapping[str, Any],
        ident: tuple[str, str, str],
    ) -> None:
        run, meta = runs[ident]
        bench, used, scen_raw, prec_raw = (
            rec.get("Model"),
            rec.get("UsedModel"),
            rec.get("Scenario"),
            rec.get("weight_data_types"),
        )
        key = (ident, bench, used, scen_raw, prec_raw if type(prec_raw) is not dict else json.dumps(prec_raw, sort_keys=True, default=str))  # fmt: skip
        try:
            hit = cases.get(key)
        except TypeError:  # a list where a name belongs: no caching, the checks below report it
            hit, key = None, None  # type: ignore[assignment]
        if hit is None:
            hit = MLPerfSummary._case(b, cols, kinds, models, loc, rec, ident)
            if key is not None:
                cases[key] = hit
        case, scenario, model_raw = hit
        units = rec.get("Performance_Units")
        if type(units) is not str or not units:
            raise b.error(f"{loc}.Performance_Units", "missing")
        metric, unit = _perf_unit(units)
        if scenario == "Server" and unit == "samples/s":
            unit = "queries/s"
        value = rec.get("Performance_Result")
        stats = None
        if metric == "latency":
            stats = (
                {"p90": value} if scenario == "SingleStream" else {"p99": value} if scenario == "MultiStream" else None
            )
        cols.add(run, case, metric, value, unit, f"{loc}.Performance_Result", stats=stats)
        power, punits = rec.get("Power_Result"), text(rec.get("Power_Units"))
        if power is not None and punits is not None:
            pm = _POWER_UNITS.get(punits.strip().lower())
            if pm is None:
                raise b.error(f"{loc}.Power_Units", f"unknown power unit {punits!r}")
            cols.add(run, case, pm[0], power, pm[1], f"{loc}.Power_Result")
        location = rec.get("Location")
        entry: dict[str, Any] = {}
        if not (type(location) is str and location.endswith(f"/{model_raw}/{scenario}")):
            entry.update(model=model_raw, scenario=scenario)  # the Location's folders do not say them
        acc = _accuracy(rec.get("Accuracy"))
        if acc:
            entry["accuracy"] = acc
        for src, dst in _RUN_FIELDS:
            v, run_v = rec.get(src), meta.get(dst)
            if v == "":
                v = None
            if v != run_v or type(v) is not type(run_v):  # 1 == True, but they are not the same value here
                entry[dst] = v
        # IDs name a submitted system, not a record; the result folder names the record:
        # below the system's results folder as a path from there, else as it is.
        folder = meta["location"] + "/"
        if type(location) is str and location.startswith(folder) and len(location) > len(folder):
            meta["records"][location[len(folder) :]] = entry
        else:
            elsewhere = meta.setdefault("records_elsewhere", {})
            elsewhere[location if type(location) is str and location else f"record {i}"] = entry

    @staticmethod
    def _case(
        b: BatchBuilder,
        cols: ResultColumns,
        kinds: Mapping[str, str],
        models: set[str],
        loc: str,
        rec: Mapping[str, Any],
        ident: tuple[str, str, str],
    ) -> tuple[int, str, str]:
        """The case of a record (model, hardware, precision, params), once per distinct combination."""
        division, submitter, platform = ident
        hw_name = f"{submitter}/{platform}"
        bench = text(rec.get("Model")) or text(rec.get("UsedModel"))
        if bench is None:
            raise b.error(loc, "missing 'Model'")
        scen_raw = text(rec.get("Scenario"))
        if scen_raw is None:
            raise b.error(loc, "missing 'Scenario'")
        model, scenario, params = _case_params(bench, scen_raw, text(rec.get("UsedModel")), division)
        if model not in models:
            models.add(model)
            _add_model(b, model, loc)
        case = cols.case(benchmark=BENCHMARK, model=model, hardware=hw_name, hardware_type=kinds.get(hw_name),
                         precision=parse_precision(rec.get("weight_data_types")), params=params, location=loc)  # fmt: skip
        return case, scenario, bench


# ---------------------------------------------------------------------------
# summary_results.json, column-wise
# ---------------------------------------------------------------------------
# What the column-wise path reads of each record (everything the exact path uses).
_FAST_FIELDS = (
    "ID", "Submitter", "Category", "Platform", "Location", "System", "Availability", "Suite", "Details", "Code",
    "Notes", "Model", "UsedModel", "Scenario", "Accuracy", "weight_data_types", "Performance_Result",
    "Performance_Units", "Power_Result", "Power_Units", "inferred", "compliance", "errors", "has_power", "version",
    "Software", "operating_system", "Accelerator", "Processor", "a#", "Nodes", "host_processors_per_node",
    "host_processor_core_count",
)  # fmt: skip
# Each must be a JSON string or absent, else the exact path decides.  (The others are read
# with json.loads once per distinct value, whatever their type, or are the two numbers.)
_FAST_TEXT = ("ID", "Submitter", "Category", "Platform", "Location", "System", "Availability", "Suite", "Details",
              "Code", "Notes", "Model", "UsedModel", "Scenario", "Accuracy", "weight_data_types",
              "Performance_Units", "Power_Units")  # fmt: skip
# Hardware facts, as _HardwareInfo.record reads them.
_FACT_FIELDS = ("Accelerator", "Processor", "Suite", "a#", "Nodes", "host_processors_per_node",
                "host_processor_core_count")  # fmt: skip
# _accuracy_text's pattern without its groups, in ASCII classes (the same on ASCII text
# without control characters, which is all it is applied to, and twice as fast), and
# what float() accepts of the characters it matches.
_ACC_PAIR = r"[A-Za-z_][A-Za-z0-9_ ]*? *: *[-+0-9.eE]+"
_PY_FLOAT = r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"


class _Decline(Exception):
    """The column-wise path cannot be sure of something: the exact path reads the file."""


def _require(ok: object) -> None:
    if not ok:
        raise _Decline


def _loaded(col: pl.Series, fn: Any, dtype: Any) -> pl.Series:
    """``by_value``; a literal ``json.loads`` refuses (``nan``) is for the exact path to report."""
    try:
        return by_value(col, fn, dtype)
    except ValueError:
        raise _Decline from None


def _per_combination(cols: list[pl.Series], fn: Any) -> tuple[pl.Series, list[Any]]:
    """(code of each row, ``fn`` of each distinct combination of the columns' JSON values)."""
    codes, combos = distinct_rows(cols)
    try:
        return codes, [fn(*(None if t is None else json.loads(t) for t in combo)) for combo in combos]
    except ValueError:
        raise _Decline from None


def _spread(values: list[Any], codes: pl.Series, dtype: Any) -> pl.Series:
    return pl.Series(values, dtype=dtype).gather(codes)


def _first_seen(key: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(number of each row's key in order of first appearance, first row of each key)."""
    first = key.is_first_distinct()
    firsts = first.arg_true()
    numbers = key.replace_strict(key.filter(first), pl.int_range(len(firsts), dtype=pl.Int64, eager=True))
    return numbers, firsts


def _codes(s: pl.Series) -> tuple[pl.Series, int]:
    """(integer code of each row's value, number of codes): equal codes for equal values."""
    distinct = s.unique()
    return s.replace_strict(distinct, pl.int_range(len(distinct), dtype=pl.Int64, eager=True)), len(distinct)


def _canonical_scalar(v: Any) -> str | None:
    """JSON text of a run field's value ("" as absent), such that equal texts mean equal values.

    Zero floats (``-0.0 == 0.0``), non-finite ones (``nan != nan``) and containers
    are for the exact path.
    """
    if v is None or v == "":
        return None
    if type(v) not in (int, bool, str) and not (type(v) is float and math.isfinite(v) and v != 0):
        raise _Decline
    return json.dumps(v)


def _joined(items: pl.DataFrame, group: str, key: str) -> pl.DataFrame:
    """Per ``group``, the JSON object of its ``"key": value`` texts ``item`` (columns ``group``, ``text``).

    As ``json.dumps(dict, sort_keys=True)`` writes a dict filled in row order:
    sorted by key, and a key given twice holds its last value.  Every group
    has at least one item; groups come out in ascending order.
    """
    items = items.sort(group, key, maintain_order=True)
    g, k = pl.col(group), pl.col(key)
    last = ((g != g.shift(-1)) | (k != k.shift(-1))).fill_null(True)  # sorted: equal keys sit together
    return (
        items.filter(last)
        .group_by(group, maintain_order=True)
        .agg(pl.col("item"))  # then list.join: str.join inside agg is ten times slower
        .select(group, text=pl.concat_str([pl.lit("{"), pl.col("item").list.join(", "), pl.lit("}")]))
    )


def _accuracy_json(acc: pl.Series, plain: bool) -> pl.Series:
    """``json.dumps(_accuracy(a), sort_keys=True)`` for each ``Accuracy`` text (null where none).

    The pairs are found with ``_accuracy_text``'s pattern by Polars' regex
    engine, which matches as Python's does on ASCII text (leftmost first, lazy
    and greedy alike); other text goes through ``_accuracy`` itself.  Within a
    JSON string the only whitespace is a space (control characters are not
    allowed raw), which is all the stripping below removes.
    """
    s = pl.select(pl.when(acc.str.len_bytes() > 0).then(acc)).to_series().alias("s")
    ascii_ = pl.repeat(True, len(s), eager=True) if plain else s.str.contains(r"^[\x00-\x7f]*$").fill_null(False)
    rows = pl.DataFrame({"s": s, "ascii": ascii_}).with_row_index("row")
    pairs = (
        rows.filter(pl.col("ascii"))
        .select("row", pair=pl.col("s").str.extract_all(_ACC_PAIR))
        .explode("pair")
        .drop_nulls("pair")
        .with_columns(pl.col("pair").str.split_exact(":", 1).struct.rename_fields(["k", "v"]))
        .unnest("pair")
        .with_columns(pl.col("k").str.strip_chars_end(" "), pl.col("v").str.strip_chars_start(" "))
    )
    value = pairs.get_column("v")
    is_num = value.str.contains(_PY_FLOAT)
    num = pl.select(pl.when(is_num).then(value.cast(pl.Float64, strict=False))).to_series()
    _require(num.null_count() == (~is_num).sum())
    text_ = json_float(num)
    if not is_num.all():  # a value float() refuses stays text
        text_ = pl.select(pl.when(is_num).then(text_).otherwise(json_str(value, plain=plain))).to_series()
    items = _joined(
        pairs.select("row", "k", item=pl.concat_str([pl.lit('"'), pl.col("k"), pl.lit('": '), pl.lit(text_)])),
        "row",
        "k",
    )
    out = rows.join(items.rename({"text": "obj"}), on="row", how="left", maintain_order="left")
    text_only = pl.lit('{"text": ') + pl.lit(json_str(s, plain=plain)) + pl.lit("}")
    result = out.select(
        pl.when(pl.col("s").is_null()).then(None).when(pl.col("obj").is_not_null()).then("obj").otherwise(text_only)
    ).to_series()
    if ascii_.all() or s.is_null().all():
        return result
    other = s.filter(~ascii_ & s.is_not_null()).unique().to_list()
    table = {v: json.dumps(_accuracy(v), sort_keys=True) for v in other}
    fixed = s.replace_strict(table, default=None, return_dtype=pl.Utf8)
    return pl.select(pl.when(ascii_).then(result).otherwise(fixed)).to_series()


class _SummaryColumns:
    """The exact path's Batch computed column by column, per distinct value where Python is needed.

    Mirrors ``MLPerfSummary._read_exact`` step by step; each ``_Decline`` is a
    case it leaves to that path (which then reads the file, or names the error).
    Columns hold each record's JSON text (see ``_jsoncols``); strings are taken
    out of them only where needed for every record.
    """

    def __init__(self, path: Path, name: str, got: JsonColumns) -> None:
        self.path, self.name, self.got = path, name, got
        self.raw = got.frame
        self.n = self.raw.height
        self.plain = got.plain

    def batch(self) -> Batch:
        raw = self.raw
        _require(self.n)
        ok = raw.select(
            *(is_text(pl.col(c)).all() for c in _FAST_TEXT),
            is_number(pl.col("Performance_Result")).all(),
            (pl.col("Power_Result").is_null() | is_number(pl.col("Power_Result"))).all(),
        ).row(0)
        _require(all(ok))
        self.location = pl.select(text_of(pl.lit(raw.get_column("Location")))).to_series()
        models = BatchBuilder(self.path, self.name, digest="-")  # the model catalogue, as the exact path adds it
        # Independent pieces overlap where a second core is free: the accuracy texts (Polars)
        # with the identities, the cases with the hardware, the series keys (a Python hash
        # per result) with the runs.
        with ThreadPoolExecutor(max_workers=2) as pool:
            accuracy = pool.submit(_accuracy_json, pl.select(text_of(pl.lit(raw.get_column("Accuracy")))).to_series(),
                                   self.plain)  # fmt: skip
            self._identity()
            cases = pool.submit(self._cases, models)
            hardware, hw_type, system_files = self._hardware()
            cases.result()
            results = pool.submit(bulk_results, **self._results(hw_type))
            runs = self._runs(accuracy.result())
            results = results.result()
        sha = self.got.sha256.copy()
        for f in sorted(set(system_files)):
            sha.update(f.read_bytes())
        catalogue = models.build(allow_empty=True)
        return Batch(
            path=str(self.path),
            format=self.name,
            digest=sha.hexdigest(),
            runs=runs,
            results=results,
            hardware=hardware,
            models=catalogue.models,
            compatibility=catalogue.compatibility,
            integration_tests=catalogue.integration_tests,
        )

    # -- who: the run (division, submitter, platform) and hardware of each record
    def _identity(self) -> None:
        raw = self.raw
        idents = ("Category", "Submitter", "Platform")
        # Else the exact path takes the identity from the Location.
        _require(raw.select(pl.all_horizontal((pl.col(c) != '""').fill_null(False) for c in idents).all()).item())
        # A round has two divisions, a hundred submitters and thousands of platforms.
        division = _loaded(raw.get_column("Category"), lambda v: (clean_text(v) or "").lower() or None, pl.Utf8)
        submitter = _loaded(raw.get_column("Submitter"), clean_text, pl.Utf8)
        platform = self._clean(raw.get_column("Platform"))
        _require(not (division.has_nulls() or submitter.has_nulls() or platform.has_nulls()))
        self.division, self.submitter, self.platform = division, submitter, platform
        self.hw = pl.select(pl.concat_str([pl.lit(submitter), pl.lit("/"), pl.lit(platform)])).to_series()
        # Runs and hardware grouped on integer codes: the same partition as on the strings.
        (d, nd), (u, nu), (p, np_) = _codes(division), _codes(submitter), _codes(platform)
        _require(nd * nu * np_ < 1 << 62)
        hw_key = u * np_ + p
        self.run, self.run_first = _first_seen(d * (nu * np_) + hw_key)
        self.hw_index, self.hw_first = _first_seen(hw_key)

    def _clean(self, col: pl.Series) -> pl.Series:
        """``clean_text`` of each JSON string (null where it gives ``None``).

        Column-wise for printable ASCII, where a space is the only whitespace
        ``str.strip`` removes; once per distinct value otherwise.
        """
        if not self.plain:
            return _loaded(col, clean_text, pl.Utf8)
        s = pl.select(text_of(pl.lit(col)).str.strip_chars(" ")).to_series()
        return pl.select(pl.when(~pl.lit(s).str.to_lowercase().is_in(sorted(_MISSING_TEXT))).then(s)).to_series()

    # -- what: benchmark, scenario and parameters of each record, once per distinct combination
    def _cases(self, models: BatchBuilder) -> None:
        raw = self.raw

        def case(bench: Any, used: Any, scen: Any, division: str) -> tuple[Any, ...]:
            bench = text(bench) or text(used)
            scenario = text(scen)
            _require(bench and scenario)  # else the exact path names what is missing
            model, scenario, params = _case_params(bench, scenario, text(used), division)
            # The record's entry names model and scenario unless its Location ends with them.
            return (
                model,
                scenario,
                fast_canonical_params(params),
                json.dumps(bench),
                json.dumps(scenario),
                f"/{bench}/{scenario}",
            )

        codes, done = _per_combination(
            [raw.get_column("Model"), raw.get_column("UsedModel"), raw.get_column("Scenario"),
             _json_texts(self.division)],
            case,
        )  # fmt: skip
        self.model, self.scenario, self.params, self.bench_json, self.scenario_json, self.suffix = (
            _spread([c[i] for c in done], codes, pl.Utf8) for i in range(6)
        )
        for m in self.model.unique(maintain_order=True).to_list():
            _add_model(models, m, "model")
        self.precision = _loaded(
            raw.get_column("weight_data_types"), lambda v: normalize_precision(parse_precision(v)), pl.Utf8
        )

    # -- the hardware catalogue: facts per distinct combination, names per system
    def _hardware(self) -> tuple[pl.DataFrame, pl.Series, list[Path]]:
        first = self.hw_first
        names = self.hw.gather(first).to_list()
        docs = self._system_docs()
        # System names: each hardware's distinct non-empty names, in order of appearance.
        sys_names = (
            pl.DataFrame({"hw": self.hw_index, "name": self.raw.get_column("System")})
            .filter(pl.col("name") != '""')
            # The same name on consecutive records of a system (as usual) first: a cheaper pass.
            .filter((pl.col("hw") != pl.col("hw").shift(1)) | pl.col("name").ne_missing(pl.col("name").shift(1)))
            .unique(maintain_order=True)
            .with_columns(text_of(pl.col("name")))
            .group_by("hw", maintain_order=True)
            .agg(pl.col("name"))
        )
        by_hw = pl.DataFrame({"hw": pl.int_range(len(names), dtype=pl.Int64, eager=True)}).join(
            sys_names, on="hw", how="left", maintain_order="left"
        )
        name_lists = by_hw.get_column("name")
        listed = name_lists.to_list()
        # Facts: the same for many systems, so computed per distinct combination.

        def entry(*values: Any) -> tuple[Any, ...]:
            info = _HardwareInfo("")
            info.record({src: v for src, v in zip(_FACT_FIELDS, values, strict=True) if v is not None})
            kind, vendor, device, mem, meta = info.entry()
            _require(mem is None or math.isfinite(mem))  # else add_hardware refuses it: the exact path says so
            kind = normalize_hardware_type(kind)  # add_hardware's (a kind is always a known type)
            _require(kind is not None)
            return kind, vendor, device, mem, {k: json.dumps(v) for k, v in meta.items()}

        codes, entries = _per_combination([self.raw.get_column(c).gather(first) for c in _FACT_FIELDS], entry)
        many = name_lists.list.len().fill_null(0) > 1
        all_names = pl.Series([json.dumps(x) for x in name_lists.filter(many).to_list()], dtype=pl.Utf8)
        texts = {
            k: _spread([e[4].get(k) for e in entries], codes, pl.Utf8)
            for k in sorted({k for e in entries for k in e[4]})
        }
        texts["submitter"] = json_str(self.submitter.gather(first), plain=self.plain)
        texts["system_name"] = json_str(name_lists.list.first(), plain=self.plain)
        texts["system_names"] = pl.Series([None] * len(names), dtype=pl.Utf8).scatter(many.arg_true(), all_names)
        frame = pl.DataFrame(
            {
                "name": names,
                "type": _spread([e[0] for e in entries], codes, pl.Utf8),
                "device_name": _spread([e[2] for e in entries], codes, pl.Utf8),
                "vendor": _spread([e[1] for e in entries], codes, pl.Utf8),
                "memory_gb": _spread([e[3] for e in entries], codes, pl.Float64),
                "peak_tflops": pl.Series([None] * len(names), dtype=pl.Float64),
                "bandwidth_gbs": pl.Series([None] * len(names), dtype=pl.Float64),
                "metadata": pl.DataFrame(texts).select(json_object({k: pl.col(k) for k in texts})).to_series(),
            },
            schema=HARDWARE_SCHEMA,
        )
        kinds = frame.get_column("type")
        if docs:  # with a system description: the exact path's own code, per system
            scratch = BatchBuilder(self.path, self.name, digest="-")
            exact_kinds = []
            for j, (_, sdoc) in docs.items():
                info = _HardwareInfo(names[j])
                info.system_file(sdoc)
                info.system_names += [x for x in (listed[j] or []) if x not in info.system_names]
                try:
                    exact_kinds.append(normalize_hardware_type(info.add_to(scratch, f"hardware {names[j]}")[0]))
                except IngestError:
                    raise _Decline from None
            at = pl.Series(list(docs), dtype=pl.UInt32)
            exact = scratch.build(allow_empty=True).hardware.with_columns(at=at)
            frame = (
                pl.concat([frame.with_row_index("at").filter(~pl.col("at").is_in(list(docs))),
                           exact.select(["at", *HARDWARE_SCHEMA])])
                .sort("at")
                .drop("at")
            )  # fmt: skip
            kinds = kinds.scatter(at, pl.Series(exact_kinds, dtype=pl.Utf8))
        hw_type = kinds.gather(self.hw_index)
        return frame, hw_type, [p for p, _ in docs.values()]

    def _system_docs(self) -> dict[int, tuple[Path, dict[str, Any]]]:
        """System descriptions beside the summary, by hardware position (``_system_file`` of each first record).

        Only hardware whose ``<division>/<Submitter>/systems`` folder exists is
        looked at one by one: a round has tens of thousands of systems and a
        few hundred such folders at most.
        """
        first = self.hw_first
        loc = self.location.gather(first)
        loc = pl.select(pl.when(loc.str.len_bytes() > 0).then(loc)).to_series()
        parts = loc.str.split("/")
        p0 = pl.select(pl.coalesce(parts.list.get(0, null_on_oob=True), pl.lit(self.division.gather(first))))
        p1 = pl.select(pl.coalesce(parts.list.get(1, null_on_oob=True), pl.lit(self.submitter.gather(first))))
        folder = pl.DataFrame({"p0": p0.to_series(), "p1": p1.to_series()})
        root = self.path.parent
        folders: dict[tuple[str, str], Path | None] = {}
        for a, b in folder.unique().rows():
            if all(p not in ("", ".", "..") and "\\" not in p for p in (a, b)):
                _systems_folder(root, a, b, folders)
        docs: dict[int, tuple[Path, dict[str, Any]]] = {}
        present = [key for key, f in folders.items() if f is not None]
        if not present:
            return docs
        found = pl.DataFrame(present, schema=["p0", "p1"], orient="row").with_columns(found=pl.lit(True))
        wanted = folder.join(found, on=["p0", "p1"], how="left", maintain_order="left").get_column("found")
        wanted = wanted.fill_null(False).arg_true().to_list()
        rows = list(zip(loc.to_list(), self.division.gather(first).to_list(), self.submitter.gather(first).to_list(),
                        self.platform.gather(first).to_list(), strict=True))  # fmt: skip
        for j in wanted:
            location, *ident = rows[j]
            sp = _system_file(root, location, tuple(ident), folders)  # type: ignore[arg-type]
            if sp is not None and (sdoc := _read_system_file(sp)) is not None:
                docs[j] = (sp, sdoc)
        return docs

    # -- the runs: one per submitted system, with its records in the metadata
    def _runs(self, accuracy: pl.Series) -> pl.DataFrame:
        """The runs table; ``accuracy`` is each record's accuracy as JSON text (``_accuracy_json``)."""
        first, raw = self.run_first, self.raw
        version = _loaded(raw.get_column("version").gather(first), clean_text, pl.Utf8)

        def environment(software: Any, system: Any) -> str | None:
            env = compact({"software": clean_text(software), "operating_system": clean_text(system)})
            return json.dumps(env, sort_keys=True, default=str) if env else None

        codes, envs = _per_combination(
            [raw.get_column("Software").gather(first), raw.get_column("operating_system").gather(first)], environment
        )
        division, submitter, platform = (c.gather(first) for c in (self.division, self.submitter, self.platform))
        run_key = pl.select(pl.concat_str([version, division, submitter, platform], separator="/",
                                          ignore_nulls=True)).to_series()  # fmt: skip
        # Run fields: JSON text of each record's value, compared with its run's first record's.
        values: dict[str, pl.Series] = {}
        for src, _dst in _RUN_FIELDS:
            if src in _FAST_TEXT:
                s = raw.get_column(src)
                s = pl.select(pl.when(s != '""').then(s)).to_series()  # "" as absent
                values[src] = s if self.plain else json_str(pl.select(text_of(pl.lit(s))).to_series())
            else:
                values[src] = _loaded(raw.get_column(src), _canonical_scalar, pl.Utf8)
        of_run = first.gather(self.run)
        loc = self.location
        # The usual Location is <division>/<Submitter>/results/<Platform>/<benchmark>/<scenario>: one
        # comparison settles both what the key is and that the entry need not name model and scenario.
        folder = pl.select(
            pl.concat_str([pl.lit(division), pl.lit("/"), pl.lit(submitter), pl.lit("/results/"), pl.lit(platform)])
        ).to_series()
        folder_of = folder.gather(self.run)
        usual = pl.select((pl.lit(loc) == pl.concat_str([pl.lit(folder_of), pl.lit(self.suffix)])).fill_null(False))
        usual = usual.to_series()
        named = usual | pl.select(pl.lit(loc).str.ends_with(pl.lit(self.suffix))).to_series().fill_null(False)
        entry: dict[str, pl.Expr] = {
            "model": pl.when(~pl.lit(named)).then(pl.lit(self.bench_json)),
            "scenario": pl.when(~pl.lit(named)).then(pl.lit(self.scenario_json)),
            "accuracy": pl.lit(accuracy),
        }
        frame = pl.DataFrame({src: values[src] for src, _ in _RUN_FIELDS})
        suspects = [src for src, _ in _RUN_FIELDS]
        if self._run_stretches() == len(first):
            # A run's records sit together (as a round table writes them): a field that never
            # changes from one record to the next within a run is the run's value throughout.
            new_run = pl.lit(self.run != self.run.shift(1)).fill_null(True)
            same = frame.select((pl.all().eq_missing(pl.all().shift(1)) | new_run).all()).row(0)
            suspects = [src for src, ok in zip(suspects, same, strict=True) if not ok]
        for src, dst in _RUN_FIELDS:
            if src in suspects:
                mine = values[src]
                differs = ~mine.eq_missing(mine.gather(of_run))
                if differs.any():  # usually not: the field is left out of every record's entry
                    entry[dst] = pl.when(pl.lit(differs)).then(pl.lit(mine.fill_null("null")))
        # A record's key: its path below the system's results folder, else (elsewhere) the Location as written.
        if usual.all():
            relative = self.suffix.str.slice(1)
        else:
            below = pl.concat_str([pl.lit(folder_of), pl.lit("/")])
            relative = pl.select(
                pl.when(
                    pl.lit(loc).str.starts_with(below) & (pl.lit(loc).str.len_bytes() > below.str.len_bytes())
                ).then(pl.lit(loc).str.strip_prefix(below))
            ).to_series()
        items = pl.DataFrame({"run": self.run, "key": relative, "entry": pl.select(json_object(entry)).to_series()})
        records = self._records(items.drop_nulls("key"), "{}")
        other = items.filter(pl.col("key").is_null())
        elsewhere = None
        if other.height:
            given = (loc.str.len_bytes() > 0).fill_null(False)
            key = pl.select(
                pl.when(given).then(loc).otherwise(pl.lit("record ") + pl.int_range(self.n).cast(pl.Utf8))
            ).to_series()
            elsewhere = self._records(other.with_columns(key=key.filter(relative.is_null())), None)
        meta: dict[str, pl.Expr] = {
            "mlperf_round": pl.lit(json_str(version, plain=self.plain)),
            "division": pl.lit(json_str(division, plain=self.plain)),
            "submitter": pl.lit(json_str(submitter, plain=self.plain)),
            "platform": pl.lit(json_str(platform, plain=self.plain)),
            "location": pl.lit(json_str(folder, plain=self.plain)),
            "records": pl.lit(records),
            **({} if elsewhere is None else {"records_elsewhere": pl.lit(elsewhere)}),
            **{dst: pl.lit(values[src].gather(first)) for src, dst in _RUN_FIELDS},
        }
        n_runs = len(first)
        return pl.DataFrame(
            {
                "run_index": pl.int_range(n_runs, dtype=pl.Int64, eager=True),
                "run_key": run_key,
                "commit": [None] * n_runs,
                "branch": [None] * n_runs,
                "machine": platform,
                "started_at": [None] * n_runs,
                "ended_at": [None] * n_runs,
                "environment": _spread(envs, codes, pl.Utf8),
                "provenance": ["measured"] * n_runs,
                "metadata": pl.select(json_object(meta)).to_series(),
            },
            schema=RUN_SCHEMA,
        )

    def _run_stretches(self) -> int:
        """Stretches of consecutive records of one run (the number of runs when each run's records sit together)."""
        return int((self.run != self.run.shift(1)).fill_null(True).sum())

    def _records(self, items: pl.DataFrame, empty: str | None) -> pl.Series:
        """Per run, the JSON object of its records' ``key: entry`` (``empty`` for a run with none)."""
        objects = _joined(
            items.select("run", "key", item=pl.concat_str([json_str(items.get_column("key"), plain=self.plain),
                                                           pl.lit(": "), pl.col("entry")])),
            "run",
            "key",
        )  # fmt: skip
        every = pl.DataFrame({"run": pl.int_range(len(self.run_first), dtype=pl.Int64, eager=True)})
        out = every.join(objects, on="run", how="left", maintain_order="left").get_column("text")
        return out if empty is None else out.fill_null(empty)

    # -- the results: a throughput or latency per record, and power or energy where measured
    def _results(self, hw_type: pl.Series) -> dict[str, Any]:
        """The arguments of ``bulk_results``."""
        raw, n, scenario = self.raw, self.n, self.scenario

        def perf(units: Any, scenario: str) -> tuple[str, str]:
            _require(text(units))
            metric, unit = _perf_unit(units)
            if scenario == "Server" and unit == "samples/s":
                unit = "queries/s"
            try:
                parse_unit(unit)
            except UnknownUnitError:
                raise _Decline from None
            return metric, unit

        codes, units = _per_combination([raw.get_column("Performance_Units"), _json_texts(scenario)], perf)
        metric = _spread([u[0] for u in units], codes, pl.Utf8)
        unit = _spread([u[1] for u in units], codes, pl.Utf8)
        value = raw.get_column("Performance_Result").cast(pl.Float64, strict=False)
        latency = metric == "latency"
        perf_rows = pl.DataFrame(
            {
                "order": pl.int_range(0, 2 * n, 2, dtype=pl.Int64, eager=True),
                "row": pl.int_range(n, dtype=pl.Int64, eager=True),
                "metric": metric,
                "unit": unit,
                "value": value,
                "p90": pl.select(pl.when(latency & (scenario == "SingleStream")).then(value)).to_series(),
                "p99": pl.select(pl.when(latency & (scenario == "MultiStream")).then(value)).to_series(),
            }
        )
        power_units = raw.get_column("Power_Units")
        measured = raw.get_column("Power_Result").is_not_null() & (power_units != '""').fill_null(False)
        parts = [perf_rows]
        if measured.any():

            def power(units: str) -> tuple[str, str]:
                pm = _POWER_UNITS.get(units.strip().lower())
                _require(pm)
                return pm  # type: ignore[return-value]

            at = measured.arg_true()
            codes, pms = _per_combination([power_units.gather(at)], power)
            parts.append(
                pl.DataFrame(
                    {
                        "order": at.cast(pl.Int64) * 2 + 1,
                        "row": at.cast(pl.Int64),
                        "metric": _spread([p[0] for p in pms], codes, pl.Utf8),
                        "unit": _spread([p[1] for p in pms], codes, pl.Utf8),
                        "value": raw.get_column("Power_Result").gather(at).cast(pl.Float64, strict=False),
                        "p90": pl.Series([None] * len(at), dtype=pl.Float64),
                        "p99": pl.Series([None] * len(at), dtype=pl.Float64),
                    }
                )
            )
        rows = pl.concat(parts).sort("order") if len(parts) > 1 else perf_rows
        v = rows.get_column("value")
        _require(not v.has_nulls() and (v.is_finite() & (v >= 0)).all())
        at = rows.get_column("row")
        cases = pl.DataFrame(
            {
                "benchmark": pl.Series([BENCHMARK], dtype=pl.Utf8).new_from_index(0, rows.height),
                "model": self.model.gather(at),
                "hardware": self.hw.gather(at),
                "hardware_type": hw_type.gather(at),
                "batch_size": pl.Series([None] * rows.height, dtype=pl.Int64),
                "seq_len": pl.Series([None] * rows.height, dtype=pl.Int64),
                "precision": self.precision.gather(at),
                "params": self.params.gather(at),
            }
        )
        return {
            "cases": cases,
            "run_index": self.run.gather(at),
            "metric": rows.get_column("metric"),
            "unit": rows.get_column("unit"),
            "value": v,
            "stats": {"p90": rows.get_column("p90"), "p99": rows.get_column("p99")},
        }


def _json_texts(s: pl.Series) -> pl.Series:
    """The JSON text of each string (for ``_per_combination``, which reads JSON texts)."""
    return json_str(s)


# ---------------------------------------------------------------------------
# mlperf_log_summary.txt
# ---------------------------------------------------------------------------
_KV = re.compile(r"^\s*([^:]+?)\s*:\s*(.*?)\s*$")
_STAT = re.compile(r"^(?:(min|max|mean)|(\d+(?:\.\d+)?) percentile)\s+(.*?)\s*\(ns\)$", re.IGNORECASE)
_EARLY = re.compile(r"early stopping (\d+)(?:th|st|nd|rd) percentile estimate\s*:\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_PROCESSED = re.compile(r"processed at least \d+ queries \((\d+)\)", re.IGNORECASE)
_SPREAD_OF = {"min": "min", "max": "max", "50": "median", "90": "p90", "95": "p95", "99": "p99"}
_HEADLINES = {
    "samples per second": ("throughput", "samples/s"),
    "completed samples per second": ("throughput", "samples/s"),
    "tokens per second": ("throughput", "tokens/s"),
    "completed tokens per second": ("throughput", "tokens/s"),
    "completed tokens per second (inferred)": ("throughput", "tokens/s"),
}


def _stat_metric(what: str) -> str:
    w = what.strip().lower()
    if w in ("latency", "per-query latency"):
        return "latency"
    if "first token" in w:
        return "ttft"
    if "output token" in w or "tpot" in w:
        return "tpot"
    return re.sub(r"[^a-z0-9]+", "_", w).strip("_") or "latency"


def _plain(v: str) -> Any:
    """Test parameters as numbers where exact (RNG seeds stay text: they exceed 2**53)."""
    try:
        i = int(v)
        return i if abs(i) < 2**53 else v
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


class MLPerfLog:
    """``mlperf_log_summary.txt`` written by LoadGen for one performance run."""

    name = "mlperf-log"
    description = "MLPerf LoadGen run summary (mlperf_log_summary.txt)"
    priority = 65
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".txt":
            return False
        return "MLPerf Results Summary" in head_text(path, 512)

    @paused_gc
    def read(self, path: Path) -> Batch:
        ctx = self._context(path)
        extra = [ctx[k] for k in ("system_file", "measurements_file") if k in ctx]
        b = BatchBuilder(path, self.name, digest=file_digest(path, extra=extra))
        body = read_utf8(path)
        if "MLPerf Results Summary" not in body[:512]:
            raise b.error("line 1", "not an MLPerf LoadGen summary (no 'MLPerf Results Summary' header)")
        log = _LogFields()
        section = "summary"
        for lineno, line in enumerate(body.splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("====="):
                continue
            low = s.lower()
            if low in _SECTIONS:
                section = _SECTIONS[low]
                continue
            if m := _EARLY.search(s):
                log.early[m.group(1)] = (lineno, float(m.group(2)))
            elif m := _PROCESSED.search(s):
                log.processed = int(m.group(1))
            elif "encountered" in low:
                log.notes.append(s)
            elif kv := _KV.match(s):
                log.add(b, section, lineno, kv.group(1), kv.group(2))
        return self._build(b, ctx, log)

    @staticmethod
    def _context(path: Path) -> dict[str, Any]:
        """Division, submitter, platform, benchmark and scenario from the submission path."""
        p = path.parts
        ctx: dict[str, Any] = {}
        if len(p) >= 9 and p[-3] == "performance" and p[-7] == "results":
            ctx.update(division=p[-9].lower(), submitter=p[-8], platform=p[-6], model_dir=p[-5],
                       scenario_dir=p[-4], run_dir=p[-2])  # fmt: skip
            sub = path.parents[6]
            sys_file = sub / "systems" / f"{p[-6]}.json"
            if sys_file.is_file():
                ctx["system_file"] = sys_file
            mdir = sub / "measurements" / p[-6] / p[-5] / p[-4]
            if mdir.is_dir():
                found = sorted(f for f in mdir.glob("*.json") if f.is_file())
                if found:
                    ctx["measurements_file"] = found[0]
        return ctx

    def _build(self, b: BatchBuilder, ctx: Mapping[str, Any], log: _LogFields) -> Batch:
        cols = ResultColumns(b)
        scen = log.fields.get("Scenario")
        scenario = _scenario(scen[1]) if scen else _scenario(ctx["scenario_dir"]) if "scenario_dir" in ctx else None
        if not scenario:
            raise b.error(None, "no 'Scenario' line and no scenario folder in the path")
        validity = log.fields.get("Result is", (0, None))[1]
        hw_name = kind = None
        if ctx.get("submitter"):
            hw_name = f"{ctx['submitter']}/{ctx['platform']}"
            sdoc = _read_system_file(ctx["system_file"]) if "system_file" in ctx else None
            if sdoc is not None:  # without a description the hardware type is unknown, not "cpu"
                info = _HardwareInfo(hw_name)
                info.facts["submitter"] = ctx["submitter"]
                info.system_file(sdoc)
                kind = info.add_to(b, f"hardware {hw_name}")[0]
        model = target = None
        if ctx.get("model_dir"):
            model, target = split_model(ctx["model_dir"])
            _add_model(b, model, "path")
        params: dict[str, Any] = {"scenario": scenario}
        if ctx.get("division"):
            params["division"] = ctx["division"]
        if target:
            params["accuracy_target"] = target
        if validity and validity.strip().upper() != "VALID":
            # Kept (it is a measurement) but never in the same series as valid results.
            params["result_validity"] = validity.strip().upper()
        precision = None
        if "measurements_file" in ctx and (mdoc := _read_system_file(ctx["measurements_file"])) is not None:
            precision = parse_precision(mdoc.get("weight_data_types"))
        meta = compact(
            {
                "tool": "MLPerf LoadGen",
                "sut_name": log.fields.get("SUT name", (0, None))[1],
                "mode": log.fields.get("Mode", (0, None))[1],
                "result_validity": validity,
                "division": ctx.get("division"),
                "submitter": ctx.get("submitter"),
                "platform": ctx.get("platform"),
                "benchmark_folder": ctx.get("model_dir"),
                "test_parameters": log.params or None,
                "notes": log.notes or None,
                "summary": {
                    k: v[1] for k, v in log.fields.items() if k not in ("Scenario", "Mode", "Result is", "SUT name")
                },  # fmt: skip
            }
        )
        if scenario == "Offline" and log.stats:
            # The run is one query, so these measure the run duration, not a per-sample latency.
            meta["offline_latency_ns"] = {m: {k: v for k, (_, v) in st.items()} for m, st in log.stats.items()}
            b.skipped.append("Offline 'Additional Stats' latencies: one query spans the run (kept in run metadata)")
        key = "/".join(ctx[k] for k in ("division", "submitter", "platform", "model_dir", "scenario_dir", "run_dir")
                       if k in ctx) or None  # fmt: skip
        run = cols.add_run(key=key, machine=ctx.get("platform"), metadata=meta, location="line 1")
        case = cols.case(benchmark=BENCHMARK, model=model, hardware=hw_name, hardware_type=kind,
                         precision=precision, params=params, location="path")  # fmt: skip
        for lineno, metric, unit, value in log.headlines:
            if scenario == "Server" and unit == "samples/s":
                unit = "queries/s"  # a Server query carries one sample; MLPerf reports Queries/s
            cols.add(run, case, metric, value, unit, f"line {lineno}")
        lat = log.stats.get("latency", {})
        metrics: list[str] = []
        if scenario in ("SingleStream", "MultiStream"):
            pct = "90" if scenario == "SingleStream" else "99"
            hit = log.early.get(pct) or log.percentile.get(pct)
            if hit is None:
                raise b.error(None, f"no {pct}th percentile latency in the results summary")
            spread = {_SPREAD_OF[k]: v for k, (_, v) in lat.items() if k in _SPREAD_OF}
            cols.add(run, case, "latency", hit[1], "ns", f"line {hit[0]}", stats=spread, n_samples=log.processed)
            metrics = [m for m in log.stats if m != "latency"]
        elif scenario == "Server":
            metrics = list(log.stats)
        for metric in metrics:
            st = log.stats[metric]
            if "mean" in st:
                spread = {_SPREAD_OF[k]: v for k, (_, v) in st.items() if k in _SPREAD_OF}
                cols.add(run, case, metric, st["mean"][1], "ns", f"line {st['mean'][0]}", stats=spread)
        if len(cols) == 0 and log.fields.get("Mode", (0, ""))[1] != "PerformanceOnly":
            b.skipped.append(f"mode {log.fields.get('Mode', (0, None))[1]!r}: no performance metrics")
        return cols.finish()


_SECTIONS = {"mlperf results summary": "summary", "additional stats": "stats", "test parameters used": "params"}
_HEADLINE_PCT = re.compile(r"^(\d+)(?:th|st|nd|rd) percentile latency \(ns\)$", re.IGNORECASE)


class _LogFields:
    """What one pass over a LoadGen summary collects."""

    def __init__(self) -> None:
        self.fields: dict[str, tuple[int, str]] = {}
        self.headlines: list[tuple[int, str, str, float]] = []
        self.percentile: dict[str, tuple[int, float]] = {}
        self.stats: dict[str, dict[str, tuple[int, float]]] = {}
        self.params: dict[str, Any] = {}
        self.early: dict[str, tuple[int, float]] = {}
        self.processed: int | None = None
        self.notes: list[str] = []

    def add(self, b: BatchBuilder, section: str, lineno: int, key: str, value: str) -> None:
        if section == "params":
            self.params[key] = _plain(value)
            return
        head = _HEADLINES.get(key.lower()) if section == "summary" else None
        hp = _HEADLINE_PCT.match(key) if section == "summary" else None
        sm = _STAT.match(key) if section == "stats" else None
        if head is None and hp is None and sm is None:
            self.fields[key] = (lineno, value)
            return
        try:
            x = float(value)
        except ValueError:
            raise b.error(f"line {lineno}", f"{key} must be a number, got {value!r}") from None
        if head is not None:
            self.headlines.append((lineno, head[0], head[1], x))
        elif hp is not None:
            self.percentile[hp.group(1)] = (lineno, x)
        elif sm is not None:
            which = sm.group(1).lower() if sm.group(1) else format(float(sm.group(2)), "g")
            self.stats.setdefault(_stat_metric(sm.group(3)), {})[which] = (lineno, x)


# ---------------------------------------------------------------------------
# systems/<Platform>.json
# ---------------------------------------------------------------------------
class MLPerfSystem:
    """``systems/<Platform>.json``: a submitter's hardware description (catalogue only)."""

    name = "mlperf-system"
    description = "MLPerf submission system description (systems/<Platform>.json; hardware only)"
    priority = 65
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 8192)
        return (
            h.lstrip().startswith("{")
            and '"system_name"' in h
            and '"host_processor_model_name"' in h
            and ('"accelerators_per_node"' in h or '"accelerator_model_name"' in h)
        )

    @paused_gc
    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict):
            raise b.error(None, f"a system description is a JSON object, got {type(doc).__name__}")
        if not any(k in doc for k in ("system_name", "host_processor_model_name", "accelerator_model_name")):
            raise b.error(None, "not an MLPerf system description (no system_name or processor/accelerator names)")
        submitter = path.parent.parent.name if path.parent.name == "systems" else None
        submitter = submitter or clean_text(doc.get("submitter"))
        name = f"{submitter}/{path.stem}" if submitter else path.stem
        info = _HardwareInfo(name)
        info.system_file(doc)
        info.add_to(b, "system")
        return b.build(allow_empty=True)


IMPORTERS = [MLPerfSummary(), MLPerfLog(), MLPerfSystem()]

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
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlab.errors import IngestError
from benchlab.frame import normalize_precision
from benchlab.ingest._batch import Batch, BatchBuilder, file_digest
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import (
    capacity_gb,
    clean_text,
    compact,
    finite,
    head_text,
    load_json,
    parse_json_text,
    paused_gc,
    text,
)

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
        b.add_hardware(
            self.name,
            type=kind,
            device_name=acc or f.get("host_processor"),
            vendor=vendor,
            memory_gb=mem,
            metadata=meta,
            location=location,
        )
        return kind, vendor


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
# Per-system fields: stored once on the run (from the system's first record) and
# on a record only where it differs.  Per-record fields: always on the record.
_SYSTEM_META = (("System", "system"), ("Availability", "availability"), ("Suite", "suite"), ("Details", "details"),
                ("Code", "code"), ("Notes", "notes"))  # fmt: skip
_SYSTEM_SRC, _SYSTEM_DST = tuple(s for s, _ in _SYSTEM_META), tuple(d for _, d in _SYSTEM_META)
_RECORD_META = (("ID", "id"), ("weight_data_types", "weight_data_types"), ("inferred", "inferred"),
                ("compliance", "compliance"), ("errors", "errors"), ("has_power", "has_power"))  # fmt: skip


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
                    sys_path = self._system_file(root, rec, ident)
                    if sys_path is not None and (sdoc := _read_system_file(sys_path)) is not None:
                        system_files.append(sys_path)
                        info.system_file(sdoc)
                version = clean_text(rec.get("version"))
                meta = compact({"mlperf_round": version, "division": division, "submitter": submitter,
                                "platform": platform})  # fmt: skip
                meta.update({dst: v for src, dst in _SYSTEM_META if (v := rec.get(src)) is not None and v != ""})
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
    def _system_file(root: Path, rec: Mapping[str, Any], ident: tuple[str, str, str]) -> Path | None:
        """``<division>/<Submitter>/systems/<Platform>.json`` beside the summary, if present."""
        location = text(rec.get("Location"))
        parts = location.split("/") if location else [ident[0], ident[1], "results", ident[2]]
        if len(parts) < 4 or any(p in ("", ".", "..") or "\\" in p for p in parts[:4]):
            return None
        candidate = root / parts[0] / parts[1] / "systems" / f"{parts[3]}.json"
        return candidate if candidate.is_file() else None

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
        entry = {dst: v for src, dst in _RECORD_META if (v := rec.get(src)) is not None}
        if tuple(map(rec.get, _SYSTEM_SRC)) != tuple(map(meta.get, _SYSTEM_DST)):  # most records: all alike
            for src, dst in _SYSTEM_META:
                v = rec.get(src)
                if v != meta.get(dst) and v is not None and v != "":
                    entry[dst] = v
        entry["model"] = model_raw
        entry["scenario"] = scenario
        acc = _accuracy(rec.get("Accuracy"))
        if acc:
            entry["accuracy"] = acc
        # IDs name a submitted system, not a record; the result folder names the record.
        location = rec.get("Location")
        meta["records"][location if type(location) is str and location else f"record {i}"] = entry

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
        model, target = split_model(bench)
        scen_raw = text(rec.get("Scenario"))
        if scen_raw is None:
            raise b.error(loc, "missing 'Scenario'")
        scenario = _scenario(scen_raw)
        params: dict[str, Any] = {"scenario": scenario}
        if division:
            params["division"] = division
        if target:
            params["accuracy_target"] = target
        used = text(rec.get("UsedModel"))
        if used and split_model(used)[0] != model:
            params["used_model"] = used
        if model not in models:
            models.add(model)
            _add_model(b, model, loc)
        case = cols.case(benchmark=BENCHMARK, model=model, hardware=hw_name, hardware_type=kinds.get(hw_name),
                         precision=parse_precision(rec.get("weight_data_types")), params=params, location=loc)  # fmt: skip
        return case, scenario, bench


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
        try:
            body = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise b.error(f"byte {exc.start}", "not UTF-8 text") from None
        except OSError as exc:
            raise b.error(None, f"cannot read the file: {exc.strerror or exc}") from None
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

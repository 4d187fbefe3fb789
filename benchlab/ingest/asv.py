"""airspeed velocity (asv): raw result files (versions 1 and 2) and published graphs.

Importers (see ``docs/formats.md``):

``asv``
    one ``results/<machine>/<hash>-<env>.json`` file: one run (commit, machine,
    environment), every benchmark value, parameterised benchmarks expanded over
    the Cartesian product of their parameters.  ``../benchmarks.json`` (type and
    unit of each benchmark) and ``machine.json`` (the machine's hardware) are read
    alongside when present.
``asv-graph``
    one published ``graphs/<key-value>/…/<benchmark>.json`` file (a list of
    ``[revision, value]``), with revisions mapped to commits and dates through the
    site's ``index.json``.
``asv-dir``
    a folder: an asv ``results/`` folder and/or a published site (``index.json`` +
    ``graphs/``).  It is split into one source per result file and per graph file
    (``sources()``), so a malformed file fails alone and the other files are
    imported; ``benchmarks.json``, ``machine.json``, ``index.json`` and the site's
    aggregate files are context, not sources.

Why one source per file rather than the folder as one atomic source: asv writes
one immutable file per (machine, commit, environment), and a folder routinely
holds a broken or foreign file (asv itself skips those).  Per-file sources make
"a bad source gets an error naming it, good sources go on" true, and a later
``asv run`` adds new files that import without duplicating the old ones.  The
digest of a result file is its own bytes only: asv rewrites ``benchmarks.json``
on every run, and including it would re-import every earlier file.

A value of ``null`` (benchmark failed) or ``NaN`` (benchmark skipped) is not a
measurement: it is skipped and counted in the ingest report, never an error.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from benchlab.errors import IngestError
from benchlab.frame import canonical_params
from benchlab.ingest._batch import Batch, BatchBuilder, file_digest
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import capacity_gb, clean_text, compact, count, finite, head_text, load_json, paused_gc, text
from benchlab.units import UnknownUnitError, parse_unit

__all__ = ["IMPORTERS", "AsvResult", "AsvGraph", "AsvDir", "param_value"]

_TYPES = {"time": "time", "memory": "memory", "peakmemory": "peak_memory", "track": "track"}
_PREFIXES = (("time_", "time", "seconds"), ("peakmem_", "peakmemory", "bytes"), ("mem_", "memory", "bytes"),
             ("track_", "track", "unit"))  # fmt: skip
_CACHE: dict[tuple[str, int, int], Any] = {}


def param_value(text_: object) -> Any:
    """An asv parameter (the ``repr`` of a Python value) as a JSON-able value.

    ``"'d'"`` → ``"d"``, ``"100"`` → ``100``; anything that is not a plain
    literal (``"<class 'Foo'>"``) is kept as written.
    """
    if not isinstance(text_, str):
        return text_ if isinstance(text_, int | float | bool) or text_ is None else str(text_)
    # A pure function of the text, and a results file repeats the same grid for
    # many benchmarks: remember the answers (literal_eval costs 5 µs).
    hit = _PARAM_VALUES.get(text_, _PARAM_VALUES)
    if hit is not _PARAM_VALUES:
        return hit
    v = _param_value(text_)
    if len(text_) <= 200:
        if len(_PARAM_VALUES) > 4096:
            _PARAM_VALUES.clear()
        _PARAM_VALUES[text_] = v
    return v


_PARAM_VALUES: dict[str, Any] = {}


def _param_value(text_: str) -> Any:
    try:
        v = ast.literal_eval(text_)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text_
    if isinstance(v, float) and not math.isfinite(v):
        return text_
    return v if isinstance(v, str | int | float | bool) or v is None else text_


def _cached_json(path: Path) -> Any:
    """Parse a context file once per content version (``benchmarks.json`` of 1000 results files)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = load_json(path)
    return _CACHE[key]


class _Definitions:
    """Type, unit and parameter names of benchmarks (``benchmarks.json`` / ``index.json``)."""

    def __init__(self, defs: Mapping[str, Any] | None, note: str | None = None) -> None:
        self.defs = defs if isinstance(defs, Mapping) else {}
        self.note = note
        self._info: dict[str, tuple[str, str, dict[str, Any], list[str]]] = {}

    def info(self, name: str) -> tuple[str, str, dict[str, Any], list[str]]:
        """(metric, unit, extra params, parameter names) of benchmark ``name``."""
        hit = self._info.get(name)
        if hit is not None:
            return hit
        d = self.defs.get(name)
        d = d if isinstance(d, Mapping) else {}
        kind, unit = text(d.get("type")), text(d.get("unit"))
        if kind not in _TYPES:
            last = name.rsplit(".", 1)[-1]
            kind, default_unit = next(((k, u) for p, k, u in _PREFIXES if last.startswith(p)), ("track", "unit"))
            unit = unit or default_unit
        unit = unit or ("seconds" if kind == "time" else "bytes" if "mem" in kind else "unit")
        extra: dict[str, Any] = {}
        try:
            parse_unit(unit)
        except UnknownUnitError:
            # A track benchmark's unit is free text; keep it as a parameter so
            # different units never share a series.
            if unit != "unit":
                extra["track_unit"] = unit
            unit = "count"
        names = d.get("param_names")
        names = [str(n) for n in names] if isinstance(names, list) else []
        hit = self._info[name] = (_TYPES[kind], unit, extra, names)
        return hit

    def params(self, name: str) -> list[Any] | None:
        d = self.defs.get(name)
        p = d.get("params") if isinstance(d, Mapping) else None
        return p if isinstance(p, list) else None


def _definitions(path: Path | None, what: str) -> _Definitions:
    if path is None or not path.is_file():
        return _Definitions(None)
    try:
        doc = _cached_json(path)
    except IngestError as exc:
        return _Definitions(
            None, f"{what} unreadable ({exc.location}: {exc.reason}); units inferred from benchmark names"
        )
    if isinstance(doc, Mapping) and what == "index.json":
        doc = doc.get("benchmarks")
    if not isinstance(doc, Mapping):
        return _Definitions(None, f"{what} is not an object; units inferred from benchmark names")
    return _Definitions(doc)


def _combos(b: BatchBuilder, loc: str, params: object, names: list[str], n: int) -> list[dict[str, Any]]:
    """The parameter combinations of a parameterised benchmark, in asv's order."""
    if params in (None, []):
        if n != 1:
            raise b.error(loc, f"{n} results but no parameters")
        return [{}]
    if not isinstance(params, list) or not all(isinstance(p, list) for p in params):
        raise b.error(loc, "params must be a list of lists of values")
    size = math.prod(len(p) for p in params)
    if size != n:
        raise b.error(loc, f"{n} results for {size} parameter combinations")
    keys = names if len(names) == len(params) else [f"param{i + 1}" for i in range(len(params))]
    # Results files repeat the same grids for many benchmarks: build each once.
    grid: tuple[Any, ...] | None
    hit: list[dict[str, Any]] | None
    try:
        grid = (tuple(keys), *(tuple((type(v), v) for v in p) for p in params))
        hit = _GRIDS.get(grid)
    except TypeError:  # a list or object as a parameter value: no memo
        grid = hit = None
    if hit is None:
        values = [[param_value(v) for v in p] for p in params]
        hit = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
        if grid is not None:
            if len(_GRIDS) > 256:
                _GRIDS.clear()
                _GRID_TEXTS.clear()
            _GRIDS[grid] = hit
    return hit


_GRIDS: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
_GRID_TEXTS: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[str | None]]] = {}


def _grid_params(
    combos: list[dict[str, Any]], base: dict[str, Any], extra: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str | None] | None]:
    """Each combination's params (``base`` and ``extra`` added) and their canonical text, once per grid."""
    key = (id(combos), tuple(base.items()), tuple(extra.items()))
    hit = _GRID_TEXTS.get(key)
    params = [{**base, **extra, **combo} for combo in combos]
    if hit is None or hit[0] is not combos:
        if len(_GRID_TEXTS) > 1024:
            _GRID_TEXTS.clear()
        try:
            hit = _GRID_TEXTS[key] = (combos, [canonical_params(p) for p in params])
        except (TypeError, ValueError):  # left to ResultColumns.case, which names the record
            return params, None
    return params, hit[1]


def _hardware_from(b: BatchBuilder, machine: str, facts: Mapping[str, Any], loc: str) -> None:
    b.add_hardware(
        machine,
        type="cpu",
        device_name=clean_text(facts.get("cpu")),
        memory_gb=_ram_gb(facts.get("ram")),
        metadata=compact({k: clean_text(facts.get(k)) for k in ("arch", "cpu", "num_cpu", "os", "ram")}),
        location=loc,
    )


def _ram_gb(value: object) -> float | None:
    """asv writes ``ram`` as ``"8.2G"``, ``"16GB"`` or kilobytes (``"16318384"``)."""
    s = clean_text(value)
    if s is None:
        return None
    try:
        return float(s) / 1e6  # plain number: kB, as asv's machine detection writes it
    except ValueError:
        pass
    return capacity_gb(s)


# ---------------------------------------------------------------------------
# results/<machine>/<hash>-<env>.json
# ---------------------------------------------------------------------------
class AsvResult:
    """One asv results file (format versions 1 and 2)."""

    name = "asv"
    description = "asv results file (results/<machine>/<hash>-<env>.json, versions 1 and 2)"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 4096)
        return '"commit_hash"' in h and any(
            k in h for k in ('"results"', '"result_columns"', '"requirements"', '"env_name"')
        )

    @paused_gc
    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name, digest=file_digest(path))
        if not isinstance(doc, dict):
            raise b.error(None, f"not an asv results file (a JSON {type(doc).__name__}, not an object)")
        if "results" not in doc or "commit_hash" not in doc:
            raise b.error(None, "not an asv results file (no 'commit_hash' and 'results')")
        version = doc.get("version")
        if version not in (1, 2) or isinstance(version, bool):
            raise b.error("version", f"unsupported asv results version {version!r} (benchlab reads 1 and 2)")
        results = doc["results"]
        if not isinstance(results, dict):
            raise b.error("results", f"must be an object, got {type(results).__name__}")
        commit = text(doc.get("commit_hash"))
        if commit is None:
            raise b.error("commit_hash", "missing or not a string")
        params = doc.get("params")
        params = params if isinstance(params, dict) else {}
        machine = clean_text(params.get("machine"))
        mfile = path.parent / "machine.json"
        mdoc = None
        if mfile.is_file():
            try:
                mdoc = _cached_json(mfile)
            except IngestError as exc:
                b.skipped.append(f"machine.json unreadable ({exc.location}: {exc.reason}); machine from the file")
        if isinstance(mdoc, dict):
            folder_machine = clean_text(mdoc.get("machine"))
            if machine and folder_machine and machine != folder_machine:
                raise b.error(
                    "params.machine",
                    f"results of machine {machine!r} in the folder of machine {folder_machine!r} (machine.json); "
                    f"asv ignores such files — move it to a folder {machine!r} with its own machine.json",
                )
            machine = machine or folder_machine
        if machine is None:
            machine = path.parent.name
        _hardware_from(b, machine, {**params, **(mdoc if isinstance(mdoc, dict) else {})}, "machine.json")
        env = text(doc.get("env_name")) or _env_from_name(path, commit)
        defs = _definitions(path.parent.parent / "benchmarks.json", "benchmarks.json")
        if defs.note:
            b.skipped.append(defs.note)
        if doc.get("date") is not None and finite(doc.get("date")) is None:
            raise b.error("date", f"must be milliseconds since the epoch, got {doc.get('date')!r}")
        cols = ResultColumns(b)
        run = cols.add_run(
            key=f"{commit}/{env}" if env else commit,
            commit=commit,
            machine=machine,
            started_at=doc.get("date"),
            environment=compact(
                {
                    "env_name": env,
                    "python": clean_text(doc.get("python")),
                    "requirements": _plain_map(doc.get("requirements")),
                    "env_vars": _plain_map(doc.get("env_vars")),
                }
            ),  # fmt: skip
            metadata=compact(
                {
                    "tool": "asv",
                    "asv_results_version": version,
                    "benchmark_version": _plain_map(doc.get("benchmark_version")),
                }
            ),  # fmt: skip
            location="commit_hash",
        )
        base = {"env": env} if env else {}
        if version == 1:
            for name, value in results.items():
                self._v1(b, cols, defs, run, base, machine, str(name), value)
        else:
            columns = doc.get("result_columns")
            if not isinstance(columns, list) or "result" not in columns:
                raise b.error("result_columns", "missing or without a 'result' column")
            index = {c: i for i, c in enumerate(columns) if isinstance(c, str)}
            for name, row in results.items():
                self._v2(b, cols, defs, run, base, machine, str(name), row, index)
        return cols.finish()

    def _v1(self, b: BatchBuilder, cols: ResultColumns, defs: _Definitions, run: int, base: dict[str, Any],
            machine: str, name: str, value: Any) -> None:  # fmt: skip
        loc = f"results.{name}"
        info = defs.info(name)
        if isinstance(value, dict):
            res = value.get("result")
            res = res if isinstance(res, list) else [res]
            combos = _combos(b, loc, value.get("params"), info[3], len(res))
            raw_stats = value.get("stats")
            raw_stats = raw_stats if isinstance(raw_stats, list) else []
            stats = [
                _v1_stats(b, f"{loc}.stats[{i}]", s, r) for i, (s, r) in enumerate(zip(raw_stats, res, strict=False))
            ]
            samples = value.get("samples") if isinstance(value.get("samples"), list) else None
            _emit(b, cols, run, loc, name, machine, base, info, combos, res, stats, samples)
        elif isinstance(value, list):
            raise b.error(loc, "a version-1 result must be a number, null or an object")
        else:
            _emit(b, cols, run, loc, name, machine, base, info, [{}], [value], [], None)

    def _v2(self, b: BatchBuilder, cols: ResultColumns, defs: _Definitions, run: int, base: dict[str, Any],
            machine: str, name: str, row: Any, index: Mapping[str, int]) -> None:  # fmt: skip
        loc = f"results.{name}"
        if not isinstance(row, list):
            raise b.error(loc, f"a version-2 result must be a list (see result_columns), got {type(row).__name__}")

        def col(c: str) -> Any:
            i = index.get(c)
            return row[i] if i is not None and i < len(row) else None

        info = defs.info(name)
        res = col("result")
        if res is None:
            b.skipped.append(f"{loc}: null (benchmark failed)")
            return
        res = res if isinstance(res, list) else [res]
        combos = _combos(b, loc, col("params"), info[3], len(res))
        repeats = col("stats_repeat")
        stats: list[dict[str, Any] | None] = []
        for j, r in enumerate(res):
            rep = repeats[j] if isinstance(repeats, list) and j < len(repeats) else None
            st: dict[str, Any] = {}
            if r is not None and "stats_q_25" in index:
                st["median"] = r  # asv's result is the median of the samples
            if rep is not None:
                n = count(rep)
                if n is None:
                    raise b.error(f"{loc}[{j}].stats_repeat", f"must be a whole number, got {rep!r}")
                st["n_samples"] = n
            stats.append(st or None)
        samples = col("samples")
        samples = samples if isinstance(samples, list) else None
        _emit(b, cols, run, loc, name, machine, base, info, combos, res, stats, samples)


def _emit(
    b: BatchBuilder,
    cols: ResultColumns,
    run: int,
    loc: str,
    name: str,
    machine: str | None,
    base: dict[str, Any],
    info: tuple[str, str, dict[str, Any], list[str]],
    combos: list[dict[str, Any]],
    values: list[Any],
    stats: list[dict[str, Any] | None],
    samples: list[Any] | None,
) -> None:
    metric, unit, extra, _ = info
    if samples is None and len(combos) > 1:
        # Many values of one benchmark: cases and values in bulk (same rows and errors).
        keep: list[int] = []
        for j, value in enumerate(values):
            if value is None:
                b.skipped.append(f"{loc}[{j}]: null (benchmark failed)")
            elif type(value) is float and value != value:
                b.skipped.append(f"{loc}[{j}]: NaN (benchmark skipped)")
            else:
                keep.append(j)
        wheres = [f"{loc}[{j}]" for j in keep]
        sts = [stats[j] if j < len(stats) else None for j in keep]
        ns = [st.pop("n_samples", None) if st else None for st in sts]
        all_params, all_texts = _grid_params(combos, base, extra)
        params = [all_params[j] for j in keep]
        texts = None if all_texts is None else [all_texts[j] for j in keep]
        cases = cols.cases(params, benchmark=name, hardware=machine, hardware_type="cpu", locations=wheres,
                           texts=texts)  # fmt: skip
        cols.add_many(run, cases, metric, [values[j] for j in keep], unit, wheres, stats=sts, n_samples=ns)
        return
    for j, (combo, value) in enumerate(zip(combos, values, strict=True)):
        where = f"{loc}[{j}]" if len(combos) > 1 else loc
        if value is None:
            b.skipped.append(f"{where}: null (benchmark failed)")
            continue
        if isinstance(value, float) and math.isnan(value):
            b.skipped.append(f"{where}: NaN (benchmark skipped)")
            continue
        case = cols.case(benchmark=name, hardware=machine, hardware_type="cpu",
                         params={**base, **extra, **combo}, location=where)  # fmt: skip
        st = stats[j] if j < len(stats) else None
        smp = samples[j] if samples is not None and j < len(samples) else None
        if smp is not None and not isinstance(smp, list):
            raise b.error(where, "samples must be a list")
        n = st.pop("n_samples", None) if st else None
        cols.add(run, case, metric, value, unit, where, stats=st, samples=smp or None, n_samples=n)


def _v1_stats(b: BatchBuilder, loc: str, st: Any, result: Any) -> dict[str, Any] | None:
    if st is None:
        return None
    if not isinstance(st, dict):
        raise b.error(loc, "must be an object")
    out: dict[str, Any] = {}
    for src, dst in (("min", "min"), ("max", "max"), ("std", "stddev")):
        if st.get(src) is not None:
            out[dst] = st[src]
    n = st.get("repeat", st.get("n"))
    if n is not None:
        c = count(n)
        if c is None:
            raise b.error(loc, f"repeat must be a whole number, got {n!r}")
        out["n_samples"] = c
    if "q_25" in st and result is not None:
        out["median"] = result
    return out or None


def _env_from_name(path: Path, commit: str) -> str | None:
    stem = path.stem
    head, _, rest = stem.partition("-")
    return rest if rest and commit.startswith(head) else None


def _plain_map(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not value:
        return None
    return {str(k): v for k, v in value.items()}


# ---------------------------------------------------------------------------
# graphs/<k-v>/…/<benchmark>.json
# ---------------------------------------------------------------------------
def _graph_root(path: Path) -> Path | None:
    """The site folder (holding ``index.json``) of a graph file, if it has one."""
    for parent in path.parents:
        if parent.name == "graphs":
            return parent.parent if (parent.parent / "index.json").is_file() else None
    return None


def _is_aggregate(path: Path, root: Path) -> bool:
    rel = path.relative_to(root / "graphs").parts
    return rel[0] == "summary" or path.name == "summary.json"


class AsvGraph:
    """One published asv graph: ``[[revision, value], …]``."""

    name = "asv-graph"
    description = "asv published graph (graphs/…/<benchmark>.json, with the site's index.json)"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json" or _graph_root(path) is None:
            return False
        h = head_text(path, 64).lstrip()
        return h.startswith("[")

    @paused_gc
    def read(self, path: Path) -> Batch:
        root = _graph_root(path)
        b = BatchBuilder(path, self.name, digest=file_digest(path))
        if root is None:
            raise b.error(None, "an asv graph must be inside a site's graphs/ folder next to its index.json")
        if _is_aggregate(path, root):
            raise b.error(None, "an asv summary graph aggregates over parameters and environments; it is not a "
                                "measurement — import the machine's graphs or its results/ folder instead")  # fmt: skip
        try:
            index = _cached_json(root / "index.json")
        except IngestError as exc:
            raise b.error("index.json", f"the site's index.json is unreadable ({exc.location}: {exc.reason})") from None
        if not isinstance(index, dict):
            raise b.error("index.json", "the site's index.json is not an object")
        r2h, r2d = index.get("revision_to_hash"), index.get("revision_to_date")
        if not isinstance(r2h, dict):
            raise b.error("index.json", "no 'revision_to_hash' map")
        r2d = r2d if isinstance(r2d, dict) else {}
        defs = _definitions(root / "index.json", "index.json")
        doc = load_json(path)
        if not isinstance(doc, list):
            raise b.error(None, f"an asv graph is a JSON array of [revision, value], got {type(doc).__name__}")
        keys = index.get("params")
        keys = sorted((k for k in keys if isinstance(k, str)), key=len, reverse=True) if isinstance(keys, dict) else []
        env: dict[str, Any] = {}
        for part in path.relative_to(root / "graphs").parts[:-1]:
            k = next((k for k in keys if part.startswith(f"{k}-")), None)
            k, v = (k, part[len(k) + 1 :]) if k else (part.partition("-")[0], part.partition("-")[2])
            env[k] = v
        branch, machine = env.pop("branch", None), env.pop("machine", None)
        name = path.stem
        info = defs.info(name)
        bparams = defs.params(name)
        cols = ResultColumns(b)
        if machine:
            b.add_hardware(machine, type="cpu", location="path")
        combos: list[dict[str, Any]] | None = None
        for i, point in enumerate(doc):
            loc = f"[{i}]"
            if not isinstance(point, list) or len(point) != 2:
                raise b.error(loc, "a point must be [revision, value]")
            rev, value = point
            if type(rev) is not int:
                raise b.error(f"{loc}[0]", f"revision must be an integer, got {rev!r}")
            commit = r2h.get(str(rev))
            if not isinstance(commit, str):
                raise b.error(f"{loc}[0]", f"revision {rev} is not in index.json's revision_to_hash")
            date = r2d.get(str(rev))
            run = cols.add_run(key=f"r{rev}", commit=commit, branch=branch, machine=machine,
                               started_at=date if finite(date) is not None else None,
                               environment=env or None, metadata={"tool": "asv", "revision": rev},
                               location=loc)  # fmt: skip
            values = value if isinstance(value, list) else [value]
            if combos is None or len(combos) != len(values):
                combos = _combos(b, loc, bparams if isinstance(value, list) else None, info[3], len(values))
            _emit(b, cols, run, loc, name, machine, env, info, combos, values, [], None)
        return cols.finish()


# ---------------------------------------------------------------------------
# folders
# ---------------------------------------------------------------------------
def _is_results_dir(p: Path) -> bool:
    if not (p / "benchmarks.json").is_file():
        return False
    return any(c.is_dir() and (c / "machine.json").is_file() for c in p.iterdir())


def _is_site(p: Path) -> bool:
    return (p / "index.json").is_file() and (p / "graphs").is_dir()


class AsvDir:
    """An asv ``results/`` folder or a published site, split into one source per file."""

    name = "asv-dir"
    description = "asv results/ folder or published site (one source per result and graph file)"
    priority = 62
    folder = True

    def sniff(self, path: Path) -> bool:
        return _is_results_dir(path) or _is_site(path)

    def sources(self, path: Path) -> Iterator[tuple[Path, AsvResult | AsvGraph]]:
        """Every result file and machine graph in the folder (context files excluded)."""
        dirs = [d for d in (path, path / "results") if d.is_dir() and _is_results_dir(d)]
        for d in dirs:
            for mdir in sorted(c for c in d.iterdir() if c.is_dir() and (c / "machine.json").is_file()):
                for f in sorted(mdir.glob("*.json")):
                    if f.name != "machine.json" and f.is_file():
                        yield f, _RESULT
        if _is_site(path):
            for f in sorted((path / "graphs").rglob("*.json")):
                if f.is_file() and not _is_aggregate(f, path):
                    yield f, _GRAPH

    @paused_gc
    def read(self, path: Path) -> Batch:
        """The whole folder as one atomic batch (``Store.ingest`` uses :meth:`sources`)."""
        if path.is_file():
            imp = _GRAPH if _GRAPH.sniff(path) else _RESULT
            return imp.read(path)
        batches = [imp.read(p) for p, imp in self.sources(path)]
        if not batches:
            raise IngestError(path, None, "no asv result or graph files in this folder")
        return _merge(path, self.name, batches)


def _merge(path: Path, name: str, batches: list[Batch]) -> Batch:
    runs, results, offset = [], [], 0
    for bt in batches:
        runs.append(bt.runs.with_columns(pl.col("run_index") + offset))
        results.append(bt.results.with_columns(pl.col("run_index") + offset))
        offset += bt.runs.height
    hardware = pl.concat([bt.hardware for bt in batches]).unique("name", keep="last", maintain_order=True)
    return Batch(
        path=str(path),
        format=name,
        digest=file_digest(path),
        runs=pl.concat(runs),
        results=pl.concat(results),
        hardware=hardware,
        models=pl.concat([bt.models for bt in batches]).unique("name", keep="last", maintain_order=True),
        compatibility=pl.concat([bt.compatibility for bt in batches]),
        integration_tests=pl.concat([bt.integration_tests for bt in batches]),
        skipped=[s for bt in batches for s in bt.skipped],
    )


_RESULT = AsvResult()
_GRAPH = AsvGraph()
IMPORTERS = [_RESULT, _GRAPH, AsvDir()]

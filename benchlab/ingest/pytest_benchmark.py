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
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import clean_text, compact, count, head_text, load_json, paused_gc, text

__all__ = ["IMPORTERS", "PytestBenchmark"]

SUPPORTED_MAJOR = (2, 3, 4, 5)
_STORAGE_NAME = re.compile(r"^(\d{4})_([0-9a-fA-F]{4,40}|unversioned)_(\d{8}_\d{6})(_uncommitted-changes)?$")
_ENV_KEYS = ("python_implementation", "python_implementation_version", "python_version", "python_compiler",
             "system", "release", "machine", "processor")  # fmt: skip
_CPU_KEYS = ("brand_raw", "arch", "bits", "count", "vendor_id_raw", "hz_advertised_friendly", "l2_cache_size",
             "l3_cache_size")  # fmt: skip


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
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict):
            raise b.error(None, f"a pytest-benchmark file is a JSON object, got {type(doc).__name__}")
        benches = doc.get("benchmarks")
        if not isinstance(benches, list):
            raise b.error("benchmarks", "missing or not a list")
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


def _major(version: object) -> int | None:
    if not isinstance(version, str):
        return None
    m = re.match(r"^\s*(\d+)\.", version)
    return int(m.group(1)) if m else None


IMPORTERS = [PytestBenchmark()]

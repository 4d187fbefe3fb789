"""hyperfine ``--export-json`` output.

One file is one run.  Each entry of ``results`` is one command: a ``time``
result in seconds (``mean``, with ``stddev``, ``median``, ``min``, ``max`` and the
raw ``times`` as samples) plus ``user_time`` and ``system_time`` (mean CPU
seconds).  ``parameters`` (``--parameter-scan``/``--parameter-list``) become the
case's params.  hyperfine records neither when nor where it ran, so the run has
no timestamp, commit or machine; commands that exited non-zero (``-i``) are
noted in the run metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import head_text, load_json, paused_gc, text

__all__ = ["IMPORTERS", "Hyperfine"]


class Hyperfine:
    """A hyperfine JSON export."""

    name = "hyperfine"
    description = "hyperfine --export-json output (results[] with command, mean, times …)"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        h = head_text(path, 2048)
        return '"results"' in h and '"command"' in h and any(k in h for k in ('"mean"', '"times"', '"stddev"'))

    @paused_gc
    def read(self, path: Path) -> Batch:
        doc = load_json(path)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict):
            raise b.error(None, f"a hyperfine export is a JSON object, got {type(doc).__name__}")
        results = doc.get("results")
        if not isinstance(results, list):
            raise b.error("results", "missing or not a list")
        cols = ResultColumns(b)
        run = cols.add_run(metadata={"tool": "hyperfine"}, location="results")
        failed: dict[str, int] = {}
        for i, rec in enumerate(results):
            loc = f"results[{i}]"
            if not isinstance(rec, dict):
                raise b.error(loc, f"must be an object, got {type(rec).__name__}")
            command = text(rec.get("command"))
            if command is None:
                raise b.error(f"{loc}.command", "missing or not a string")
            params = rec.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise b.error(f"{loc}.parameters", f"must be an object, got {type(params).__name__}")
            times = rec.get("times")
            if times is not None and not isinstance(times, list):
                raise b.error(f"{loc}.times", "must be a list of seconds")
            codes = rec.get("exit_codes")
            if isinstance(codes, list):
                bad = sum(1 for c in codes if c not in (0, None))
                if bad:
                    failed[command] = bad
            case = cols.case(benchmark=command, params=params or None, location=loc)
            if "mean" not in rec:
                raise b.error(f"{loc}.mean", "missing")
            stats: dict[str, Any] = {k: rec.get(k) for k in ("stddev", "median", "min", "max")}
            cols.add(run, case, "time", rec["mean"], "s", f"{loc}.mean", stats=stats, samples=times or None)
            for key, metric in (("user", "user_time"), ("system", "system_time")):
                if rec.get(key) is not None:
                    cols.add(run, case, metric, rec[key], "s", f"{loc}.{key}")
        if failed:
            cols.run_metadata[run] = {"tool": "hyperfine", "nonzero_exit_codes": failed}
        return cols.finish()


IMPORTERS = [Hyperfine()]

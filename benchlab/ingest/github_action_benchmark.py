"""github-action-benchmark history: ``dev/bench/data.js`` (``window.BENCHMARK_DATA = {…}``).

The action appends one entry per CI run to a suite in ``entries``; each entry is
one benchlab run (commit id, run date, commit message/author/url in the run
metadata) and each of its ``benches`` one result:

* ``unit`` decides the metric: rates (``iter/sec``, ``ops/sec``) are
  ``throughput`` (higher is better), times per iteration (``ns/iter``,
  ``ns/op``) are ``time``, ``B/op`` is ``alloc_bytes``, ``allocs/op`` is
  ``allocs``; a unit benchlab does not know is kept as a ``unit`` parameter of a
  ``count`` value rather than refused (custom tools write anything);
* the tools ``customSmallerIsBetter``/``customBiggerIsBetter`` set the direction;
* ``range: "stddev: x"`` fills ``stddev`` — except for the ``pytest`` tool,
  whose stddev is of the *time* in seconds while the value is iterations per
  second: there it goes with a second ``time`` result built from ``extra``'s
  ``mean: … msec`` and ``rounds: n``;
* the suite name (the key in ``entries``) is the ``suite`` parameter, so two
  suites with equal bench names never share a series.

The file is cumulative: a newer ``data.js`` repeats every earlier entry.  Each
version of the file is its own source (its digest differs), so import the
newest one into a fresh store, or expect earlier entries twice.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from benchlab.errors import IngestError
from benchlab.ingest._batch import Batch, BatchBuilder
from benchlab.ingest._columns import ResultColumns
from benchlab.ingest._json import clean_text, compact, count, finite, head, parse_json_text, paused_gc, text
from benchlab.units import UnknownUnitError, parse_unit

__all__ = ["IMPORTERS", "GithubActionBenchmark", "unit_metric"]

_PREFIX = re.compile(rb"^\s*(?:window\.BENCHMARK_DATA|BENCHMARK_DATA)\s*=\s*")
_PER_OP = re.compile(r"^\s*([A-Za-zµμ]+)\s*/\s*(iter|iteration|op|operation|call|run)\s*$", re.IGNORECASE)
_STDDEV = re.compile(r"^\s*stddev\s*:\s*([-+0-9.eE]+)\s*$")
_EXTRA_MEAN = re.compile(r"mean\s*:\s*([-+0-9.eE]+)\s*([A-Za-zµμ]+)")
_EXTRA_ROUNDS = re.compile(r"rounds\s*:\s*(\d+)")
_DIRECTIONS = {"customSmallerIsBetter": "lower", "customBiggerIsBetter": "higher"}


@functools.lru_cache(maxsize=256)
def _unit_metric(unit: str) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
    metric, bunit, extra = unit_metric(unit)
    return metric, bunit, tuple(extra.items())


def unit_metric(unit: str) -> tuple[str, str, dict[str, Any]]:
    """(metric, unit for benchlab, extra params) for a github-action-benchmark unit."""
    m = _PER_OP.match(unit)
    if m:
        what = m.group(1)
        if what.lower() in ("b", "byte", "bytes"):
            return "alloc_bytes", "B", {}
        if what.lower() in ("allocs", "alloc", "allocations"):
            return "allocs", "count", {}
        try:
            u = parse_unit(what)
        except UnknownUnitError:
            u = None
        if u is not None and u.dimension == "time":
            return "time", what, {}
    try:
        u = parse_unit(unit)
    except UnknownUnitError:
        return "value", "count", {"unit": unit}
    metric = {"rate": "throughput", "time": "time", "memory": "memory"}.get(u.dimension, u.dimension)
    return metric, unit, {}


class GithubActionBenchmark:
    """``data.js`` of benchmark-action/github-action-benchmark (or its JSON form)."""

    name = "github-action-benchmark"
    description = "github-action-benchmark history (dev/bench/data.js: window.BENCHMARK_DATA = {...})"
    priority = 62
    folder = False

    def sniff(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix == ".js":
            return bool(_PREFIX.match(head(path, 256)))
        if suffix == ".json":
            h = head(path, 4096)
            return b'"entries"' in h and b'"benches"' in h and (b'"lastUpdate"' in h or b'"repoUrl"' in h)
        return False

    @paused_gc
    def read(self, path: Path) -> Batch:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise IngestError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
        m = _PREFIX.match(raw)
        lines = cols = 0
        if m:
            prefix = raw[: m.end()]
            lines, cols = prefix.count(b"\n"), len(prefix.rsplit(b"\n", 1)[-1].decode("utf-8", "replace"))
            raw = raw[m.end() :].rstrip()
            raw = raw[:-1] if raw.endswith(b";") else raw
        elif path.suffix.lower() == ".js":
            raise IngestError(path, "line 1", "does not start with 'window.BENCHMARK_DATA = '")
        doc = parse_json_text(path, raw, offset_lines=lines, offset_cols=cols)
        b = BatchBuilder(path, self.name)
        if not isinstance(doc, dict):
            raise b.error(None, f"BENCHMARK_DATA must be an object, got {type(doc).__name__}")
        entries = doc.get("entries")
        if not isinstance(entries, dict):
            raise b.error("entries", "missing or not an object of suites")
        repo = clean_text(doc.get("repoUrl"))
        cols = ResultColumns(b)
        cases: dict[tuple[str, str, str], int] = {}
        for suite, runs in entries.items():
            sloc = f"entries[{suite!r}]"
            if not isinstance(runs, list):
                raise b.error(sloc, "must be a list of runs")
            for i, entry in enumerate(runs):
                self._entry(b, cols, cases, repo, str(suite), f"{sloc}[{i}]", entry)
        return cols.finish()

    def _entry(
        self,
        b: BatchBuilder,
        cols: ResultColumns,
        cases: dict[tuple[str, str, str], int],
        repo: str | None,
        suite: str,
        loc: str,
        entry: Any,
    ) -> None:
        if not isinstance(entry, dict):
            raise b.error(loc, f"must be an object, got {type(entry).__name__}")
        commit = entry.get("commit") if isinstance(entry.get("commit"), dict) else {}
        benches = entry.get("benches")
        if not isinstance(benches, list):
            raise b.error(f"{loc}.benches", "missing or not a list")
        tool = text(entry.get("tool"))
        date = entry.get("date")
        if finite(date) is None:
            date = text(commit.get("timestamp"))
        author = commit.get("author") if isinstance(commit.get("author"), dict) else {}
        meta = compact(
            {
                "tool": "github-action-benchmark",
                "benchmark_tool": tool,
                "suite": suite,
                "repo": repo,
                "commit_message": text(commit.get("message")),
                "commit_timestamp": text(commit.get("timestamp")),
                "commit_url": text(commit.get("url")),
                "author": text(author.get("username")) or text(author.get("name")),
            }
        )
        run = cols.add_run(key=f"{suite}/{text(commit.get('id')) or ''}/{entry.get('date')}", commit=text(commit.get("id")),
                           started_at=date, metadata=meta, location=loc)  # fmt: skip
        direction = _DIRECTIONS.get(tool or "")
        extras: dict[str, str] = {}
        for j, bench in enumerate(benches):
            bloc = f"{loc}.benches[{j}]"
            if not isinstance(bench, dict):
                raise b.error(bloc, f"must be an object, got {type(bench).__name__}")
            name, unit = text(bench.get("name")), bench.get("unit")
            if name is None:
                raise b.error(f"{bloc}.name", "missing or not a string")
            if not isinstance(unit, str):
                raise b.error(f"{bloc}.unit", f"must be a string, got {unit!r}")
            metric, bunit, extra = _unit_metric(unit)
            key = (name, bunit, extra)
            case = cases.get(key)
            if case is None:
                case = cases[key] = cols.case(benchmark=name, params={"suite": suite, **dict(extra)}, location=bloc)
            rng = bench.get("range")
            sd = _STDDEV.match(rng) if isinstance(rng, str) else None
            extra_text = bench.get("extra") if isinstance(bench.get("extra"), str) else None
            pytest_tool = tool == "pytest"
            if sd and _float(sd.group(1)) is None:
                raise b.error(f"{bloc}.range", f"unreadable stddev {rng!r}")
            stats = {"stddev": _float(sd.group(1))} if sd and not pytest_tool else None
            cols.add(run, case, metric, bench.get("value"), bunit, f"{bloc}.value", stats=stats, direction=direction)
            if pytest_tool and extra_text and self._pytest_time(b, cols, cases, run, suite, name, bloc, extra_text, sd):
                continue  # ``extra`` is fully represented by the time result
            if extra_text:
                extras[name] = extra_text
        if extras:
            cols.run_metadata[run] = {**meta, "extra": extras}

    @staticmethod
    def _pytest_time(
        b: BatchBuilder,
        cols: ResultColumns,
        cases: dict[tuple[str, str, str], int],
        run: int,
        suite: str,
        name: str,
        loc: str,
        extra: str,
        sd: re.Match[str] | None,
    ) -> bool:
        """The pytest tool's ``mean: … msec`` / ``rounds: n`` / stddev (s) as a ``time`` result.

        Returns whether ``extra`` was understood.
        """
        m = _EXTRA_MEAN.search(extra)
        if not m:
            return False
        try:
            u = parse_unit(m.group(2))
            mean = float(m.group(1))
        except (UnknownUnitError, ValueError):
            raise b.error(f"{loc}.extra", f"unreadable mean {m.group(0)!r}") from None
        if u.dimension != "time":
            raise b.error(f"{loc}.extra", f"mean has unit {m.group(2)!r}, not a time")
        key = (name, "time", "pytest-extra")
        case = cases.get(key)
        if case is None:
            case = cases[key] = cols.case(benchmark=name, params={"suite": suite}, location=loc)
        sd_s = _float(sd.group(1)) if sd else None
        stddev = sd_s * 1e3 / u.factor if sd_s is not None else None  # seconds → the mean's unit
        rounds = _EXTRA_ROUNDS.search(extra)
        cols.add(run, case, "time", mean, m.group(2), f"{loc}.extra", stats={"stddev": stddev},
                 n_samples=count(int(rounds.group(1))) if rounds else None)  # fmt: skip
        return True


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


IMPORTERS = [GithubActionBenchmark()]

"""The benchlab store: one DuckDB file, one versioned schema.

:class:`Store` is the only place in benchlab that speaks SQL.  It keeps no
connection open between calls (see :mod:`benchlab.store._connection`), writes
each source in one transaction, and hands everything out as Polars frames in
the results-frame schema (:mod:`benchlab.frame`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl

from benchlab.errors import BenchlabError, IngestError, QueryError
from benchlab.frame import RESULTS_SCHEMA, SERIES_COLUMNS
from benchlab.ingest import Batch, Importer, discover
from benchlab.store import _maintenance, _schema
from benchlab.store._connection import connect, fetch
from benchlab.store._query import (
    COLUMN_SQL,
    FROM_RESULTS,
    compare_query,
    latest_cells_query,
    latest_query,
    select_list,
    where,
)

__all__ = ["Store", "open", "default_path", "IngestReport", "SourceOutcome"]

IDENTITY = [c for c in SERIES_COLUMNS]


def default_path() -> Path:
    """Where :func:`open` looks without an argument.

    ``$BENCHLAB_DB`` if set, else ``$XDG_DATA_HOME/benchlab/benchlab.duckdb``
    (``~/.local/share/benchlab/benchlab.duckdb``).
    """
    env = os.environ.get("BENCHLAB_DB")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "benchlab" / "benchlab.duckdb"


def open(path: str | os.PathLike[str] | None = None) -> Store:  # noqa: A001 - benchlab.open is the API
    """Open (creating or migrating as needed) a benchlab store.

    Parameters
    ----------
    path : path-like, optional
        The DuckDB file.  Defaults to :func:`default_path` (``$BENCHLAB_DB`` or
        the per-user store).

    Returns
    -------
    Store

    Raises
    ------
    SchemaVersionError
        If the file was written by a newer benchlab or is not a benchlab store.
    StoreLockedError
        If another process holds the file for longer than the lock timeout.
    """
    return Store(Path(path).expanduser() if path is not None else default_path())


@dataclass
class SourceOutcome:
    """What happened to one source during :meth:`Store.ingest`."""

    path: str
    format: str | None
    status: Literal["added", "skipped", "failed", "unrecognised"]
    n_runs: int = 0
    n_results: int = 0
    message: str = ""


@dataclass
class IngestReport:
    """Per-source outcomes of one :meth:`Store.ingest` call."""

    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when no source failed (unrecognised files in folders are not failures)."""
        return not any(o.status == "failed" for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def n_results(self) -> int:
        return sum(o.n_results for o in self.outcomes if o.status == "added")

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [o.__dict__ for o in self.outcomes],
            schema={
                "path": pl.Utf8,
                "format": pl.Utf8,
                "status": pl.Utf8,
                "n_runs": pl.Int64,
                "n_results": pl.Int64,
                "message": pl.Utf8,
            },  # fmt: skip
        )

    def summary(self) -> str:
        return (
            f"{self.count('added')} added ({self.n_results} results), "
            f"{self.count('skipped')} skipped (already in the store), "
            f"{self.count('failed')} failed, {self.count('unrecognised')} not recognised"
        )


class Store:
    """A benchlab store file.  Create with :func:`benchlab.open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ensure_schema()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections ---------------------------------------------------------
    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path, read_only=not write) as con:
            con.execute("SET TimeZone = 'UTC'")
            yield con

    def _ensure_schema(self) -> None:
        if self.path.exists():
            with self._connect() as con:
                version = _schema.current_version(con, self.path)
            _schema.check_supported(version, self.path)
            if version == _schema.latest_version():
                return
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect(write=True) as con:
            _schema.migrate(con, self.path)

    @property
    def schema_version(self) -> int:
        """The schema version of this store."""
        with self._connect() as con:
            return _schema.current_version(con, self.path)

    # -- writing ---------------------------------------------------------------
    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        format: str | None = None,
        progress: bool = False,
    ) -> IngestReport:
        """Import files, folders or globs; each source atomically and idempotently.

        Parameters
        ----------
        paths : path or iterable of paths
            Files, folders (searched for known formats) and glob patterns.
        format : str, optional
            Force one importer (see ``benchlab formats``) instead of detection.
        progress : bool
            Show a progress bar (terminal or Jupyter).

        Returns
        -------
        IngestReport
            One outcome per source: ``added``, ``skipped`` (same content already
            in the store), ``failed`` (with the error; nothing of it was
            written) or ``unrecognised``.
        """
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        report = IngestReport()
        try:
            sources, unknown = discover(paths, format)
        except IngestError as exc:
            report.outcomes.append(SourceOutcome(exc.path, format, "failed", message=str(exc)))
            return report
        own = {self.path.resolve(), self.path.with_name(self.path.name + ".wal").resolve()}
        sources = [(p, imp) for p, imp in sources if p.resolve() not in own]
        unknown = [(p, r) for p, r in unknown if p.resolve() not in own]
        for p, reason in unknown:
            status: Literal["failed", "unrecognised"] = "unrecognised" if "skipped" in reason else "failed"
            report.outcomes.append(SourceOutcome(str(p), None, status, message=f"{p}: {reason}"))
        from benchlab._progress import progress_iter

        for p, imp in progress_iter(sources, enabled=progress, description="ingesting"):
            report.outcomes.append(self._ingest_one(p, imp))
        return report

    def _ingest_one(self, path: Path, imp: Importer) -> SourceOutcome:
        try:
            batch = imp.read(path)
        except IngestError as exc:
            return SourceOutcome(str(path), imp.name, "failed", message=str(exc))
        except BenchlabError as exc:
            return SourceOutcome(str(path), imp.name, "failed", message=f"{path}: {exc}")
        return self.write(batch)

    def write(self, batch: Batch) -> SourceOutcome:
        """Write one :class:`~benchlab.ingest.Batch` in a single transaction.

        A batch whose content digest is already in the store is skipped.
        """
        with self._connect(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                outcome = _write_batch(con, batch)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            if outcome.status == "added":
                con.execute("COMMIT")
            else:
                con.execute("ROLLBACK")
        return outcome

    # -- queries --------------------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Run a read-only SQL query with parameters; returns a Polars frame."""
        with self._connect() as con:
            try:
                return fetch(con, query, params)
            except duckdb.Error as exc:
                raise QueryError(f"SQL failed: {exc}") from None

    def _frame(self, query: str, params: list[Any]) -> pl.DataFrame:
        with self._connect() as con:
            df = fetch(con, query, params)
        return df.cast(RESULTS_SCHEMA)  # type: ignore[arg-type]

    def results(
        self, *, since: object = None, until: object = None, samples: bool = False, **filters: Any
    ) -> pl.DataFrame:
        """Results matching ``filters``, as a results frame.

        Parameters
        ----------
        since, until : str or datetime, optional
            Keep runs started at or after ``since`` and before ``until``.
        samples : bool
            Include raw samples (off by default: they can be large).
        **filters
            ``column=value`` or ``column=[v1, v2]`` on results-frame columns
            (``model``, ``hardware``, ``metric``, ``commit``, ``provenance`` …);
            ``None`` matches missing values.

        Returns
        -------
        polars.DataFrame
            In the results-frame schema, ordered by time, run and series.
        """
        clause, params = where(filters, since, until)
        q = (
            f"SELECT {select_list(samples)} FROM {FROM_RESULTS}{clause} "
            "ORDER BY ru.started_at NULLS FIRST, r.run_id, r.series_key"
        )
        return self._frame(q, params)

    def latest(self, *, samples: bool = False, **filters: Any) -> pl.DataFrame:
        """For each series matching ``filters``, its value from the most recent run."""
        clause, params = where(filters)
        return self._frame(latest_query(select_list(samples), clause), params + params)

    def history(self, *, since: object = None, until: object = None, **filters: Any) -> pl.DataFrame:
        """Every value of the matching series over time, ordered by series then time.

        Identical to :meth:`results` but sorted per series, ready for change-point
        detection and history charts.
        """
        clause, params = where(filters, since, until)
        q = (
            f"SELECT {select_list(False)} FROM {FROM_RESULTS}{clause} "
            "ORDER BY r.series_key, ru.started_at NULLS FIRST, r.run_id"
        )
        return self._frame(q, params)

    def compare(
        self,
        baseline: object,
        contender: object,
        *,
        by: str = "commit",
        **filters: Any,
    ) -> pl.DataFrame:
        """Two runs, commits, branches or hardware side by side.

        Parameters
        ----------
        baseline, contender : value or mapping
            The value of ``by`` for each side (``"a1b2c3"``), or a mapping of
            filters (``{"branch": "main"}``) for each side.
        by : str
            Column the plain values refer to: ``commit``, ``run_id``, ``branch``,
            ``hardware``, ``machine``, ``precision`` …
        **filters
            Restrict both sides (``metric="latency"`` …).

        Returns
        -------
        polars.DataFrame
            One row per case present on either side: the series identity (without
            the compared column), ``unit``, ``direction``, ``baseline`` and
            ``contender`` (median over runs), ``n_baseline``, ``n_contender``,
            ``ratio`` (contender / baseline) and ``change_pct``.
        """
        base = baseline if isinstance(baseline, Mapping) else {by: baseline}
        cont = contender if isinstance(contender, Mapping) else {by: contender}
        varying = set(base) | set(cont)
        ident = [c for c in IDENTITY if c not in varying]
        # One scan: each side is a FILTER on the same grouped query, so rows whose
        # identity has NULLs (no params, no seq_len) still pair up.
        b_clause, b_params = where({**filters, **base})
        c_clause, c_params = where({**filters, **cont})
        b_cond, c_cond = b_clause.removeprefix(" WHERE ") or "TRUE", c_clause.removeprefix(" WHERE ") or "TRUE"
        q = compare_query(ident, b_cond, c_cond)
        params = b_params + c_params + b_params + c_params
        with self._connect() as con:
            df = fetch(con, q, params)
        ratio = pl.when(pl.col("baseline") > 0).then(pl.col("contender") / pl.col("baseline"))
        return df.with_columns(ratio=ratio, change_pct=100 * (ratio - 1)).sort(ident, nulls_last=True)

    def matrix(
        self,
        metric: str,
        *,
        rows: str = "model",
        columns: str = "hardware",
        agg: Literal["median", "mean", "min", "max"] = "median",
        **filters: Any,
    ) -> pl.DataFrame:
        """A pivot of one metric, e.g. model × hardware, from the latest runs.

        Each cell aggregates (``agg``) the latest value of every series that falls
        in it (all batch sizes, precisions … unless filtered).
        """
        for c in (rows, columns):
            if c not in COLUMN_SQL or c in ("value", "samples"):
                raise QueryError(f"cannot pivot on {c!r}")
        if agg not in ("median", "mean", "min", "max"):
            raise QueryError(f"agg must be median, mean, min or max, not {agg!r}")
        clause, params = where({"metric": metric, **filters})
        with self._connect() as con:
            latest = fetch(con, latest_cells_query(rows, columns, clause), params + params)
        if latest.is_empty():
            return pl.DataFrame({rows: []}, schema={rows: RESULTS_SCHEMA[rows]})
        latest = latest.cast({rows: RESULTS_SCHEMA[rows], columns: RESULTS_SCHEMA[columns]})  # type: ignore[dict-item]
        long = latest.group_by(rows, columns).agg(getattr(pl.col("value"), agg)())
        return long.pivot(on=columns, index=rows, values="value", sort_columns=True).sort(rows)

    def compatibility_matrix(self) -> pl.DataFrame:
        """Model × hardware compatibility level (latest record of each pair)."""
        q = (
            "SELECT model, hardware, level FROM compatibility "
            "QUALIFY row_number() OVER (PARTITION BY model, hardware ORDER BY compat_id DESC) = 1"
        )
        with self._connect() as con:
            long = fetch(con, q)
        if long.is_empty():
            return pl.DataFrame({"model": []}, schema={"model": pl.Utf8})
        return long.pivot(on="hardware", index="model", values="level", sort_columns=True).sort("model")

    def compatibility(self) -> pl.DataFrame:
        """All compatibility records with their error details."""
        with self._connect() as con:
            return fetch(con, "SELECT * FROM compatibility ORDER BY model, hardware, compat_id")

    def hardware(self) -> pl.DataFrame:
        """The hardware catalogue."""
        with self._connect() as con:
            return fetch(con, "SELECT * FROM hardware ORDER BY name")

    def models(self) -> pl.DataFrame:
        """The model catalogue."""
        with self._connect() as con:
            return fetch(con, "SELECT * FROM models ORDER BY name")

    def runs(self, **filters: Any) -> pl.DataFrame:
        """Runs with their source; filters on ``commit``, ``branch``, ``machine``, ``provenance``, ``format``."""
        allowed = {"commit", "branch", "machine", "provenance", "format", "source", "run_id"}
        bad = set(filters) - allowed
        if bad:
            raise QueryError(f"cannot filter runs on {sorted(bad)}; use {sorted(allowed)}")
        clause, params = where(filters)
        clause = clause.replace("r.run_id", "ru.run_id")
        q = (
            'SELECT ru.run_id, ru.run_key, ru."commit", ru.branch, ru.machine, ru.started_at, ru.ended_at, '
            "ru.provenance, ru.simulated, ru.environment, ru.metadata, s.path AS source, s.format "
            f"FROM runs ru JOIN sources s ON s.source_id = ru.source_id{clause} "
            "ORDER BY ru.started_at NULLS FIRST, ru.run_id"
        )
        with self._connect() as con:
            return fetch(con, q, params)

    # -- analysis shortcuts -----------------------------------------------------
    def detect(self, **options: Any) -> pl.DataFrame:
        """Change points over every series (or the filtered ones), without triaged changes.

        Shorthand for :func:`benchlab.regress.detect_store`; ``options`` are its
        keywords (``min_effect=``, ``alpha=``, ``include_triaged=`` …) and the
        filters of :meth:`history` (``model=``, ``hardware=``, ``metric=`` …).
        """
        from benchlab.regress import detect_store

        return detect_store(self, **options)

    def triage(
        self, change: Any, status: str, note: str | None = None, link: str | None = None, **options: Any
    ) -> pl.DataFrame:
        """Record a decision (acknowledged / expected / false_alarm / fixed) about a change.

        Shorthand for :func:`benchlab.regress.triage`; the decision is kept in this
        store with its history, and :meth:`detect` no longer reports the change.
        """
        from benchlab.regress import triage

        return triage(self, change, status, note, link, **options)

    # -- maintenance ------------------------------------------------------------
    def check(self) -> pl.DataFrame:
        """Integrity problems: orphans, duplicates, impossible values (empty = healthy)."""
        with self._connect() as con:
            return _maintenance.check(con)

    def stats(self) -> dict[str, Any]:
        """Counts and ranges that describe the store."""
        with self._connect() as con:
            return _maintenance.stats(con, self.path)

    def backup(self, dest: str | os.PathLike[str]) -> Path:
        """Copy the store to ``dest`` and verify the copy table by table."""
        return _maintenance.backup(self, Path(dest))

    def restore(self, source: str | os.PathLike[str]) -> None:
        """Replace this store with a verified backup."""
        _maintenance.restore(self, Path(source))

    def optimize(self) -> dict[str, int]:
        """Compact the file (rewrite, verify, swap); returns sizes before and after."""
        return _maintenance.optimize(self)

    def export(
        self, dest: str | os.PathLike[str], *, format: Literal["parquet", "csv"] = "parquet", **filters: Any
    ) -> int:
        """Write the (filtered) results frame to Parquet or CSV; returns the row count."""
        if format not in ("parquet", "csv"):
            raise QueryError(f"export format must be parquet or csv, not {format!r}")
        df = self.results(samples=format == "parquet", **filters)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if format == "parquet":
            df.write_parquet(dest)
        else:
            df.drop("samples").write_csv(dest)
        return df.height


def _write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> SourceOutcome:
    found = con.execute("SELECT path FROM sources WHERE digest = ?", [batch.digest]).fetchone()
    if found:
        return SourceOutcome(
            batch.path, batch.format, "skipped", message=f"same content already imported from {found[0]}"
        )
    n_runs = batch.runs.height
    source_id = con.execute(
        "INSERT INTO sources (path, format, digest, n_runs, n_results) VALUES (?, ?, ?, ?, ?) RETURNING source_id",
        [batch.path, batch.format, batch.digest, n_runs, batch.results.height],
    ).fetchone()[0]  # type: ignore[index]
    ids = [r[0] for r in con.execute("SELECT nextval('run_id_seq') FROM range(?)", [n_runs]).fetchall()]
    id_map = pl.DataFrame(
        {"run_index": list(range(n_runs)), "run_id": ids}, schema={"run_index": pl.Int64, "run_id": pl.Int64}
    )
    runs = batch.runs.join(id_map, on="run_index").with_columns(source_id=pl.lit(source_id, pl.Int64))
    con.register("_bl_runs", runs.to_arrow())
    con.execute(
        'INSERT INTO runs (run_id, source_id, run_key, "commit", branch, machine, started_at, ended_at, '
        'environment, provenance, metadata) SELECT run_id, source_id, run_key, "commit", branch, machine, '
        "started_at, ended_at, environment, provenance, metadata FROM _bl_runs"
    )
    # Run ids are added by DuckDB while it inserts: in Polars (a join, or even a
    # new column) the whole results table would be copied, seconds at 10M rows.
    # One nextval() call numbers consecutively, so an offset does; the join
    # covers anything else.  String views hand the text over without a copy.
    con.register("_bl_ids", id_map)
    con.register("_bl_results", batch.results.to_arrow(compat_level=pl.CompatLevel.newest()))
    cols = ", ".join(f'"{c}"' for c in batch.results.columns if c != "run_index")
    run_index = batch.results.get_column("run_index")
    consecutive = bool(ids) and ids == list(range(ids[0], ids[0] + n_runs))
    in_range = run_index.is_empty() or 0 <= run_index.min() <= run_index.max() < n_runs  # type: ignore[operator]
    if consecutive and in_range:
        con.execute(f"INSERT INTO results (run_id, {cols}) SELECT run_index + ?, {cols} FROM _bl_results", [ids[0]])
    else:
        con.execute(
            f"INSERT INTO results (run_id, {cols}) SELECT i.run_id, {cols} "
            "FROM _bl_results JOIN _bl_ids i USING (run_index)"
        )
    # Catalogue: merge what this source says with what the store knows.
    if batch.hardware.height:
        con.register("_bl_hw", batch.hardware.to_arrow())
        con.execute(
            "INSERT INTO hardware SELECT name, coalesce(type, 'other'), device_name, vendor, memory_gb, "
            "peak_tflops, bandwidth_gbs, metadata FROM _bl_hw ON CONFLICT (name) DO UPDATE SET "
            "type = CASE WHEN EXCLUDED.type = 'other' THEN hardware.type ELSE EXCLUDED.type END, "
            "device_name = coalesce(EXCLUDED.device_name, hardware.device_name), "
            "vendor = coalesce(EXCLUDED.vendor, hardware.vendor), "
            "memory_gb = coalesce(EXCLUDED.memory_gb, hardware.memory_gb), "
            "peak_tflops = coalesce(EXCLUDED.peak_tflops, hardware.peak_tflops), "
            "bandwidth_gbs = coalesce(EXCLUDED.bandwidth_gbs, hardware.bandwidth_gbs), "
            "metadata = coalesce(EXCLUDED.metadata, hardware.metadata)"
        )
    # Read back from the table, not the Arrow input: its compressed columns
    # (and run_id zone maps) make this ten times faster at 10M rows.
    batch_rows = "results WHERE run_id BETWEEN ? AND ? AND run_id IN (SELECT run_id FROM _bl_ids)"
    id_range = [min(ids, default=None), max(ids, default=None)]
    con.execute(
        "INSERT INTO hardware (name, type) SELECT hardware, coalesce(any_value(hardware_type), 'other') "
        f"FROM {batch_rows} AND hardware IS NOT NULL GROUP BY hardware ON CONFLICT (name) DO NOTHING",
        id_range,
    )
    if batch.models.height:
        con.register("_bl_models", batch.models.to_arrow())
        con.execute(
            "INSERT INTO models SELECT * FROM _bl_models ON CONFLICT (name) DO UPDATE SET "
            "family = coalesce(EXCLUDED.family, models.family), "
            "modality = coalesce(EXCLUDED.modality, models.modality), "
            "params_m = coalesce(EXCLUDED.params_m, models.params_m), "
            "metadata = coalesce(EXCLUDED.metadata, models.metadata)"
        )
    con.execute(
        f"INSERT INTO models (name) SELECT DISTINCT model FROM {batch_rows} AND model IS NOT NULL "
        "ON CONFLICT (name) DO NOTHING",
        id_range,
    )
    for table, frame, cols in (
        ("compatibility", batch.compatibility,
         "model, hardware, level, error_type, error_message, suggested_fix, metadata"),
        ("integration_tests", batch.integration_tests,
         "name, model, hardware, status, duration_s, error, metadata"),
    ):  # fmt: skip
        if frame.height:
            f = frame.join(id_map, on="run_index", how="left").with_columns(source_id=pl.lit(source_id, pl.Int64))
            con.register("_bl_extra", f.to_arrow())
            con.execute(
                f"INSERT INTO {table} (run_id, source_id, {cols}) SELECT run_id, source_id, {cols} FROM _bl_extra"
            )
            con.unregister("_bl_extra")
    for name in ("_bl_runs", "_bl_ids", "_bl_results", "_bl_hw", "_bl_models"):
        con.unregister(name)
    return SourceOutcome(batch.path, batch.format, "added", n_runs, batch.results.height,
                         message="; ".join(batch.skipped[:3]) if batch.skipped else "")  # fmt: skip

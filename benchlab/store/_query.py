"""SQL for the query helpers.  Column names come from fixed tables here, and
every user value travels as a parameter, never inside the query text.

"Latest" queries (:func:`latest_query`, :func:`latest_cells_query`) find the
most recent run of each series on a narrow projection first (an ``arg_max``
aggregate, several times faster than a window over every column), then fetch
the full rows of just those runs; DuckDB turns the join on ``run_id`` into a
range filter, so the second scan reads only the row groups of recent runs.
``benchmarks/store_queries.py`` measures them against hand-written SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from benchlab.errors import QueryError
from benchlab.frame import RESULTS_SCHEMA

# Results-frame column -> SQL expression over results r, runs ru, sources s, models m.
COLUMN_SQL: dict[str, str] = {
    "run_id": "r.run_id",
    "provenance": "ru.provenance",
    "source": "s.path",
    "format": "s.format",
    "commit": 'ru."commit"',
    "branch": "ru.branch",
    "machine": "ru.machine",
    "timestamp": "ru.started_at",
    "series_key": "r.series_key",
    "benchmark": "r.benchmark",
    "model": "r.model",
    "model_family": "m.family",
    "hardware": "r.hardware",
    "hardware_type": "coalesce(nullif(h.type, 'other'), r.hardware_type)",
    "batch_size": "r.batch_size",
    "seq_len": "r.seq_len",
    "precision": 'r."precision"',
    "params": "r.params",
    "metric": "r.metric",
    "unit": "r.unit",
    "value": "r.value",
    "direction": "r.direction",
    "n_samples": "r.n_samples",
    "stddev": "r.stddev",
    "min": "r.min",
    "median": "r.median",
    "p90": "r.p90",
    "p95": "r.p95",
    "p99": "r.p99",
    "max": "r.max",
    "orig_value": "r.orig_value",
    "orig_unit": "r.orig_unit",
    "samples": "r.samples",
}
assert list(COLUMN_SQL) == list(RESULTS_SCHEMA)
FILTERABLE = tuple(c for c in COLUMN_SQL if c not in ("value", "samples", "timestamp", *(
    "n_samples", "stddev", "min", "median", "p90", "p95", "p99", "max", "orig_value", "orig_unit")))  # fmt: skip

FROM_RESULTS = (
    "results r JOIN runs ru ON ru.run_id = r.run_id "
    "JOIN sources s ON s.source_id = ru.source_id "
    "LEFT JOIN models m ON m.name = r.model "
    "LEFT JOIN hardware h ON h.name = r.hardware"
)


# Runs numbered from oldest to most recent: by start (runs without a start
# count as oldest), then by run id.  A series' latest value is the one from its
# highest-numbered run; an integer key keeps that aggregate cheap.
# Only runs with a source count, as in FROM_RESULTS.
RUN_RECENCY = (
    "SELECT ru.run_id, row_number() OVER (ORDER BY ru.started_at ASC NULLS FIRST, ru.run_id) AS recency "
    "FROM runs ru JOIN sources s ON s.source_id = ru.source_id"
)


FROM_RESULTS_CORE = "results r JOIN runs ru ON ru.run_id = r.run_id JOIN sources s ON s.source_id = ru.source_id"


def from_results(*fragments: str) -> str:
    """:data:`FROM_RESULTS` without the catalogue joins no fragment refers to.

    They are LEFT JOINs on the catalogue's primary key, so leaving one out never
    changes which rows a query sees, only the work it does.
    """
    text = " ".join(fragments)
    sql = FROM_RESULTS_CORE
    if re.search(r"\bm\.", text):
        sql += " LEFT JOIN models m ON m.name = r.model"
    if re.search(r"\bh\.", text):
        sql += " LEFT JOIN hardware h ON h.name = r.hardware"
    return sql


def _latest_runs(clause: str) -> str:
    # The run holding each matching series' latest value, from a narrow scan
    # that joins runs and sources only when the filters need their columns
    # (the recency table already leaves out results without a run or source).
    tables = "results r JOIN recency k ON k.run_id = r.run_id"
    if re.search(r"\b(ru|s)\.", clause):
        tables += " JOIN runs ru ON ru.run_id = r.run_id JOIN sources s ON s.source_id = ru.source_id"
    tables += from_results(clause).removeprefix(FROM_RESULTS_CORE)
    return (
        f"WITH recency AS ({RUN_RECENCY}), "
        "latest AS (SELECT r.series_key, arg_max(r.run_id, k.recency) AS run_id "
        f"FROM {tables}{clause} GROUP BY r.series_key) "
    )


def latest_query(select: str, clause: str) -> str:
    """Rows of the latest run of each series matching ``clause``, one per series.

    ``clause`` (from :func:`where`) appears twice: pass its parameters twice.
    """
    cond = clause.removeprefix(" WHERE ")
    return (
        f"{_latest_runs(clause)}SELECT {select} FROM {FROM_RESULTS} "
        "JOIN latest l ON l.series_key = r.series_key AND l.run_id = r.run_id "
        # A series measured twice in one run still gives one row.
        f"WHERE {cond or 'TRUE'} QUALIFY row_number() OVER (PARTITION BY r.series_key) = 1 "
        "ORDER BY r.series_key"
    )


def latest_cells_query(rows: str, columns: str, clause: str) -> str:
    """``rows``, ``columns`` and ``value`` of the latest row of each series matching ``clause``.

    ``rows`` and ``columns`` are results-frame column names; pass the clause's
    parameters twice.
    """
    r_sql, c_sql = COLUMN_SQL[rows], COLUMN_SQL[columns]
    cond = clause.removeprefix(" WHERE ")
    return (
        f'{_latest_runs(clause)}SELECT {r_sql} AS "{rows}", {c_sql} AS "{columns}", r.value AS value '
        f"FROM {from_results(r_sql, c_sql, clause)} JOIN latest l ON l.series_key = r.series_key AND l.run_id = r.run_id "
        f"WHERE {cond or 'TRUE'} QUALIFY row_number() OVER (PARTITION BY r.series_key) = 1"
    )


def compare_query(ident: Sequence[str], b_cond: str, c_cond: str) -> str:
    """Both sides of a comparison from one scan, grouped by the ``ident`` columns.

    ``b_cond`` and ``c_cond`` select each side; pass their parameters as
    baseline, contender, baseline, contender.  Each condition is evaluated
    once per row (into a flag the aggregates filter on), not once per aggregate.
    """
    cols = ", ".join(f'{COLUMN_SQL[c]} AS "{c}"' for c in ident)
    keys = ", ".join(f'"{c}"' for c in ident)
    return (
        f"SELECT {keys}{', ' if keys else ''}any_value(unit) AS unit, any_value(direction) AS direction, "
        "median(value) FILTER (WHERE _b) AS baseline, median(value) FILTER (WHERE _c) AS contender, "
        "count(*) FILTER (WHERE _b) AS n_baseline, count(*) FILTER (WHERE _c) AS n_contender "
        f"FROM (SELECT {cols}{', ' if cols else ''}r.unit, r.direction, r.value, ({b_cond}) AS _b, ({c_cond}) AS _c "
        f"FROM {from_results(cols, b_cond, c_cond)} WHERE ({b_cond}) OR ({c_cond})) "
        f"GROUP BY {keys or '()'}"
    )


def select_list(samples: bool) -> str:
    cols = []
    for name, expr in COLUMN_SQL.items():
        if name == "samples" and not samples:
            expr = "NULL::DOUBLE[]"
        cols.append(f'{expr} AS "{name}"')
    return ", ".join(cols)


def condition(expr: str, value: Any) -> tuple[str, list[Any]]:
    """One filter as SQL with ``?`` placeholders: a value, a list of values, or ``None`` (missing).

    ``expr`` must be a column expression benchlab wrote, never user text; the
    value always travels as a parameter.
    """
    if value is None:
        return f"{expr} IS NULL", []
    if isinstance(value, Sequence | set) and not isinstance(value, str | bytes):
        values = list(value)
        if not values:
            return "FALSE", []
        return f"{expr} IN ({', '.join('?' * len(values))})", values
    return f"{expr} = ?", [value]


def where(filters: Mapping[str, Any], since: object = None, until: object = None) -> tuple[str, list[Any]]:
    """WHERE clause and parameters for ``column=value`` / ``column=[values]`` filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in filters.items():
        if name not in FILTERABLE:
            raise QueryError(f"cannot filter on {name!r}; filterable columns: {', '.join(FILTERABLE)}")
        clause, values = condition(COLUMN_SQL[name], value)
        clauses.append(clause)
        params.extend(values)
    for bound, op in ((since, ">="), (until, "<")):
        if bound is not None:
            clauses.append(f"ru.started_at {op} ?")
            params.append(_as_time(bound))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _as_time(value: object) -> dt.datetime:
    from benchlab.ingest._batch import parse_timestamp

    try:
        t = parse_timestamp(value)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    if t is None:
        raise QueryError("empty time bound")
    return t

"""SQL for the query helpers.  Column names come from fixed tables here, and
every user value travels as a parameter, never inside the query text."""

from __future__ import annotations

import datetime as dt
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


def select_list(samples: bool) -> str:
    cols = []
    for name, expr in COLUMN_SQL.items():
        if name == "samples" and not samples:
            expr = "NULL::DOUBLE[]"
        cols.append(f'{expr} AS "{name}"')
    return ", ".join(cols)


def where(filters: Mapping[str, Any], since: object = None, until: object = None) -> tuple[str, list[Any]]:
    """WHERE clause and parameters for ``column=value`` / ``column=[values]`` filters."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in filters.items():
        if name not in FILTERABLE:
            raise QueryError(
                f"cannot filter on {name!r}; filterable columns: {', '.join(FILTERABLE)}"
            )
        expr = COLUMN_SQL[name]
        if value is None:
            clauses.append(f"{expr} IS NULL")
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            values = list(value)
            if not values:
                clauses.append("FALSE")
                continue
            clauses.append(f"{expr} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        else:
            clauses.append(f"{expr} = ?")
            params.append(value)
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

"""Store queries the HTML report needs (aggregates that would be wasteful in Python).

Functions take a :class:`~benchlab.store.Store`; like the store's own methods
they speak parameterized SQL and return Polars frames.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from benchlab.frame import RESULTS_SCHEMA
from benchlab.store._connection import fetch
from benchlab.store._query import FROM_RESULTS, select_list

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["latest_by_provenance", "provenance_summary", "window_counts"]


def provenance_summary(store: Store) -> pl.DataFrame:
    """What the store holds, by provenance and hardware type.

    Returns
    -------
    polars.DataFrame
        ``provenance``, ``hardware_type``, ``runs``, ``results``, ``series``,
        ``models``, ``hardware``, ``first_run``, ``last_run``; ordered by
        provenance (measured, simulated, predicted) then hardware type.
    """
    q = (
        "SELECT ru.provenance AS provenance, "
        "coalesce(nullif(h.type, 'other'), r.hardware_type) AS hardware_type, "
        "count(DISTINCT r.run_id) AS runs, count(*) AS results, "
        "count(DISTINCT r.series_key) AS series, count(DISTINCT r.model) AS models, "
        "count(DISTINCT r.hardware) AS hardware, "
        "min(ru.started_at) AS first_run, max(ru.started_at) AS last_run "
        f"FROM {FROM_RESULTS} GROUP BY 1, 2 "
        "ORDER BY CASE provenance WHEN 'measured' THEN 0 WHEN 'simulated' THEN 1 ELSE 2 END, "
        "hardware_type NULLS LAST"
    )
    with store._connect() as con:
        return fetch(con, q)


def window_counts(store: Store, since: dt.datetime) -> dict[str, int]:
    """Runs, results and series recorded at or after ``since``."""
    q = (
        "SELECT count(DISTINCT r.run_id), count(*), count(DISTINCT r.series_key) "
        f"FROM {FROM_RESULTS} WHERE ru.started_at >= ?"
    )
    with store._connect() as con:
        runs, results, series = con.execute(q, [since]).fetchone()  # type: ignore[misc]
    return {"runs": int(runs), "results": int(results), "series": int(series)}


def latest_by_provenance(store: Store) -> pl.DataFrame:
    """For each series *and provenance*, its value from the most recent run.

    :meth:`Store.latest` keeps one row per series, so a newer predicted value
    hides the measured one of the same case; comparisons of evidence need both.

    Returns
    -------
    polars.DataFrame
        In the results-frame schema, ordered by series key and provenance.
    """
    q = (
        f"SELECT {select_list(False)} FROM {FROM_RESULTS} "
        "QUALIFY row_number() OVER (PARTITION BY r.series_key, ru.provenance "
        "ORDER BY ru.started_at DESC NULLS LAST, r.run_id DESC) = 1 "
        "ORDER BY r.series_key, ru.provenance"
    )
    with store._connect() as con:
        df = fetch(con, q)
    return df.cast(RESULTS_SCHEMA)  # type: ignore[arg-type]

"""Which hardware to run a model on: measured where possible, predicted otherwise.

:func:`recommend` evaluates one configuration (model, batch size, precision …)
on every candidate hardware.  A figure that was measured is taken from the
results (median of the measurements of that exact configuration) and labelled
``measured``; otherwise the :class:`~benchlab.predict.PerformanceModel`
predicts it with a conformal interval and it is labelled ``predicted``.
Constraints (latency ≤ X, memory ≤ Y, hardware types) are checked on the same
figures — on the pessimistic end of the interval with ``conservative=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from benchlab.frame import canonical_params, normalize_precision
from benchlab.predict._model import PerformanceModel, PredictionError

__all__ = ["recommend", "as_frame"]

_CONFIG = ("benchmark", "model", "batch_size", "seq_len", "precision", "params")


def as_frame(data: Any) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """(results, hardware catalogue, model catalogue) from a frame, a Store or a Batch."""
    if isinstance(data, pl.DataFrame):
        return data, None, None
    if hasattr(data, "latest") and hasattr(data, "hardware") and callable(data.hardware):
        return data.latest(), data.hardware(), data.models()
    if hasattr(data, "results") and hasattr(data, "runs"):  # an ingest Batch
        return data.results_frame(), data.hardware, data.models
    raise PredictionError(f"expected a results frame, a Store or a Batch, got {type(data).__name__}")


def _config(results: pl.DataFrame, given: dict[str, Any], metric: str) -> dict[str, Any]:
    """Complete the configuration: unspecified parts take their most common value."""
    rows = results.filter(pl.col("metric") == metric)
    for c, v in given.items():
        if v is not None and c in rows.columns:
            rows = rows.filter(pl.col(c) == v)
    conf = dict(given)
    for c in _CONFIG:
        if conf.get(c) is None and c in rows.columns and rows.height:
            top = rows.group_by(c).len().sort(["len", c], descending=[True, False], nulls_last=True)
            conf[c] = top[c][0]
    return conf


def recommend(
    data: Any,
    *,
    model: str | None = None,
    metric: str = "throughput",
    batch_size: int | None = None,
    precision: str | None = None,
    seq_len: int | None = None,
    benchmark: str | None = None,
    params: Mapping[str, Any] | str | None = None,
    max_latency: float | None = None,
    max_memory: float | None = None,
    hardware_types: Sequence[str] | None = None,
    hardware: Sequence[str] | None = None,
    conservative: bool = False,
    coverage: float = 0.9,
    performance_model: PerformanceModel | None = None,
    catalogue: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Rank hardware for one configuration by a metric, within constraints.

    Parameters
    ----------
    data : polars.DataFrame, Store or Batch
        The results to use (a Store contributes its latest results and its
        hardware and model catalogues).
    model, batch_size, precision, seq_len, benchmark, params
        The configuration.  Parts left out take the most common value among the
        results of that model for ``metric``.
    metric : str, default "throughput"
        What to rank by (its ``direction`` decides the order).
    max_latency : float, optional
        Keep hardware whose latency (metric ``latency``, in the results' unit,
        ms) is at most this.
    max_memory : float, optional
        Keep hardware whose memory (metric ``memory``, MB) is at most this.
    hardware_types : list of str, optional
        Allowed hardware types (``cuda``, ``cpu`` …).
    hardware : list of str, optional
        Candidate hardware (default: every hardware in the results and catalogue).
    conservative : bool
        Check constraints on the pessimistic end of predicted intervals.
    coverage : float
        Coverage of the predicted intervals.
    performance_model : PerformanceModel, optional
        A fitted model to use instead of fitting one on ``data``.
    catalogue, models : polars.DataFrame, optional
        Hardware and model catalogues (taken from the Store when ``data`` is one).

    Returns
    -------
    polars.DataFrame
        One row per candidate hardware: ``rank`` (null when a constraint fails),
        ``hardware``, ``hardware_type``, ``metric``, ``value``, ``lower``,
        ``upper``, ``unit``, ``provenance`` (``measured`` or ``predicted``) and,
        per constraint, ``latency``/``memory`` with their own bounds and
        provenance; ``meets_constraints`` and ``note`` say why a row fails.
        Rows meeting the constraints come first, best first.

    Raises
    ------
    PredictionError
        If there are no results for ``metric``, or a constraint's metric was
        never measured.
    """
    results, cat, mdl = as_frame(data)
    catalogue = catalogue if catalogue is not None else cat
    models = models if models is not None else mdl
    if "provenance" in results.columns:
        measured = results.filter(pl.col("provenance").is_null() | (pl.col("provenance") == "measured"))
    else:
        measured = results
    needed = (
        [metric] + (["latency"] if max_latency is not None else []) + (["memory"] if max_memory is not None else [])
    )
    present = set(measured["metric"].unique().to_list()) if measured.height else set()
    missing = [m for m in needed if m not in present]
    if missing:
        raise PredictionError(
            f"no measured results for metric(s) {', '.join(missing)}; "
            f"the results have: {', '.join(sorted(map(str, present))) or 'nothing'}"
        )
    given = {
        "model": model, "batch_size": batch_size, "precision": normalize_precision(precision),
        "seq_len": seq_len, "benchmark": benchmark, "params": canonical_params(params),
    }  # fmt: skip
    conf = _config(measured, given, metric)
    # candidate hardware
    names = set(measured["hardware"].drop_nulls().unique().to_list())
    if catalogue is not None and "name" in catalogue.columns:
        names |= set(catalogue["name"].drop_nulls().to_list())
    if hardware is not None:
        names = set(hardware)
    hw = pl.DataFrame({"hardware": sorted(names)}, schema={"hardware": pl.Utf8})
    types = (
        measured.filter(pl.col("hardware").is_not_null())
        .group_by("hardware")
        .agg(pl.col("hardware_type").drop_nulls().first())
    )
    if catalogue is not None and {"name", "type"} <= set(catalogue.columns):
        types = (
            pl.concat(
                [catalogue.select(hardware=pl.col("name"), hardware_type=pl.col("type").replace("other", None)), types],
                how="vertical_relaxed",
            )
            .group_by("hardware")
            .agg(pl.col("hardware_type").drop_nulls().first())
        )
    hw = hw.join(types, on="hardware", how="left")
    if hardware_types is not None:
        hw = hw.filter(pl.col("hardware_type").is_in(list(hardware_types)))
    if hw.is_empty():
        raise PredictionError("no candidate hardware (check hardware_types / hardware)")
    if performance_model is None:
        performance_model = PerformanceModel(coverage=coverage).fit(
            measured.filter(pl.col("metric").is_in(needed)), hardware=catalogue, models=models
        )
    out = hw
    for m in needed:
        fig = _figures(measured, performance_model, hw, conf, m, coverage)
        prefix = "" if m == metric else f"{m}_"
        out = out.join(
            fig.rename({c: f"{prefix}{c}" for c in fig.columns if c != "hardware"}),
            on="hardware",
            how="left",
        )
    direction = out["direction"].drop_nulls()
    higher = direction.len() > 0 and direction[0] == "higher"
    ok = pl.lit(True)
    notes = []
    for m, limit in (("latency", max_latency), ("memory", max_memory)):
        if limit is None:
            continue
        col = "value" if m == metric else f"{m}_value"
        pessimistic = "upper" if m == metric else f"{m}_upper"
        prov = "provenance" if m == metric else f"{m}_provenance"
        check = (
            pl.when(pl.col(prov) == "predicted")
            .then(pl.col(pessimistic) if conservative else pl.col(col))
            .otherwise(pl.col(col))
        )
        cond = check.is_not_null() & (check <= limit)
        ok = ok & cond
        notes.append(pl.when(~cond).then(pl.lit(f"{m} > {limit:g}")).otherwise(None))
    out = out.with_columns(
        meets_constraints=ok,
        note=pl.concat_str(notes, separator="; ", ignore_nulls=True) if notes else pl.lit(None, pl.Utf8),
    )
    out = out.sort(["meets_constraints", "value"], descending=[True, higher], nulls_last=True)
    rank = pl.when(pl.col("meets_constraints")).then(pl.int_range(1, pl.len() + 1)).otherwise(None)
    out = out.with_columns(rank=rank.cast(pl.Int64), metric=pl.lit(metric))
    for c in _CONFIG:
        out = out.with_columns(pl.lit(conf.get(c)).alias(c))
    first = ["rank", "hardware", "hardware_type", "metric", "value", "lower", "upper", "unit", "provenance"]
    return out.select(first + [c for c in out.columns if c not in first])


def _figures(
    results: pl.DataFrame, pm: PerformanceModel, hw: pl.DataFrame, conf: dict[str, Any], metric: str, coverage: float
) -> pl.DataFrame:
    """Per hardware: the measured median of the configuration, else the model's prediction."""
    rows = results.filter(pl.col("metric") == metric)
    for c in _CONFIG:
        if c in rows.columns:
            v = conf.get(c)
            rows = rows.filter(pl.col(c).is_null() if v is None else pl.col(c) == v)
    meas = rows.group_by("hardware").agg(
        pl.col("value").median().alias("m_value"),
        pl.col("unit").first().alias("m_unit"),
        pl.col("direction").first().alias("m_direction"),
        pl.len().alias("n_measurements"),
    )
    todo = hw.join(meas, on="hardware", how="anti")
    parts = [
        meas.join(hw.select("hardware"), on="hardware", how="semi").select(
            "hardware",
            value="m_value",
            lower=pl.lit(None, pl.Float64),
            upper=pl.lit(None, pl.Float64),
            unit="m_unit",
            direction="m_direction",
            provenance=pl.lit("measured"),
            n_measurements="n_measurements",
        )
    ]
    if todo.height:
        q = (
            todo.select("hardware")
            .with_columns(metric=pl.lit(metric), **{c: pl.lit(conf.get(c)) for c in _CONFIG})
            .with_columns(batch_size=pl.col("batch_size").cast(pl.Int64), seq_len=pl.col("seq_len").cast(pl.Int64))
        )
        p = pm.predict(q, coverage=coverage)
        parts.append(
            p.select(
                "hardware",
                value="prediction",
                lower="lower",
                upper="upper",
                unit="unit",
                direction="direction",
                provenance=pl.lit("predicted"),
                n_measurements=pl.lit(0, pl.UInt32),
            )  # fmt: skip
        )
    return pl.concat(parts, how="vertical_relaxed")

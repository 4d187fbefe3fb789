"""Altair charts over the results frame (and the frames analysis returns).

Every builder takes a Polars frame and returns an Altair chart object
(:class:`altair.Chart`, :class:`altair.LayerChart` …) that renders in Jupyter,
in the HTML report and through ``vl-convert`` to PNG/SVG:

=============================  ===========================================================
:func:`history`                series over time, detected changes as rules, triage marks
:func:`comparison`             contender/baseline ratio bars with intervals
:func:`heatmap`                one metric as a model × hardware grid
:func:`scaling`                a metric against batch size
:func:`predicted_vs_measured`  predictions (with intervals) against reference values
:func:`compatibility`          the model × hardware compatibility matrix
=============================  ===========================================================

Conventions shared by all builders:

* **Provenance is always encoded** (see :mod:`benchlab.theme`): measured values
  are filled circles on solid lines, simulated values hollow circles on dashed
  lines, predicted values hollow diamonds on dotted lines (bars and cells: by
  opacity), with a legend naming them.  Tooltips name the source file, commit
  and provenance.
* **Big frames are reduced in Polars first.**  Vega-Lite embeds the data in the
  spec, so more than :data:`MAX_ROWS` rows would make Altair raise
  ``MaxRowsError`` (and the browser crawl).  Each builder aggregates instead
  (per-commit medians for histories, latest-per-series medians for grids) and,
  where that is still too much, downsamples while keeping every bucket's
  minimum and maximum, so spikes survive.  The chart subtitle says so.  The
  downsampling is a few hand-written Polars expressions: ``tsdownsample``
  (MinMax/LTTB) would need an extra dependency and a NumPy round trip per
  series for what is one grouped filter here.
* Charts are built from Polars frames directly (Altair reads them through
  narwhals); only the columns a chart needs are passed on.
* Importing this module makes the ``benchlab`` Altair theme active.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

from benchlab import theme
from benchlab.errors import QueryError
from benchlab.frame import PROVENANCES, SERIES_COLUMNS

__all__ = [
    "MAX_ROWS",
    "history",
    "comparison",
    "heatmap",
    "scaling",
    "predicted_vs_measured",
    "compatibility",
    "series_label",
    "reduce_history",
]

#: most rows a chart embeds; larger frames are aggregated/downsampled in Polars
MAX_ROWS = 5000

theme.enable()

_PROVENANCE_RANK = {p: i for i, p in enumerate(PROVENANCES)}  # measured < simulated < predicted
_ABBREV = {"batch_size": "b", "seq_len": "s"}


# -- helpers ------------------------------------------------------------------------------------------
def _frame(frame: Any, required: Sequence[str], what: str) -> pl.DataFrame:
    """Collect lazy frames and check columns; a clear error instead of a KeyError deep in Altair."""
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    if not isinstance(frame, pl.DataFrame):
        raise QueryError(f"{what} needs a Polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise QueryError(f"{what} needs the column(s) {', '.join(missing)}; the frame has {', '.join(frame.columns)}")
    return frame


def _one_metric(frame: pl.DataFrame, metric: str | None, what: str) -> tuple[pl.DataFrame, str, str]:
    """Restrict to one metric (values of different metrics share no axis); returns frame, metric, unit."""
    if metric is not None:
        frame = frame.filter(pl.col("metric") == metric)
        if frame.is_empty():
            raise QueryError(f"{what}: no rows with metric {metric!r}")
    metrics = frame["metric"].unique().drop_nulls().sort().to_list()
    if len(metrics) > 1:
        raise QueryError(f"{what}: the frame holds several metrics ({', '.join(metrics)}); pass metric=…")
    units = frame["unit"].unique().drop_nulls().sort().to_list() if "unit" in frame.columns else []
    if len(units) > 1:
        raise QueryError(f"{what}: metric {metrics[0]!r} comes in several units ({', '.join(units)})")
    return frame, (metrics[0] if metrics else (metric or "value")), (units[0] if units else "")


def series_label(frame: pl.DataFrame, *, exclude: Sequence[str] = ()) -> pl.Expr:
    """A short readable label per series: the identity fields that vary in ``frame``.

    ``bert-base · cuda-a100 · b8 · fp16`` rather than a 16-digit key; fields that
    are the same for every row (the chart title says them) are left out.
    """
    fields = [c for c in SERIES_COLUMNS if c in frame.columns and c not in exclude]
    varying = [c for c in fields if frame[c].n_unique() > 1]
    if not varying:
        varying = (
            [
                next(
                    (c for c in ("model", "benchmark") if c in fields and frame[c].null_count() < frame.height),
                    fields[0],
                )
            ]
            if fields
            else []
        )
    if not varying:
        return pl.lit("all")
    parts = []
    for c in varying:
        expr = pl.col(c).cast(pl.Utf8)
        if c in _ABBREV:
            expr = pl.lit(_ABBREV[c]) + expr
        parts.append(expr)
    return pl.concat_str(parts, separator=" · ", ignore_nulls=True).fill_null("(none)")


def _series_order(frame: pl.DataFrame, *, exclude: Sequence[str] = ()) -> list[str]:
    """The ``series`` labels of ``frame`` in natural order (batch 4 before batch 16), not as text."""
    keys = [c for c in SERIES_COLUMNS if c in frame.columns and c not in exclude]
    ordered = frame.select("series", *keys).unique("series", keep="first").sort(keys, nulls_last=True)
    return ordered["series"].to_list()


_LONG = {"batch_size": "batch ", "seq_len": "seq "}


def _describe_constant(frame: pl.DataFrame, fields: Sequence[str]) -> str:
    """Title text for the identity fields that are constant (``bert-base · cuda-a100 · batch 8``)."""
    out = []
    for c in fields:
        if c in frame.columns and frame.height and frame[c].n_unique() == 1 and frame[c][0] is not None:
            out.append(f"{_LONG.get(c, '')}{frame[c][0]}")
    return " · ".join(out)


def _short_number(v: float | None) -> str:
    """3 significant digits without exponents: 0.117, 14.2, 339, 3,210."""
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _series_scale(n: int, order: list[str] | None = None) -> alt.Scale:
    return alt.Scale(scheme="tableau10" if n <= 10 else "tableau20", domain=order if order else alt.Undefined)


def _provenance_check(frame: pl.DataFrame, column: str = "provenance") -> None:
    bad = set(frame[column].drop_nulls().unique().to_list()) - set(PROVENANCES)
    if frame[column].null_count() or bad:
        raise QueryError(
            f"column {column!r} must hold only {', '.join(PROVENANCES)}; found {sorted(map(str, bad)) or 'nulls'}"
        )


def _value_scale(values: pl.Series) -> alt.Scale:
    """Log scale when the values span more than two decades (and are positive)."""
    v = values.drop_nulls()
    if v.len() and v.min() > 0 and v.max() / v.min() > 100:  # type: ignore[operator]
        return alt.Scale(type="log")
    return alt.Scale(zero=False)


def _fmt(unit: str) -> str:
    return f" ({unit})" if unit else ""


# -- history ------------------------------------------------------------------------------------------
def reduce_history(frame: pl.DataFrame, max_rows: int = MAX_ROWS) -> tuple[pl.DataFrame, str]:
    """Shrink a history frame to at most ``max_rows`` rows, keeping its shape.

    1. Runs of one series at one commit become one point: the median value,
       with the minimum and maximum kept as ``lo``/``hi`` and the count as
       ``n_points`` (timestamp = the commit's first run).
    2. If that is still too many, each series is cut into equal buckets in time
       order and only the rows with each bucket's lowest ``lo`` and highest
       ``hi`` survive, so spikes and steps stay visible (a min/max-preserving
       downsample; the chart draws ``lo``–``hi`` as whiskers).

    Returns the reduced frame and a sentence describing what was done ("" if
    nothing was needed).
    """
    if frame.height <= max_rows:
        return frame.with_columns(lo=pl.col("value"), hi=pl.col("value"), n_points=pl.lit(1, pl.Int64)), ""
    keys = ["series", "provenance", "_commit_key"]
    agg = (
        frame.with_columns(_commit_key=pl.coalesce(pl.col("commit"), pl.col("run_id").cast(pl.Utf8)))
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("x").min(),
            pl.col("value").median(),
            lo=pl.col("value").min(),
            hi=pl.col("value").max(),
            n_points=pl.len(),
            commit=pl.col("commit").first(),
            branch=pl.col("branch").first(),
            run_id=pl.col("run_id").first(),
            source=pl.col("source").first(),
            unit=pl.col("unit").first(),
        )
        .drop("_commit_key")
        .sort("series", "x")
    )
    note = f"{frame.height:,} values shown as per-commit medians"
    if agg.height <= max_rows:
        return agg, note
    n_series = agg["series"].n_unique()
    per_series = max(2, max_rows // max(n_series, 1))
    buckets = max(1, per_series // 2)
    ranked = agg.with_columns(_i=pl.int_range(pl.len()).over("series"), _n=pl.len().over("series")).with_columns(
        _b=(pl.col("_i") * buckets // pl.col("_n"))
    )
    # the rows holding the bucket's lowest low and highest high (their whiskers show the spread)
    is_lo = pl.col("lo") == pl.col("lo").min().over("series", "_b")
    is_hi = pl.col("hi") == pl.col("hi").max().over("series", "_b")
    keep = ranked.filter(is_lo | is_hi)
    # ties could keep more than two rows per bucket: keep the first of each
    keep = (
        keep.with_columns(_which=pl.when(is_hi).then(1).otherwise(0))
        .unique(subset=["series", "_b", "_which"], keep="first", maintain_order=True)
        .drop("_which")
    )
    keep = keep.drop("_i", "_n", "_b").sort("series", "x")
    if keep.height > max_rows:  # more series than rows allowed: keep whole series, say how many
        names = keep.group_by("series").len().sort("len", "series", descending=[True, False])
        keep_names, total = [], 0
        for name, n in names.iter_rows():
            if total + n > max_rows:
                break
            keep_names.append(name)
            total += n
        keep = keep.filter(pl.col("series").is_in(keep_names))
        note += f", downsampled to bucket min/max, first {len(keep_names)} of {n_series} series"
    else:
        note += ", downsampled keeping each bucket's min and max"
    return keep, note


def _change_points(changes: pl.DataFrame, triage: pl.DataFrame | None) -> pl.DataFrame:
    """Detected changes placed at their first bad point, with a ``mark`` to colour them by.

    ``mark`` is the triage status when there is one (from ``triage``, else the
    ``triage_status`` column :func:`benchlab.regress.detect_store` adds), else
    the kind (``regression``/``improvement``).
    """
    ch = changes
    at = next((c for c in ("first_bad_timestamp", "timestamp") if c in ch.columns), None)
    if at is None:
        raise QueryError(
            "history(): the changes frame needs a first_bad_timestamp column (benchlab.regress.detect output)"
        )
    ch = ch.with_columns(x=pl.col(at))
    status = pl.col("triage_status") if "triage_status" in ch.columns else pl.lit(None, pl.Utf8)
    ch = ch.with_columns(status=status.cast(pl.Utf8))
    if triage is not None and not triage.is_empty():
        if "change_id" not in ch.columns or not {"change_id", "status"} <= set(triage.columns):
            raise QueryError("history(): triage marks need change_id and status, and the changes a change_id")
        cols = [c for c in ("change_id", "status", "note", "link") if c in triage.columns]
        tri = triage.select(cols).unique("change_id", keep="last").rename({"status": "_tstatus"})
        ch = ch.drop([c for c in ("note", "link") if c in cols and c in ch.columns]).join(
            tri, on="change_id", how="left"
        )
        ch = ch.with_columns(status=pl.coalesce("_tstatus", "status")).drop("_tstatus")
    kind = pl.col("kind").cast(pl.Utf8) if "kind" in ch.columns else pl.lit("regression")
    pct = pl.format("{}%", ((pl.col("change") * 100).round(1)).cast(pl.Utf8)) if "change" in ch.columns else pl.lit("")
    ch = ch.with_columns(
        mark=pl.coalesce(pl.col("status"), kind),
        kind=kind,
        label=pl.concat_str([pl.coalesce(pl.col("status"), kind), pct], separator=" ", ignore_nulls=True),
    )
    return ch.filter(pl.col("x").is_not_null())


#: the time brush of interactive histories (built once: constructing a selection is slow)
_BRUSH = alt.selection_interval(name="brush", encodings=["x"])

_CHANGE_TOOLTIP = ("change_id", "kind", "severity", "mark", "before", "after", "change", "change_low", "change_high",
                   "p_value", "last_good_commit", "first_bad_commit", "provenance", "note", "link")  # fmt: skip


def history(
    frame: pl.DataFrame,
    changes: pl.DataFrame | None = None,
    triage: pl.DataFrame | None = None,
    *,
    metric: str | None = None,
    title: str | None = None,
    brush: bool = False,
    max_rows: int = MAX_ROWS,
    max_series: int | None = 20,
    width: int | None = None,
    height: int | None = None,
) -> alt.LayerChart:
    """Series values over time, with detected changes and their triage status.

    Parameters
    ----------
    frame : polars.DataFrame
        A results frame (``store.history(...)``/``store.results(...)``) for one
        metric; several series are coloured separately.
    changes : polars.DataFrame, optional
        Detected changes (:func:`benchlab.regress.detect` /
        :func:`~benchlab.regress.detect_store`) drawn as dashed vertical rules at
        their first bad run, coloured by kind or, once triaged, by status.
    triage : polars.DataFrame, optional
        Triage marks (``change_id``, ``status``, ``note``, ``link``, e.g.
        :func:`benchlab.regress.triage_status`) joined to ``changes`` on
        ``change_id``; overrides the ``triage_status`` column of ``changes``.
    metric : str, optional
        Keep only this metric (required when the frame holds several).
    title : str, optional
        Chart title; defaults to the metric and the fields all series share.
    brush : bool
        Add an interval selection named ``brush`` on the time axis (used by the
        explorer widget to filter its table).
    max_rows : int
        Above this many rows the frame is reduced (see :func:`reduce_history`).
    max_series : int or None
        Draw at most this many series (the first by label; the subtitle says
        how many were left out): more lines than colours help nobody.

    Returns
    -------
    altair.LayerChart
    """
    frame = _frame(frame, ("timestamp", "value", "provenance", "metric"), "history()")
    frame, metric, unit = _one_metric(frame, metric, "history()")
    _provenance_check(frame)
    for c in ("commit", "branch", "run_id", "source", "unit", "machine"):
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(c))
    data = frame.with_columns(series=series_label(frame), x=pl.col("timestamp"))
    if data["x"].null_count() == data.height and data.height:
        raise QueryError("history(): no row has a timestamp; the store records when each run started")
    data = data.filter(pl.col("x").is_not_null())
    order = _series_order(data)
    data = data.select("series", "provenance", "x", "value", "commit", "branch", "run_id", "source", "unit", "machine")
    notes = []
    if max_series is not None and len(order) > max_series:
        notes.append(f"first {max_series} of {len(order)} series (filter to see the others)")
        order = order[:max_series]
        data = data.filter(pl.col("series").is_in(order))
    data, note = reduce_history(data, max_rows)
    notes = [note, *notes] if note else notes
    n_series = len(order)
    scale = _series_scale(n_series, order)
    shown = _describe_constant(frame, ("benchmark", "model", "hardware", "batch_size", "seq_len", "precision"))
    chart_title = alt.Title(title or f"{metric}{_fmt(unit)}" + (f" — {shown}" if shown else ""), subtitle=notes)
    x = alt.X("x:T", title="run started (UTC)")
    y = alt.Y("value:Q", title=f"{metric}{_fmt(unit)}", scale=_value_scale(data["value"]))
    legend = alt.Legend(title="series", symbolLimit=30) if n_series > 1 else None
    tooltip = [
        alt.Tooltip("series:N"),
        alt.Tooltip("value:Q", format=".4~g", title=f"{metric}{_fmt(unit)}"),
        alt.Tooltip("provenance:N"),
        alt.Tooltip("commit:N"),
        alt.Tooltip("branch:N"),
        alt.Tooltip("x:T", title="run started", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("source:N"),
        alt.Tooltip("run_id:Q", title="run"),
    ]
    if note:
        tooltip += [alt.Tooltip("n_points:Q", title="values aggregated"), alt.Tooltip("lo:Q", format=".4~g", title="min"),
                    alt.Tooltip("hi:Q", format=".4~g", title="max")]  # fmt: skip
    base = alt.Chart(data)
    color = alt.Color("series:N", scale=scale, legend=legend)
    lines = base.mark_line(opacity=0.8).encode(
        x=x, y=y, color=color, strokeDash=theme.provenance_dash(), detail=alt.Detail("provenance:N")
    )
    points = base.mark_point(filled=True).encode(x=x, y=y, color=color, shape=theme.provenance_shape(), tooltip=tooltip)
    if brush:
        points = points.add_params(_BRUSH)
    layers: list[alt.Chart] = [lines, points]
    if note:  # show the spread that aggregation hid
        layers.insert(0, base.mark_rule(opacity=0.35).encode(x=x, y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=color))
    if changes is not None and "series_key" in changes.columns and "series_key" in frame.columns:
        changes = changes.join(frame.select("series_key").unique(), on="series_key", how="semi")  # only charted series
    if changes is not None and not changes.is_empty():
        ch = _change_points(changes, triage)
        if not ch.is_empty():
            marks = [m for m in theme.CHANGE_COLORS if m in set(ch["mark"].to_list())]
            marks += sorted(set(ch["mark"].to_list()) - set(marks))
            colors = [theme.CHANGE_COLORS.get(m, "#4a5568") for m in marks]
            keep = [c for c in _CHANGE_TOOLTIP if c in ch.columns]
            chd = ch.select("x", "label", *keep)
            ch_tooltip = [alt.Tooltip("x:T", title="first bad run", format="%Y-%m-%d %H:%M")] + [
                alt.Tooltip(f"{c}:Q", format="+.1%" if c.startswith("change") else ".3~g")
                if chd[c].dtype.is_numeric()
                else alt.Tooltip(f"{c}:N", title="triage / kind" if c == "mark" else c)
                for c in keep
            ]
            stroke = alt.Stroke(
                "mark:N", scale=alt.Scale(domain=marks, range=colors), legend=alt.Legend(title="detected change")
            )
            rules = (
                alt.Chart(chd)
                .mark_rule(strokeWidth=2, strokeDash=[5, 3])
                .encode(x=alt.X("x:T"), stroke=stroke, tooltip=ch_tooltip)
            )
            flags = (
                alt.Chart(chd)
                .mark_text(align="left", dx=3, baseline="top", fontSize=10, color="#4a5568")
                .encode(x=alt.X("x:T"), y=alt.YValue(2), text=alt.Text("label:N"), tooltip=ch_tooltip)
            )
            layers += [rules, flags]
    size = {k: v for k, v in (("width", width), ("height", height)) if v}
    return alt.layer(*layers, title=chart_title, **size)


# -- comparison ---------------------------------------------------------------------------------------
_VERDICTS = {"better": theme.BETTER, "unchanged": "#718096", "uncertain": "#cbd5e0", "worse": theme.WORSE}
_CI_PAIRS = (("ratio_low", "ratio_high"), ("ratio_lower", "ratio_upper"), ("ci_low", "ci_high"), ("lower", "upper"))


def comparison(
    frame: pl.DataFrame,
    *,
    provenance: str | None = None,
    threshold: float = 0.02,
    title: str | None = None,
    max_rows: int = 40,
    labels: tuple[str, str] = ("baseline", "contender"),
) -> alt.LayerChart:
    """Contender ÷ baseline ratio per case, as bars from 1 with interval whiskers.

    Parameters
    ----------
    frame : polars.DataFrame
        Output of :meth:`Store.compare` or :func:`benchlab.regress.ab_compare`:
        identity columns, ``ratio`` (contender / baseline), ``direction`` and,
        when available, an interval for the ratio (``ratio_low``/``ratio_high``
        or ``ci_low``/``ci_high``) and a ``verdict`` (better, unchanged,
        uncertain, worse), which colours the bars.
    provenance : str, optional
        Provenance of the compared values when the frame has no ``provenance``
        column (``store.compare`` aggregates it away; the caller knows it).
    threshold : float
        Without a ``verdict`` column or an interval, changes smaller than this
        fraction count as "unchanged".
    max_rows : int
        Show at most this many cases, the largest changes first (the subtitle
        says how many were left out).
    labels : (str, str)
        Names of the two sides for the axis title.

    Returns
    -------
    altair.LayerChart
    """
    frame = _frame(frame, ("ratio",), "comparison()")
    if "provenance" not in frame.columns:
        if provenance is None:
            raise QueryError(
                "comparison(): the frame has no provenance column; pass provenance='measured', 'simulated' or "
                "'predicted' so the chart can say what was compared"
            )
        frame = frame.with_columns(provenance=pl.lit(provenance))
    _provenance_check(frame)
    if "direction" not in frame.columns:
        frame = frame.with_columns(direction=pl.lit("lower"))
    data = frame.filter(pl.col("ratio").is_not_null() & pl.col("ratio").is_finite() & (pl.col("ratio") > 0))
    dropped = frame.height - data.height
    lo_col, hi_col = next(((a, b) for a, b in _CI_PAIRS if a in data.columns and b in data.columns), (None, None))
    if lo_col is not None:
        finite = pl.col("lo").is_finite() & pl.col("hi").is_finite()
        data = data.with_columns(lo=pl.col(lo_col).cast(pl.Float64), hi=pl.col(hi_col).cast(pl.Float64))
        data = data.with_columns(lo=pl.when(finite).then("lo"), hi=pl.when(finite).then("hi"))
        noise = (pl.col("lo") <= 1) & (pl.col("hi") >= 1)
    else:
        data = data.with_columns(lo=pl.lit(None, pl.Float64), hi=pl.lit(None, pl.Float64))
        noise = (pl.col("ratio") - 1).abs() < threshold
    if "verdict" in data.columns:  # ab_compare decided, with its own factor and test: keep its word
        verdict = pl.col("verdict").cast(pl.Utf8)
        how = "verdicts from ab_compare"
    else:
        worse = pl.when(pl.col("direction") == "higher").then(pl.col("ratio") < 1).otherwise(pl.col("ratio") > 1)
        verdict = pl.when(noise).then(pl.lit("unchanged")).when(worse).then(pl.lit("worse")).otherwise(pl.lit("better"))
        how = "unchanged = interval contains 1" if lo_col is not None else f"unchanged = within ±{threshold:.0%}"
    data = data.with_columns(
        case=series_label(
            data, exclude=("metric",) if "metric" in data.columns and data["metric"].n_unique() == 1 else ()
        ),
        verdict=verdict,
        change_pct=100 * (pl.col("ratio") - 1),
        _size=pl.col("ratio").log().abs(),
    )
    note = [how]
    if data.height > max_rows:
        note.append(
            f"{max_rows} of {data.height} cases shown: worse, better and uncertain first, then the largest changes"
        )
        rank = pl.col("verdict").replace_strict(
            {"worse": 0, "better": 1, "uncertain": 2}, default=3, return_dtype=pl.Int64
        )
        data = data.sort([rank, pl.col("_size")], descending=[False, True]).head(max_rows)
    if dropped:
        note.append(f"{dropped} case(s) present on only one side left out")
    data = data.sort("ratio")
    keep = ["case", "ratio", "lo", "hi", "verdict", "provenance", "change_pct", "direction"] + [
        c
        for c in ("baseline", "contender", "unit", "n_baseline", "n_contender", "p_value", "metric")
        if c in data.columns
    ]
    data = data.select(keep)
    order = data["case"].to_list()
    tooltip = [alt.Tooltip("case:N"), alt.Tooltip("ratio:Q", format=".3f"), alt.Tooltip("change_pct:Q", format="+.1f", title="change %"),
               alt.Tooltip("verdict:N"), alt.Tooltip("provenance:N")]  # fmt: skip
    for c in ("baseline", "contender", "n_baseline", "n_contender", "p_value", "lo", "hi"):
        if c in data.columns:
            tooltip.append(alt.Tooltip(f"{c}:Q", format=".4~g"))
    for c in ("unit", "direction"):
        tooltip.append(alt.Tooltip(f"{c}:N"))
    # symmetric log domain around 1 so that 0.5x and 2x look equally far away
    span = max(
        [abs(math.log(v)) for c in ("ratio", "lo", "hi") for v in data[c].drop_nulls().to_list() if v > 0]
        + [math.log(1.1)]
    )
    domain = [math.exp(-1.1 * span), math.exp(1.1 * span)]
    y = alt.Y("case:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    verdict_scale = alt.Scale(domain=list(_VERDICTS), range=list(_VERDICTS.values()))
    base = alt.Chart(data)
    bars = base.mark_bar(strokeWidth=1.5, height={"band": 0.7}).encode(
        x=alt.X(
            "ratio:Q",
            scale=alt.Scale(type="log", domain=domain, nice=False),
            title=f"{labels[1]} ÷ {labels[0]} (log scale; 1 = no change)",
        ),
        x2=alt.X2Datum(1.0),
        y=y,
        color=alt.Color("verdict:N", scale=verdict_scale, legend=alt.Legend(title="verdict")),
        stroke=alt.Stroke("verdict:N", scale=verdict_scale, legend=None),
        opacity=theme.provenance_opacity(),
        tooltip=tooltip,
    )
    one = alt.Chart().mark_rule(color="#2d3748").encode(x=alt.XDatum(1.0))
    layers: list[Any] = [bars, one]
    if lo_col is not None:
        layers.append(base.mark_rule(color="#2d3748").encode(x=alt.X("lo:Q"), x2=alt.X2("hi:Q"), y=y, tooltip=tooltip))
    height = max(60, 18 * data.height)
    return (
        alt.layer(*layers)
        .properties(title=alt.Title(title or f"{labels[1]} vs {labels[0]}", subtitle=note), height=height)
        .resolve_scale(color="independent")
    )


# -- heatmap ------------------------------------------------------------------------------------------
def _latest_per_series(frame: pl.DataFrame) -> pl.DataFrame:
    if "series_key" not in frame.columns or "timestamp" not in frame.columns:
        return frame
    return frame.sort("timestamp", "run_id", nulls_last=False).group_by("series_key", "provenance").last()


def _best_evidence(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Per group, keep only rows of the best provenance available (measured > simulated > predicted)."""
    ranked = frame.with_columns(_rank=pl.col("provenance").replace_strict(_PROVENANCE_RANK, default=9))
    return ranked.filter(pl.col("_rank") == pl.col("_rank").min().over(keys)).drop("_rank")


def heatmap(
    frame: pl.DataFrame,
    rows: str = "model",
    columns: str = "hardware",
    *,
    metric: str | None = None,
    agg: str = "median",
    title: str | None = None,
) -> alt.LayerChart:
    """One metric as a grid (model × hardware by default) of each cell's typical value.

    Each series contributes its latest value; a cell aggregates (``agg``) the
    series that fall in it (all batch sizes, precisions … unless the frame is
    filtered).  A cell uses the best evidence it has: measured values if any,
    else simulated, else predicted; a small glyph in the cell corner shows which.

    Returns
    -------
    altair.LayerChart
    """
    frame = _frame(frame, (rows, columns, "value", "provenance", "metric"), "heatmap()")
    if agg not in ("median", "mean", "min", "max"):
        raise QueryError(f"heatmap(): agg must be median, mean, min or max, not {agg!r}")
    frame, metric, unit = _one_metric(frame, metric, "heatmap()")
    _provenance_check(frame)
    latest = _best_evidence(
        _latest_per_series(frame).filter(pl.col(rows).is_not_null() & pl.col(columns).is_not_null()), [rows, columns]
    )
    cells = (
        latest.group_by(rows, columns)
        .agg(
            getattr(pl.col("value"), agg)().alias("value"),
            provenance=pl.col("provenance").first(),
            n_series=pl.len(),
            sources=pl.col("source").unique().sort().str.join(", ")
            if "source" in latest.columns
            else pl.lit(None, pl.Utf8),
            commits=pl.col("commit").drop_nulls().unique().sort().str.join(", ")
            if "commit" in latest.columns
            else pl.lit(None, pl.Utf8),
        )
        .with_columns(pl.col(rows).cast(pl.Utf8), pl.col(columns).cast(pl.Utf8))
        .sort(rows, columns)
    )
    cells = cells.with_columns(label=pl.col("value").map_elements(_short_number, return_dtype=pl.Utf8))
    direction = frame["direction"].drop_nulls().first() if "direction" in frame.columns and frame.height else "lower"
    # darker = better, whichever way "better" points
    scheme = alt.Scale(type="log" if cells.height and cells["value"].min() > 0 else "linear", scheme="blues",  # type: ignore[operator]
                       reverse=direction == "lower")  # fmt: skip
    x = alt.X(f"{columns}:N", title=columns, axis=alt.Axis(labelAngle=-35, orient="top"))
    y = alt.Y(f"{rows}:N", title=rows)
    tooltip = [alt.Tooltip(f"{rows}:N"), alt.Tooltip(f"{columns}:N"), alt.Tooltip("value:Q", format=".4~g", title=f"{agg} {metric}{_fmt(unit)}"),
               alt.Tooltip("provenance:N"), alt.Tooltip("n_series:Q", title="series"), alt.Tooltip("commits:N"), alt.Tooltip("sources:N")]  # fmt: skip
    base = alt.Chart(cells)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        x=x, y=y, color=alt.Color("value:Q", scale=scheme, title=f"{metric}{_fmt(unit)}"), tooltip=tooltip
    )
    text = base.mark_text(fontSize=10).encode(
        x=x,
        y=y,
        text=alt.Text("label:N"),
        color=alt.condition(
            alt.datum.value > (cells["value"].median() or 0),
            alt.ColorValue("black" if direction == "lower" else "white"),
            alt.ColorValue("white" if direction == "lower" else "black"),
        ),
        tooltip=tooltip,
    )
    glyph = base.mark_point(size=36, xOffset=-22, yOffset=-6, filled=True, fill="#1a202c", opacity=0.8).encode(
        x=x, y=y, shape=theme.provenance_shape(), tooltip=tooltip
    )
    n_cols = cells[columns].n_unique() if cells.height else 1
    n_rows = cells[rows].n_unique() if cells.height else 1
    filt = _describe_constant(frame, ("benchmark", "batch_size", "seq_len", "precision"))
    sub = f"{agg} of each series' latest value" + (f"; {filt}" if filt else "; all batch sizes and precisions")
    return (
        alt.layer(rect, text, glyph)
        .properties(
            title=alt.Title(title or f"{metric}{_fmt(unit)}: {rows} × {columns}", subtitle=[sub]),
            width=max(120, 64 * n_cols),
            height=max(60, 22 * n_rows),
        )
        .resolve_scale(color="independent")
    )


# -- scaling ------------------------------------------------------------------------------------------
def scaling(
    frame: pl.DataFrame,
    *,
    metric: str | None = None,
    x: str = "batch_size",
    title: str | None = None,
) -> alt.LayerChart:
    """A metric against batch size (or another numeric identity field), one line per series.

    Each series (model, hardware, precision … minus ``x``) is drawn from the
    latest value at every ``x``; both axes are logarithmic.

    Returns
    -------
    altair.LayerChart
    """
    frame = _frame(frame, (x, "value", "provenance", "metric"), "scaling()")
    frame, metric, unit = _one_metric(frame, metric, "scaling()")
    _provenance_check(frame)
    frame = frame.filter(pl.col(x).is_not_null())
    if frame.is_empty():
        raise QueryError(f"scaling(): no row has a {x}")
    latest = _latest_per_series(frame)
    latest = latest.with_columns(series=series_label(latest, exclude=(x,)))
    for c in ("source", "commit"):
        if c not in latest.columns:
            latest = latest.with_columns(pl.lit(None, pl.Utf8).alias(c))
    data = (
        latest.group_by("series", x, "provenance")
        .agg(
            pl.col("value").median(),
            n_series=pl.len(),
            commit=pl.col("commit").drop_nulls().first(),
            source=pl.col("source").drop_nulls().first(),
        )
        .sort("series", x)
    )
    order = _series_order(latest, exclude=(x,))
    n_series = len(order)
    if data.height > MAX_ROWS:  # keep whole series so each line stays complete
        order = order[: max(1, MAX_ROWS // max(1, data.height // n_series))]
        data = data.filter(pl.col("series").is_in(order))
        note = [f"first {len(order)} of {n_series} series shown"]
        n_series = len(order)
    else:
        note = []
    scale = _series_scale(n_series, order)
    xe = alt.X(
        f"{x}:Q",
        scale=alt.Scale(type="log", base=2),
        axis=alt.Axis(values=sorted(set(data[x].to_list()))),
        title=x.replace("_", " "),
    )
    ye = alt.Y("value:Q", scale=alt.Scale(type="log"), title=f"{metric}{_fmt(unit)}")
    tooltip = [alt.Tooltip("series:N"), alt.Tooltip(f"{x}:Q"), alt.Tooltip("value:Q", format=".4~g", title=f"{metric}{_fmt(unit)}"),
               alt.Tooltip("provenance:N"), alt.Tooltip("commit:N"), alt.Tooltip("source:N")]  # fmt: skip
    base = alt.Chart(data)
    color = alt.Color("series:N", scale=scale, legend=alt.Legend(title="series", symbolLimit=30))
    lines = base.mark_line().encode(
        x=xe, y=ye, color=color, strokeDash=theme.provenance_dash(), detail=alt.Detail("provenance:N")
    )
    points = base.mark_point(filled=True).encode(
        x=xe, y=ye, color=color, shape=theme.provenance_shape(), tooltip=tooltip
    )
    shown = _describe_constant(frame, ("benchmark", "model", "hardware", "precision"))
    return alt.layer(lines, points).properties(
        title=alt.Title(title or f"{metric} vs {x.replace('_', ' ')}" + (f" — {shown}" if shown else ""), subtitle=note)
    )


# -- predicted vs measured ------------------------------------------------------------------------------
def predicted_vs_measured(
    frame: pl.DataFrame,
    *,
    reference: str = "value",
    prediction: str = "prediction",
    title: str | None = None,
    color: str | None = None,
    max_rows: int = MAX_ROWS,
) -> alt.LayerChart:
    """Predictions (y, with their intervals) against reference values (x).

    Parameters
    ----------
    frame : polars.DataFrame
        One row per case with the reference value (``value``: measured or
        simulated), the ``prediction`` and, if known, its interval
        ``lower``/``upper``.  The reference's provenance comes from
        ``reference_provenance`` if present, else ``provenance`` (a row whose
        provenance says ``predicted`` has no usable reference and is an error).
    color : str, optional
        Column to colour points by (``hardware``, ``model_family`` …).
    max_rows : int
        Larger frames keep the cases with the largest errors plus an even
        sample of the rest (the subtitle says so).

    Returns
    -------
    altair.LayerChart
        Points on a log–log plot with the y = x diagonal; the subtitle gives
        the median absolute percentage error and the interval coverage.
    """
    frame = _frame(frame, (reference, prediction), "predicted_vs_measured()")
    ref_col = next((c for c in ("reference_provenance", "provenance") if c in frame.columns), None)
    if ref_col is None:
        raise QueryError(
            "predicted_vs_measured(): need a provenance (or reference_provenance) column for the reference values"
        )
    data = frame.with_columns(reference_provenance=pl.col(ref_col).cast(pl.Utf8), provenance=pl.lit("predicted"),
                              ref=pl.col(reference).cast(pl.Float64), pred=pl.col(prediction).cast(pl.Float64))  # fmt: skip
    if (data["reference_provenance"] == "predicted").any():
        raise QueryError(
            "predicted_vs_measured(): some reference values are themselves predicted; keep the measured or "
            "simulated values in 'value' and their provenance in 'reference_provenance'"
        )
    _provenance_check(data, "reference_provenance")
    data = data.filter(
        pl.col("ref").is_not_null() & pl.col("pred").is_not_null() & (pl.col("ref") > 0) & (pl.col("pred") > 0)
    )
    has_iv = "lower" in data.columns and "upper" in data.columns
    data = data.with_columns(
        lo=pl.col("lower").cast(pl.Float64) if has_iv else pl.lit(None, pl.Float64),
        hi=pl.col("upper").cast(pl.Float64) if has_iv else pl.lit(None, pl.Float64),
        ape=(pl.col("pred") / pl.col("ref") - 1).abs() * 100,
    )
    if data.is_empty():
        raise QueryError("predicted_vs_measured(): no row has both a positive reference and a prediction")
    mape = data["ape"].median()
    sub = [f"{data.height} cases · median absolute error {mape:.1f}%"]
    if has_iv:
        inside = ((data["ref"] >= data["lo"]) & (data["ref"] <= data["hi"])).mean()
        sub[0] += f" · {inside:.0%} of references inside the predicted interval"
    if data.height > max_rows:
        worst = data.sort("ape", descending=True).head(max_rows // 5)
        rest = data.sort("ape", descending=True).slice(max_rows // 5)
        stride = max(1, math.ceil(rest.height / (max_rows - worst.height)))
        data = pl.concat([worst, rest.gather_every(stride)])
        sub.append(f"showing the {worst.height} largest errors and every {stride}th other case")
    keep_extra = [
        c
        for c in ("model", "hardware", "batch_size", "precision", "metric", "unit", "source", "commit")
        if c in data.columns
    ]
    if color and color not in data.columns:
        raise QueryError(f"predicted_vs_measured(): no column {color!r} to colour by")
    if color and color not in keep_extra:
        keep_extra.append(color)
    data = data.select("ref", "pred", "lo", "hi", "ape", "provenance", "reference_provenance", *keep_extra)
    unit = data["unit"].drop_nulls().first() if "unit" in data.columns else None
    # one square log domain for both axes, from the points (wide intervals are clipped, not allowed
    # to squash the points into a corner)
    lo_v = min(data["ref"].min(), data["pred"].min()) / 1.5  # type: ignore[operator]
    hi_v = max(data["ref"].max(), data["pred"].max()) * 1.5  # type: ignore[operator]
    square = alt.Scale(type="log", domain=[lo_v, hi_v], nice=False)
    refs = " / ".join(sorted(set(data["reference_provenance"].to_list())))
    xe = alt.X("ref:Q", scale=square, title=f"reference ({refs}){_fmt(unit or '')}")
    ye = alt.Y("pred:Q", scale=square, title=f"predicted{_fmt(unit or '')}")
    tooltip = [alt.Tooltip(c, type="nominal") for c in keep_extra if c not in ("unit",)] + [
        alt.Tooltip("ref:Q", format=".4~g", title="reference"),
        alt.Tooltip("reference_provenance:N", title="reference provenance"),
        alt.Tooltip("pred:Q", format=".4~g", title="predicted"),
        alt.Tooltip("lo:Q", format=".4~g", title="interval low"),
        alt.Tooltip("hi:Q", format=".4~g", title="interval high"),
        alt.Tooltip("ape:Q", format=".1f", title="abs. error %"),
        alt.Tooltip("provenance:N"),
    ]
    diag = (
        alt.Chart(pl.DataFrame({"ref": [lo_v, hi_v], "pred": [lo_v, hi_v]}))
        .mark_line(color="#718096", strokeDash=[4, 4])
        .encode(x=xe, y=ye)
    )
    base = alt.Chart(data)
    col = alt.Color(f"{color}:N", legend=alt.Legend(title=color)) if color else alt.ColorValue("#2b6cb0")
    layers: list[Any] = [diag]
    if has_iv:
        layers.append(
            base.mark_rule(opacity=0.5, clip=True).encode(x=xe, y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q"), color=col)
        )
    layers.append(
        base.mark_point(filled=True, size=55).encode(
            x=xe,
            y=ye,
            color=col,
            shape=theme.provenance_shape(),
            opacity=alt.Opacity(
                "reference_provenance:N",
                scale=alt.Scale(type="ordinal", domain=["measured", "simulated"], range=[1.0, 0.55]),
                legend=alt.Legend(title="reference (x axis)"),
            ),
            tooltip=tooltip,
        )
    )
    return alt.layer(*layers, title=alt.Title(title or "predicted vs reference", subtitle=sub), width=420, height=380)


# -- compatibility ------------------------------------------------------------------------------------
_LEVELS = ["full", "limited", "experimental", "unsupported"]
_LEVEL_MARKS = {"full": "✓", "limited": "lim.", "experimental": "exp.", "unsupported": "✗"}


def compatibility(frame: pl.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """The model × hardware compatibility matrix.

    Parameters
    ----------
    frame : polars.DataFrame
        Either the long records of :meth:`Store.compatibility` (``model``,
        ``hardware``, ``level`` and optional ``error_type``/``error_message``/
        ``suggested_fix``) or the wide pivot of
        :meth:`Store.compatibility_matrix`.

    Returns
    -------
    altair.LayerChart
    """
    frame = _frame(frame, ("model",), "compatibility()")
    if "level" not in frame.columns:  # wide pivot -> long
        frame = frame.unpivot(index="model", variable_name="hardware", value_name="level").filter(
            pl.col("level").is_not_null()
        )
    elif "compat_id" in frame.columns:  # latest record per pair
        frame = frame.sort("compat_id").group_by("model", "hardware").last()
    bad = set(frame["level"].drop_nulls().unique().to_list()) - set(_LEVELS)
    if bad:
        raise QueryError(f"compatibility(): unknown level(s) {sorted(bad)}; expected {', '.join(_LEVELS)}")
    extra = [c for c in ("error_type", "error_message", "suggested_fix") if c in frame.columns]
    data = (
        frame.select("model", "hardware", "level", *extra)
        .with_columns(short=pl.col("level").replace_strict(_LEVEL_MARKS, default="?"))
        .sort("model", "hardware")
    )
    counts = data.group_by("level").len()
    sub = ", ".join(f"{n} {lvl}" for lvl in _LEVELS for l2, n in counts.iter_rows() if l2 == lvl)
    x = alt.X("hardware:N", axis=alt.Axis(labelAngle=-35, orient="top"))
    y = alt.Y("model:N")
    tooltip = [alt.Tooltip("model:N"), alt.Tooltip("hardware:N"), alt.Tooltip("level:N")] + [
        alt.Tooltip(f"{c}:N") for c in extra
    ]
    base = alt.Chart(data)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        x=x,
        y=y,
        color=alt.Color(
            "level:N",
            scale=alt.Scale(domain=_LEVELS, range=[theme.COMPAT_COLORS[lvl] for lvl in _LEVELS]),
            legend=alt.Legend(title="support level"),
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=9, color="white").encode(x=x, y=y, text=alt.Text("short:N"), tooltip=tooltip)
    return alt.layer(rect, text).properties(
        title=alt.Title(title or "model × hardware compatibility", subtitle=[sub] if sub else []),
        width=max(120, 56 * max(1, data["hardware"].n_unique())),
        height=max(60, 20 * max(1, data["model"].n_unique())),
    )

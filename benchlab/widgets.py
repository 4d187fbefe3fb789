"""ipywidgets explorers for a benchlab store.

==================  ===========================================================================
:class:`SeriesExplorer`  filter by benchmark/model/hardware/metric/precision/batch → history + table
:class:`TriageBrowser`   browse detected changes and record a triage decision in the store
:class:`RunComparer`     two commits or branches side by side → ratio chart + table
:class:`WhatIf`          predicted value (with interval) for a model/hardware/batch/precision
==================  ===========================================================================

Each explorer *is* an :class:`ipywidgets.VBox`: display it (last expression of
a cell) and use it.  Charts are :class:`altair.JupyterChart` widgets, so the
history chart's time brush filters the table next to it.

Keeping the kernel responsive: widgets never hold a store connection (every
query is a short read through the store's query helpers), and they share a
:class:`FrameCache` that reads one metric's history once and answers every
later filter change from memory with Polars, so a dropdown change costs a
Polars filter and a chart rebuild, not a database round trip
(``benchmarks/widget_update.py`` measures it).  Pass the same cache to several
widgets to share it.

Provenance is always on screen: charts encode it (see :mod:`benchlab.theme`),
tables have a ``provenance`` column, and :class:`WhatIf` labels its number
"PREDICTED".
"""

from __future__ import annotations

import functools
import html
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt
import ipywidgets as widgets
import polars as pl
from altair.utils.schemapi import debug_mode

from benchlab import charts
from benchlab.errors import BenchlabError
from benchlab.frame import SERIES_COLUMNS

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["FrameCache", "SeriesExplorer", "TriageBrowser", "RunComparer", "WhatIf", "frame_to_html"]

ALL = "(all)"
FILTERS = ("metric", "benchmark", "model", "hardware", "precision", "batch_size")
_LABELS = {"batch_size": "batch", "benchmark": "benchmark", "metric": "metric", "model": "model",
           "hardware": "hardware", "precision": "precision"}  # fmt: skip


# -- shared helpers -------------------------------------------------------------------------------
class FrameCache:
    """Frames the explorers read, fetched once through the store's query helpers.

    Parameters
    ----------
    store : Store
    max_scopes : int
        How many metrics' histories to keep in memory (least recently used
        are dropped).

    Notes
    -----
    A *scope* is one metric's whole history (``store.history(metric=...)``):
    every filter the explorers offer narrows a scope, so after the first read
    they are answered in memory.  Call :meth:`clear` after importing new results.
    """

    def __init__(self, store: Store, *, max_scopes: int = 3) -> None:
        self.store = store
        self.max_scopes = max_scopes
        self._catalogue: pl.DataFrame | None = None
        self._scopes: OrderedDict[str, pl.DataFrame] = OrderedDict()

    def clear(self) -> None:
        """Forget everything read so far."""
        self._catalogue = None
        self._scopes.clear()

    def catalogue(self) -> pl.DataFrame:
        """One row per series with its latest value (``store.latest()``), cached."""
        if self._catalogue is None:
            self._catalogue = self.store.latest()
        return self._catalogue

    def scope(self, metric: str) -> pl.DataFrame:
        """The whole history of ``metric``, cached."""
        if metric in self._scopes:
            self._scopes.move_to_end(metric)
            return self._scopes[metric]
        frame = self.store.history(metric=metric)
        self._scopes[metric] = frame
        while len(self._scopes) > self.max_scopes:
            self._scopes.popitem(last=False)
        return frame

    def history(self, metric: str, **filters: Any) -> pl.DataFrame:
        """History of ``metric`` narrowed by ``column=value`` filters (``None`` = any)."""
        return filter_frame(self.scope(metric), **filters)


def filter_frame(frame: pl.DataFrame, **filters: Any) -> pl.DataFrame:
    """Rows matching ``column=value`` / ``column=[values]``; ``None`` values are ignored."""
    cond = [
        pl.col(c).is_in(list(v)) if isinstance(v, list | tuple | set) else pl.col(c) == v
        for c, v in filters.items()
        if v is not None
    ]
    return frame.filter(*cond) if cond else frame


def _build(builder: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a chart builder without Altair validating every intermediate object.

    In its default debug mode Altair validates each schema object as it is
    created, which costs more than building the chart (≈40 of ≈50 ms for a
    history); the builders' output is validated once, as a whole, by the tests.
    """
    with debug_mode(False):
        return builder(*args, **kwargs)


def _show(jupyter_chart: alt.JupyterChart, chart: Any) -> None:
    """Put ``chart`` in ``jupyter_chart``, serialized without JSON-schema validation.

    ``JupyterChart`` serializes a new chart with ``to_dict()``, which validates the
    whole spec *including the inline data* against the Vega-Lite schema (40–80 ms
    per update); the charts come from :mod:`benchlab.charts`, whose output the
    tests validate, so the widget skips it for this chart object only.
    """
    object.__setattr__(chart, "to_dict", functools.partial(type(chart).to_dict, chart, validate=False))
    jupyter_chart.chart = chart


def _fmt_cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
    return str(v)


def frame_to_html(frame: pl.DataFrame, *, max_rows: int = 20, caption: str | None = None) -> str:
    """A small, escaped HTML table of ``frame`` (numbers to 4 significant digits)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.head(max_rows).iter_rows()
    )
    more = f"<p style='color:#718096'>… {frame.height - max_rows} more rows</p>" if frame.height > max_rows else ""
    cap = f"<caption style='text-align:left;color:#4a5568'>{html.escape(caption)}</caption>" if caption else ""
    style = "border-collapse:collapse;font-size:12px;font-family:system-ui,sans-serif"
    return f"<table class='benchlab-table' style='{style}'>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"


def _message(text: str, *, error: bool = False) -> str:
    color = "#c53030" if error else "#4a5568"
    return f"<span style='color:{color};font-size:12px'>{html.escape(text)}</span>"


def _options(values: Sequence[Any], *, allow_all: bool) -> list[tuple[str, Any]]:
    opts = [(str(v), v) for v in values]
    return [(ALL, None), *opts] if allow_all else opts


def _short(commit: str | None) -> str:
    return "" if commit is None else commit[:8]


# -- series explorer --------------------------------------------------------------------------------
class SeriesExplorer(widgets.VBox):
    """Pick benchmark/model/hardware/metric/precision/batch and see the history and the values.

    Parameters
    ----------
    store : Store
    cache : FrameCache, optional
        Share one cache between explorers.
    max_series : int
        Most series drawn at once (narrow the filters to see others).
    **initial
        Starting filter values (``model="bert-base-uncased"`` …); defaults pick
        the ``latency`` metric (if present) and the first model and hardware.

    Attributes
    ----------
    filters : dict of str to ipywidgets.Dropdown
        The dropdowns, by column; set ``.value`` to drive the explorer.
    jupyter_chart : altair.JupyterChart
        The history chart; its ``brush`` selection filters :attr:`table`.
    table : ipywidgets.HTML
        The most recent values of the (brushed) selection.
    frame : polars.DataFrame
        The rows currently charted.
    last_update_ms : float
        How long the last update took.
    """

    def __init__(self, store: Store, *, cache: FrameCache | None = None, max_series: int = 12, **initial: Any) -> None:
        self.cache = cache or FrameCache(store)
        self.max_series = max_series
        cat = self.cache.catalogue()
        if cat.is_empty():
            raise BenchlabError(f"the store {store.path} holds no results yet; import some with store.ingest(...)")
        self._catalogue = cat.select(*FILTERS).unique()
        self._busy = False
        self.frame = pl.DataFrame()
        self.last_update_ms = 0.0
        self.filters: dict[str, widgets.Dropdown] = {}
        for name in FILTERS:
            dd = widgets.Dropdown(description=_LABELS[name], layout=widgets.Layout(width="260px"),
                                  style={"description_width": "72px"})  # fmt: skip
            self.filters[name] = dd
        metrics = sorted(self._catalogue["metric"].unique().to_list())
        start = {"metric": "latency" if "latency" in metrics else metrics[0], **initial}
        self._set_options(start, first=True)
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.jupyter_chart = alt.JupyterChart(alt.Chart(pl.DataFrame({"x": []})).mark_point())
        for dd in self.filters.values():
            dd.observe(self._on_filter, names="value")
        grid = widgets.GridBox(
            list(self.filters.values()), layout=widgets.Layout(grid_template_columns="repeat(3, 270px)")
        )
        super().__init__([grid, self.status, self.jupyter_chart, self.table])
        self.update()

    # options cascade: each dropdown offers the values present given the others
    def _selection(self) -> dict[str, Any]:
        return {name: dd.value for name, dd in self.filters.items()}

    def _set_options(self, wanted: dict[str, Any], *, first: bool = False) -> None:
        self._busy = True
        try:
            sel = dict(wanted)
            for name in FILTERS:
                others = {k: v for k, v in sel.items() if k != name and k in FILTERS}
                values = sorted(filter_frame(self._catalogue, **others)[name].drop_nulls().unique().to_list())
                allow_all = name != "metric"
                opts = _options(values, allow_all=allow_all)
                value = sel.get(name)
                if value not in values:
                    if name == "metric":
                        value = values[0] if values else None
                    elif first and name in ("model", "hardware") and values:
                        value = values[0]  # start narrow: one model on one hardware
                    elif first and name in ("precision",) and values:
                        value = "fp32" if "fp32" in values else values[0]
                    else:
                        value = None
                sel[name] = value
                dd = self.filters[name]
                if dd.options != tuple(opts):
                    dd.options = opts
                dd.value = value
        finally:
            self._busy = False

    def _on_filter(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        self._set_options(self._selection())
        self.update()

    def update(self) -> None:
        """Re-read (from the cache), redraw the chart and refill the table."""
        t0 = time.perf_counter()
        sel = self._selection()
        metric = sel.pop("metric")
        frame = self.cache.history(metric, **sel)
        keys = frame["series_key"].unique().sort()
        note = ""
        if keys.len() > self.max_series:  # the first series in natural order (batch 4 before 16)
            ident = [c for c in SERIES_COLUMNS if c in frame.columns]
            keep = frame.select("series_key", *ident).unique("series_key").sort(ident, nulls_last=True)["series_key"]
            keep = keep.head(self.max_series)
            frame = frame.filter(pl.col("series_key").is_in(keep.implode()))
            note = f" · showing {self.max_series} of {keys.len()} series — narrow the filters to see the others"
        self.frame = frame
        if frame.is_empty():
            self.jupyter_chart.chart = (
                alt.Chart(pl.DataFrame({"x": []})).mark_point().properties(title="no values for this selection")
            )
            self.table.value = ""
            self.status.value = _message("No values match these filters.")
            return
        chart = _build(charts.history, frame, brush=True, max_series=None, width=620, height=260)
        _show(self.jupyter_chart, chart)
        # a new chart brings new selection objects: re-attach the brush observer
        self.jupyter_chart.selections.observe(self._on_brush, names=["brush"])
        self._fill_table(frame)
        provs = ", ".join(sorted(set(frame["provenance"].to_list())))
        sources = frame["source"].unique().len()
        self.last_update_ms = (time.perf_counter() - t0) * 1000
        self.status.value = _message(
            f"{frame.height:,} values in {frame['series_key'].n_unique()} series · provenance: {provs} · "
            f"{sources} source(s){note} · updated in {self.last_update_ms:.0f} ms"
        )

    def _fill_table(self, frame: pl.DataFrame, caption: str | None = None) -> None:
        view = (
            frame.sort("timestamp", descending=True)
            .with_columns(commit=pl.col("commit").str.slice(0, 10))
            .select(
                "timestamp",
                "commit",
                "branch",
                "model",
                "hardware",
                "batch_size",
                "precision",
                "value",
                "unit",
                "provenance",
                "source",
            )
        )
        self.table.value = frame_to_html(
            view, max_rows=15, caption=caption or "latest values (brush the chart to pick a time range)"
        )

    def _on_brush(self, change: Any) -> None:
        sel = self.jupyter_chart.selections.brush
        rng = (sel.value or {}).get("x") if sel is not None else None
        if not rng:
            self._fill_table(self.frame)
            return
        lo, hi = (pl.lit(v).cast(pl.Datetime("ms", "UTC")) if isinstance(v, int | float) else pl.lit(v) for v in rng)
        picked = self.frame.filter(pl.col("timestamp").is_between(lo, hi))
        self._fill_table(picked, caption=f"{picked.height} values in the brushed time range")


# -- triage browser ---------------------------------------------------------------------------------
class TriageBrowser(widgets.VBox):
    """Browse detected changes and record triage decisions in the store.

    Parameters
    ----------
    store : Store
    changes : polars.DataFrame, optional
        Output of :func:`benchlab.regress.detect_store` (with
        ``include_triaged=True`` to browse decided changes too); detected here
        from ``filters`` when omitted.
    **filters
        Passed to :func:`~benchlab.regress.detect_store` (``metric="latency"`` …).

    Attributes
    ----------
    changes : polars.DataFrame
        The changes, with their current ``triage_status``.
    select : ipywidgets.Select
        The list of changes (value = ``change_id``).
    status, note, link : ipywidgets widgets
        The decision to record; :attr:`save` (a button) records it with
        :func:`benchlab.regress.triage`.
    jupyter_chart : altair.JupyterChart
        History of the selected change's series with its changes marked.
    """

    def __init__(self, store: Store, *, changes: pl.DataFrame | None = None, **filters: Any) -> None:
        from benchlab import regress

        self.store = store
        self._regress = regress
        if changes is None:
            changes = regress.detect_store(store, include_triaged=True, **filters)
        # the store has the last word on status: changes may come from before a decision
        current = regress.triage_status(store, change_ids=changes["change_id"].to_list()) if changes.height else None
        changes = changes.drop("triage_status", strict=False)
        if current is not None and current.height:
            status = current.select("change_id", triage_status="status")
            changes = changes.join(status, on="change_id", how="left", maintain_order="left")
        else:
            changes = changes.with_columns(triage_status=pl.lit(None, pl.Utf8))
        self.changes = changes
        self.show = widgets.ToggleButtons(options=["untriaged", "all"], value="untriaged", description="show")
        self.select = widgets.Select(rows=8, layout=widgets.Layout(width="100%"))
        self.details = widgets.HTML()
        self.status = widgets.Dropdown(options=list(regress.TRIAGE_STATUSES), description="status")
        self.note = widgets.Text(description="note", placeholder="why (optional)", layout=widgets.Layout(width="420px"))
        self.link = widgets.Text(
            description="link", placeholder="https://… issue or PR (optional)", layout=widgets.Layout(width="420px")
        )
        self.save = widgets.Button(description="Save decision", button_style="primary", icon="check")
        self.message = widgets.HTML()
        self.jupyter_chart = alt.JupyterChart(alt.Chart(pl.DataFrame({"x": []})).mark_point())
        self.show.observe(lambda _: self._fill_list(), names="value")
        self._quiet = False
        self.select.observe(lambda _: None if self._quiet else self._show_change(), names="value")
        self.save.on_click(lambda _: self.record())
        form = widgets.VBox([self.status, self.note, self.link, widgets.HBox([self.save, self.message])])
        super().__init__([self.show, self.select, self.details, self.jupyter_chart, form])
        self._fill_list()

    def _visible(self) -> pl.DataFrame:
        if self.show.value == "all":
            return self.changes
        return self.changes.filter(pl.col("triage_status").is_null())

    def _fill_list(self) -> None:
        rows = self._visible()
        opts = []
        for r in rows.iter_rows(named=True):
            state = r["triage_status"] or "untriaged"
            label = (
                f"[{state}] {r['severity']} {r['kind']} {100 * r['change']:+.1f}% · {r['model'] or r['benchmark']} · "
                f"{r['hardware']} · b{r['batch_size']} · {r['precision']} · {r['metric']} @ {_short(r['first_bad_commit'])}"
            )
            opts.append((label, r["change_id"]))
        current = self.select.value
        self._quiet = True  # one redraw below, not one per trait change
        try:
            self.select.options = opts
            if opts:
                self.select.value = current if current in {v for _, v in opts} else opts[0][1]
        finally:
            self._quiet = False
        if not opts:
            self.details.value = _message("No changes to show." if self.changes.height else "No changes detected.")
        self._show_change()

    def selected(self) -> dict[str, Any] | None:
        """The selected change as a dict (a row of :attr:`changes`), or ``None``."""
        if self.select.value is None:
            return None
        rows = self.changes.filter(pl.col("change_id") == self.select.value)
        return rows.row(0, named=True) if rows.height else None

    def _show_change(self) -> None:
        r = self.selected()
        if r is None:
            return
        self.details.value = (
            "<div style='font-size:12px;font-family:system-ui,sans-serif'>"
            f"<b>{html.escape(r['kind'])}</b> ({html.escape(r['severity'])}) of "
            f"<b>{100 * r['change']:+.1f}%</b> [{100 * r['change_low']:+.1f}%, {100 * r['change_high']:+.1f}%] "
            f"in {html.escape(r['metric'])}: {r['before']:.4g} → {r['after']:.4g} {html.escape(r['unit'] or '')} · "
            f"p = {r['p_value']:.2g} · last good {html.escape(_short(r['last_good_commit']))} → first bad "
            f"{html.escape(_short(r['first_bad_commit']))} · <i>{html.escape(r['provenance'])}</i> values · "
            f"status: <b>{html.escape(r['triage_status'] or 'untriaged')}</b></div>"
        )
        hist = self.store.history(series_key=r["series_key"], provenance=r["provenance"])
        series_changes = self.changes.filter(pl.col("series_key") == r["series_key"])
        tri = self._regress.triage_status(self.store, change_ids=series_changes["change_id"].to_list())
        _show(self.jupyter_chart, _build(charts.history, hist, series_changes, tri, width=620, height=220))

    def record(self) -> pl.DataFrame | None:
        """Save the form's decision for the selected change (what the button does)."""
        r = self.selected()
        if r is None:
            self.message.value = _message("Select a change first.", error=True)
            return None
        try:
            row = self._regress.triage(self.store, r, self.status.value, note=self.note.value or None,
                                       link=self.link.value or None)  # fmt: skip
        except BenchlabError as exc:  # a bad link or status: say so next to the button
            self.message.value = _message(str(exc), error=True)
            return None
        self.changes = self.changes.with_columns(
            triage_status=pl.when(pl.col("change_id") == r["change_id"])
            .then(pl.lit(self.status.value))
            .otherwise("triage_status")
        )
        self.message.value = _message(f"saved: {r['change_id']} is {self.status.value}")
        self.note.value = ""
        self.link.value = ""
        self._fill_list()
        return row


# -- run comparer -----------------------------------------------------------------------------------
class RunComparer(widgets.VBox):
    """Two commits or branches side by side: contender ÷ baseline per case, with a verdict.

    Uses :func:`benchlab.regress.ab_compare` on raw samples when the store has
    them, so every case gets an interval and a verdict (worse / better /
    unchanged / uncertain).

    Parameters
    ----------
    store : Store
    by : {"commit", "branch"}
    metric : str
    hardware : str or None
        Restrict to one hardware platform (``None`` = all, slower on big
        stores); the default ``"first"`` picks the first one.
    n_boot : int
        Bootstrap draws per case (fewer = faster, coarser intervals).
    cache : FrameCache, optional
        Shared cache (for the metric and hardware lists).

    Attributes
    ----------
    baseline, contender, metric, hardware, by : ipywidgets widgets
        Set ``.value`` to drive the comparison.
    result : polars.DataFrame
        The last :func:`~benchlab.regress.ab_compare` output.
    """

    def __init__(self, store: Store, *, by: str = "commit", metric: str = "latency", hardware: str | None = "first",
                 n_boot: int = 500, cache: FrameCache | None = None) -> None:  # fmt: skip
        self.store = store
        self.n_boot = n_boot
        self._busy = False
        runs = store.runs()
        if runs.is_empty():
            raise BenchlabError(f"the store {store.path} holds no runs yet")
        self._runs = runs
        latest = (cache or FrameCache(store)).catalogue()
        metrics = sorted(latest["metric"].unique().to_list())
        hws = sorted(latest["hardware"].drop_nulls().unique().to_list())
        self.by = widgets.ToggleButtons(options=["commit", "branch"], value=by, description="compare")
        self.metric = widgets.Dropdown(
            options=metrics, value=metric if metric in metrics else metrics[0], description="metric"
        )
        hw = hws[0] if hardware == "first" and hws else (hardware if hardware in hws else None)
        self.hardware = widgets.Dropdown(options=_options(hws, allow_all=True), value=hw, description="hardware")
        self.baseline = widgets.Dropdown(description="baseline", layout=widgets.Layout(width="420px"))
        self.contender = widgets.Dropdown(description="contender", layout=widgets.Layout(width="420px"))
        self.message = widgets.HTML()
        self.table = widgets.HTML()
        self.result = pl.DataFrame()
        self.jupyter_chart = alt.JupyterChart(alt.Chart(pl.DataFrame({"x": []})).mark_point())
        self._fill_sides()
        self.by.observe(lambda _: (self._fill_sides(), self.update()), names="value")
        for w in (self.metric, self.hardware, self.baseline, self.contender):
            w.observe(self._on_change, names="value")
        controls = widgets.VBox([self.by, widgets.HBox([self.metric, self.hardware]), self.baseline, self.contender])
        super().__init__([controls, self.message, self.jupyter_chart, self.table])
        self.update()

    def _fill_sides(self) -> None:
        self._busy = True
        try:
            if self.by.value == "commit":
                per = (
                    self._runs.filter(pl.col("commit").is_not_null())
                    .group_by("commit")
                    .agg(pl.col("started_at").min(), pl.col("branch").drop_nulls().first())
                    .sort("started_at")
                )
                opts = [
                    (f"{c[:8]} · {b or '?'} · {t:%Y-%m-%d}" if t else f"{c[:8]} · {b or '?'}", c)
                    for c, t, b in per.iter_rows()
                ]
                main = per.filter(pl.col("branch") == "main")["commit"].to_list() or per["commit"].to_list()
                base, cont = (main[-2] if len(main) > 1 else main[0]), per["commit"][-1]
                if base == cont and per.height > 1:
                    base = per["commit"][-2]
            else:
                branches = self._runs["branch"].drop_nulls().unique().sort().to_list()
                opts = [(b, b) for b in branches]
                base = "main" if "main" in branches else (branches[0] if branches else None)
                cont = next((b for b in branches if b != base), base)
            for dd, v in ((self.baseline, base), (self.contender, cont)):
                dd.options = opts
                dd.value = v
        finally:
            self._busy = False

    def _on_change(self, change: Any) -> None:
        if not self._busy:
            self.update()

    def update(self) -> None:
        """Re-run the comparison for the current choices."""
        a, b = self.baseline.value, self.contender.value
        if a is None or b is None:
            return
        if a == b:
            self.message.value = _message("Pick two different sides to compare.", error=True)
            return
        by = self.by.value
        filters: dict[str, Any] = {"metric": self.metric.value, by: [a, b]}
        if self.hardware.value is not None:
            filters["hardware"] = self.hardware.value
        t0 = time.perf_counter()
        frame = self.store.results(samples=True, **filters)
        if frame.is_empty():
            self.message.value = _message("No values for this choice.", error=True)
            return
        from benchlab.regress import ab_compare

        self.result = ab_compare(frame, a, b, by=by, n_boot=self.n_boot)
        la, lb = (a[:8], b[:8]) if by == "commit" else (a, b)
        chart = _build(charts.comparison, self.result, labels=(la, lb), title=f"{self.metric.value}: {lb} vs {la}")
        _show(self.jupyter_chart, chart)
        counts = self.result["verdict"].value_counts().sort("verdict")
        summary = ", ".join(f"{n} {v}" for v, n in counts.iter_rows())
        provs = ", ".join(sorted(set(frame["provenance"].to_list())))
        self.message.value = _message(
            f"{self.result.height} cases: {summary} · {provs} values · {time.perf_counter() - t0:.1f} s"
        )
        view = self.result.with_columns(case=charts.series_label(self.result)).select(
            "case",
            "provenance",
            "baseline",
            "contender",
            "unit",
            "ratio",
            "ratio_low",
            "ratio_high",
            "p_value",
            "verdict",
        )
        self.table.value = frame_to_html(view, max_rows=15, caption="worst first")


# -- what-if ----------------------------------------------------------------------------------------
class WhatIf(widgets.VBox):
    """What would this model take on that hardware? A prediction with its interval.

    Fits :class:`benchlab.predict.PerformanceModel` once on the store's latest
    values of ``metric`` -- the *measured* ones; a store without measurements
    (the demo) trains on its simulated values and says so -- then predicts the
    chosen model, hardware, batch size and precision, including combinations
    the store has never seen.  The answer is labelled PREDICTED and drawn among
    the store's own values of that model and hardware (measured or simulated,
    as they are).

    Parameters
    ----------
    store : Store
    metric : str
    model : PerformanceModel, optional
        An already fitted model (skips fitting).
    cache : FrameCache, optional
        Shared cache (the latest values are read from it).

    Attributes
    ----------
    model_name, hardware, batch_size, precision : ipywidgets.Dropdown
        Set ``.value`` to ask another question.
    prediction : polars.DataFrame
        The last prediction (one row: ``prediction``, ``lower``, ``upper``,
        ``provenance="predicted"``, ``basis`` …).
    trained_on : str
        What the model learnt from (``"measured"`` or ``"simulated"`` values).
    """

    _QUERY_COLUMNS = ("benchmark", "model", "seq_len", "params", "metric")

    def __init__(
        self, store: Store, *, metric: str = "latency", model: Any = None, cache: FrameCache | None = None
    ) -> None:
        from benchlab.predict import PerformanceModel

        self.store = store
        self.cache = cache or FrameCache(store)
        latest = self.cache.catalogue().filter(pl.col("metric") == metric)
        if latest.is_empty():
            raise BenchlabError(f"the store {store.path} has no {metric!r} values to learn from")
        self.metric = metric
        self._latest = latest
        measured = latest.filter(pl.col("provenance") == "measured")
        self.trained_on = "measured" if measured.height else "simulated"
        if model is None:
            train = measured if measured.height else latest.filter(pl.col("provenance") == "simulated")
            model = PerformanceModel(measured_only=bool(measured.height), conformal="split").fit(
                train, hardware=store.hardware(), models=store.models()
            )
        self.fitted = model
        models = sorted(latest["model"].drop_nulls().unique().to_list())
        hws = sorted(self.cache.catalogue()["hardware"].drop_nulls().unique().to_list())
        batches = sorted({*latest["batch_size"].drop_nulls().unique().to_list(), 1, 2, 4, 8, 16, 32, 64, 128})
        precs = sorted(latest["precision"].drop_nulls().unique().to_list())
        self.model_name = widgets.Dropdown(options=models, description="model")
        self.hardware = widgets.Dropdown(options=hws, description="hardware")
        self.batch_size = widgets.Dropdown(options=batches, value=1, description="batch")
        self.precision = widgets.Dropdown(
            options=precs, value="fp16" if "fp16" in precs else precs[0], description="precision"
        )
        self.answer = widgets.HTML()
        self.jupyter_chart = alt.JupyterChart(alt.Chart(pl.DataFrame({"x": []})).mark_point())
        self.prediction = pl.DataFrame()
        for w in (self.model_name, self.hardware, self.batch_size, self.precision):
            w.observe(lambda _: self.update(), names="value")
        grid = widgets.GridBox(
            [self.model_name, self.hardware, self.batch_size, self.precision],
            layout=widgets.Layout(grid_template_columns="repeat(2, 320px)"),
        )
        super().__init__([grid, self.answer, self.jupyter_chart])
        self.update()

    def _query(self) -> pl.DataFrame:
        """A one-row frame describing the question: the model's workload on the chosen hardware, batch, precision."""
        like = self._latest.filter(pl.col("model") == self.model_name.value).sort("batch_size", "precision")
        cols = [c for c in self._QUERY_COLUMNS if c in like.columns]
        return (
            like.select(cols)
            .head(1)
            .with_columns(
                hardware=pl.lit(self.hardware.value, pl.Utf8),
                batch_size=pl.lit(self.batch_size.value, pl.Int64),
                precision=pl.lit(self.precision.value, pl.Utf8),
            )
        )

    def update(self) -> None:
        """Predict for the current choices and redraw."""
        try:
            pred = self.fitted.predict(self._query())
        except BenchlabError as exc:  # e.g. a metric the model has no data for: say it, keep the widget alive
            self.answer.value = _message(str(exc), error=True)
            return
        self.prediction = pred
        r = pred.row(0, named=True)
        unit = r.get("unit") or ""
        same = (
            (pl.col("model") == self.model_name.value)
            & (pl.col("hardware") == self.hardware.value)
            & (pl.col("precision") == self.precision.value)
        )
        known = self._latest.filter(same)
        here = known.filter(pl.col("batch_size") == self.batch_size.value)
        interval = (
            f"interval {r['lower']:.4g} – {r['upper']:.4g} ({100 * (r.get('coverage') or 0):.0f} %)"
            if r.get("lower") is not None
            else "no interval"
        )
        also = (
            f" · the store has this configuration: {here['value'][0]:.4g} {html.escape(unit)} "
            f"(<i>{html.escape(here['provenance'][0])}</i>)"
            if here.height
            else " · nobody ran this configuration"
        )
        self.answer.value = (
            "<div style='font-family:system-ui,sans-serif;font-size:14px'>"
            "<span style='background:#ebf4ff;border:1px dashed #2b6cb0;padding:1px 6px;border-radius:3px;"
            "font-size:11px;letter-spacing:.05em'>PREDICTED</span> "
            f"{html.escape(self.metric)} of <b>{html.escape(str(self.model_name.value))}</b> on "
            f"<b>{html.escape(str(self.hardware.value))}</b>, batch {self.batch_size.value}, "
            f"{html.escape(str(self.precision.value))}: <b>{r['prediction']:.4g} {html.escape(unit)}</b> "
            f"({interval}; basis: {html.escape(str(r.get('basis')))}){also}"
            f"<div style='font-size:11px;color:#4a5568'>model trained on {self.trained_on} values"
            + (" — the predictions describe the simulator, not a real machine" if self.trained_on != "measured" else "")
            + "</div></div>"
        )
        shown = pl.concat(
            [
                known.select("batch_size", "value", "provenance", "source", "commit"),
                pred.select(
                    "batch_size",
                    value=pl.col("prediction"),
                    provenance=pl.lit("predicted"),
                    source=pl.lit("benchlab.predict"),
                    commit=pl.lit(None, pl.Utf8),
                ),
            ],
            how="vertical_relaxed",
        )
        _show(self.jupyter_chart, _build(_whatif_chart, shown, pred, self.metric, unit))


def _whatif_chart(points: pl.DataFrame, pred: pl.DataFrame, metric: str, unit: str) -> alt.LayerChart:
    from benchlab import theme

    base = alt.Chart(points)
    x = alt.X("batch_size:Q", scale=alt.Scale(type="log", base=2), title="batch size")
    y = alt.Y("value:Q", scale=alt.Scale(type="log"), title=f"{metric} ({unit})" if unit else metric)
    pts = base.mark_point(filled=True, size=70).encode(
        x=x,
        y=y,
        shape=theme.provenance_shape(),
        color=alt.ColorValue("#2b6cb0"),
        tooltip=["batch_size:Q", alt.Tooltip("value:Q", format=".4~g"), "provenance:N", "source:N", "commit:N"],
    )
    band = (
        alt.Chart(pred.select("batch_size", "lower", "upper"))
        .mark_rule(strokeWidth=2, color="#2b6cb0", opacity=0.5)
        .encode(x=x, y=alt.Y("lower:Q"), y2=alt.Y2("upper:Q"))
    )
    return alt.layer(band, pts).properties(
        title=alt.Title("the prediction among the store's values", subtitle=["vertical bar: the predicted interval"]),
        width=480,
        height=220,
    )

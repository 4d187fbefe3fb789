"""Build the store report: one self-contained HTML file that opens offline.

The page has these sections, each built by one ``_section_*`` function from
store queries and the analysis modules, then rendered by the Jinja2 template
``templates/report.html.j2`` (autoescaping on):

* **Summary** -- what the store holds, split into measured, simulated and
  predicted, and what falls in the report window.
* **Regressions** -- changes detected by :func:`benchlab.regress.detect_store`
  whose first bad run is in the window, each with its history chart (the
  change marked), severity, relative change and interval, p-value, commit
  range (last good / first bad) and triage status.
* **Hardware comparison** -- model × hardware grids of the main metrics and a
  ratio chart of the two most-measured platforms.
* **Compatibility** -- the model × hardware support matrix and the problems
  recorded for unsupported pairs.
* **Predictions** -- predicted values against measured ones, marked as
  predicted everywhere.
* **Runs** -- the runs in the window with their source, so every number can be
  traced back.

The report window
-----------------
``since`` selects which regressions count as new.  It may be a date or time
(``2025-03-01``), a span back from the newest run (``30d``, ``2w``), or a
revision (a commit, or an unambiguous prefix of one, that has runs in the
store): then the window starts after that revision's runs.  The default is the
30 days up to the newest run in the store -- anchored on the data, not on the
clock, so rebuilding a report of the same store gives the same page.  The
store does not record report runs; pass the previous report's revision as
``since`` to get "what is new since the last report".

Charts are Altair charts from :mod:`benchlab.charts`, embedded as Vega-Lite
JSON; the JavaScript that draws them is inlined once (see
:mod:`benchlab.reporting._assets`).  Every string from the data goes through
autoescaping (HTML) or :func:`~benchlab.reporting._assets.script_json` (chart
specs), and only ``http``/``https`` URLs become links.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import jinja2
import polars as pl
from markupsafe import Markup, escape

from benchlab.errors import BenchlabError, QueryError
from benchlab.reporting import _assets

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "MAX_CHANGE_CHARTS",
    "Window",
    "build_report",
    "render_page",
    "resolve_since",
]

#: Default report window: this many days up to the newest run in the store.
DEFAULT_WINDOW_DAYS = 30
#: Changes drawn with their own history chart (the rest are listed in a table).
MAX_CHANGE_CHARTS = 12
#: Rows embedded in one history chart (larger histories are reduced by the chart builder).
HISTORY_ROWS = 600
#: Metrics shown in the hardware comparison, in order of preference.
PREFERRED_METRICS = ("latency", "throughput", "memory", "time")
#: Runs listed in the runs table.
MAX_RUNS_LISTED = 200

_TEMPLATES = Path(__file__).with_name("templates")


# -- little value types the template renders ---------------------------------------------------------
@dataclass(frozen=True)
class Link:
    """A link to ``url`` showing ``text``; rendered as a link only for http(s) URLs."""

    url: str | None
    text: str


@dataclass(frozen=True)
class Badge:
    """A small label (provenance, severity, kind); ``kind`` picks its colour."""

    text: str
    kind: str = ""


@dataclass
class ChartBlock:
    id: str
    spec_json: Markup
    caption: str | None = None
    type: str = "chart"


@dataclass
class TableBlock:
    columns: list[str]
    rows: list[list[Any]]
    caption: str | None = None
    numeric: frozenset[int] = frozenset()
    type: str = "table"


@dataclass
class NoteBlock:
    text: str
    kind: str = ""
    type: str = "note"


@dataclass
class TilesBlock:
    tiles: list[tuple[str, Any]]
    type: str = "tiles"


@dataclass
class CardBlock:
    title: str
    badges: list[Badge]
    fields: list[tuple[str, Any]]
    chart: ChartBlock | NoteBlock | None = None
    kind: str = ""
    type: str = "card"


@dataclass
class Section:
    key: str
    title: str
    intro: str | None = None
    blocks: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """Which runs the report calls new.

    Attributes
    ----------
    since : datetime or None
        Start of the window (UTC); ``None`` when the store is empty.
    inclusive : bool
        Whether a run exactly at ``since`` is inside (``False`` for a revision:
        the revision itself is the baseline).
    label : str
        How the window was chosen, for the page.
    """

    since: dt.datetime | None
    inclusive: bool
    label: str

    def contains(self, column: str) -> pl.Expr:
        """Polars predicate: ``column`` (a UTC datetime) falls in the window."""
        if self.since is None:
            return pl.lit(True)
        c = pl.col(column)
        return (c >= self.since) if self.inclusive else (c > self.since)


class _Latest:
    """The latest value of every series and provenance, read once per report.

    Per provenance, not just per series (:meth:`Store.latest`): a newer
    predicted value must not hide the measured value of the same case.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._frame: pl.DataFrame | None = None

    def __call__(self) -> pl.DataFrame:
        if self._frame is None:
            from benchlab.store._report import latest_by_provenance

            self._frame = latest_by_provenance(self.store)
        return self._frame


class _Charts:
    """Numbers the charts and turns Altair charts into embeddable JSON."""

    def __init__(self) -> None:
        self.count = 0

    def block(self, chart: Any, caption: str | None = None) -> ChartBlock:
        import altair as alt

        self.count += 1
        # The chart builders already reduce their data below Altair's row limit;
        # lifting the limit here only avoids a second, differently-worded check.
        with alt.data_transformers.disable_max_rows():
            spec = chart.to_dict()
        return ChartBlock(f"chart-{self.count}", Markup(_assets.script_json(spec)), caption)

    def make(self, build: Callable[[], Any], caption: str | None = None) -> ChartBlock | NoteBlock:
        """Build a chart; data a chart cannot show becomes a visible note instead of a failed report."""
        try:
            chart = build()
        except QueryError as exc:  # the chart builders' word for "this data does not fit"
            return NoteBlock(f"Chart left out: {exc}", "warn")
        return self.block(chart, caption)


# -- optional analysis modules ------------------------------------------------------------------------------
def _optional(module: str, *names: str) -> ModuleType | str:
    """Import ``module`` if it exists and has ``names``; else a sentence saying what is missing.

    Only a *missing* module or function counts: an import error inside an
    existing module propagates, so a bug is never mistaken for absence.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            return f"{module} is not installed"
        raise
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        return f"{module} has no {', '.join(missing)}"
    return mod


# -- the window -----------------------------------------------------------------------------------------------
_SPAN = re.compile(r"^\s*(\d+)\s*([dw])\s*$", re.IGNORECASE)
_DATEISH = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _newest_run(store: Store) -> dt.datetime | None:
    last = store.runs()["started_at"].max()
    return last.astimezone(dt.UTC) if isinstance(last, dt.datetime) else None


def resolve_since(store: Store, since: object = None) -> Window:
    """Turn ``since`` (date, span, revision or ``None``) into a :class:`Window`.

    Raises
    ------
    BenchlabError
        When ``since`` is neither a date, a span like ``30d`` nor the commit of
        a run in the store, or when a commit prefix is ambiguous.
    """
    from benchlab.ingest._batch import parse_timestamp

    if isinstance(since, dt.datetime | dt.date):
        d = since if isinstance(since, dt.datetime) else dt.datetime.combine(since, dt.time())
        d = d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d.astimezone(dt.UTC)
        return Window(d, True, f"runs since {_fmt_time(d)}")
    if since is None or (isinstance(since, str) and _SPAN.match(since)):
        newest = _newest_run(store)
        if newest is None:
            return Window(None, True, "the store has no runs yet")
        days = DEFAULT_WINDOW_DAYS
        if since is not None:
            m = _SPAN.match(str(since))
            assert m is not None
            days = int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1)
        start = newest - dt.timedelta(days=days)
        return Window(start, True, f"the {days} days up to the newest run ({_fmt_time(newest)})")
    text = str(since).strip()
    if not text:
        raise BenchlabError("--since is empty; give a date (YYYY-MM-DD), a span (30d, 2w) or a commit")
    if _DATEISH.match(text):
        try:
            parsed = parse_timestamp(text)
        except ValueError:
            raise BenchlabError(f"--since {text!r} looks like a date but is not one; use YYYY-MM-DD") from None
        assert parsed is not None
        return Window(parsed, True, f"runs since {_fmt_time(parsed)}")
    runs = store.runs().select("commit", "started_at").filter(pl.col("commit").is_not_null())
    exact = runs.filter(pl.col("commit") == text)
    if exact.is_empty():
        exact = runs.filter(pl.col("commit").str.to_lowercase().str.starts_with(text.lower()))
    commits = exact["commit"].unique().sort().to_list()
    if not commits:
        raise BenchlabError(
            f"--since {text!r} is neither a date (YYYY-MM-DD), a span (30d, 2w) nor the commit of a run in {store.path}"
        )
    if len(commits) > 1:
        raise BenchlabError(
            f"--since {text!r} matches {len(commits)} commits ({', '.join(commits[:4])}…); give more characters"
        )
    at = exact["started_at"].drop_nulls()
    if at.is_empty():
        raise BenchlabError(f"the runs of commit {commits[0]} have no start time, so they cannot start a window")
    last = at.max()
    assert isinstance(last, dt.datetime)
    last = last.astimezone(dt.UTC)
    return Window(last, False, f"runs after commit {commits[0]} ({_fmt_time(last)})")


# -- formatting -------------------------------------------------------------------------------------------------
def _fmt_time(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.tzinfo is not None else "")
    return str(value)


def _fmt_num(value: object, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.{digits}g}"
    return str(value)


def _fmt_pct(value: float | None, signed: bool = True) -> str:
    if value is None or value != value:
        return "—"
    return f"{100 * float(value):+.1f}%" if signed else f"{100 * float(value):.1f}%"


def _fmt_p(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    v = float(value)  # type: ignore[arg-type]
    return "< 0.0001" if v < 1e-4 else f"{v:.4f}"


def _short(commit: object) -> str:
    return "—" if commit in (None, "") else str(commit)[:12]


def _case(row: dict[str, Any]) -> str:
    """A readable name of one series from its identity fields."""
    parts = [str(row[c]) for c in ("model", "hardware") if row.get(c)]
    if not row.get("model") and row.get("benchmark"):
        parts.insert(0, str(row["benchmark"]))
    if row.get("batch_size") is not None:
        parts.append(f"b{row['batch_size']}")
    if row.get("seq_len") is not None:
        parts.append(f"s{row['seq_len']}")
    if row.get("precision"):
        parts.append(str(row["precision"]))
    if row.get("params"):
        parts.append(str(row["params"]))
    return " · ".join(parts) + f" — {row.get('metric')}"


def safe_url(url: object) -> str | None:
    """``url`` if it is an absolute http(s) URL, else ``None`` (never a ``javascript:`` link)."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if re.match(r"^https?://[^\s/?#]+", u, re.IGNORECASE) and not any(ord(ch) < 32 for ch in u):
        return u
    return None


def _cell(value: Any) -> Markup:
    """One table cell or field value, escaped (the Jinja filter ``cell``)."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, Link):
        url = safe_url(value.url)
        if url is None:
            return escape(value.text)
        return Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(url, value.text)
    if isinstance(value, Badge):
        kind = re.sub(r"[^a-z_-]", "", value.kind.lower())
        return Markup('<span class="badge {}">{}</span>').format(kind, value.text)
    if isinstance(value, list | tuple):
        return Markup(" ").join(_cell(v) for v in value)
    if isinstance(value, dt.datetime):
        return escape(_fmt_time(value))
    if isinstance(value, float):
        return escape(_fmt_num(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return escape(f"{value:,}")
    if value is None:
        return Markup("—")
    return escape(str(value))


# -- sections ---------------------------------------------------------------------------------------------------
def _section_summary(store: Store, window: Window, stats: dict[str, Any]) -> Section:
    from benchlab.store._report import provenance_summary, window_counts

    sec = Section("summary", "Summary")
    sec.blocks.append(
        TilesBlock(
            [
                ("runs", stats["runs"]),
                ("results", stats["results"]),
                ("series", stats["series"]),
                ("models", stats["models"]),
                ("hardware platforms", stats["hardware"]),
                ("sources imported", stats["sources"]),
            ]
        )
    )
    first, last = stats["first_run"], stats["last_run"]
    lines = [f"Runs from {_fmt_time(first)} to {_fmt_time(last)}." if first else "The store holds no runs."]
    if window.since is not None:
        counts = window_counts(store, window.since)
        lines.append(
            f"The report window is {window.label}: {counts['runs']:,} runs, {counts['results']:,} results "
            f"in {counts['series']:,} series."
        )
    sec.intro = " ".join(lines)
    prov = provenance_summary(store)
    if prov.is_empty():
        sec.blocks.append(NoteBlock("No results yet: import some with `benchlab ingest`."))
        return sec
    totals = prov.group_by("provenance", maintain_order=True).agg(
        pl.col("runs", "results", "series").sum(), pl.col("first_run").min(), pl.col("last_run").max()
    )
    if set(totals["provenance"].to_list()) <= {"simulated", "predicted"}:
        sec.blocks.append(
            NoteBlock(
                "Nothing in this store was measured: every number in this report is simulated or predicted.", "warn"
            )
        )
    meaning = {
        "measured": "timed on real hardware",
        "simulated": "produced by a simulator or emulated device, not timed on the hardware named",
        "predicted": "estimated by a model, never run",
    }
    rows = [
        [Badge(p, p), meaning.get(p, ""), r, n, s, first_run, last_run]
        for p, r, n, s, first_run, last_run in totals.select(
            "provenance", "runs", "results", "series", "first_run", "last_run"
        ).iter_rows()
    ]
    sec.blocks.append(
        TableBlock(
            ["provenance", "meaning", "runs", "results", "series", "first run", "last run"],
            rows,
            caption="What is measured, simulated and predicted (series are counted per provenance).",
            numeric=frozenset({2, 3, 4}),
        )
    )
    detail = [
        [Badge(p, p), hw or "—", r, n, s, m, h]
        for p, hw, r, n, s, m, h in prov.select(
            "provenance", "hardware_type", "runs", "results", "series", "models", "hardware"
        ).iter_rows()
    ]
    sec.blocks.append(
        TableBlock(
            ["provenance", "hardware type", "runs", "results", "series", "models", "platforms"],
            detail,
            caption="By hardware type.",
            numeric=frozenset({2, 3, 4, 5, 6}),
        )
    )
    stored = _stored_predictions(store)
    if not isinstance(stored, str) and stored.height:
        models = sorted(set(stored.select(pl.concat_str("model_name", pl.lit(" "), "model_version")).to_series()))
        sec.blocks.append(
            NoteBlock(
                f"The store also holds {stored.height} predicted case(s) from benchlab.predict "
                f"({', '.join(models)}); they are kept apart from the results and shown under Predictions.",
                "predicted",
            )
        )
    fmts = stats.get("sources_by_format") or {}
    if fmts:
        sec.blocks.append(
            NoteBlock("Imported formats: " + ", ".join(f"{k} ({v} sources)" for k, v in sorted(fmts.items())) + ".")
        )
    return sec


def _triage_frame(store: Store) -> pl.DataFrame | None:
    """Latest triage mark per change (``change_id``, ``status``, ``note``, ``link``), if triage exists."""
    mod = _optional("benchlab.regress", "triage_history")
    if isinstance(mod, str):
        return None
    hist = mod.triage_history(store)
    if hist is None or hist.is_empty() or "change_id" not in hist.columns:
        return None
    order = [c for c in ("at", "timestamp", "created_at", "triaged_at", "triage_id", "id") if c in hist.columns]
    if order:
        hist = hist.sort(order)
    return hist.unique("change_id", keep="last", maintain_order=True)


def _section_regressions(store: Store, window: Window, charts: _Charts) -> Section:
    sec = Section("regressions", "Regressions and improvements")
    mod = _optional("benchlab.regress", "detect_store")
    if isinstance(mod, str):
        sec.blocks.append(NoteBlock(f"No regression analysis available ({mod}).", "warn"))
        return sec
    from benchlab import charts as bc

    found = mod.detect_store(store, include_triaged=True)
    status_col = "triage_status" if "triage_status" in found.columns else None
    triage = _triage_frame(store)
    if triage is not None:
        extra = [c for c in ("note", "link") if c in triage.columns]
        found = found.join(triage.select("change_id", *extra), on="change_id", how="left")
    changes = found.filter(window.contains("first_bad_timestamp"))
    n_before = found.height - changes.height
    sec.intro = (
        f"Changes whose first bad run falls in the report window ({window.label}), found by change-point "
        "detection over each series' whole history. Regressions first, most severe first."
        + (f" {n_before} older change(s) are not listed." if n_before else "")
    )
    if changes.is_empty():
        sec.blocks.append(NoteBlock("No regression or improvement was detected in the window."))
        return sec
    order = {name: i for i, (name, _) in enumerate(mod.SEVERITY_LEVELS)} if hasattr(mod, "SEVERITY_LEVELS") else {}
    counts = (
        changes.group_by("kind", "severity")
        .len()
        .with_columns(_rank=pl.col("severity").replace_strict(order, default=len(order), return_dtype=pl.Int64))
        .sort(pl.col("kind") != "regression", "_rank")
        .drop("_rank")
    )
    sec.blocks.append(
        NoteBlock(
            "Found: "
            + ", ".join(f"{n} {sev} {kind}{'s' if n != 1 else ''}" for kind, sev, n in counts.iter_rows())
            + "."
        )
    )
    keys = changes["series_key"].unique().to_list()
    drawn = changes.head(MAX_CHANGE_CHARTS)
    hist = store.history(series_key=drawn["series_key"].unique().to_list()) if drawn.height else None
    for row in drawn.iter_rows(named=True):
        one = changes.filter(pl.col("change_id") == row["change_id"])
        h = hist.filter((pl.col("series_key") == row["series_key"]) & (pl.col("provenance") == row["provenance"]))  # type: ignore[union-attr]
        chart = None
        if h.height:
            chart = charts.make(
                functools.partial(bc.history, h, one, triage, max_rows=HISTORY_ROWS, width=760, height=220),
                caption="Dashed rule: the first bad run, coloured by triage status.",
            )
        status = row.get(status_col) if status_col else None
        fields: list[tuple[str, Any]] = [
            ("change", f"{_fmt_num(row['before'])} → {_fmt_num(row['after'])} {row.get('unit') or ''}".strip()),
            (
                "relative change",
                f"{_fmt_pct(row['change'])} (95% interval {_fmt_pct(row['change_low'])} … {_fmt_pct(row['change_high'])})",
            ),
            ("p-value", _fmt_p(row.get("p_value"))),
            ("commit range", _commit_range(row)),
            ("first bad run", f"{_fmt_time(row.get('first_bad_timestamp'))} (run {row.get('first_bad_run_id')})"),
            ("points before / after", f"{row.get('n_before')} / {row.get('n_after')}"),
            ("triage", status or "untriaged"),
        ]
        if row.get("note"):
            fields.append(("triage note", row["note"]))
        if row.get("link"):
            fields.append(("triage link", Link(row["link"], row["link"])))
        fields.append(("series key", Markup("<code>{}</code>").format(row["series_key"])))
        fields.append(("change id", Markup("<code>{}</code>").format(row["change_id"])))
        sec.blocks.append(
            CardBlock(
                _case(row),
                [
                    Badge(row["kind"], row["kind"]),
                    Badge(row["severity"] or "?", row["severity"] or ""),
                    Badge(row["provenance"], row["provenance"]),
                ],
                fields,
                chart,
                kind=row["kind"],
            )
        )
    rest = changes.slice(MAX_CHANGE_CHARTS)
    if rest.height:
        rows = [
            [
                Badge(r["kind"], r["kind"]),
                Badge(r["severity"] or "?", r["severity"] or ""),
                _case(r),
                Badge(r["provenance"], r["provenance"]),
                _fmt_pct(r["change"]),
                _fmt_p(r.get("p_value")),
                _commit_range(r),
                (r.get(status_col) if status_col else None) or "untriaged",
            ]
            for r in rest.iter_rows(named=True)
        ]
        sec.blocks.append(
            TableBlock(
                ["kind", "severity", "series", "provenance", "change", "p-value", "commit range", "triage"],
                rows,
                caption=f"{rest.height} more change(s) in {len(keys)} series, without charts.",
            )
        )
    return sec


def _commit_range(row: dict[str, Any]) -> str:
    good, bad = row.get("last_good_commit"), row.get("first_bad_commit")
    if good is None and bad is None:
        return f"runs {row.get('last_good_run_id')} … {row.get('first_bad_run_id')} (no commits recorded)"
    return f"{_short(good)} … {_short(bad)}"


def _main_metrics(latest: pl.DataFrame) -> list[str]:
    present = latest.group_by("metric").len().sort("len", "metric", descending=[True, False])["metric"].to_list()
    preferred = [m for m in PREFERRED_METRICS if m in present]
    others = [m for m in present if m not in preferred]
    return (preferred + others)[:3]


def _section_hardware(store: Store, latest_: _Latest, charts: _Charts) -> Section:
    from benchlab import charts as bc

    sec = Section(
        "hardware",
        "Hardware comparison",
        "The latest value of every series (whole store, not just the window), per model and hardware. "
        "Each cell uses the best evidence it has — measured, else simulated, else predicted — and its "
        "corner glyph says which.",
    )
    latest = latest_().filter(pl.col("hardware").is_not_null())
    if latest.is_empty():
        sec.blocks.append(NoteBlock("No results name a hardware platform."))
        return sec
    for metric in _main_metrics(latest):
        frame = latest.filter(pl.col("metric") == metric)
        if frame["unit"].n_unique() > 1:  # one grid per unit: values in different units share no scale
            units = frame.group_by("unit").len().sort("len", descending=True)["unit"].to_list()
            frame = frame.filter(pl.col("unit") == units[0])
        if frame.filter(pl.col("model").is_not_null()).is_empty():
            sec.blocks.append(
                charts.make(functools.partial(bc.heatmap, frame, rows="benchmark", columns="hardware", metric=metric))
            )
        else:
            named = frame.filter(pl.col("model").is_not_null())
            sec.blocks.append(charts.make(functools.partial(bc.heatmap, named, metric=metric)))
    # The two platforms with the most series side by side on the first metric, from
    # measured values when two platforms have them, else from simulated ones.
    metric = _main_metrics(latest)[0]
    for prov in ("measured", "simulated"):
        some = latest.filter((pl.col("provenance") == prov) & (pl.col("metric") == metric))
        counts = some.group_by("hardware").agg(n=pl.len(), cpu=(pl.col("hardware_type") == "cpu").any())
        if counts.height < 2:
            continue
        # Baseline: the most-covered CPU platform if there is one (accelerators read as speed-ups
        # over it), else the most-covered platform; contender: the most-covered other one.
        base = counts.sort("cpu", "n", "hardware", descending=[True, True, False])["hardware"][0]
        cont = counts.filter(pl.col("hardware") != base).sort("n", "hardware", descending=[True, False])["hardware"][0]
        cmp = store.compare(base, cont, by="hardware", metric=metric, provenance=prov)
        cmp = cmp.filter(pl.col("baseline").is_not_null() & pl.col("contender").is_not_null())
        if cmp.height:
            sec.blocks.append(
                charts.make(
                    functools.partial(
                        bc.comparison,
                        cmp,
                        provenance=prov,
                        labels=(base, cont),
                        title=f"{metric}: {cont} vs {base} ({prov})",
                    ),
                    caption=f"{prov.capitalize()} {metric} on {cont} divided by {base}, for every case on both "
                    "(median over all runs); the largest differences first.",
                )
            )
        break
    return sec


def _section_compatibility(store: Store, charts: _Charts) -> Section:
    from benchlab import charts as bc

    sec = Section("compatibility", "Compatibility")
    records = store.compatibility()
    if records.is_empty():
        sec.blocks.append(NoteBlock("The store holds no compatibility records."))
        return sec
    sec.intro = "How well each model runs on each platform (latest record of each pair)."
    latest = records.sort("compat_id").group_by("model", "hardware").last().sort("model", "hardware")
    sec.blocks.append(charts.make(lambda: bc.compatibility(latest)))
    problems = latest.filter(pl.col("level") != "full")
    if problems.height:
        rows = [
            [
                r["model"],
                r["hardware"],
                Badge(r["level"], "moderate" if r["level"] != "unsupported" else "critical"),
                r.get("error_type"),
                r.get("error_message"),
                r.get("suggested_fix"),
            ]
            for r in problems.iter_rows(named=True)
        ]
        sec.blocks.append(
            TableBlock(
                ["model", "hardware", "level", "error", "message", "suggested fix"],
                rows,
                caption="Pairs that are not fully supported.",
            )
        )
    return sec


_IDENTITY = ["benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric"]


def _stored_predictions(store: Store) -> pl.DataFrame | str:
    """The latest prediction of each case made by :mod:`benchlab.predict`, or why there are none."""
    mod = _optional("benchlab.store._predictions", "load_predictions")
    if isinstance(mod, str):
        return mod
    pred = mod.load_predictions(store)
    if pred.is_empty():
        return pred
    return pred.sort("prediction_id").unique([*_IDENTITY, "series_key"], keep="last", maintain_order=True)


def _predictions_frame(store: Store, latest_: _Latest) -> tuple[pl.DataFrame, str]:
    """Predictions paired (on ``series_key``) with the measured, else simulated, value of the same case.

    Two kinds: results imported with provenance ``predicted``, and predictions
    stored by :mod:`benchlab.predict` (named after the model that made them).
    """
    latest = latest_()
    refs = (
        latest.filter(pl.col("provenance") != "predicted")
        .with_columns(_rank=(pl.col("provenance") != "measured").cast(pl.Int8))
        .sort("_rank")
        .unique("series_key", keep="first", maintain_order=True)
        .select("series_key", value="value", reference_provenance="provenance", ref_unit="unit")
    )
    parts = []
    imported = latest.filter(pl.col("provenance") == "predicted")
    if imported.height:
        parts.append(
            imported.select(*_IDENTITY, "series_key", "unit", "source", prediction="value").with_columns(
                lower=pl.lit(None, pl.Float64), upper=pl.lit(None, pl.Float64), coverage=pl.lit(None, pl.Float64)
            )
        )
    origins = ["results imported as predicted"]
    stored = _stored_predictions(store)
    if isinstance(stored, str):
        origins.append(f"no stored model predictions ({stored})")
    elif stored.height:
        origins.append("predictions stored by benchlab.predict")
        source = pl.concat_str(
            [pl.col("model_name"), pl.lit(" "), pl.col("model_version"), pl.lit(" · training "),
             pl.col("training_hash").str.slice(0, 8)],
            ignore_nulls=True,
        )  # fmt: skip
        parts.append(
            stored.select(*_IDENTITY, "series_key", "unit", "prediction", "lower", "upper", "coverage", source=source)
        )
    origin = "; ".join(origins)
    if not parts:
        return pl.DataFrame(), origin
    schema = {c: latest.schema[c] for c in _IDENTITY}
    preds = pl.concat([p.cast(schema) for p in parts], how="diagonal_relaxed")  # type: ignore[arg-type]
    out = preds.join(refs, on="series_key", how="left").with_columns(unit=pl.coalesce("unit", "ref_unit"))
    return out.drop("ref_unit"), origin


def _interval(row: dict[str, Any]) -> str:
    if row.get("lower") is None or row.get("upper") is None:
        return "—"
    level = f" ({row['coverage']:.0%})" if row.get("coverage") is not None else ""
    return f"{_fmt_num(row['lower'])} … {_fmt_num(row['upper'])}{level}"


def _section_predictions(store: Store, latest_: _Latest, charts: _Charts) -> Section:
    from benchlab import charts as bc

    sec = Section("predictions", "Predictions")
    frame, origin = _predictions_frame(store, latest_)
    if frame.is_empty():
        sec.blocks.append(NoteBlock(f"No predictions in the store (looked for {origin})."))
        return sec
    sec.blocks.append(
        NoteBlock(
            "Everything in this section is PREDICTED — estimated by a model, not run. "
            "Predicted points are diamonds on dotted lines in every chart of this report.",
            "predicted",
        )
    )
    paired = frame.filter(pl.col("value").is_not_null())
    if paired.height and paired["lower"].is_null().all():
        paired = paired.drop("lower", "upper")  # no intervals at all: the chart should not promise any
    if paired.height:
        sec.blocks.append(
            charts.make(
                lambda: bc.predicted_vs_measured(
                    paired, color="hardware" if paired["hardware"].n_unique() > 1 else None
                ),
                caption="Each point: a prediction (y) against the measured or simulated value of the same case (x).",
            )
        )
    unpaired = frame.filter(pl.col("value").is_null())
    rows = [
        [
            Badge("predicted", "predicted"),
            _case(r),
            _fmt_num(r["prediction"]),
            _interval(r),
            r.get("unit") or "",
            r.get("source"),
        ]
        for r in unpaired.head(100).iter_rows(named=True)
    ]
    if rows:
        sec.blocks.append(
            TableBlock(
                ["", "case", "predicted value", "interval", "unit", "from"],
                rows,
                caption=f"{unpaired.height} predicted case(s) with nothing measured to compare with"
                + (" (first 100 shown)." if unpaired.height > 100 else "."),
            )
        )
    sec.intro = f"Sources: {origin}."
    return sec


_NOTE_KEYS = ("message", "commit_message", "notes", "note", "description", "title")
_LINK_KEYS = ("url", "link", "ci_url", "build_url", "run_url", "html_url")


def _json_field(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _section_runs(store: Store, window: Window) -> Section:
    sec = Section("runs", "Runs in the window")
    runs = store.runs()
    if window.since is not None:
        runs = runs.filter(window.contains("started_at"))
    if runs.is_empty():
        sec.blocks.append(NoteBlock("No runs in the window."))
        return sec
    runs = runs.sort("started_at", "run_id", descending=True, nulls_last=True)
    sec.intro = (
        f"{runs.height} run(s), newest first"
        + (f"; the newest {MAX_RUNS_LISTED} are listed" if runs.height > MAX_RUNS_LISTED else "")
        + ". Every value in this report comes from one of these runs or an earlier one."
    )
    rows = []
    for r in runs.head(MAX_RUNS_LISTED).iter_rows(named=True):
        meta = _json_field(r.get("metadata"))
        note = next((str(meta[k]) for k in _NOTE_KEYS if meta.get(k)), None)
        url = next((str(meta[k]) for k in _LINK_KEYS if meta.get(k)), None)
        rows.append(
            [
                str(r["run_id"]),
                r["started_at"],
                Badge(r["provenance"], r["provenance"]),
                _short(r["commit"]),
                r.get("branch"),
                r.get("machine"),
                r.get("format"),
                r.get("source"),
                note,
                Link(url, url) if url else None,
            ]
        )
    sec.blocks.append(
        TableBlock(
            ["run", "started", "provenance", "commit", "branch", "machine", "format", "source", "note", "link"],
            rows,
            numeric=frozenset({0}),
        )
    )
    return sec


# -- rendering -----------------------------------------------------------------------------------------------------
@dataclass
class Page:
    """Everything :func:`render_page` needs."""

    title: str
    subtitle: str
    sections: list[Section]
    n_charts: int
    footer: str = ""
    extra_notes: list[str] = field(default_factory=list)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,  # every template: all data is escaped unless marked safe here
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _cell
    return env


def render_page(page: Page) -> str:
    """Render a :class:`Page` with the report template, inlining the JavaScript once if there are charts."""
    bundle = _assets.vega_bundle() if page.n_charts else ""
    hashes = [_assets.script_hash(bundle), _assets.script_hash(_assets.RENDER_JS)] if page.n_charts else []
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            page=page,
            csp=_assets.csp_policy(hashes),
            bundle=Markup(bundle),
            render_js=Markup(_assets.RENDER_JS),
            version=_version(),
        )
    )
    remote = _assets.find_remote_resources(html)
    if remote:  # the page is built from our own templates; a remote resource is a bug here
        raise RuntimeError(f"report would load remote resources: {[r.url for r in remote]}")
    return html


def _version() -> str:
    from benchlab import __version__

    return __version__


def _now() -> dt.datetime:
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the "generated" time.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


SectionBuilder = Callable[[], Section]


def build_report(
    store: Store | str | os.PathLike[str],
    *,
    since: object = None,
    out: str | os.PathLike[str] | None = None,
    title: str | None = None,
    progress: bool = False,
    info: dict[str, Any] | None = None,
) -> str | Path:
    """Build the HTML report of a store.

    Parameters
    ----------
    store : Store or path
        The store (or its file).
    since : str, date or datetime, optional
        Start of the report window: a date (``"2025-03-01"``), a span back from
        the newest run (``"30d"``, ``"2w"``) or a revision with runs in the
        store (the window then starts after it).  Default: the 30 days up to
        the newest run.
    out : path, optional
        Write the page there (parent folders are created) and return the path;
        without it the HTML text is returned.
    title : str, optional
        Page title; default ``"benchlab report — <store file name>"``.
    progress : bool
        Show a progress bar over the sections (terminal or Jupyter).
    info : dict, optional
        Filled with facts about the build: ``seconds`` per section (and
        ``render``), ``charts``, ``bytes``, ``window`` (for the CLI and
        ``benchmarks/report_build.py``).

    Returns
    -------
    str or pathlib.Path
        The HTML text, or the path written.

    Raises
    ------
    BenchlabError
        If ``since`` cannot be understood.
    """
    from benchlab.store import Store
    from benchlab.store import open as open_store

    if not isinstance(store, Store):
        store = open_store(store)
    window = resolve_since(store, since)
    charts = _Charts()
    latest = _Latest(store)
    stats = store.stats()
    builders: Sequence[tuple[str, SectionBuilder]] = (
        ("summary", lambda: _section_summary(store, window, stats)),
        ("regressions", lambda: _section_regressions(store, window, charts)),
        ("hardware", lambda: _section_hardware(store, latest, charts)),
        ("compatibility", lambda: _section_compatibility(store, charts)),
        ("predictions", lambda: _section_predictions(store, latest, charts)),
        ("runs", lambda: _section_runs(store, window)),
    )
    from benchlab._progress import progress_iter

    seconds: dict[str, float] = {}
    sections = []
    for name, make in progress_iter(builders, enabled=progress, description="building report"):
        t0 = time.perf_counter()
        sections.append(make())
        seconds[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = Page(
        title=title or f"benchlab report — {store.path.name}",
        subtitle=f"Store {store.path} · generated {_fmt_time(_now())}",
        sections=sections,
        n_charts=charts.count,
        footer=f"Report window: {window.label}.",
    )
    html = render_page(page)
    seconds["render"] = time.perf_counter() - t0
    if info is not None:
        info.update(
            seconds=seconds,
            charts=charts.count,
            bytes=len(html.encode("utf-8")),
            window=window.label,
            since=None if window.since is None else window.since.isoformat(),
        )
    if out is None:
        return html
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

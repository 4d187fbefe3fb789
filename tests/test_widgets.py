"""benchlab.widgets driven from Python, against a real DuckDB store on disk."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from _lab_store import STEP_AT, commit, make_store

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

from benchlab import regress, widgets
from benchlab.store import Store
from benchlab.store import open as open_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return make_store(tmp_path_factory.mktemp("widgets") / "lab.duckdb")


def _data(jupyter_chart: Any) -> list[dict[str, Any]]:
    """The inline rows of the spec the widget sends to the browser."""
    return [row for rows in jupyter_chart.spec.get("datasets", {}).values() for row in rows if row]


# -- series explorer ----------------------------------------------------------------------------------
def test_series_explorer_filters_drive_chart_and_table(store: Store) -> None:
    ex = widgets.SeriesExplorer(store, model="bert-base", hardware="cpu", precision="fp32")
    assert ex.filters["metric"].value == "latency"
    assert {r["series"] for r in _data(ex.jupyter_chart) if "series" in r} == {"b1", "b8"}
    before_rows, before_table = _data(ex.jupyter_chart), ex.table.value
    assert "bert-base" in before_table and "measured" in before_table

    ex.filters["model"].value = "resnet50"
    after_rows = _data(ex.jupyter_chart)
    assert after_rows != before_rows
    assert ex.frame["model"].unique().to_list() == ["resnet50"]
    assert "resnet50" in ex.table.value and "bert-base" not in ex.table.value
    assert ex.jupyter_chart.chart.data.height == ex.frame.height  # the chart holds exactly the filtered rows

    ex.filters["hardware"].value = "cuda-a100"
    assert {r["provenance"] for r in _data(ex.jupyter_chart) if "provenance" in r} == {"simulated"}
    assert "simulated" in ex.status.value

    ex.filters["batch_size"].value = 8
    assert {r["series"] for r in _data(ex.jupyter_chart) if "series" in r} == {"all"} or ex.frame[
        "batch_size"
    ].unique().to_list() == [8]
    assert ex.frame["batch_size"].unique().to_list() == [8]

    ex.filters["metric"].value = "throughput"
    assert ex.frame["metric"].unique().to_list() == ["throughput"]
    assert "items/s" in ex.table.value
    assert ex.last_update_ms > 0


def test_series_explorer_options_cascade_and_all(store: Store) -> None:
    ex = widgets.SeriesExplorer(store, model="bert-base", hardware="cpu", precision="fp32")
    labels = [label for label, _ in ex.filters["model"].options]
    assert labels[0] == widgets.ALL and set(labels[1:]) == {"bert-base", "resnet50"}
    ex.filters["precision"].value = None  # (all)
    assert set(ex.frame["precision"].unique().to_list()) == {"fp16", "fp32"}
    assert ex.frame["series_key"].n_unique() == 4


def test_series_explorer_brush_filters_table(store: Store) -> None:
    ex = widgets.SeriesExplorer(store, model="bert-base", hardware="cpu", precision="fp32", batch_size=1)
    assert "brush" in ex.jupyter_chart.selections.trait_names()
    full = ex.table.value
    lo = ex.frame["timestamp"].sort()[3]
    hi = ex.frame["timestamp"].sort()[6]
    # what the browser sends when the user drags a brush over the time axis (epoch ms)
    ex.jupyter_chart._vl_selections = {
        "brush": {"value": {"x": [lo.timestamp() * 1000, hi.timestamp() * 1000]}, "store": []}
    }
    assert ex.table.value != full
    assert "4 values in the brushed time range" in ex.table.value
    ex.jupyter_chart._vl_selections = {"brush": {"value": {}, "store": []}}
    assert "latest values" in ex.table.value


def test_series_explorer_caps_series(store: Store) -> None:
    ex = widgets.SeriesExplorer(store, model=None, hardware=None, precision=None, max_series=3)
    ex.filters["model"].value = None
    ex.filters["hardware"].value = None
    ex.filters["precision"].value = None
    assert ex.frame["series_key"].n_unique() == 3
    assert "showing 3 of 16 series" in ex.status.value


def test_frame_cache_reads_each_metric_once(store: Store) -> None:
    cache = widgets.FrameCache(store)
    a = cache.history("latency", model="bert-base")
    scope = cache.scope("latency")
    b = cache.history("latency", model="resnet50")
    assert cache.scope("latency") is scope  # served from memory
    assert set(a["model"].unique()) == {"bert-base"} and set(b["model"].unique()) == {"resnet50"}
    assert a.height + b.height == scope.height


def test_frame_to_html_escapes() -> None:
    out = widgets.frame_to_html(pl.DataFrame({"a<b": ["<script>"], "v": [1.23456789]}))
    assert "<script>" not in out and "&lt;script&gt;" in out and "1.235" in out


# -- triage browser -----------------------------------------------------------------------------------
def test_triage_browser_saves_decision_in_the_store(store: Store) -> None:
    tb = widgets.TriageBrowser(store, metric="latency")
    assert tb.changes.height >= 1
    options = dict((v, k) for k, v in tb.select.options)
    cid = next(c for c, label in options.items() if "resnet50" in label and "regression" in label)
    tb.select.value = cid
    row = tb.selected()
    assert row is not None and row["first_bad_commit"] == commit(STEP_AT)
    assert any(r.get("mark") == "regression" for r in _data(tb.jupyter_chart))

    tb.status.value = "acknowledged"
    tb.note.value = "kernel change in #42"
    tb.link.value = "https://github.com/benchlab/benchlab/issues/42"
    tb.save.click()

    assert "saved" in tb.message.value
    # read back through a fresh handle on the same DuckDB file
    saved = regress.triage_status(open_store(store.path), change_ids=[cid])
    assert saved.height == 1
    assert saved.row(0, named=True)["status"] == "acknowledged"
    assert saved.row(0, named=True)["note"] == "kernel change in #42"
    assert saved.row(0, named=True)["link"] == "https://github.com/benchlab/benchlab/issues/42"
    # it leaves the untriaged list, shows in "all", and the chart marks it by status
    assert cid not in {v for _, v in tb.select.options}
    tb.show.value = "all"
    tb.select.value = cid
    assert any(r.get("mark") == "acknowledged" for r in _data(tb.jupyter_chart))
    assert "acknowledged" in tb.details.value


def test_triage_browser_bad_link_is_refused_not_saved(store: Store) -> None:
    changes = regress.detect_store(store, include_triaged=True, metric="latency")
    tb = widgets.TriageBrowser(store, changes=changes)
    tb.show.value = "all"
    cid = tb.select.value
    before = regress.triage_history(store, cid).height
    tb.status.value = "expected"
    tb.link.value = "not a url"
    assert tb.record() is None
    assert "not an http(s) URL" in tb.message.value
    assert regress.triage_history(store, cid).height == before


# -- run comparer ---------------------------------------------------------------------------------
def test_run_comparer_two_commits(store: Store) -> None:
    rc = widgets.RunComparer(store, hardware="cuda-a100")
    rc.baseline.value = commit(2)
    rc.contender.value = commit(5)
    quiet = rc.result
    assert "worse" not in set(quiet["verdict"].to_list())
    before = _data(rc.jupyter_chart)
    rc.contender.value = commit(20)
    assert _data(rc.jupyter_chart) != before
    worse = rc.result.filter(pl.col("verdict") == "worse")
    assert worse.height == 4 and set(worse["model"].to_list()) == {"resnet50"}
    assert "simulated" in rc.message.value and "worse" in rc.table.value


def test_run_comparer_branches(store: Store) -> None:
    rc = widgets.RunComparer(store, by="branch", hardware="cpu")
    assert (rc.baseline.value, rc.contender.value) == ("main", "feature/x")
    assert rc.result.height > 0
    assert set(rc.result["provenance"].to_list()) == {"measured"}
    rc.metric.value = "throughput"
    assert set(rc.result["unit"].drop_nulls().to_list()) == {"items/s"}


# -- what-if --------------------------------------------------------------------------------------
def test_what_if_predicts_and_labels_predicted(store: Store) -> None:
    predict = pytest.importorskip("benchlab.predict")
    if not hasattr(predict, "PerformanceModel"):
        pytest.skip("benchlab.predict does not export PerformanceModel yet")

    wi = widgets.WhatIf(store, metric="latency")
    assert "PREDICTED" in wi.answer.value
    assert wi.trained_on == "measured" and "trained on measured values" in wi.answer.value
    first = wi.prediction.row(0, named=True)
    assert first["provenance"] == "predicted"
    assert first["lower"] <= first["prediction"] <= first["upper"]
    wi.batch_size.value = 64  # a batch size the store never ran
    second = wi.prediction.row(0, named=True)
    assert second["batch_size"] == 64 and second["prediction"] != first["prediction"]
    rows = _data(wi.jupyter_chart)
    assert {"predicted"} <= {r.get("provenance") for r in rows}

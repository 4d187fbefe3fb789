"""benchlab.charts and benchlab.theme: real Altair specs from a real store, rendered by vl-convert."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import pytest
from _lab_store import STEP_AT, commit, make_store

from benchlab import charts, theme
from benchlab.errors import QueryError
from benchlab.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return make_store(tmp_path_factory.mktemp("charts") / "lab.duckdb")


def _walk(spec: Any) -> Iterator[dict[str, Any]]:
    if isinstance(spec, dict):
        yield spec
        for v in spec.values():
            yield from _walk(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _walk(v)


def _encodings(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(ch, enc) for node in _walk(spec) if isinstance(node.get("encoding"), dict)
            for ch, enc in node["encoding"].items() if isinstance(enc, dict)]  # fmt: skip


def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline data row of a spec (the empty row of data-less layers left out)."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows if row]


def _provenance_channels(spec: dict[str, Any]) -> set[str]:
    return {ch for ch, enc in _encodings(spec) if enc.get("field") in ("provenance", "reference_provenance")}


def _render(chart: alt.TopLevelMixin) -> str:
    vlc = pytest.importorskip("vl_convert")
    return vlc.vegalite_to_svg(chart.to_dict())


# -- theme ----------------------------------------------------------------------------------------
def test_theme_is_registered_and_active_after_import() -> None:
    assert "benchlab" in alt.theme.names()
    assert alt.theme.active == "benchlab"
    spec = alt.Chart(pl.DataFrame({"a": [1]})).mark_point().encode(x="a:Q").to_dict()
    assert spec["config"]["range"]["category"] == {"scheme": theme.SERIES_SCHEME}


def test_provenance_encodings_map_every_provenance_distinctly() -> None:
    shape = theme.provenance_shape().to_dict()
    assert shape["scale"]["domain"] == ["measured", "simulated", "predicted"]
    assert len(set(shape["scale"]["range"])) == 3  # filled circle, ring, diamond ring
    assert shape["scale"]["type"] == "ordinal"  # a point scale would interpolate
    dash = theme.provenance_dash().to_dict()
    mapping = dict(zip(dash["scale"]["domain"], map(tuple, dash["scale"]["range"]), strict=True))
    assert mapping == {"measured": (1, 0), "simulated": (6, 3), "predicted": (2, 2)}


# -- history --------------------------------------------------------------------------------------
def test_history_encodes_provenance_and_tooltips(store: Store) -> None:
    frame = store.history(metric="latency", model="resnet50", batch_size=8, precision="fp32")
    chart = charts.history(frame)
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert {"shape", "strokeDash"} <= _provenance_channels(spec)
    rows = _rows(spec)
    assert len(rows) == frame.height
    assert {r["provenance"] for r in rows} == {"measured", "simulated"}
    tips = {
        t["field"]
        for node in _walk(spec)
        for t in (node.get("encoding", {}).get("tooltip") or [])
        if isinstance(t, dict)
    }
    assert {"source", "commit", "provenance"} <= tips
    # one legend names the provenances: the shape channel carries it
    shape = next(enc for ch, enc in _encodings(spec) if ch == "shape")
    assert shape["legend"]["title"] == "provenance"
    svg = _render(chart)
    assert "provenance" in svg and "measured" in svg and "simulated" in svg


def test_history_takes_polars_directly_and_a_lazy_frame(store: Store) -> None:
    frame = store.history(metric="latency", model="bert-base", hardware="cpu", batch_size=1, precision="fp32")
    chart = charts.history(frame.lazy())
    assert isinstance(chart.data, pl.DataFrame)
    assert chart.data.height == frame.height


def test_history_with_50k_rows_aggregates_and_keeps_extremes() -> None:
    n_runs, n_series = 5000, 10
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = []
    for s in range(n_series):
        for i in range(n_runs):
            rows.append({
                "run_id": i, "provenance": "measured", "source": "big.json", "commit": f"c{i // 2:05d}",
                "branch": "main", "timestamp": t0 + dt.timedelta(minutes=i), "series_key": f"k{s}",
                "benchmark": "b", "model": f"m{s}", "hardware": "cpu", "metric": "latency", "unit": "ms",
                "value": 1000.0 if (s == 3 and i == 4321) else 10.0 + (i % 7) * 0.01,
            })  # fmt: skip
    frame = pl.DataFrame(rows)
    assert frame.height == 50_000
    chart = charts.history(frame)
    spec = chart.to_dict()  # no MaxRowsError
    data = _rows(spec)
    assert 0 < len(data) <= charts.MAX_ROWS
    assert max(r["hi"] for r in data) == 1000.0  # the spike survives aggregation and min/max downsampling
    assert min(r["lo"] for r in data) == 10.0
    assert "per-commit medians" in " ".join(spec["title"]["subtitle"])


def test_reduce_history_is_identity_for_small_frames() -> None:
    frame = pl.DataFrame({"series": ["a"], "provenance": ["measured"], "x": [1], "value": [2.0], "commit": ["c"],
                          "branch": [None], "run_id": [1], "source": ["s"], "unit": ["ms"]})  # fmt: skip
    out, note = charts.reduce_history(frame)
    assert note == "" and out["value"].to_list() == [2.0]


def test_history_marks_changes_and_triage(store: Store) -> None:
    from benchlab import regress

    frame = store.history(metric="latency", model="resnet50", hardware="cuda-a100", batch_size=8, precision="fp32")
    changes = regress.detect(frame)
    assert changes.height >= 1
    first_bad = changes["first_bad_commit"][0]
    assert first_bad == commit(STEP_AT)
    spec = charts.history(frame, changes).to_dict()
    marks = [n for n in _walk(spec) if isinstance(n.get("mark"), dict) and n["mark"].get("type") == "rule"]
    assert marks, "changes are drawn as rules"
    change_rows = [r for r in _rows(spec) if "mark" in r]
    assert {r["mark"] for r in change_rows} == {"regression"}
    triage = pl.DataFrame(
        {"change_id": [changes["change_id"][0]], "status": ["expected"], "note": ["new kernel"], "link": [None]}
    )
    spec = charts.history(frame, changes, triage).to_dict()
    change_rows = [r for r in _rows(spec) if "mark" in r]
    assert change_rows[0]["mark"] == "expected" and change_rows[0]["note"] == "new kernel"
    _render(charts.history(frame, changes, triage))


def test_history_needs_one_metric(store: Store) -> None:
    frame = store.history(model="bert-base", hardware="cpu", batch_size=1, precision="fp32")
    with pytest.raises(QueryError, match="several metrics"):
        charts.history(frame)
    assert charts.history(frame, metric="throughput").to_dict()


def test_history_limits_series(store: Store) -> None:
    frame = store.history(metric="latency")
    spec = charts.history(frame, max_series=3).to_dict()
    assert len({r["series"] for r in _rows(spec) if "series" in r}) == 3
    assert "first 3 of 16 series" in " ".join(spec["title"]["subtitle"])


def test_history_rejects_unknown_provenance(store: Store) -> None:
    frame = store.history(metric="latency", model="bert-base", hardware="cpu", batch_size=1, precision="fp32")
    with pytest.raises(QueryError, match="provenance"):
        charts.history(frame.with_columns(provenance=pl.lit("guessed")))


def test_history_missing_columns_is_a_clear_error() -> None:
    with pytest.raises(QueryError, match="needs the column"):
        charts.history(pl.DataFrame({"value": [1.0]}))


# -- comparison -----------------------------------------------------------------------------------
def test_comparison_from_store_compare_needs_provenance(store: Store) -> None:
    cmp = store.compare(commit(2), commit(20), metric="latency", hardware="cuda-a100")
    with pytest.raises(QueryError, match="provenance"):
        charts.comparison(cmp)
    spec = charts.comparison(cmp, provenance="simulated").to_dict()
    rows = _rows(spec)
    worse = {r["case"] for r in rows if r["verdict"] == "worse"}
    assert worse and all("resnet50" in c for c in worse)
    assert "opacity" in _provenance_channels(spec)


def test_comparison_from_ab_compare_shows_intervals_and_verdicts(store: Store) -> None:
    from benchlab import regress

    frame = store.results(samples=True, metric="latency", commit=[commit(2), commit(20)])
    ab = regress.ab_compare(frame, commit(2), commit(20))
    chart = charts.comparison(ab, labels=("old", "new"))
    spec = chart.to_dict()
    rows = _rows(spec)
    assert all(r["lo"] <= r["ratio"] <= r["hi"] for r in rows)
    assert {r["verdict"] for r in rows} <= {"worse", "better", "unchanged", "uncertain"}
    assert any(r["verdict"] == "worse" for r in rows)
    assert spec["layer"][0]["encoding"]["x"]["title"].startswith("new ÷ old")
    assert {r["provenance"] for r in rows} == {"measured", "simulated"}
    _render(chart)


def test_comparison_limits_rows_worst_first(store: Store) -> None:
    cmp = store.compare(commit(2), commit(20), metric="latency")
    spec = charts.comparison(cmp, provenance="measured", max_rows=4).to_dict()
    rows = _rows(spec)
    assert len(rows) == 4
    assert sum(r["verdict"] == "worse" for r in rows) == 4  # the 4 resnet50-on-cuda cases


# -- heatmap, scaling, compatibility ----------------------------------------------------------------
def test_heatmap_cells_and_best_evidence(store: Store) -> None:
    latest = store.latest(metric="latency")
    chart = charts.heatmap(latest)
    spec = chart.to_dict()
    cells = [r for r in _rows(spec) if "label" in r]
    assert len(cells) == 4  # 2 models × 2 hardware
    assert {(r["model"], r["hardware"]) for r in cells} == {
        (m, h) for m in ("bert-base", "resnet50") for h in ("cpu", "cuda-a100")
    }
    assert {r["provenance"] for r in cells if r["hardware"] == "cpu"} == {"measured"}
    assert "shape" in _provenance_channels(spec)
    # a predicted copy of a measured cell does not replace it
    pred = latest.filter(pl.col("hardware") == "cpu").with_columns(
        provenance=pl.lit("predicted"), value=pl.col("value") * 10
    )
    cells2 = [r for r in _rows(charts.heatmap(pl.concat([latest, pred])).to_dict()) if "label" in r]
    assert {r["provenance"] for r in cells2 if r["hardware"] == "cpu"} == {"measured"}
    _render(chart)


def test_heatmap_other_axes_and_errors(store: Store) -> None:
    latest = store.latest()
    spec = charts.heatmap(latest, rows="precision", columns="batch_size", metric="throughput").to_dict()
    assert {r["precision"] for r in _rows(spec) if "label" in r} == {"fp16", "fp32"}
    with pytest.raises(QueryError, match="several metrics"):
        charts.heatmap(latest)
    with pytest.raises(QueryError, match="agg"):
        charts.heatmap(latest, metric="latency", agg="sum")


def test_scaling_over_batch_size(store: Store) -> None:
    frame = store.latest(metric="throughput", precision="fp16")
    chart = charts.scaling(frame)
    spec = chart.to_dict()
    rows = _rows(spec)
    assert {r["batch_size"] for r in rows} == {1, 8}
    assert len({r["series"] for r in rows}) == 4  # model × hardware
    assert {"shape", "strokeDash"} <= _provenance_channels(spec)
    x = next(enc for ch, enc in _encodings(spec) if ch == "x")
    assert x["scale"] == {"type": "log", "base": 2}
    _render(chart)


def test_compatibility_long_and_wide(store: Store) -> None:
    wide = charts.compatibility(store.compatibility_matrix()).to_dict()
    long = charts.compatibility(store.compatibility()).to_dict()
    for spec in (wide, long):
        levels = {(r["model"], r["hardware"]): r["level"] for r in _rows(spec)}
        assert levels[("bert-base", "cpu")] == "full" and levels[("resnet50", "cuda-a100")] == "limited"
    assert any("error_message" in r for r in _rows(long))
    with pytest.raises(QueryError, match="unknown level"):
        charts.compatibility(pl.DataFrame({"model": ["m"], "hardware": ["h"], "level": ["works"]}))


# -- predicted vs measured --------------------------------------------------------------------------
def test_predicted_vs_measured(store: Store) -> None:
    ref = store.latest(metric="latency")
    frame = ref.with_columns(
        prediction=pl.col("value") * 1.05, lower=pl.col("value") * 0.9, upper=pl.col("value") * 1.2,
        reference_provenance=pl.col("provenance"),
    )  # fmt: skip
    chart = charts.predicted_vs_measured(frame, color="hardware")
    spec = chart.to_dict()
    assert "100% of references inside the predicted interval" in spec["title"]["subtitle"][0]
    assert "median absolute error 5.0%" in spec["title"]["subtitle"][0]
    points = [r for r in _rows(spec) if "pred" in r and "ape" in r]
    assert {r["provenance"] for r in points} == {"predicted"}
    assert {r["reference_provenance"] for r in points} == {"measured", "simulated"}
    assert "shape" in _provenance_channels(spec)
    _render(chart)
    with pytest.raises(QueryError, match="themselves predicted"):
        charts.predicted_vs_measured(frame.with_columns(reference_provenance=pl.lit("predicted")))


def test_predicted_vs_measured_big_frame_is_sampled() -> None:
    n = 12_000
    frame = pl.DataFrame({"value": [1.0 + i for i in range(n)], "prediction": [1.0 + i * 1.01 for i in range(n)],
                          "provenance": ["simulated"] * n})  # fmt: skip
    spec = charts.predicted_vs_measured(frame).to_dict()
    assert len([r for r in _rows(spec) if "ape" in r]) <= charts.MAX_ROWS
    assert any("largest errors" in s for s in spec["title"]["subtitle"])


def test_every_value_chart_encodes_provenance(store: Store) -> None:
    latest = store.latest(metric="latency")
    built = [
        charts.history(store.history(metric="latency", model="bert-base", batch_size=1, precision="fp32")),
        charts.comparison(store.compare(commit(1), commit(22), metric="latency"), provenance="measured"),
        charts.heatmap(latest),
        charts.scaling(latest),
        charts.predicted_vs_measured(latest.with_columns(prediction=pl.col("value"))),
    ]
    for chart in built:
        assert _provenance_channels(chart.to_dict()), chart


def test_specs_are_json_and_deterministic(store: Store) -> None:
    frame = store.history(metric="latency", model="bert-base", hardware="cpu", batch_size=1, precision="fp32")
    a = json.dumps(charts.history(frame).to_dict(), sort_keys=True)
    b = json.dumps(charts.history(frame).to_dict(), sort_keys=True)
    assert a == b


def test_store_fixture_is_a_real_duckdb_file(store: Store) -> None:
    assert Path(store.path).is_file() and store.stats()["results"] > 0


def test_series_are_in_natural_order() -> None:
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    frame = pl.DataFrame(
        {
            "timestamp": [t0, t0, t0],
            "value": [1.0, 2.0, 3.0],
            "provenance": ["measured"] * 3,
            "metric": ["latency"] * 3,
            "unit": ["ms"] * 3,
            "model": ["m"] * 3,
            "batch_size": [16, 4, 64],
        }
    )
    spec = charts.history(frame).to_dict()
    color = next(enc for ch, enc in _encodings(spec) if ch == "color")
    assert color["scale"]["domain"] == ["b4", "b16", "b64"]


def test_heatmap_and_compatibility_labels_are_readable() -> None:
    assert [charts._short_number(v) for v in (0.1174, 14.23, 339.4, 3210.0)] == ["0.117", "14.2", "339", "3,210"]
    spec = charts.compatibility(
        pl.DataFrame({"model": ["a", "b"], "hardware": ["h", "h"], "level": ["full", "unsupported"]})
    ).to_dict()
    assert {r["short"] for r in _rows(spec)} == {"✓", "✗"}

"""Triage persisted in a real DuckDB store: not re-raised, history kept, links validated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import benchlab
from benchlab.cli import main
from benchlab.ingest import BatchBuilder
from benchlab.regress import TriageError, detect_store, triage, triage_history, triage_status
from benchlab.store import Store

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def write_history(store: Store, name: str, values: np.ndarray, *, start: int = 0) -> None:
    """Write one run per value (commit ``c<index>``) measuring benchmark ``name``."""
    b = BatchBuilder(f"mem://{name}-{start}", "native-json", digest=f"{name}-{start}-{len(values)}")
    for i, v in enumerate(values, start):
        r = b.add_run(commit=f"c{i:03d}", branch="main", started_at=T0 + dt.timedelta(hours=i))
        b.add_result(r, location=f"run {i}", metric="latency", value=float(v), unit="ms", benchmark=name,
                     hardware="cpu")  # fmt: skip
    assert store.write(b.build()).status == "added"


def stepped(n: int, at: int, factor: float, seed: int) -> np.ndarray:
    x = 10 * (1 + 0.01 * np.random.default_rng(seed).standard_normal(n))
    x[at:] *= factor
    return x


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = benchlab.open(tmp_path / "store.duckdb")
    write_history(s, "alpha", stepped(60, 30, 1.3, 1))
    write_history(s, "beta", stepped(60, 40, 1.5, 2))
    return s


def test_triage_survives_reopening_and_is_not_raised_again(store: Store) -> None:
    assert store.schema_version >= 2
    changes = detect_store(store)
    assert sorted(changes["benchmark"]) == ["alpha", "beta"]
    alpha = changes.filter(pl.col("benchmark") == "alpha")["change_id"][0]
    row = triage(store, alpha, "acknowledged", note="bisecting", link="https://github.com/o/r/issues/7", author="ana")
    assert row["status"][0] == "acknowledged" and row["first_bad_commit"][0] == "c030"

    reopened = benchlab.open(store.path)  # a new Store object: nothing is cached in memory
    assert detect_store(reopened)["benchmark"].to_list() == ["beta"]
    everything = detect_store(reopened, include_triaged=True)
    status = dict(everything.select("benchmark", "triage_status").iter_rows())
    assert status == {"alpha": "acknowledged", "beta": None}
    hist = triage_history(reopened)
    assert hist.select("change_id", "note", "link", "author", "kind").row(0) == (
        alpha, "bisecting", "https://github.com/o/r/issues/7", "ana", "regression"
    )  # fmt: skip


def test_history_is_append_only_and_the_latest_row_is_the_status(store: Store) -> None:
    cid = detect_store(store)["change_id"][0]
    triage(store, cid, "acknowledged")
    triage(store, cid, "false-alarm", note="noisy host")  # spelling variants accepted
    triage(store, cid, "fixed", link="http://tracker.local/123")
    hist = triage_history(store, cid)
    assert hist["status"].to_list() == ["acknowledged", "false_alarm", "fixed"]
    assert hist["triage_id"].is_sorted() and hist["triage_id"].n_unique() == 3
    assert triage_status(store, [cid])["status"].to_list() == ["fixed"]
    assert cid not in detect_store(store)["change_id"].to_list()


def test_same_change_keeps_its_id_when_more_points_arrive(tmp_path: Path) -> None:
    s = benchlab.open(tmp_path / "grow.duckdb")
    x = stepped(100, 30, 1.4, 3)
    write_history(s, "gamma", x[:50])
    first = detect_store(s)
    assert first.height == 1
    triage(s, first.row(0, named=True), "expected", note="new kernel")  # a detect() row works too
    write_history(s, "gamma", x[50:], start=50)
    assert detect_store(s).is_empty()
    again = detect_store(s, include_triaged=True)
    assert again["change_id"].to_list() == first["change_id"].to_list()
    assert again["n_points"][0] == 100 and again["triage_status"][0] == "expected"


def test_a_triaged_change_whose_location_moved_by_a_point_is_still_recognised(store: Store) -> None:
    beta = detect_store(store).filter(pl.col("benchmark") == "beta").row(0, named=True)
    assert beta["first_bad_commit"] == "c040"
    # As if the change had been triaged when its estimate was one commit later.
    moved = {**beta, "change_id": "0123456789abcdef", "first_bad_commit": "c041"}
    triage(store, moved, "acknowledged")
    assert "beta" not in detect_store(store)["benchmark"].to_list()
    assert "beta" in detect_store(store, tolerance=0)["benchmark"].to_list()


def test_links_other_than_http_urls_are_rejected_and_nothing_is_written(store: Store) -> None:
    cid = detect_store(store)["change_id"][0]
    for link in ("ftp://example.com/x", "javascript:alert(1)", "https://", "example.com/issue/1", "https://a b.com"):
        with pytest.raises(TriageError, match="http"):
            triage(store, cid, "acknowledged", link=link)
    assert triage_history(store).is_empty()


def test_bad_status_and_unknown_ids(store: Store) -> None:
    cid = detect_store(store)["change_id"][0]
    with pytest.raises(TriageError, match="status"):
        triage(store, cid, "wontfix")
    with pytest.raises(TriageError, match="no change with id"):
        triage(store, "feedfacefeedface", "expected")
    # A gate finding on a commit that is not in the store: accepted with its series.
    row = triage(store, "feedfacefeedface", "expected", series_key="abcdabcdabcdabcd")
    assert row["series_key"][0] == "abcdabcdabcdabcd"
    assert triage_history(store)["change_id"].to_list() == ["feedfacefeedface"]


def test_triage_cli_records_lists_and_reports_user_errors(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    cid = detect_store(store)["change_id"][0]
    db = str(store.path)
    assert main(["triage", cid, "acknowledged", "--note", "on it", "--link", "https://x.org/1", "--store", db]) == 0
    assert f"triaged {cid} as acknowledged" in capsys.readouterr().out
    assert main(["triage", "--list", "--json", "--store", db]) == 0
    listed = json.loads(capsys.readouterr().out)["triage"]
    assert [(r["change_id"], r["status"], r["note"]) for r in listed] == [(cid, "acknowledged", "on it")]
    assert main(["triage", cid, "fixed", "--link", "file:///etc/passwd", "--store", db]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    assert main(["triage", cid, "--store", db]) == 2  # STATUS missing
    assert main(["detect", "--json", "--store", db]) == 0
    remaining = json.loads(capsys.readouterr().out)
    assert cid not in [c["change_id"] for c in remaining["changes"]] and remaining["n_changes"] == 1


def test_store_shortcuts_detect_filter_and_triage(store: Store) -> None:
    """``store.detect`` / ``store.triage`` are the documented entry points of the issue."""
    assert store.detect(benchmark="beta")["benchmark"].to_list() == ["beta"]
    cid = store.detect(benchmark="alpha")["change_id"][0]
    store.triage(cid, "expected", note="new kernel")
    assert store.detect()["benchmark"].to_list() == ["beta"]
    assert store.detect(include_triaged=True).height == 2

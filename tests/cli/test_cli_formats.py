"""``benchlab formats``: every importer listed, as text and as JSON."""

from __future__ import annotations

import json

import pytest

from benchlab.cli import main
from benchlab.ingest import importers


def test_formats_json_lists_every_importer_in_sniffing_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [i.name for i in importers()]
    by_name = {r["name"]: r for r in rows}
    for name in ("pytest-benchmark", "asv", "asv-graph", "google-benchmark", "github-action-benchmark",
                 "mlperf-summary", "mlperf-log", "mlperf-system", "hyperfine", "native-json"):  # fmt: skip
        assert name in by_name and by_name[name]["description"]
    assert by_name["asv-dir"]["folder"] is True and by_name["hyperfine"]["folder"] is False
    assert [r["priority"] for r in rows] == sorted((r["priority"] for r in rows), reverse=True)


def test_formats_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert "github-action-benchmark" in out and "mlperf-summary" in out and "yes" in out

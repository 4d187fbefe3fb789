"""The CI gate through ``benchlab.cli.main``: exit codes, Markdown, JSON, triage, results files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import benchlab
from benchlab.cli import main
from benchlab.ingest import BatchBuilder
from benchlab.regress import gate
from benchlab.store import Store

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
# (model, metric, unit, main level, feature level)
CASES = [
    ("resnet50", "latency", "ms", 10.0, 13.0),  # +30 %: major regression
    ("bert", "latency", "ms", 20.0, 20.0),  # unchanged
    ("bert", "throughput", "items/s", 500.0, 600.0),  # improvement
    ("vit", "latency", "ms", 5.0, 5.1),  # +2 %: unchanged
]


def samples(level: float, seed: int) -> list[float]:
    return (level * (1 + 0.02 * np.random.default_rng(seed).standard_normal(25))).tolist()


def write_run(store: Store, commit: str, branch: str, day: int, which: int) -> None:
    b = BatchBuilder(f"mem://{commit}", "native-json", digest=f"gate-{commit}")
    r = b.add_run(commit=commit, branch=branch, machine="ci", started_at=T0 + dt.timedelta(days=day))
    for i, case in enumerate(CASES):
        model, metric, unit = case[:3]
        s = samples(case[which], seed=day * 10 + i)
        b.add_result(r, location=f"case {i}", metric=metric, value=float(np.median(s)), unit=unit, model=model,
                     hardware="cuda:0", batch_size=8, precision="fp16", samples=s)  # fmt: skip
    assert store.write(b.build()).status == "added"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    store = benchlab.open(tmp_path / "gate.duckdb")
    for day in range(5):
        write_run(store, f"main{day}", "main", day, 3)
    write_run(store, "feat1", "feature", 6, 4)
    return store.path


def results_file(tmp_path: Path, which: int, commit: str = "pr42") -> Path:
    """A fresh native JSON results file (not in the store)."""
    results = []
    for i, (model, metric, unit, *levels) in enumerate(CASES):
        s = samples(levels[which - 3], seed=100 + i)
        results.append({"model": model, "metric": metric, "unit": unit, "value": float(np.median(s)),
                        "hardware": "cuda:0", "batch_size": 8, "precision": "fp16", "samples": s})  # fmt: skip
    doc = {"benchlab": 1, "runs": [{"commit": commit, "branch": "pr", "started_at": "2024-05-20T00:00:00Z",
                                    "results": results}]}  # fmt: skip
    path = tmp_path / "fresh.json"
    path.write_text(json.dumps(doc))
    return path


def test_gate_fails_on_an_untriaged_regression_prints_markdown_and_writes_json(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "out" / "gate.json"
    code = main(["gate", "--store", str(db), "--baseline-branch", "main", "--contender-branch", "feature",
                 "--json-out", str(out_json)])  # fmt: skip
    md = capsys.readouterr().out
    assert code == 1
    assert md.startswith("### :x: benchlab gate: 1 untriaged regression at or above *moderate*")
    assert "| case | baseline | contender | change (95% CI) | p-value | verdict | severity |" in md
    line = next(li for li in md.splitlines() if li.startswith("| resnet50"))
    assert ":x: worse" in line and "| major |" in line and "ms" in line and "+3" in line
    assert any(li.startswith("| bert") and "better" in li for li in md.splitlines())
    assert "<details><summary>2 unchanged cases</summary>" in md
    data = json.loads(out_json.read_text())
    assert data["failed"] is True and data["n_failing"] == 1 and data["counts"]["worse"] == 1
    worst = data["cases"][0]
    assert worst["model"] == "resnet50" and worst["verdict"] == "worse" and worst["contender_commit"] == "feat1"
    assert worst["baseline_commit"] == "main4" and worst["basis"] == "samples" and worst["n_baseline"] == 25
    assert f"benchlab triage {worst['change_id']} expected --series {worst['series_key']}" in md


def test_triaging_the_regression_or_raising_the_bar_makes_the_gate_pass(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["gate", "--store", str(db), "--baseline-commit", "main4", "--contender-commit", "feat1"]
    assert main([*args, "--fail-on", "critical"]) == 0  # the regression is only major
    capsys.readouterr()
    assert main(args) == 1
    capsys.readouterr()
    worst = json.loads(_json(args, capsys))["cases"][0]
    # feat1 is not a change point of the stored history, so the series comes along (as the hint says).
    assert main(["triage", worst["change_id"], "expected", "--store", str(db)]) == 2
    assert "--series" in capsys.readouterr().err
    triage_args = ["triage", worst["change_id"], "expected", "--series", worst["series_key"], "--note", "bigger model"]
    assert main([*triage_args, "--store", str(db)]) == 0
    capsys.readouterr()
    assert main(args) == 0
    md = capsys.readouterr().out
    assert md.startswith("### :white_check_mark:") and "(triaged: expected)" in md


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main([*args, "--json"])
    return capsys.readouterr().out


def test_results_file_is_compared_with_the_store_without_being_stored(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = benchlab.open(db).stats()
    bad = results_file(tmp_path, which=4)
    args = ["gate", "--store", str(db), "--results", str(bad)]
    assert main([*args, "--baseline-branch", "main", "--metric", "latency"]) == 1
    md = capsys.readouterr().out
    assert "file fresh.json @ pr42" in md and "branch main (latest)" in md
    assert "throughput" not in md  # filtered out
    assert benchlab.open(db).stats() == before  # nothing written
    # Without a baseline branch the baseline is the latest commit in the store
    # per series: here the feature branch, which already has the slower resnet50.
    assert main(args) == 0
    md = capsys.readouterr().out
    assert "latest in the store" in md and "0 worse" in md
    assert benchlab.open(db).stats() == before


def test_user_errors_exit_2(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--store", str(db), "--baseline-branch", "main"]) == 2
    assert "contender" in capsys.readouterr().err
    assert main(["gate", "--store", str(db), "--results", str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["gate", "--store", str(db), "--baseline-branch", "main", "--contender-branch", "nope"]) == 2
    assert "no results" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"benchlab": 1, "runs": [')
    assert main(["gate", "--store", str(db), "--results", str(broken)]) == 2
    assert "malformed JSON" in capsys.readouterr().err


def test_library_gate_result(db: Path) -> None:
    res = gate(benchlab.open(db), baseline_branch="main", contender_branch="feature", fail_on="major")
    assert res.failed and res.failing["model"].to_list() == ["resnet50"]
    d = res.to_dict()
    assert d["counts"] == {"worse": 1, "better": 1, "unchanged": 2, "uncertain": 0}
    json.dumps(d, default=str)  # JSON-ready
    assert str(res) == res.markdown

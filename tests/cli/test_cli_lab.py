"""``benchlab lab``: builds the demo store, sets BENCHLAB_DB for the kernel, starts JupyterLab."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchlab.cli import main
from benchlab.cli.lab import FIRST_NOTEBOOK, find_notebooks, lab_command

ROOT = Path(__file__).resolve().parents[2]


def test_check_builds_the_demo_and_points_the_kernel_at_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    demo = tmp_path / "demo.duckdb"
    monkeypatch.setenv("BENCHLAB_DEMO_DB", str(demo))
    monkeypatch.delenv("BENCHLAB_DB", raising=False)
    monkeypatch.chdir(ROOT)
    assert main(["lab", "--check", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert demo.is_file() and info["demo_built"] is True
    assert info["benchlab_db"] == str(demo) and info["benchlab_db_kept"] is False
    assert Path(info["notebooks"]) == ROOT / "notebooks"
    assert FIRST_NOTEBOOK in info["notebook_files"]
    assert info["command"][-1] == f"notebooks/{FIRST_NOTEBOOK}"
    # a second run reuses the store, and a BENCHLAB_DB the user set wins
    monkeypatch.setenv("BENCHLAB_DB", str(tmp_path / "mine.duckdb"))
    assert main(["lab", "--check", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["demo_built"] is False
    assert info["benchlab_db"] == str(tmp_path / "mine.duckdb") and info["benchlab_db_kept"] is True


def test_jupyter_command_passes_options_through() -> None:
    nbs = find_notebooks(ROOT / "notebooks")
    cmd = lab_command(nbs, no_browser=True, port=8899, extra=("--ServerApp.token=x",))
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={ROOT}" in cmd
    assert "--no-browser" in cmd and "--port=8899" in cmd and "--ServerApp.token=x" in cmd
    assert cmd[-1] == f"notebooks/{FIRST_NOTEBOOK}"
    assert "--no-browser" not in lab_command(nbs)


def test_missing_notebooks_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--check", "--notebooks", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no benchlab notebooks found") and "Traceback" not in err
